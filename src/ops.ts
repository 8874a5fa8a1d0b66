import { fail } from "./errors.js";
import { runtime } from "./runtime.js";
import { checkTensor, type Tensor } from "./tensor.js";

/**
 * C = A B for row-major A [m, k] and B [k, n], through the SIMD GEMM. B is packed per call
 * (about 1 % of the product's time at n = 512); models pack their weights once instead.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor(a, "matmul: a", [-1, -1]);
  checkTensor(b, "matmul: b", [-1, -1]);
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) fail("E_SHAPE", `matmul: inner sizes differ: a is [${m}, ${k}], b is [${k2}, ${n}]`);
  const out = { shape: [m, n], data: new Float32Array(m * n) };
  if (m === 0 || n === 0) return out;
  const { kernels, heap } = runtime();
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
    out.data.set(heap.f32(cPtr, m * n));
  } finally {
    heap.release(aPtr);
  }
  return out;
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}
