// Dense matrix products C = A B + bias over B packed by gemm/pack.ts: which rows take which
// micro-kernel (gemm/microkernels.ts), cache blocking, and the split between threads.
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
// gemmTN packs A whatever the tile (see gemmSerial). Rows that do not fill a strip, calls without
// scratch, and strips larger than the scratch take the 4x8 tile on unpacked A, a 2x16 tile for a
// pair of rows left over, and the single-row kernels.
import { argI32, fork, taskArg, threadsAvailable } from "../threads";
import { MR, PANEL, packA } from "./pack";
import {
  f32_gemm_ukernel_1x24__wasmsimd_loadsplat,
  f32_gemm_ukernel_1x8__wasmsimd_loadsplat,
  f32_gemm_ukernel_2x16__wasmsimd_loadsplat,
  f32_gemm_ukernel_2x8__wasmsimd_loadsplat,
  f32_gemm_ukernel_4x8__wasmsimd_loadsplat,
  f32_gemm_ukernel_5x8__wasmsimd_packa,
  storeRow8,
} from "./microkernels";

// Rows of A per cache block on the unpacked path: 128 rows x K floats stays in L2 for K up to
// ~1024 while every panel of B sweeps over it.
const ROW_BLOCK: i32 = 128;

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
// The main tile: TILE_5X8 (A packed into 5-row strips) or TILE_4X8 (A read in place, as the
// leftover rows are). Which is faster depends on the engine's register allocation and the CPU, so
// the host measures both at load (src/runtime.ts) and sets it on every instance. Both sum each
// element in the same order for K <= KC, so they give bit-identical results there; longer products
// differ by the rounding of the K chunks.
const TILE_5X8: i32 = 0;
const TILE_4X8: i32 = 1;
let tile: i32 = TILE_5X8;

/** Chooses the main register tile: 0 = 5x8 on packed A strips, 1 = 4x8 on A in place. */
export function setGemmTile(t: i32): void {
  tile = t == TILE_4X8 ? TILE_4X8 : TILE_5X8;
}

/** The main register tile in use (see setGemmTile). */
export function gemmTile(): i32 {
  return tile;
}

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
        fork(byRows ? gemmRowsChunk : gemmPanelsChunk, chunks);
        return;
      }
    }
  }
  gemmSerial(m, n, k, a, rowStride, kStride, bp, c, ldc, accumulate);
}

// First row of chunk `i` of `chunks` over m rows: an even split rounded to a multiple of MR.
function rowBound(m: i32, i: i32, chunks: i32): i32 {
  if (i >= chunks) return m;
  return min(m, (<i32>((<i64>m * i / chunks + (MR >> 1)) / MR)) * MR);
}

// One chunk of a product forked by gemmStrided, split by rows of A.
function gemmRowsChunk(control: usize, chunk: i32, chunks: i32): void {
  const m = argI32(control, 0);
  const r0 = rowBound(m, chunk, chunks), r1 = rowBound(m, chunk + 1, chunks);
  if (r1 <= r0) return;
  const rowStride = <usize><u32>argI32(control, 4), ldc = argI32(control, 8);
  const a = <usize><u32>argI32(control, 3) + <usize>r0 * rowStride;
  const c = <usize><u32>argI32(control, 7) + <usize>r0 * (<usize>ldc << 2);
  gemmSerial(r1 - r0, argI32(control, 1), argI32(control, 2), a, rowStride, <usize><u32>argI32(control, 5), <usize><u32>argI32(control, 6), c, ldc, argI32(control, 9) != 0);
}

// One chunk of a product forked by gemmStrided, split by panels of B (each chunk packs all of A).
function gemmPanelsChunk(control: usize, chunk: i32, chunks: i32): void {
  const n = argI32(control, 1), k = argI32(control, 2);
  const panels = (n + PANEL - 1) / PANEL;
  const p0 = <i32>(<i64>panels * chunk / chunks), p1 = <i32>(<i64>panels * (chunk + 1) / chunks);
  if (p1 <= p0) return;
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  const cols = min(n, p1 * PANEL) - p0 * PANEL;
  const bp = <usize><u32>argI32(control, 6) + <usize>p0 * panelBytes;
  const c = <usize><u32>argI32(control, 7) + (<usize>(p0 * PANEL) << 2);
  gemmSerial(argI32(control, 0), cols, k, <usize><u32>argI32(control, 3), <usize><u32>argI32(control, 4), <usize><u32>argI32(control, 5), bp, c, argI32(control, 8), argI32(control, 9) != 0);
}

function gemmSerial(m: i32, n: i32, k: i32, a: usize, rowStride: usize, kStride: usize, bp: usize, c: usize, ldc: i32, accumulate: bool): void {
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  const ldcBytes = <usize>ldc << 2;
  const kChunks = k > KC ? (k + KC - 1) / KC : 1;
  const kc = (k + kChunks - 1) / kChunks;
  const room = scratchBytes > TILE_BYTES ? min(scratchBytes - TILE_BYTES, PACK_BYTES) : 0;
  // Transposed A (gemmTN: consecutive k a whole row apart) always takes the packed strips: the
  // 4x8 tile reading it in place strides through rows of A per k and ran at ~0.5 of the packed
  // path on the Zen-5-class host (512 x 192 x 1600, the LSTM training step's dW: 27 vs 45 GFLOP/s).
  const strips = k > 0 && (tile == TILE_5X8 || kStride != 4) ? min(<i32>(room / (<usize>kc * (MR << 2))), MAX_STRIPS) : 0;
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
              f32_gemm_ukernel_5x8__wasmsimd_packa(kn, pa, bias, pb, dst, ldcBytes);
            } else {
              f32_gemm_ukernel_5x8__wasmsimd_packa(kn, pa, bias, pb, scratch, PANEL << 2);
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
        f32_gemm_ukernel_4x8__wasmsimd_loadsplat(k, a + <usize>r * rowStride, rowStride, kStride, b, c + <usize>r * ldcBytes + (<usize>(p * PANEL) << 2), ldcBytes, cols, accumulate);
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
        f32_gemm_ukernel_2x16__wasmsimd_loadsplat(k, a0, rowStride, kStride, bp + <usize>p * panelBytes, panelBytes, c0 + (<usize>(p * PANEL) << 2), ldcBytes, min(PANEL, n - (p + 1) * PANEL), accumulate);
      }
      if (p < panels) f32_gemm_ukernel_2x8__wasmsimd_loadsplat(k, a0, rowStride, kStride, bp + <usize>p * panelBytes, c0 + (<usize>(p * PANEL) << 2), ldcBytes, min(PANEL, n - p * PANEL), accumulate);
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
        f32_gemm_ukernel_1x24__wasmsimd_loadsplat(k, arow, kStride, bp + <usize>p * panelBytes, panelBytes, crow + (<usize>(p * PANEL) << 2), accumulate);
      }
      for (; p < panels; p++) {
        f32_gemm_ukernel_1x8__wasmsimd_loadsplat(k, arow, kStride, bp + <usize>p * panelBytes, crow + (<usize>(p * PANEL) << 2), min(PANEL, n - p * PANEL), accumulate);
      }
    }
  }
}

