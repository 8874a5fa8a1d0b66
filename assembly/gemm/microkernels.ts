// The GEMM's register tiles, named as XNNPACK names its micro-kernels:
//
//   f32_gemm_ukernel_{MR}x{NR}__{isa}_{variant}
//
// MR rows of A times NR columns of packed B (one panel per 8 columns, bias row first; see
// gemm/pack.ts), accumulated in MR * NR / 4 vector registers. isa `wasmsimd` is Wasm SIMD128:
// the baseline binary runs these bodies with f32x4.mul + f32x4.add, the relaxed binary with
// f32x4.relaxed_madd (one FMA: XNNPACK's `wasmrelaxedsimd_fma`), both through madd (simd.ts).
// variant `loadsplat`: A is read in place, one broadcast load per row and k; `packa`: A comes
// packed into a k-major strip (gemm/pack.ts packA), read at constant offsets of one pointer.
// Why these tiles, and why the 5x8 one ends in plain stores: see gemm/dispatch.ts.
import { madd } from "../simd";
import { MR, PANEL } from "./pack";

// @ts-ignore: decorator
@inline
export function storeRow8(c: usize, lo: v128, hi: v128, cols: i32, accumulate: bool): void {
  if (cols == PANEL) {
    if (accumulate) {
      lo = f32x4.add(lo, v128.load(c));
      hi = f32x4.add(hi, v128.load(c, 16));
    }
    v128.store(c, lo);
    v128.store(c, hi, 16);
  } else {
    for (let j = 0; j < cols; j++) {
      const v = j < 4 ? lane(lo, j) : lane(hi, j - 4);
      const dst = c + (<usize>j << 2);
      store<f32>(dst, accumulate ? load<f32>(dst) + v : v);
    }
  }
}

