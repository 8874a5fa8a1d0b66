import { fail } from "./errors.js";
import { objectArgument } from "./validate.js";
import { align64 } from "./memory.js";
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
 * C = A B for row-major A [m, k] and B [k, n], through the SIMD GEMM. Each call copies B into
 * Wasm memory and packs it, then runs the product in blocks of rows: copy the block of A in,
 * multiply, copy its rows of C out into the result. Working in blocks keeps the copies in cache.
 * Models keep their weights in Wasm memory and pack them once instead.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  return matmulOn(runtime(), a, b, options);
}

/** `matmul` on a given runtime (for tests and benchmarks that compare both binaries in one process). */
export function matmulOn(rt: Runtime, a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  objectArgument("matmul", options);
  checkTensor(a, "matmul: a", [-1, -1]);
  checkTensor(b, "matmul: b", [-1, -1]);
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) fail("E_SHAPE", `matmul: inner sizes differ: a is [${m}, ${k}], b is [${k2}, ${n}]`);
  let out: Float32Array;
  if (options.out !== undefined) {
    out = checkTensor(options.out, "matmul: out", [m, n]).data;
    const clash = overlaps(out, a.data) ? "a" : overlaps(out, b.data) ? "b" : undefined;
    if (clash) fail("E_VALUE", `matmul: out must not overlap ${clash}`);
  } else {
    out = uninitializedF32(m * n); // every element is written below
  }
  const result = options.out ?? { shape: [m, n], data: out };
  if (m === 0 || n === 0) return result;
  const { kernels, heap } = rt;
  const rows = Math.min(m, Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_FLOATS / (k + n) / BLOCK_ROW_MULTIPLE) * BLOCK_ROW_MULTIPLE));
  const packedBytes = align64(kernels.packedSize(k, n) * 4);
  // One block for all operands (a single alloc/release pair per call): packed B, then B itself,
  // whose room the blocks of A and C reuse once B is packed.
  const blockBytes = align64(rows * k * 4) + rows * n * 4;
  const packedPtr = heap.alloc(packedBytes + Math.max(k * n * 4, blockBytes));
  const bPtr = packedPtr + packedBytes;
  const aPtr = bPtr;
  const cPtr = aPtr + align64(rows * k * 4);
  try {
    heap.f32(bPtr, k * n).set(b.data);
    kernels.packB(bPtr, n, k, n, 0, packedPtr);
    for (let r0 = 0; r0 < m; r0 += rows) {
      const r = Math.min(rows, m - r0);
      heap.f32(aPtr, r * k).set(a.data.subarray(r0 * k, (r0 + r) * k));
      kernels.gemm(r, n, k, aPtr, k, packedPtr, cPtr, n, 0);
      out.set(heap.f32(cPtr, r * n), r0 * n);
    }
    return result;
  } finally {
    heap.release(packedPtr);
  }
}

function overlaps(x: Float32Array, y: Float32Array): boolean {
  return x.buffer === y.buffer && x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}
