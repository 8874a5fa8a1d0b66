// Dense matrix products. B is packed once into 8-column panels with its bias row first:
//
//   panel p (columns 8p .. 8p+7): [bias 8][row 0: 8]...[row K-1: 8]      (K+1)*8 floats
//
// N is padded to a multiple of 8 with zeros, so the micro-kernels always load two full vectors.
//
// Main path: each call copies A, five rows at a time, into k-major strips [k][5] inside a scratch
// region the host reserves once (setGemmScratch), then runs a 5x8 tile over every strip x panel.
// Why 5x8 on packed A (measured on the project machine, V8 11.3, fractions of peakProbe):
// - With relaxed SIMD each accumulator is a chain of FMAs, and an FMA's latency (~5 cycles) times
//   its throughput (2 per cycle) needs at least 10 independent chains. The 4x8 tile has 8 and stays
//   at ~0.72 of the relaxed peak whatever else is done; 5x8 has 10 and reaches ~0.85-0.9. (The
//   baseline binary puts only the add on the chain: ~0.93 of its probe with 4x8, ~1.0 with 5x8.)
// - The five broadcasts read one pointer at constant offsets, so V8 loads each one right before
//   its two FMAs: 10 accumulators + 2 B vectors + 1 broadcast = 13 of V8's 15 vector registers.
//   With five row pointers into unpacked A, TurboFan hoists all five broadcasts and spills.
// - The tile ends in ten plain stores. With the partial-column / accumulate epilogue inside it,
//   TurboFan hoisted the broadcasts and spilled accumulators (~0.35 of peak), so those cases write
//   the tile to a small buffer and merge it into C afterwards.
// - A 6x8 tile (12 chains, all 15 registers) measured no faster than 5x8 in isolation (both ~41
//   GFLOP/s against a 42-44 probe on a Zen 1 class machine): 5x8 is already at the tile ceiling.
// - K is not unrolled: TurboFan hoists the loads of both steps and spills (~0.55 of peak).
// - The first k step is peeled. V8 11.3 does not fold a load-splat's constant offset into the
//   address; it adds it to the memory base in a register, and when every such base is used only
//   inside the loop it recomputes three of them (a `lea` each) on every iteration. The peeled
//   step uses the same bases before the loop, so they are computed once (measured on a Zen 1
//   class machine: 0.86-0.92 -> 0.94-0.96 of the relaxed peak at n = 512).
// Rows that do not fill a strip, calls without scratch, and strips larger than the scratch take the
// 4x8 tile on unpacked A, a 2x16 tile for a pair of rows left over, and the single-row kernels.
import { madd } from "./simd";
import { TASK_GEMM_PANELS, TASK_GEMM_ROWS, TASK_PACK, argI32, fork, taskArg, threadsAvailable } from "./threads";

const PANEL: i32 = 8;
// Rows of A per cache block on the unpacked path: 128 rows x K floats stays in L2 for K up to
// ~1024 while every panel of B sweeps over it.
const ROW_BLOCK: i32 = 128;

// Rows per packed strip and the 5x8 tile's height.
const MR: i32 = 5;
// The scratch holds the merge buffer for one tile, then one block of packed strips. The block is
// the set of rows every panel of B sweeps over while it sits in L1; larger blocks stream B from
// memory fewer times.
const TILE_BYTES: usize = 256;
// 32 zero bytes inside the tile region (after the 5 x 8 merge buffer): the "bias row" of every
// K chunk after the first.
const ZERO_ROW: usize = 192;
// Products with K > KC run in K chunks of at most KC (an even split): a chunk of a B panel
// (KC x 8 floats, 16 kB) and of an A strip (KC x 5, 10 kB) then stay in L1 together, where a
// full panel of a 1024-deep product (32 kB) did not (measured at n = 1024: ~0.8 -> ~0.9 of the
// relaxed peak). Chunks after the first add into C.
const KC: i32 = 512;
// Packed B up to this size is swept once per strip instead of once per block of strips.
const BY_STRIP_BYTES: usize = 160 << 10;
const PACK_BYTES: usize = 256 << 10;
const MAX_STRIPS: i32 = 64;

// Set per instance: these are Wasm globals, not linear memory, so instances that share one memory
// (worker threads) each keep their own region.
let scratch: usize = 0;
let scratchBytes: usize = 0;

