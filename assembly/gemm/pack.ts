// Packing of GEMM operands. B is packed once into 8-column panels with its bias row first:
//
//   panel p (columns 8p .. 8p+7): [bias 8][row 0: 8]...[row K-1: 8]      (K+1)*8 floats
//
// N is padded to a multiple of 8 with zeros, so the micro-kernels always load two full vectors.
// A is copied per call, MR rows at a time, into k-major strips [k][MR] (packA) for the 5x8 tile
// (gemm/microkernels.ts; gemm/dispatch.ts decides which rows take it).
import { argI32, fork, taskArg, threadsAvailable } from "../threads";

/** Columns of a packed panel of B: the width of every micro-kernel's tile. */
export const PANEL: i32 = 8;
/** Rows of A per packed strip: the height of the 5x8 tile. */
export const MR: i32 = 5;

/** Floats needed to pack a K x N matrix. */
export function packedSize(k: i32, n: i32): i32 {
  return ((n + PANEL - 1) / PANEL) * (k + 1) * PANEL;
}

/** Packs B[k][n] (row stride `ldb` floats) and an optional bias[n] (0 = none) into `dst`. */
export function packB(src: usize, ldb: i32, k: i32, n: i32, bias: usize, dst: usize): void {
  pack(src, <usize>ldb << 2, 4, k, n, bias, dst);
}

/**
 * Packs B = W^T where W[n][k] (row stride `ldw`) is stored as PyTorch stores weights
 * (out_features x in_features), so X W^T needs no explicit transpose.
 */
export function packBT(src: usize, ldw: i32, k: i32, n: i32, bias: usize, dst: usize): void {
  pack(src, 4, <usize>ldw << 2, k, n, bias, dst);
}

// Threaded binaries: packing is a copy (memory-bound), split by panels above PACK_FORK_FLOATS.
const PACK_FORK_FLOATS: i64 = 1 << 16;

function pack(src: usize, rowStride: usize, colStride: usize, k: i32, n: i32, bias: usize, dst: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  if (ASC_FEATURE_THREADS) {
    const threads = threadsAvailable();
    if (threads > 1 && panels >= 2 * threads && <i64>k * <i64>n >= PACK_FORK_FLOATS) {
      store<u32>(taskArg(0), <u32>src);
      store<u32>(taskArg(1), <u32>rowStride);
      store<u32>(taskArg(2), <u32>colStride);
      store<i32>(taskArg(3), k);
      store<i32>(taskArg(4), n);
      store<u32>(taskArg(5), <u32>bias);
      store<u32>(taskArg(6), <u32>dst);
      fork(packChunk, 2 * threads);
      return;
    }
  }
  packPanels(src, rowStride, colStride, k, n, bias, dst, 0, panels);
}

// One chunk of a forked packB / packBT: a range of panels.
function packChunk(control: usize, chunk: i32, chunks: i32): void {
  const n = argI32(control, 4);
  const panels = (n + PANEL - 1) / PANEL;
  const p0 = <i32>(<i64>panels * chunk / chunks), p1 = <i32>(<i64>panels * (chunk + 1) / chunks);
  const src = <usize><u32>argI32(control, 0), rowStride = <usize><u32>argI32(control, 1), colStride = <usize><u32>argI32(control, 2);
  const bias = <usize><u32>argI32(control, 5), dst = <usize><u32>argI32(control, 6);
  packPanels(src, rowStride, colStride, argI32(control, 3), n, bias, dst, p0, p1);
}

