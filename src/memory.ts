import { fail } from "./errors.js";
import type { WasmMemory } from "./wasm-types.js";

const ALIGN = 64; // one cache line: regions never share a line, and v128 loads are aligned
const PAGE = 65536;

/** What a 32-bit Wasm memory can address: 4 GiB. */
export const WASM_MAX_BYTES = 2 ** 32;
/** The most float32 elements one tensor may hold: as many as fit in Wasm memory. */
export const MAX_ELEMENTS = WASM_MAX_BYTES / 4;

/** MB as messages show it. */
export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MB`;
}

/**
 * Checks a count of float32 elements that is about to be allocated in JS (a result tensor, a
 * generated sequence) before allocating it: more than Wasm memory can hold is E_MEMORY at once,
 * instead of a RangeError or minutes of work. Returns `count`.
 */
export function checkElements(where: string, what: string, count: number): number {
  if (!(count <= MAX_ELEMENTS)) fail("E_MEMORY", `${where}: ${what} would hold ${count} float32 values (${mb(count * 4)}), more than the ${mb(WASM_MAX_BYTES)} Wasm memory can hold`);
  return count;
}

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
  /** The most bytes the memory can grow to. */
  readonly reservableBytes: number;
  /** The most bytes this heap may reach (init's maxMemoryMB; at most 4 GiB). */
  limitBytes: number;
  // A tighter cap while a file is loaded (withBudget): what the file's data can justify.
  private budget: { top: number; why: (bytes: number) => string } | undefined;

  /** `reservableBytes`: the memory's maximum (a shared memory cannot grow past what it reserved). */
  constructor(memory: WasmMemory, base: number, limitBytes = WASM_MAX_BYTES, reservableBytes = WASM_MAX_BYTES) {
    this.memory = memory;
    this.reservableBytes = Math.min(WASM_MAX_BYTES, reservableBytes);
    this.limitBytes = Math.min(limitBytes, this.reservableBytes);
    this.base = align64(base);
    this.end = this.base;
    const top = memory.buffer.byteLength;
    if (top > this.end) this.freeList.push({ ptr: this.end, size: top - this.end });
    this.end = top;
  }

  /** Reserves `bytes` (rounded up to 64) and returns the block's address. Contents are undefined. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) fail("E_VALUE", `alloc: bytes must be a non-negative integer, got ${bytes}`);
    const size = Math.max(ALIGN, align64(bytes));
    this.checkFits(size);
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

  /**
   * Throws E_MEMORY (or the budget's error) if `bytes` more could not be allocated: for a size
   * computed before the work that precedes its allocation.
   */
  checkFits(bytes: number, what = "the allocation"): void {
    if (this.budget !== undefined && this.used + bytes > this.budget.top) fail("E_FORMAT", this.budget.why(bytes));
    if (!(this.used + bytes <= this.limitBytes)) {
      fail("E_MEMORY", `out of Wasm memory: ${what} needs ${mb(bytes)} with ${mb(this.used)} in use, over the limit of ${mb(this.limitBytes)} (init({ maxMemoryMB }); Wasm memory holds at most 4 GiB)`);
    }
  }

  /**
   * Runs fn with at most `bytes` more allocatable: a file's config is trusted only as far as its
   * data goes, so a small file that declares a huge model fails with `why(bytes requested)` before
   * the work, not after minutes of it.
   */
  withBudget<T>(bytes: number, why: (bytes: number) => string, fn: () => T): T {
    const outer = this.budget;
    const top = this.used + bytes;
    this.budget = { top: outer === undefined ? top : Math.min(top, outer.top), why: outer?.why ?? why };
    try {
      return fn();
    } finally {
      this.budget = outer;
    }
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
    const room = Math.floor((this.limitBytes - this.end) / PAGE);
    const pages = Math.max(Math.ceil(need / PAGE), Math.min(room, Math.ceil(this.end / PAGE / 4)));
    try {
      this.memory.grow(pages);
    } catch {
      // The geometric step may not fit where the request does: try the request alone.
      try {
        this.memory.grow(Math.ceil(need / PAGE));
      } catch {
        fail("E_MEMORY", `out of Wasm memory: the engine could not grow the memory to hold ${mb(size)} more (${mb(this.end)} in use)`);
      }
    }
    const top = this.memory.buffer.byteLength;
    this.insertFree(this.end, top - this.end);
    this.end = top;
  }
}

/** `bytes` rounded up to a whole cache line (64): every block and region starts on its own line. */
export function align64(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}

/** Carves one block into named, 64-byte aligned regions: sizes in bytes in, offsets out. */
export function carve<K extends string>(sizes: Record<K, number>): { offsets: Record<K, number>; total: number } {
  let total = 0;
  const offsets = {} as Record<K, number>;
  for (const key of Object.keys(sizes) as K[]) {
    offsets[key] = total;
    total += align64(sizes[key]);
  }
  return { offsets, total };
}

/**
 * The Wasm blocks one object owns: the single owner of Wasm memory in recur. Every object that
 * holds Wasm memory (recurrent models with their gradient and training workspaces, layers,
 * optimizer state, learned initial states, echo state networks) keeps its blocks here, by slot
 * name or anonymously, and one FinalizationRegistry releases them if the object is collected
 * without dispose(). The blocks object never references its owner, so the registry holding it
 * does not keep the owner alive.
 */
export class WasmBlocks {
  private readonly sizes = new Map<number, number>();
  private readonly slots = new Map<string, number>();

  private constructor(readonly heap: Heap) {}

  /** An empty set of blocks for `owner`, released when `owner` is collected without dispose(). */
  static of(heap: Heap, owner: object): WasmBlocks {
    const blocks = new WasmBlocks(heap);
    blockFinalizer.register(owner, blocks, blocks);
    return blocks;
  }

  /** A new block of `bytes` (contents undefined), released with the others. */
  alloc(bytes: number): number {
    const ptr = this.heap.alloc(bytes);
    this.sizes.set(ptr, bytes);
    return ptr;
  }

  /** Returns one block (from alloc, or a slot's) to the heap. */
  release(ptr: number): void {
    if (!this.sizes.delete(ptr)) fail("E_STATE", `WasmBlocks.release: ${ptr} is not a block of this owner`);
    for (const [slot, p] of this.slots) if (p === ptr) this.slots.delete(slot);
    this.heap.release(ptr);
  }

  /**
   * The block of `slot`, reallocated when smaller than `bytes` (its contents are then lost).
   * Allocates before releasing, so a failed allocation leaves the old block valid.
   */
  ensure(slot: string, bytes: number): number {
    const cur = this.slots.get(slot);
    if (cur !== undefined && this.sizes.get(cur)! >= bytes) return cur;
    const ptr = this.alloc(Math.max(bytes, 1));
    if (cur !== undefined) this.release(cur);
    this.slots.set(slot, ptr);
    return ptr;
  }

  /** Address of `slot`'s block, 0 when it has none. */
  get(slot: string): number {
    return this.slots.get(slot) ?? 0;
  }

  /** Runs fn on a block of `bytes` that is released afterwards. */
  scratch<T>(bytes: number, fn: (ptr: number) => T): T {
    const ptr = this.alloc(bytes);
    try {
      return fn(ptr);
    } finally {
      this.release(ptr);
    }
  }

  /** Releases every block and forgets the owner: for dispose(), or a constructor that fails. */
  dispose(): void {
    blockFinalizer.unregister(this);
    this.releaseAll();
  }

  private releaseAll(): void {
    for (const ptr of this.sizes.keys()) this.heap.release(ptr);
    this.sizes.clear();
    this.slots.clear();
  }

  /** @internal The registry's callback. */
  static collected(blocks: WasmBlocks): void {
    blocks.releaseAll();
  }
}

// A safety net only: it runs at the engine's leisure. `@__PURE__` lets bundlers drop it from
// pages that hold no Wasm memory.
const blockFinalizer = /* @__PURE__ */ new FinalizationRegistry<WasmBlocks>((blocks) => WasmBlocks.collected(blocks));
