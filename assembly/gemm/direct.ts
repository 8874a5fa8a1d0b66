// Products with few rows of A (m <= 8, down to a GEMV) on B as stored, row-major, unpacked:
//
//   C[m][n] = (accumulate ? C : 0) + A[m][k] B[k][n]
//
// Packing B costs one read and one write of every element; a product with one to eight rows of
// A reads each element of B only once or twice, so a B used once is cheaper to read in place.
// The tiles are the packed path's (gemm/microkernels.ts) with B rows `ldb` floats apart instead
// of 8-float panel rows: 4x8 (8 accumulator chains), 2x16 and 1x24 (the single row's 6 chains;
// 1x32 would hoist 8 loads and spill, as on packed B). Columns past the last multiple of 8 take
// a scalar loop (at most 7 of them).
import { madd } from "../simd";
import { storeRow8 } from "./microkernels";

/** Rows of A the direct path is meant for: above this, packing B pays for itself. */
export const DIRECT_MAX_ROWS: i32 = 8;

/** C = (accumulate ? C : 0) + A B, with B[k][n] row-major (row stride `ldb` floats), not packed. */
export function gemmDirect(m: i32, n: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, accumulate: bool): void {
  const ldaBytes = <usize>lda << 2, ldbBytes = <usize>ldb << 2, ldcBytes = <usize>ldc << 2;
  const nFull = n & ~7;
  let r = 0;
  for (; r + 4 <= m; r += 4) {
    for (let j = 0; j < nFull; j += 8) {
      f32_gemm_ukernel_4x8__wasmsimd_rowb(k, a + <usize>r * ldaBytes, ldaBytes, b + (<usize>j << 2), ldbBytes, c + <usize>r * ldcBytes + (<usize>j << 2), ldcBytes, accumulate);
    }
  }
  if (r + 2 <= m) {
    let j = 0;
    for (; j + 16 <= nFull; j += 16) {
      f32_gemm_ukernel_2x16__wasmsimd_rowb(k, a + <usize>r * ldaBytes, ldaBytes, b + (<usize>j << 2), ldbBytes, c + <usize>r * ldcBytes + (<usize>j << 2), ldcBytes, accumulate);
    }
    for (; j < nFull; j += 8) {
      f32_gemm_ukernel_1x8__wasmsimd_rowb(k, a + <usize>r * ldaBytes, b + (<usize>j << 2), ldbBytes, c + <usize>r * ldcBytes + (<usize>j << 2), accumulate);
      f32_gemm_ukernel_1x8__wasmsimd_rowb(k, a + <usize>(r + 1) * ldaBytes, b + (<usize>j << 2), ldbBytes, c + <usize>(r + 1) * ldcBytes + (<usize>j << 2), accumulate);
    }
    r += 2;
  }
  if (r < m) {
    const arow = a + <usize>r * ldaBytes, crow = c + <usize>r * ldcBytes;
    let j = 0;
    for (; j + 24 <= nFull; j += 24) {
      f32_gemm_ukernel_1x24__wasmsimd_rowb(k, arow, b + (<usize>j << 2), ldbBytes, crow + (<usize>j << 2), accumulate);
    }
    for (; j < nFull; j += 8) {
      f32_gemm_ukernel_1x8__wasmsimd_rowb(k, arow, b + (<usize>j << 2), ldbBytes, crow + (<usize>j << 2), accumulate);
    }
  }
  if (nFull < n) columnTail(m, n, nFull, k, a, ldaBytes, b, ldbBytes, c, ldcBytes, accumulate);
}

// Columns j0 .. n-1 (fewer than 8), one dot product each, summed in k order as the tiles do.
function columnTail(m: i32, n: i32, j0: i32, k: i32, a: usize, ldaBytes: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, accumulate: bool): void {
  for (let r = 0; r < m; r++) {
    const arow = a + <usize>r * ldaBytes;
    for (let j = j0; j < n; j++) {
      let s: f32 = 0;
      let pb = b + (<usize>j << 2);
      for (let kk = 0; kk < k; kk++) {
        s += load<f32>(arow + (<usize>kk << 2)) * load<f32>(pb);
        pb += ldbBytes;
      }
      const dst = c + <usize>r * ldcBytes + (<usize>j << 2);
      store<f32>(dst, accumulate ? load<f32>(dst) + s : s);
    }
  }
}

