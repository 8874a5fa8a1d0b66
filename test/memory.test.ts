// The Heap allocator over Wasm linear memory: growth with live views, flat memory over many
// alloc/release cycles, coalescing, and misuse errors.
import { describe, expect, it } from "vitest";
import { RecurError } from "../src/errors.js";
import { Heap } from "../src/memory.js";
import { matmulOn } from "../src/ops.js";
import { createRuntime } from "../src/runtime.js";
import { tensor } from "../src/tensor.js";

const PAGE = 65536;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecurError);
    return (e as RecurError).code;
  }
  throw new Error("expected a RecurError, nothing was thrown");
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

describe("Heap", () => {
  it("growth detaches views taken before it; fresh views read the same data", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new Heap(memory, 100);
    const p = heap.alloc(4096);
    expect(p % 64).toBe(0);
    expect(p).toBeGreaterThanOrEqual(100);
    const before = heap.f32(p, 1024);
    before.forEach((_, i, v) => (v[i] = i * 0.5));
    const oldBuffer = memory.buffer;

    const big = heap.alloc(3 * PAGE); // more than is left: memory grows
    expect(heap.capacityBytes).toBeGreaterThanOrEqual(4 * PAGE);
    expect(memory.buffer).not.toBe(oldBuffer);
    // The old view is detached: it reads as empty, never as the old (stale) bytes.
    expect(oldBuffer.byteLength).toBe(0);
    expect(before.length).toBe(0);
    expect(before[0]).toBeUndefined();

    const after = heap.f32(p, 1024);
    expect(after.buffer).toBe(memory.buffer);
    expect(Array.from(after)).toEqual(Array.from({ length: 1024 }, (_, i) => i * 0.5));
    // The new block lies in the grown part and does not overlap the old one.
    expect(big).toBeGreaterThanOrEqual(p + 4096);
    expect(big + 3 * PAGE).toBeLessThanOrEqual(heap.capacityBytes);
    heap.f32(big, (3 * PAGE) / 4).fill(7);
    expect(heap.f32(p, 4)[3]).toBe(1.5);
  });

  it("the runtime never hands out stale data: a product whose operands force growth is exact", async () => {
    const rt = await createRuntime({ backend: "simd128" });
    const start = rt.heap.capacityBytes;
    // Identity-like operands, so the expected product is known exactly.
    const n = 300; // 300 x 300 floats x 4 operands ~ 1.5 MB > what is free after init
    const a = tensor([n, n]);
    const b = tensor([n, n]);
    for (let i = 0; i < n; i++) {
      a.data[i * n + i] = i + 1;
      b.data[i * n + ((i + 1) % n)] = 2;
    }
    // A live view on the runtime's memory, taken before the product grows it.
    const probe = rt.heap.alloc(64);
    const stale = rt.heap.f32(probe, 16);
    stale.fill(3);
    const c = matmulOn(rt, a, b);
    expect(rt.heap.capacityBytes).toBeGreaterThan(start);
    expect(stale.length).toBe(0); // detached, not pointing at old memory
    expect(Array.from(rt.heap.f32(probe, 16))).toEqual(new Array(16).fill(3));
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) if (c.data[i * n + j] !== (j === (i + 1) % n ? 2 * (i + 1) : 0)) wrong++;
    }
    expect(wrong).toBe(0);
    rt.heap.release(probe);
  });

  it("10,000 alloc/release rounds keep memory flat and usage back at baseline", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new Heap(memory, 0);
    const keep = heap.alloc(1000); // something long-lived in the middle of the traffic
    const baseline = heap.usedBytes;
    const next = rng(1);
    const sizes = [20_000, 7, 64, 4096, 130_000, 0, 999, 65_537];
    let capacity = -1;
    for (let round = 0; round < 10_000; round++) {
      const blocks = sizes.map((s) => heap.alloc(s));
      // Release in a fresh random order each round so every coalescing case (with the block
      // before, after, both, neither) happens over and over.
      for (let i = blocks.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [blocks[i], blocks[j]] = [blocks[j], blocks[i]];
      }
      for (const b of blocks) heap.release(b);
      if (heap.usedBytes !== baseline) throw new Error(`round ${round}: ${heap.usedBytes} bytes in use, expected ${baseline}`);
      if (round === 0) capacity = heap.capacityBytes;
      else if (heap.capacityBytes !== capacity) throw new Error(`memory grew in round ${round}: ${capacity} -> ${heap.capacityBytes}`);
    }
    heap.release(keep);
    expect(heap.usedBytes).toBe(0);
  });

  it("random block sizes: memory stops at what the largest round needs", () => {
    const heap = new Heap(new WebAssembly.Memory({ initial: 1 }), 0);
    const next = rng(2);
    let need = 0;
    for (let round = 0; round < 10_000; round++) {
      const blocks: number[] = [];
      let total = 0;
      for (let i = 0; i < 8; i++) {
        const bytes = Math.floor(next() * 20_000);
        total += Math.max(64, Math.ceil(bytes / 64) * 64);
        blocks.push(heap.alloc(bytes));
      }
      need = Math.max(need, total);
      for (const b of blocks.reverse()) heap.release(b);
      expect(heap.usedBytes).toBe(0);
    }
    // First fit on a coalesced heap packs each round from address 0: capacity is the largest
    // round rounded up to pages, plus at most the allocator's geometric growth step (1/4).
    expect(heap.capacityBytes).toBeLessThanOrEqual(Math.ceil(need / PAGE) * PAGE * 1.25 + PAGE);
  });

  it("adjacent free blocks coalesce, whatever the release order", () => {
    for (const order of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const heap = new Heap(memory, 0);
      const blocks = [heap.alloc(1000), heap.alloc(2000), heap.alloc(3000)];
      const guard = heap.alloc(64); // keeps the three from merging with the free tail
      expect(blocks[1]).toBe(blocks[0] + 1024);
      expect(blocks[2]).toBe(blocks[1] + 2048);
      for (const i of order) heap.release(blocks[i]);
      // One region of 1024 + 2048 + 3008 bytes again, at the first block's address.
      const merged = heap.alloc(1024 + 2048 + 3008);
      expect(merged, `release order ${order}`).toBe(blocks[0]);
      heap.release(merged);
      heap.release(guard);
      // And everything merged back into one free region: the whole memory is one block again.
      expect(heap.alloc(PAGE)).toBe(0);
      expect(heap.capacityBytes).toBe(PAGE);
    }
  });

  it("blocks are 64-byte aligned and never overlap, alloc(0) included", () => {
    const heap = new Heap(new WebAssembly.Memory({ initial: 1 }), 13);
    const sizes = [0, 1, 63, 64, 65, 1000, 0, 4096];
    const blocks = sizes.map((s) => [heap.alloc(s), Math.max(64, Math.ceil(s / 64) * 64)] as const);
    for (const [p] of blocks) expect(p % 64).toBe(0);
    const sorted = [...blocks].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i][0]).toBeGreaterThanOrEqual(sorted[i - 1][0] + sorted[i - 1][1]);
    expect(sorted[0][0]).toBeGreaterThanOrEqual(13);
  });

  it("double release and unknown addresses throw E_STATE; bad sizes throw E_VALUE", () => {
    const heap = new Heap(new WebAssembly.Memory({ initial: 1 }), 0);
    const p = heap.alloc(128);
    heap.release(p);
    expect(code(() => heap.release(p))).toBe("E_STATE");
    const q = heap.alloc(128);
    expect(code(() => heap.release(q + 64))).toBe("E_STATE");
    expect(code(() => heap.release(123456))).toBe("E_STATE");
    for (const bad of [-1, 1.5, NaN, Infinity]) expect(code(() => heap.alloc(bad))).toBe("E_VALUE");
    heap.release(q); // still fine after the failures
    expect(heap.usedBytes).toBe(0);
  });

  it("running out of memory throws a RecurError and leaves the heap usable", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const heap = new Heap(memory, 0);
    const p = heap.alloc(1000);
    expect(() => heap.alloc(3 * PAGE)).toThrow(RecurError);
    expect(heap.usedBytes).toBe(1024);
    const q = heap.alloc(PAGE); // still room for this one after growing to the maximum
    heap.release(q);
    heap.release(p);
    expect(heap.usedBytes).toBe(0);
  });
});