/** Bytes of scratch the GEMM uses at most; give it this much with setGemmScratch. */
export function gemmScratchSize(): usize {
  return TILE_BYTES + PACK_BYTES;
}

/**
 * Hands the GEMM a scratch region (owned by the caller for the instance's lifetime; 64-byte
 * aligned is best). Without one, or when five rows of A do not fit in it, products take the
 * slower unpacked path. Both paths sum in the same order (for K <= KC; longer products sum K
 * chunks separately on the packed path), so results are then bit-identical.
 */
export function setGemmScratch(ptr: usize, bytes: usize): void {
  scratch = ptr;
  scratchBytes = bytes;
  if (bytes >= TILE_BYTES) {
    v128.store(ptr + ZERO_ROW, i32x4.splat(0));
    v128.store(ptr + ZERO_ROW, i32x4.splat(0), 16);
  }
}

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
      fork(TASK_PACK, 2 * threads);
      return;
    }
  }
  packPanels(src, rowStride, colStride, k, n, bias, dst, 0, panels);
}

/** One chunk of a forked packB / packBT: a range of panels. */
export function packChunk(control: usize, chunk: i32, chunks: i32): void {
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
// Panels p0 .. p1-1.
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

/** C[m][n] = (accumulate ? C : 0) + A[m][k] B + bias, with B packed by packB/packBT. */
export function gemm(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  gemmStrided(m, n, k, a, <usize>lda << 2, 4, bp, c, ldc, accumulate);
}

/**
 * C[m][n] = (accumulate ? C : 0) + A^T B + bias where A is stored k x m (row stride `lda`).
 * This is the weight-gradient product of BPTT (dW = dG^T X) without transposing dG: packing A
 * reads five adjacent floats of one row of the stored matrix per k.
 */
export function gemmTN(m: i32, n: i32, k: i32, a: usize, lda: i32, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  gemmStrided(m, n, k, a, 4, <usize>lda << 2, bp, c, ldc, accumulate);
}

// Threaded binaries: products of at least FORK_MACS multiply-adds are split between threads,
// by rows of A (in multiples of MR, each chunk packs only its own rows) when every chunk gets at
// least FORK_ROWS rows, otherwise by panels of B (each chunk packs all of A). Every output
// element is still computed by one thread in the single-thread order: results are bit-identical.
const FORK_MACS: i64 = 1 << 18;
const FORK_ROWS: i32 = 40;
const MAX_CHUNKS: i32 = 32;

// A(r, kk) sits at a + r*rowStride + kk*kStride (bytes).
function gemmStrided(m: i32, n: i32, k: i32, a: usize, rowStride: usize, kStride: usize, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  if (ASC_FEATURE_THREADS) {
    const threads = threadsAvailable();
    if (threads > 1 && <i64>m * <i64>n * <i64>k >= FORK_MACS) {
      const panels = (n + PANEL - 1) / PANEL;
      let chunks = 0;
      let byRows = false;
      if (m >= FORK_ROWS * threads) {
        byRows = true;
        // Several chunks per thread, claimed dynamically, absorb a late (parked) or busy thread:
        // what is left when the first thread runs out of chunks is at most one of them. A
        // multiple of the thread count, so that equal threads finish together.
        chunks = min(min(m / FORK_ROWS, 8 * threads), MAX_CHUNKS);
        chunks = max(threads, chunks - chunks % threads);
      } else if (panels >= 2 * threads) {
        chunks = threads; // every chunk repacks A: no more chunks than threads
      }
      if (chunks > 1) {
        store<i32>(taskArg(0), m);
        store<i32>(taskArg(1), n);
        store<i32>(taskArg(2), k);
        store<u32>(taskArg(3), <u32>a);
        store<u32>(taskArg(4), <u32>rowStride);
        store<u32>(taskArg(5), <u32>kStride);
        store<u32>(taskArg(6), <u32>bp);
        store<u32>(taskArg(7), <u32>c);
        store<i32>(taskArg(8), ldc);
        store<i32>(taskArg(9), accumulate ? 1 : 0);
        fork(byRows ? TASK_GEMM_ROWS : TASK_GEMM_PANELS, chunks);
        return;
      }
    }
  }
  gemmSerial(m, n, k, a, rowStride, kStride, bp, c, ldc, accumulate);
}

/**
 * First row of chunk `i` of `chunks` over m rows: an even split. For a few dozen rows this
 * balances best (64 = 32 + 32 = 30 packed + a 2 x 16 pair each, vs 30 | 30 + 4).
 */
export function evenBound(m: i32, i: i32, chunks: i32): i32 {
  return i >= chunks ? m : <i32>(<i64>m * i / chunks);
}

/** First row of chunk `i` of `chunks` over m rows: an even split rounded to a multiple of MR. */
export function rowBound(m: i32, i: i32, chunks: i32): i32 {
  if (i >= chunks) return m;
  return min(m, (<i32>((<i64>m * i / chunks + (MR >> 1)) / MR)) * MR);
}

/** One chunk of a product forked by gemmStrided (runs on any thread of the pool). */
export function gemmChunk(control: usize, byRows: bool, chunk: i32, chunks: i32): void {
  const m = argI32(control, 0), n = argI32(control, 1), k = argI32(control, 2);
  const a = <usize><u32>argI32(control, 3);
  const rowStride = <usize><u32>argI32(control, 4), kStride = <usize><u32>argI32(control, 5);
  const bp = <usize><u32>argI32(control, 6), c = <usize><u32>argI32(control, 7);
  const ldc = argI32(control, 8);
  const accumulate = argI32(control, 9) != 0;
  if (byRows) {
    const r0 = rowBound(m, chunk, chunks), r1 = rowBound(m, chunk + 1, chunks);
    if (r1 > r0) gemmSerial(r1 - r0, n, k, a + <usize>r0 * rowStride, rowStride, kStride, bp, c + <usize>r0 * (<usize>ldc << 2), ldc, accumulate);
  } else {
    const panels = (n + PANEL - 1) / PANEL;
    const p0 = <i32>(<i64>panels * chunk / chunks), p1 = <i32>(<i64>panels * (chunk + 1) / chunks);
    if (p1 > p0) {
      const panelBytes = <usize>(k + 1) * (PANEL << 2);
      const cols = min(n, p1 * PANEL) - p0 * PANEL;
      gemmSerial(m, cols, k, a, rowStride, kStride, bp + <usize>p0 * panelBytes, c + (<usize>(p0 * PANEL) << 2), ldc, accumulate);
    }
  }
}

function gemmSerial(m: i32, n: i32, k: i32, a: usize, rowStride: usize, kStride: usize, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  const ldcBytes = <usize>ldc << 2;
  const kChunks = k > KC ? (k + KC - 1) / KC : 1;
  const kc = (k + kChunks - 1) / kChunks;
  const room = scratchBytes > TILE_BYTES ? min(scratchBytes - TILE_BYTES, PACK_BYTES) : 0;
  const strips = k > 0 ? min(<i32>(room / (<usize>kc * (MR << 2))), MAX_STRIPS) : 0;
  // Rows 0 .. mPacked-1 go through packed strips, the rest (fewer than MR) through gemmRows.
  const mPacked = strips > 0 ? m - m % MR : 0;
  if (mPacked > 0) {
    const panels = (n + PANEL - 1) / PANEL;
    const packed = scratch + TILE_BYTES;
    for (let r0 = 0; r0 < mPacked; r0 += strips * MR) {
      const rows = min(strips * MR, mPacked - r0);
      for (let k0 = 0; k0 < k; k0 += kc) {
        const kn = min(kc, k - k0);
        const add = accumulate || k0 > 0;
        const stripBytes = <usize>kn * (MR << 2);
        packA(a + <usize>r0 * rowStride + <usize>k0 * kStride, rowStride, kStride, rows, kn, packed);
        // Panel by panel (a panel stays in L1 while every strip of the block passes), or, when all
        // of B fits in L2 with room to spare, strip by strip (each strip's rows of C are written
        // whole, left to right).
        const byStrip = <usize>panels * panelBytes <= BY_STRIP_BYTES;
        const outer = byStrip ? rows : panels * MR;
        const inner = byStrip ? panels * MR : rows;
        for (let o = 0; o < outer; o += MR) {
          for (let i = 0; i < inner; i += MR) {
            const p = (byStrip ? i : o) / MR;
            const r = byStrip ? o : i;
            const cols = min(PANEL, n - p * PANEL);
            const b = bp + <usize>p * panelBytes;
            const bias = k0 > 0 ? scratch + ZERO_ROW : b;
            const pb = b + (<usize>(k0 + 1) << 5);
            const pa = packed + <usize>(r / MR) * stripBytes;
            const dst = c + <usize>(r0 + r) * ldcBytes + (<usize>(p * PANEL) << 2);
            if (cols == PANEL && !add) {
              tile5x8(kn, pa, bias, pb, dst, ldcBytes);
            } else {
              tile5x8(kn, pa, bias, pb, scratch, PANEL << 2);
              for (let j = 0; j < MR; j++) {
                const t = scratch + (<usize>(j * PANEL) << 2);
                storeRow8(dst + <usize>j * ldcBytes, v128.load(t), v128.load(t, 16), cols, add);
              }
            }
          }
        }
      }
    }
  }
  gemmRows(mPacked, m, n, k, a, rowStride, kStride, bp, c, ldcBytes, accumulate);
}

// Copies `rows` (a multiple of MR) rows of A into strips: strip s holds rows 5s..5s+4 as [k][5].
// Vector paths (packing is ~5 % of a 512^3 product): gemm's A has k contiguous, so four k of rows
// 0-3 are a 4 x 4 transpose (row 4 goes lane by lane); gemmTN's A has the five rows contiguous.
function packA(a: usize, rowStride: usize, kStride: usize, rows: i32, k: i32, dst: usize): void {
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

// Rows rStart..m-1 on unpacked A: 4x8 tiles, then a 2x16 pair, then single rows.
function gemmRows(rStart: i32, m: i32, n: i32, k: i32, a: usize, rowStride: usize, kStride: usize, bp: usize, c: usize, ldcBytes: usize, accumulate: bool): void {
  const panels = (n + PANEL - 1) / PANEL;
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  for (let r0 = rStart; r0 < m; r0 += ROW_BLOCK) {
    const rEnd = min(m, r0 + ROW_BLOCK);
    const rFull = r0 + ((rEnd - r0) & ~3);
    for (let p = 0; p < panels; p++) {
      const cols = min(PANEL, n - p * PANEL);
      const b = bp + <usize>p * panelBytes;
      for (let r = r0; r < rFull; r += 4) {
        tile4x8(k, a + <usize>r * rowStride, rowStride, kStride, b, c + <usize>r * ldcBytes + (<usize>(p * PANEL) << 2), ldcBytes, cols, accumulate);
      }
    }
    let r1 = rFull;
    if (rEnd - r1 >= 2) {
      // Two leftover rows: 2 x 16 tiles (8 accumulator chains, as the 4 x 8 tile) cost about a
      // packed row each; two single rows would read all of B twice at half that speed.
      const a0 = a + <usize>r1 * rowStride;
      const c0 = c + <usize>r1 * ldcBytes;
      let p = 0;
      for (; p + 2 <= panels; p += 2) {
        tile2x16(k, a0, rowStride, kStride, bp + <usize>p * panelBytes, panelBytes, c0 + (<usize>(p * PANEL) << 2), ldcBytes, min(PANEL, n - (p + 1) * PANEL), accumulate);
      }
      if (p < panels) tile2x8(k, a0, rowStride, kStride, bp + <usize>p * panelBytes, c0 + (<usize>(p * PANEL) << 2), ldcBytes, min(PANEL, n - p * PANEL), accumulate);
      r1 += 2;
    }
    for (let r = r1; r < rEnd; r++) {
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

// Five rows of packed A (one strip, [k][5]) times k rows of a panel of B from `pb` on, plus the
// 8 floats at `bias`; plain stores of all 8 columns. k >= 1.
function tile5x8(k: i32, pa: usize, bias: usize, pb: usize, c: usize, ldcBytes: usize): void {
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

// Two rows of A times two panels of B (16 columns; the second panel has `cols2` real columns).
function tile2x16(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, panelBytes: usize, c: usize, ldcBytes: usize, cols2: i32, accumulate: bool): void {
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

function tile2x8(k: i32, a: usize, rowStride: usize, kStride: usize, b: usize, c: usize, ldcBytes: usize, cols: i32, accumulate: bool): void {
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
