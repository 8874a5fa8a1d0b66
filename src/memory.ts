import { fail } from "./errors.js";
import type { WasmMemory } from "./wasm.js";

const ALIGN = 64; // one cache line: regions never share a line, and v128 loads are aligned
const PAGE = 65536;

/**
 * The allocator over the core's linear memory. TypeScript owns the layout: each model reserves
 * one block (its parameters, packed weights, gradients, optimizer state and activations are
 * offsets inside it, see each model's layout) and the kernels only ever see byte addresses.
 *
 * First fit over an address-ordered free list with coalescing, so allocate/release cycles never
 * fragment the heap or grow memory. Views are made fresh on every call because memory.grow()
 * detaches the old ArrayBuffer.
 */
export class Heap {
  readonly memory: WasmMemory;
  private readonly base: number;
  private readonly freeList: { ptr: number; size: number }[] = [];
  private readonly sizes = new Map<number, number>();
  private end: number;
  private used = 0;

  constructor(memory: WasmMemory, base: number) {
    this.memory = memory;
    this.base = alignUp(base, ALIGN);
    this.end = this.base;
    const top = memory.buffer.byteLength;
    if (top > this.end) this.freeList.push({ ptr: this.end, size: top - this.end });
    this.end = top;
  }

  /** Reserves `bytes` (rounded up to 64) and returns the block's address. Contents are undefined. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) fail("E_VALUE", `alloc: bytes must be a non-negative integer, got ${bytes}`);
    const size = Math.max(ALIGN, alignUp(bytes, ALIGN));
    let i = this.freeList.findIndex((b) => b.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.freeList.findIndex((b) => b.size >= size);
    }
    const block = this.freeList[i];
    const ptr = block.ptr;
    if (block.size === size) this.freeList.splice(i, 1);
    else {
      block.ptr += size;
      block.size -= size;
    }
    this.sizes.set(ptr, size);
    this.used += size;
    return ptr;
  }

  /** Returns a block to the heap; releasing an unknown or already released address throws. */
  release(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) fail("E_STATE", `release: ${ptr} is not an allocated block (double dispose?)`);
    this.sizes.delete(ptr);
    this.used -= size;
    this.insertFree(ptr, size);
  }

  get usedBytes(): number {
    return this.used;
  }

  get capacityBytes(): number {
    return this.memory.buffer.byteLength;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  private insertFree(ptr: number, size: number): void {
    const list = this.freeList;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, { ptr, size });
    // Merge with the following block, then with the preceding one.
    if (lo + 1 < list.length && ptr + size === list[lo + 1].ptr) {
      list[lo].size += list[lo + 1].size;
      list.splice(lo + 1, 1);
    }
    if (lo > 0 && list[lo - 1].ptr + list[lo - 1].size === ptr) {
      list[lo - 1].size += list[lo].size;
      list.splice(lo, 1);
    }
  }

  private grow(size: number): void {
    // Grow geometrically (at least 1/4 of the current size) so a model built piece by piece
    // does not pay for many small grows; each grow may move the buffer.
    const last = this.freeList[this.freeList.length - 1];
    const tailFree = last !== undefined && last.ptr + last.size === this.end ? last.size : 0;
    const need = size - tailFree;
    const pages = Math.max(Math.ceil(need / PAGE), Math.ceil(this.end / PAGE / 4));
    try {
      this.memory.grow(pages);
    } catch {
      fail("E_VALUE", `out of Wasm memory: could not grow by ${pages} pages (${size} bytes requested, ${this.end} bytes in use)`);
    }
    const top = this.memory.buffer.byteLength;
    this.insertFree(this.end, top - this.end);
    this.end = top;
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * Frees the blocks of a model collected without dispose(): a safety net only, it runs at the
 * engine's leisure. `@__PURE__` lets bundlers drop it from pages that use no model.
 */
export const heapFinalizer = /* @__PURE__ */ new FinalizationRegistry<{ heap: Heap; ptrs: Iterable<number> }>(({ heap, ptrs }) => {
  for (const p of ptrs) heap.release(p);
});
