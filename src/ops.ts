import { fail } from "./errors.js";
import { runtime, type Runtime } from "./runtime.js";
import { checkTensor, type Tensor } from "./tensor.js";

/**
 * C = A B for row-major A [m, k] and B [k, n], through the SIMD GEMM. Each call copies A and B
 * into Wasm memory, packs B and copies C out (into a new array): measured ~1.1 ms at n = 512
 * (~13 % of the relaxed binary's product) and ~3.6 ms at n = 1024 (~6 %). Models keep their
 * weights in Wasm memory and pack them once instead.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return matmulOn(runtime(), a, b);
}

/** `matmul` on a given runtime (for tests and benchmarks that compare both binaries in one process). */
export function matmulOn(rt: Runtime, a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "matmul: a", [-1, -1]);
  checkTensor(b, "matmul: b", [-1, -1]);
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) fail("E_SHAPE", `matmul: inner sizes differ: a is [${m}, ${k}], b is [${k2}, ${n}]`);
  if (m === 0 || n === 0) return { shape: [m, n], data: new Float32Array(m * n) };
  const { kernels, heap } = rt;
  // One block for all operands: a single alloc/release pair per call.
  const aPtr = heap.alloc(align64(m * k * 4) + align64(k * n * 4) + align64(kernels.packedSize(k, n) * 4) + m * n * 4);
  const bPtr = aPtr + align64(m * k * 4);
  const packedPtr = bPtr + align64(k * n * 4);
  const cPtr = packedPtr + align64(kernels.packedSize(k, n) * 4);
  try {
    heap.f32(aPtr, m * k).set(a.data);
    heap.f32(bPtr, k * n).set(b.data);
    kernels.packB(bPtr, n, k, n, 0, packedPtr);
    kernels.gemm(m, n, k, aPtr, k, packedPtr, cPtr, n, 0);
    // slice() allocates and copies in one pass (no zero-fill of a fresh array first).
    return { shape: [m, n], data: heap.f32(cPtr, m * n).slice() };
  } finally {
    heap.release(aPtr);
  }
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}