// Element (kk, col) of B sits at src + kk*rowStride + col*colStride (bytes). Full panels are
// copied with vectors (packing sits on matmul's per-call path): packB's panel rows are 8
// contiguous floats; packBT's come from 8 rows of W, transposed 4 x 4 in registers.
/** Packs panels p0 .. p1-1 of B (element (kk, col) at src + kk*rowStride + col*colStride). */
export function packPanels(src: usize, rowStride: usize, colStride: usize, k: i32, n: i32, bias: usize, dst: usize, p0: i32, p1: i32): void {
  let out = dst + <usize>p0 * (<usize>(k + 1) * (PANEL << 2));
  for (let p = p0; p < p1; p++) {
    const col0 = p * PANEL;
    for (let j = 0; j < PANEL; j++) {
      const col = col0 + j;
      store<f32>(out + (<usize>j << 2), bias != 0 && col < n ? load<f32>(bias + (<usize>col << 2)) : 0);
    }
    out += PANEL << 2;
    const first = src + <usize>col0 * colStride;
    let kk = 0;
    if (col0 + PANEL <= n) {
      if (colStride == 4) {
        for (; kk < k; kk++) {
          const row = first + <usize>kk * rowStride;
          v128.store(out, v128.load(row));
          v128.store(out, v128.load(row, 16), 16);
          out += PANEL << 2;
        }
      } else if (rowStride == 4) {
        for (; kk + 4 <= k; kk += 4) {
          const w = first + (<usize>kk << 2);
          transpose4(w, colStride, out);
          transpose4(w + 4 * colStride, colStride, out + 16);
          out += 4 * PANEL << 2;
        }
      }
    }
    for (; kk < k; kk++) {
      const row = src + <usize>kk * rowStride;
      for (let j = 0; j < PANEL; j++) {
        const col = col0 + j;
        store<f32>(out + (<usize>j << 2), col < n ? load<f32>(row + <usize>col * colStride) : 0);
      }
      out += PANEL << 2;
    }
  }
}

// Four floats from each of four rows (src, src + stride, ...) -> four panel rows of 4 (32 bytes apart).
// @ts-ignore: decorator
@inline
function transpose4(src: usize, stride: usize, dst: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + stride);
  const r2 = v128.load(src + 2 * stride);
  const r3 = v128.load(src + 3 * stride);
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
  v128.store(dst, i32x4.shuffle(t0, t1, 2, 3, 6, 7), PANEL << 2);
  v128.store(dst, i32x4.shuffle(t2, t3, 0, 1, 4, 5), 2 * PANEL << 2);
  v128.store(dst, i32x4.shuffle(t2, t3, 2, 3, 6, 7), 3 * PANEL << 2);
}

// Copies `rows` (a multiple of MR) rows of A into strips: strip s holds rows 5s..5s+4 as [k][5].
// Vector paths (packing is ~5 % of a 512^3 product): gemm's A has k contiguous, so four k of rows
// 0-3 are a 4 x 4 transpose (row 4 goes lane by lane); gemmTN's A has the five rows contiguous.
export function packA(a: usize, rowStride: usize, kStride: usize, rows: i32, k: i32, dst: usize): void {
  const step = <usize>(MR << 2);
  for (let r = 0; r < rows; r += MR) {
    let src = a + <usize>r * rowStride;
    let kk = 0;
    if (kStride == 4) {
      for (; kk + 4 <= k; kk += 4) {
        const r0 = v128.load(src);
        const r1 = v128.load(src + rowStride);
        const r2 = v128.load(src + 2 * rowStride);
        const r3 = v128.load(src + 3 * rowStride);
        const r4 = v128.load(src + 4 * rowStride);
        const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
        const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
        const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
        const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
        // Each 16-byte store covers rows 0-3 of one k; row 4 fills the 4 bytes after it.
        v128.store(dst, i32x4.shuffle(t0, t1, 0, 1, 4, 5));
        store<f32>(dst, f32x4.extract_lane(r4, 0), 16);
        v128.store(dst + step, i32x4.shuffle(t0, t1, 2, 3, 6, 7));
        store<f32>(dst + step, f32x4.extract_lane(r4, 1), 16);
        v128.store(dst + 2 * step, i32x4.shuffle(t2, t3, 0, 1, 4, 5));
        store<f32>(dst + 2 * step, f32x4.extract_lane(r4, 2), 16);
        v128.store(dst + 3 * step, i32x4.shuffle(t2, t3, 2, 3, 6, 7));
        store<f32>(dst + 3 * step, f32x4.extract_lane(r4, 3), 16);
        src += 16;
        dst += 4 * step;
      }
    } else if (rowStride == 4) {
      for (; kk < k; kk++) {
        v128.store(dst, v128.load(src));
        store<f32>(dst, load<f32>(src, 16), 16);
        src += kStride;
        dst += step;
      }
    }
    for (; kk < k; kk++) {
      store<f32>(dst, load<f32>(src));
      store<f32>(dst, load<f32>(src + rowStride), 4);
      store<f32>(dst, load<f32>(src + 2 * rowStride), 8);
      store<f32>(dst, load<f32>(src + 3 * rowStride), 12);
      store<f32>(dst, load<f32>(src + 4 * rowStride), 16);
      src += kStride;
      dst += step;
    }
  }
}