// @ts-ignore: decorator
@inline
function lane(v: v128, j: i32): f32 {
  if (j == 0) return f32x4.extract_lane(v, 0);
  if (j == 1) return f32x4.extract_lane(v, 1);
  if (j == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

// Five rows of packed A (one strip, [k][5]) times k rows of a panel of B from `pb` on, plus the
// 8 floats at `bias`; plain stores of all 8 columns. k >= 1.
export function f32_gemm_ukernel_5x8__wasmsimd_packa(k: i32, pa: usize, bias: usize, pb: usize, c: usize, ldcBytes: usize): void {
  const bias0 = v128.load(bias);
  const bias1 = v128.load(bias, 16);
  const end = pb + (<usize>k << 5);
  // The first k step is peeled (k >= 1): its broadcasts at offsets 4, 8 and 12 make V8 compute
  // those three addresses' bases once before the loop instead of one lea each per iteration.
  let b0 = v128.load(pb);
  let b1 = v128.load(pb, 16);
  let x = v128.load32_splat(pa);
  let c00 = madd(x, b0, bias0), c01 = madd(x, b1, bias1);
  x = v128.load32_splat(pa, 4);
  let c10 = madd(x, b0, bias0), c11 = madd(x, b1, bias1);
  x = v128.load32_splat(pa, 8);
  let c20 = madd(x, b0, bias0), c21 = madd(x, b1, bias1);
  x = v128.load32_splat(pa, 12);
  let c30 = madd(x, b0, bias0), c31 = madd(x, b1, bias1);
  x = v128.load32_splat(pa, 16);
  let c40 = madd(x, b0, bias0), c41 = madd(x, b1, bias1);
  pa += MR << 2;
  pb += PANEL << 2;
  while (pb < end) {
    b0 = v128.load(pb);
    b1 = v128.load(pb, 16);
    x = v128.load32_splat(pa);
    c00 = madd(x, b0, c00);
    c01 = madd(x, b1, c01);
    x = v128.load32_splat(pa, 4);
    c10 = madd(x, b0, c10);
    c11 = madd(x, b1, c11);
    x = v128.load32_splat(pa, 8);
    c20 = madd(x, b0, c20);
    c21 = madd(x, b1, c21);
    x = v128.load32_splat(pa, 12);
    c30 = madd(x, b0, c30);
    c31 = madd(x, b1, c31);
    x = v128.load32_splat(pa, 16);
    c40 = madd(x, b0, c40);
    c41 = madd(x, b1, c41);
    pa += MR << 2;
    pb += PANEL << 2;
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldcBytes, c10);
  v128.store(c + ldcBytes, c11, 16);
  v128.store(c + 2 * ldcBytes, c20);
  v128.store(c + 2 * ldcBytes, c21, 16);
  v128.store(c + 3 * ldcBytes, c30);
  v128.store(c + 3 * ldcBytes, c31, 16);
  v128.store(c + 4 * ldcBytes, c40);
  v128.store(c + 4 * ldcBytes, c41, 16);
}

export function f32_gemm_ukernel_4x8__wasmsimd_loadsplat(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, c: usize, ldcBytes: usize, cols: i32, accumulate: bool): void {
  const bias0 = v128.load(b);
  const bias1 = v128.load(b, 16);
  let c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1;
  let c20 = bias0, c21 = bias1, c30 = bias0, c31 = bias1;
  let a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride;
  let pb = b + (PANEL << 2);
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
    a0 += kStride;
    a1 += kStride;
    a2 += kStride;
    a3 += kStride;
    pb += PANEL << 2;
  }
  storeRow8(c, c00, c01, cols, accumulate);
  storeRow8(c + ldcBytes, c10, c11, cols, accumulate);
  storeRow8(c + 2 * ldcBytes, c20, c21, cols, accumulate);
  storeRow8(c + 3 * ldcBytes, c30, c31, cols, accumulate);
}

// Two rows of A times two panels of B (16 columns; the second panel has `cols2` real columns).
export function f32_gemm_ukernel_2x16__wasmsimd_loadsplat(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, panelBytes: usize, c: usize, ldcBytes: usize, cols2: i32, accumulate: bool): void {
  const b2 = b + panelBytes;
  let c00 = v128.load(b), c01 = v128.load(b, 16), c02 = v128.load(b2), c03 = v128.load(b2, 16);
  let c10 = c00, c11 = c01, c12 = c02, c13 = c03;
  let a0 = a, a1 = a + rowStride;
  let pb = b + (PANEL << 2), pb2 = b2 + (PANEL << 2);
  for (let i = 0; i < k; i++) {
    const x0 = v128.load32_splat(a0);
    const x1 = v128.load32_splat(a1);
    let v = v128.load(pb);
    c00 = madd(x0, v, c00);
    c10 = madd(x1, v, c10);
    v = v128.load(pb, 16);
    c01 = madd(x0, v, c01);
    c11 = madd(x1, v, c11);
    v = v128.load(pb2);
    c02 = madd(x0, v, c02);
    c12 = madd(x1, v, c12);
    v = v128.load(pb2, 16);
    c03 = madd(x0, v, c03);
    c13 = madd(x1, v, c13);
    a0 += kStride;
    a1 += kStride;
    pb += PANEL << 2;
    pb2 += PANEL << 2;
  }
  storeRow8(c, c00, c01, PANEL, accumulate);
  storeRow8(c + ldcBytes, c10, c11, PANEL, accumulate);
  storeRow8(c + 32, c02, c03, cols2, accumulate);
  storeRow8(c + ldcBytes + 32, c12, c13, cols2, accumulate);
}

export function f32_gemm_ukernel_2x8__wasmsimd_loadsplat(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, c: usize, ldcBytes: usize, cols: i32, accumulate: bool): void {
  let c00 = v128.load(b), c01 = v128.load(b, 16);
  let c10 = c00, c11 = c01;
  let a0 = a, a1 = a + rowStride;
  let pb = b + (PANEL << 2);
  for (let i = 0; i < k; i++) {
    const x0 = v128.load32_splat(a0);
    const x1 = v128.load32_splat(a1);
    const v0 = v128.load(pb);
    const v1 = v128.load(pb, 16);
    c00 = madd(x0, v0, c00);
    c01 = madd(x0, v1, c01);
    c10 = madd(x1, v0, c10);
    c11 = madd(x1, v1, c11);
    a0 += kStride;
    a1 += kStride;
    pb += PANEL << 2;
  }
  storeRow8(c, c00, c01, cols, accumulate);
  storeRow8(c + ldcBytes, c10, c11, cols, accumulate);
}

export function f32_gemm_ukernel_1x24__wasmsimd_loadsplat(k: i32, a: usize, kStride: usize, b: usize, panelBytes: usize, c: usize, accumulate: bool): void {
  let pb0 = b, pb1 = b + panelBytes, pb2 = b + 2 * panelBytes;
  let s0 = v128.load(pb0), s1 = v128.load(pb0, 16), s2 = v128.load(pb1), s3 = v128.load(pb1, 16);
  let s4 = v128.load(pb2), s5 = v128.load(pb2, 16);
  let pa = a;
  for (let i = 0; i < k; i++) {
    pb0 += PANEL << 2;
    pb1 += PANEL << 2;
    pb2 += PANEL << 2;
    const x = v128.load32_splat(pa);
    s0 = madd(x, v128.load(pb0), s0);
    s1 = madd(x, v128.load(pb0, 16), s1);
    s2 = madd(x, v128.load(pb1), s2);
    s3 = madd(x, v128.load(pb1, 16), s3);
    s4 = madd(x, v128.load(pb2), s4);
    s5 = madd(x, v128.load(pb2, 16), s5);
    pa += kStride;
  }
  storeRow8(c, s0, s1, PANEL, accumulate);
  storeRow8(c + 32, s2, s3, PANEL, accumulate);
  storeRow8(c + 64, s4, s5, PANEL, accumulate);
}

export function f32_gemm_ukernel_1x8__wasmsimd_loadsplat(k: i32, a: usize, kStride: usize, b: usize, c: usize, cols: i32, accumulate: bool): void {
  let s0 = v128.load(b), s1 = v128.load(b, 16);
  let pb = b;
  let pa = a;
  for (let i = 0; i < k; i++) {
    pb += PANEL << 2;
    const x = v128.load32_splat(pa);
    s0 = madd(x, v128.load(pb), s0);
    s1 = madd(x, v128.load(pb, 16), s1);
    pa += kStride;
  }
  storeRow8(c, s0, s1, cols, accumulate);
}