export function f32_gemm_ukernel_4x8__wasmsimd_rowb(k: i32, a: usize, ldaBytes: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, accumulate: bool): void {
  const zero = f32x4.splat(0);
  let c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero;
  let a0 = a, a1 = a + ldaBytes, a2 = a + 2 * ldaBytes, a3 = a + 3 * ldaBytes;
  let pb = b;
  for (let i = 0; i < k; i++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(a1);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(a2);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(a3);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    a0 += 4;
    a1 += 4;
    a2 += 4;
    a3 += 4;
    pb += ldbBytes;
  }
  storeRow8(c, c00, c01, 8, accumulate);
  storeRow8(c + ldcBytes, c10, c11, 8, accumulate);
  storeRow8(c + 2 * ldcBytes, c20, c21, 8, accumulate);
  storeRow8(c + 3 * ldcBytes, c30, c31, 8, accumulate);
}

export function f32_gemm_ukernel_2x16__wasmsimd_rowb(k: i32, a: usize, ldaBytes: usize, b: usize, ldbBytes: usize, c: usize, ldcBytes: usize, accumulate: bool): void {
  const zero = f32x4.splat(0);
  let c00 = zero, c01 = zero, c02 = zero, c03 = zero, c10 = zero, c11 = zero, c12 = zero, c13 = zero;
  let a0 = a, a1 = a + ldaBytes;
  let pb = b;
  for (let i = 0; i < k; i++) {
    const x0 = v128.load32_splat(a0);
    const x1 = v128.load32_splat(a1);
    let v = v128.load(pb);
    c00 = madd(x0, v, c00);
    c10 = madd(x1, v, c10);
    v = v128.load(pb, 16);
    c01 = madd(x0, v, c01);
    c11 = madd(x1, v, c11);
    v = v128.load(pb, 32);
    c02 = madd(x0, v, c02);
    c12 = madd(x1, v, c12);
    v = v128.load(pb, 48);
    c03 = madd(x0, v, c03);
    c13 = madd(x1, v, c13);
    a0 += 4;
    a1 += 4;
    pb += ldbBytes;
  }
  storeRow8(c, c00, c01, 8, accumulate);
  storeRow8(c + 32, c02, c03, 8, accumulate);
  storeRow8(c + ldcBytes, c10, c11, 8, accumulate);
  storeRow8(c + ldcBytes + 32, c12, c13, 8, accumulate);
}

export function f32_gemm_ukernel_1x24__wasmsimd_rowb(k: i32, a: usize, b: usize, ldbBytes: usize, c: usize, accumulate: bool): void {
  const zero = f32x4.splat(0);
  let s0 = zero, s1 = zero, s2 = zero, s3 = zero, s4 = zero, s5 = zero;
  let pa = a, pb = b;
  for (let i = 0; i < k; i++) {
    const x = v128.load32_splat(pa);
    s0 = madd(x, v128.load(pb), s0);
    s1 = madd(x, v128.load(pb, 16), s1);
    s2 = madd(x, v128.load(pb, 32), s2);
    s3 = madd(x, v128.load(pb, 48), s3);
    s4 = madd(x, v128.load(pb, 64), s4);
    s5 = madd(x, v128.load(pb, 80), s5);
    pa += 4;
    pb += ldbBytes;
  }
  storeRow8(c, s0, s1, 8, accumulate);
  storeRow8(c + 32, s2, s3, 8, accumulate);
  storeRow8(c + 64, s4, s5, 8, accumulate);
}

export function f32_gemm_ukernel_1x8__wasmsimd_rowb(k: i32, a: usize, b: usize, ldbBytes: usize, c: usize, accumulate: bool): void {
  const zero = f32x4.splat(0);
  let s0 = zero, s1 = zero;
  let pa = a, pb = b;
  for (let i = 0; i < k; i++) {
    const x = v128.load32_splat(pa);
    s0 = madd(x, v128.load(pb), s0);
    s1 = madd(x, v128.load(pb, 16), s1);
    pa += 4;
    pb += ldbBytes;
  }
  storeRow8(c, s0, s1, 8, accumulate);
}
