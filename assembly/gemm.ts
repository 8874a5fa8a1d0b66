// Dense matrix products. B is packed once into 8-column panels with its bias row first:
//
//   panel p (columns 8p .. 8p+7): [bias 8][row 0: 8]...[row K-1: 8]      (K+1)*8 floats
//
// N is padded to a multiple of 8 with zeros, so the micro-kernel always loads two full vectors.
// The 4x8 tile keeps 8 accumulators + 2 B vectors + 1 broadcast A in V8's 15 usable registers;
// K is deliberately not unrolled (TurboFan would hoist the loads and spill).
import { madd } from "./simd";

const PANEL: i32 = 8;
// Rows of A per cache block: 128 rows x K floats stays in L2 for K up to ~1024 while every panel
// of B sweeps over it.
const ROW_BLOCK: i32 = 128;

/** Floats needed to pack a K x N matrix. */
export function packedSize(k: i32, n: i32): i32 {
  return ((n + PANEL - 1) / PANEL) * (k + 1) * PANEL;
}

/** Packs B[k][n] (row stride `ldb` floats) and an optional bias[n] (0 = none) into `dst`. */
export function packB(src: usize, ldb: i32, k: i32, n: i32, bias: usize, dst: usize): void {
  packPanels(src, <usize>ldb << 2, 4, k, n, bias, dst);
}

/**
 * Packs B = W^T where W[n][k] (row stride `ldw`) is stored as PyTorch stores weights
 * (out_features x in_features), so X W^T needs no explicit transpose.
 */
export function packBT(src: usize, ldw: i32, k: i32, n: i32, bias: usize, dst: usize): void {
  packPanels(src, 4, <usize>ldw << 2, k, n, bias, dst);
}

// Element (kk, col) of B sits at src + kk*rowStride + col*colStride (bytes).
function packPanels(src: usize, rowStride: usize, colStride: usize, k: i32, n: i32, bias: usize, dst: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  let out = dst;
  for (let p = 0; p < panels; p++) {
    const col0 = p * PANEL;
    for (let j = 0; j < PANEL; j++) {
      const col = col0 + j;
      store<f32>(out + (<usize>j << 2), bias != 0 && col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    out += PANEL << 2;
    for (let kk = 0; kk < k; kk++) {
      const row = src + <usize>kk * rowStride;
      for (let j = 0; j < PANEL; j++) {
        const col = col0 + j;
        store<f32>(out + (<usize>j << 2), col < n ? load<f32>(row + <usize>col * colStride) : 0);
      }
      out += PANEL << 2;
    }
  }
}

/** C[m][n] = (accumulate ? C : 0) + A[m][k] B + bias, with B packed by packB/packBT. */
export function gemm(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  gemmStrided(m, n, k, a, <usize>lda << 2, 4, bp, c, ldc, accumulate);
}

/**
 * C[m][n] = (accumulate ? C : 0) + A^T B + bias where A is stored k x m (row stride `lda`).
 * This is the weight-gradient product of BPTT (dW = dG^T X) without transposing dG: the four
 * broadcast loads of a tile are adjacent floats of one row of A.
 */
export function gemmTN(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  gemmStrided(m, n, k, a, 4, <usize>lda << 2, bp, c, ldc, accumulate);
}

// A(r, kk) sits at a + r*rowStride + kk*kStride (bytes).
function gemmStrided(m: i32, n: i32, k: i32, a: usize, rowStride: usize, kStride: usize, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  const panels = (n + PANEL - 1) / PANEL;
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  const ldcBytes = <usize>ldc << 2;
  for (let r0 = 0; r0 < m; r0 += ROW_BLOCK) {
    const rEnd = min(m, r0 + ROW_BLOCK);
    const rFull = r0 + ((rEnd - r0) & ~3);
    for (let p = 0; p < panels; p++) {
      const cols = min(PANEL, n - p * PANEL);
      const b = bp + <usize>p * panelBytes;
      for (let r = r0; r < rFull; r += 4) {
        tile4x8(k, a + <usize>r * rowStride, rowStride, kStride, b, c + <usize>r * ldcBytes + (<usize>(p * PANEL) << 2), ldcBytes, cols, accumulate);
      }
    }
    for (let r = rFull; r < rEnd; r++) {
      const arow = a + <usize>r * rowStride;
      const crow = c + <usize>r * ldcBytes;
      let p = 0;
      // Three panels at once give a single row (GEMV) 6 independent accumulator chains. Four
      // would need 8 accumulators + 8 loaded vectors: TurboFan hoists the loads, runs out of
      // its 15 vector registers and spills an accumulator, putting a store-forward on the chain.
      for (; p + 3 <= panels && (p + 3) * PANEL <= n; p += 3) {
        row1x24(k, arow, kStride, bp + <usize>p * panelBytes, panelBytes, crow + (<usize>(p * PANEL) << 2), accumulate);
      }
      for (; p < panels; p++) {
        row1x8(k, arow, kStride, bp + <usize>p * panelBytes, crow + (<usize>(p * PANEL) << 2), min(PANEL, n - p * PANEL), accumulate);
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function storeRow8(c: usize, lo: v128, hi: v128, cols: i32, accumulate: bool): void {
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

function tile4x8(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, c: usize, ldcBytes: usize, cols: i32, accumulate: bool): void {
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

function row1x24(k: i32, a: usize, kStride: usize, b: usize, panelBytes: usize, c: usize, accumulate: bool): void {
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

function row1x8(k: i32, a: usize, kStride: usize, b: usize, c: usize, cols: i32, accumulate: bool): void {
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
