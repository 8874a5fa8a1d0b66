import { fail } from "./errors.js";
import { objectArgument } from "./validate.js";
import { align64 } from "./memory.js";
import { PackedMatrix } from "./packed-matrix.js";
import { runtime, type Runtime } from "./runtime.js";
import { checkTensor, uninitializedF32, type Tensor } from "./tensor.js";

// Rows of A per block of `matmul`: a block of A and its rows of C (about BLOCK_FLOATS floats
// together, ~512 kB) stay in L2 while they are copied in, multiplied and copied out. A multiple of
// 20, so every block but the last fills the GEMM's packed strips (5 rows each) exactly.
const BLOCK_FLOATS = 1 << 17;
const BLOCK_ROW_MULTIPLE = 20;
// Every block of A streams all of packed B through the cache once: blocks of fewer rows than the
// GEMM packs at a time (125 for any K) would stream it more often than one large call.
const MIN_BLOCK_ROWS = 120;
// Products with at most this many rows of A read B unpacked (kernels.gemmDirect): packing would
// read and write every element of B for one or two reads by the product.
const DIRECT_MAX_ROWS = 8;
// The direct path copies B in blocks of rows of about this many floats (128 kB) and multiplies
// each block while it is still in L2 (measured: 1 x 384 @ 384 x 1000 took ~50 us this way, ~70 us
// copying all of B first; blocks of 16 kB or 512 kB were slower).
const DIRECT_BLOCK_FLOATS = 1 << 15;

/** Options of `matmul`. */
export interface MatmulOptions {
  /**
   * Writes C into this [m, n] tensor and returns it (torch.matmul's `out`), instead of a new
   * array. Repeated products into one result skip the first touch of fresh pages, which costs
   * about 0.5 ms per MB on a KVM guest. It must not overlap `a` or `b`. Default: a new tensor.
   */
  out?: Tensor;
}

/**
 * C = A B for row-major A [m, k] and B [k, n], through the SIMD GEMM.
 *
 * - `b` a tensor: each call copies B into Wasm memory. With at most 8 rows of A (a GEMV, a small
 *   batch) the product reads B as copied, block by block while the block is in cache; with more,
 *   B is packed into the GEMM's panels first, then A is multiplied in blocks of rows (copy in,
 *   multiply, copy out).
 * - `b` a `PackedMatrix` (`packMatrix`): B is already in Wasm memory, packed, with any bias; only
 *   A and C are copied. For a matrix used in many products (weights), this is the fast form.
 */
export function matmul(a: Tensor, b: Tensor | PackedMatrix, options: MatmulOptions = {}): Tensor {
  return matmulOn(runtime(), a, b, options);
}

/** `matmul` on a given runtime (for tests and benchmarks that compare both binaries in one process). */
export function matmulOn(rt: Runtime, a: Tensor, b: Tensor | PackedMatrix, options: MatmulOptions = {}): Tensor {
  objectArgument("matmul", options);
  checkTensor(a, "matmul: a", [-1, -1]);
  const packed = b instanceof PackedMatrix ? b : undefined;
  if (packed === undefined) checkTensor(b, "matmul: b", [-1, -1]);
  const [m, k] = a.shape;
  const [k2, n] = packed?.shape ?? (b as Tensor).shape;
  if (k !== k2) fail("E_SHAPE", `matmul: inner sizes differ: a is [${m}, ${k}], b is [${k2}, ${n}]`);
  const packedPtr = packed?.packed(rt, "matmul");
  let out: Float32Array;
  if (options.out !== undefined) {
    out = checkTensor(options.out, "matmul: out", [m, n]).data;
    const clash = overlaps(out, a.data) ? "a" : packed === undefined && overlaps(out, (b as Tensor).data) ? "b" : undefined;
    if (clash) fail("E_VALUE", `matmul: out must not overlap ${clash}`);
  } else {
    out = uninitializedF32(m * n); // every element is written below
  }
  const result = options.out ?? { shape: [m, n], data: out };
  if (m === 0 || n === 0) return result;
  if (packedPtr !== undefined) multiplyPacked(rt, a.data, packedPtr, m, k, n, out);
  else if (m <= DIRECT_MAX_ROWS || k === 0) multiplyDirect(rt, a.data, (b as Tensor).data, m, k, n, out);
  else multiplyPacking(rt, a.data, (b as Tensor).data, m, k, n, out);
  return result;
}

// Rows of A (and C) per block when B is packed.
function blockRows(m: number, k: number, n: number): number {
  return Math.min(m, Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_FLOATS / (k + n) / BLOCK_ROW_MULTIPLE) * BLOCK_ROW_MULTIPLE));
}

// A in blocks of rows through the GEMM on packed B at packedPtr; `work` holds a block of A then
// its block of C.
function gemmBlocks(rt: Runtime, a: Float32Array, packedPtr: number, m: number, k: number, n: number, out: Float32Array, rows: number, work: number): void {
  const { kernels, heap } = rt;
  const aPtr = work;
  const cPtr = aPtr + align64(rows * k * 4);
  for (let r0 = 0; r0 < m; r0 += rows) {
    const r = Math.min(rows, m - r0);
    heap.f32(aPtr, r * k).set(a.subarray(r0 * k, (r0 + r) * k));
    kernels.gemm(r, n, k, aPtr, k, packedPtr, cPtr, n, 0);
    out.set(heap.f32(cPtr, r * n), r0 * n);
  }
}

function multiplyPacked(rt: Runtime, a: Float32Array, packedPtr: number, m: number, k: number, n: number, out: Float32Array): void {
  const rows = blockRows(m, k, n);
  const work = rt.heap.alloc(align64(rows * k * 4) + rows * n * 4);
  try {
    gemmBlocks(rt, a, packedPtr, m, k, n, out, rows, work);
  } finally {
    rt.heap.release(work);
  }
}

function multiplyPacking(rt: Runtime, a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): void {
  const { kernels, heap } = rt;
  const rows = blockRows(m, k, n);
  const packedBytes = align64(kernels.packedSize(k, n) * 4);
  // One block for all operands (a single alloc/release pair per call): packed B, then B itself,
  // whose room the blocks of A and C reuse once B is packed.
  const blockBytes = align64(rows * k * 4) + rows * n * 4;
  const packedPtr = heap.alloc(packedBytes + Math.max(k * n * 4, blockBytes));
  const bPtr = packedPtr + packedBytes;
  try {
    heap.f32(bPtr, k * n).set(b);
    kernels.packB(bPtr, n, k, n, 0, packedPtr);
    gemmBlocks(rt, a, packedPtr, m, k, n, out, rows, bPtr);
  } finally {
    heap.release(packedPtr);
  }
}

function multiplyDirect(rt: Runtime, a: Float32Array, b: Float32Array, m: number, k: number, n: number, out: Float32Array): void {
  const { kernels, heap } = rt;
  const kb = Math.max(1, Math.min(k, Math.floor(DIRECT_BLOCK_FLOATS / n)));
  const aBytes = align64(m * k * 4), cBytes = align64(m * n * 4);
  const aPtr = heap.alloc(aBytes + cBytes + kb * n * 4);
  const cPtr = aPtr + aBytes, bPtr = cPtr + cBytes;
  try {
    heap.f32(aPtr, m * k).set(a);
    if (k === 0) heap.f32(cPtr, m * n).fill(0);
    for (let k0 = 0; k0 < k; k0 += kb) {
      const rows = Math.min(kb, k - k0);
      heap.f32(bPtr, rows * n).set(b.subarray(k0 * n, (k0 + rows) * n));
      kernels.gemmDirect(m, n, rows, aPtr + k0 * 4, k, bPtr, n, cPtr, n, k0 > 0 ? 1 : 0);
    }
    out.set(heap.f32(cPtr, m * n));
  } finally {
    heap.release(aPtr);
  }
}

function overlaps(x: Float32Array, y: Float32Array): boolean {
  return x.buffer === y.buffer && x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}
