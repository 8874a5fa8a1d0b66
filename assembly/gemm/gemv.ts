// Matrix-vector products for batch-1 recurrent steps: y[n] = bias + x[k] W[k][n], with W packed
// once (at weight-load time) in stripes of 32 columns, each stripe one contiguous stream:
//
//   stripe s = columns 32s .. 32s+31:   [bias 32][k = 0: 32][k = 1: 32] ... [k = K-1: 32]
//
// n is padded to a whole stripe with zero columns, so y must have room for them.
//
// Why this shape (measured on the Zen-5-class host, V8 11.3; a GEMV of a recurrent layer
// reads every weight once per step, so the kernel streams W, and each load feeds one
// multiply-add):
// - With relaxed FMA the kernel is bound by the latency of its accumulator chains, not by the
//   loads: bfloat16 weights (half the loads, one shift or and per vector) ran at the same speed
//   as float32 at H = 32 and 128, and splatting x from a register (one 16-byte load per four k,
//   i8x16.shuffle) changed nothing. Each column sums k in order (so a row alone is bit-identical
//   to the GEMM's single-row kernels), so more chains in flight means more columns per stripe.
// - 8 accumulators (32 columns) + the broadcast + the loaded vectors: V8 (15 vector registers)
//   keeps it without the spills that an earlier 8-accumulator layout (4 gates x 2 units, two
//   streams) showed. Against 7 accumulators (28 columns), min over 41 interleaved rounds, relaxed
//   / SIMD128 binary: 1.14x / 1.28x faster at H = 32, 1.10x / 1.17x at H = 128 (LSTM), 1.05x /
//   1.09x at H = 512; part of it is padding, as 4H, 3H and H are whole 32-column stripes for H a
//   multiple of 32 (28-column stripes padded LSTM H = 32 to 140 columns).
// - One stream per stripe instead of three panel streams: the GEMM's 1x24 tile over three
//   8-wide panels reached 74 / 81 / 60 GB/s at H = 32 / 128 / 512 (LSTM, L1 / L2 / L3).
// - Fusing the cell's gate update into the GEMV (the gates of 4 units in 4 registers, activated
//   right after their dot products) was measured slower: 4 accumulators are latency-bound and
//   the activations' dependency chain after each block is not hidden behind the next block's
//   loads (5.1 vs 3.8 us per LSTM step at H = 128). The cells keep their separate, vectorised
//   passes over the step's row (assembly/cells/*.ts), which then sits in L1.
// docs/performance.md has the tables.
import { madd } from "../simd";

/** Columns per stripe. */
export const STRIPE: i32 = 32;

// packStripes writes ceil(n / STRIPE) * STRIPE * (k + 1) floats (src/models/params.ts).

/**
 * Packs the `gates` row blocks of a PyTorch weight W[gates*hidden][k] (row stride `ldw`) as
 * B = W^T in stripes, columns in the gate-interleaved order of cells/layout.ts (column
 * (u / 8) * gates * 8 + g * 8 + u % 8 is gate g of unit u; n = gates * Hp), with bias[gates*hidden]
 * (0 = none) in each stripe's bias row. Padding columns are zero.
 */
export function packStripes(src: usize, ldw: i32, k: i32, hidden: i32, gates: i32, bias: usize, dst: usize): void {
  const n = ((hidden + 7) & ~7) * gates;
  const stripes = (n + STRIPE - 1) / STRIPE;
  let out = dst;
  for (let s = 0; s < stripes; s++) {
    for (let kk = -1; kk < k; kk++) {
      for (let j = 0; j < STRIPE; j++) {
        const col = s * STRIPE + j;
        const g = (col >> 3) % gates;
        const u = (col >> 3) / gates * 8 + (col & 7);
        let v: f32 = 0;
        if (col < n && u < hidden) {
          const row = g * hidden + u;
          if (kk < 0) v = bias != 0 ? load<f32>(bias + (<usize>row << 2)) : 0;
          else v = load<f32>(src + (<usize>(row * ldw + kk) << 2));
        }
        store<f32>(out, v);
        out += 4;
      }
    }
  }
}

/** y[n] = bias + x[k] W (W packed by packStripes; y has room for n rounded up to a stripe). */
export function gemvStriped(n: i32, k: i32, x: usize, w: usize, y: usize): void {
  const stripeBytes = <usize>(k + 1) * (STRIPE << 2);
  for (let j = 0; j < n; j += STRIPE) {
    f32_gemv_ukernel_1x32__wasmsimd_loadsplat(k, x, w, y + (<usize>j << 2));
    w += stripeBytes;
  }
}

/** One stripe: y[32] = w[bias] + sum over k of x[k] w[k][32]. */
export function f32_gemv_ukernel_1x32__wasmsimd_loadsplat(k: i32, x: usize, w: usize, y: usize): void {
  let s0 = v128.load(w), s1 = v128.load(w, 16), s2 = v128.load(w, 32), s3 = v128.load(w, 48);
  let s4 = v128.load(w, 64), s5 = v128.load(w, 80), s6 = v128.load(w, 96), s7 = v128.load(w, 112);
  let px = x;
  const end = x + (<usize>k << 2);
  while (px < end) {
    w += STRIPE << 2;
    const v = v128.load32_splat(px);
    s0 = madd(v, v128.load(w), s0);
    s1 = madd(v, v128.load(w, 16), s1);
    s2 = madd(v, v128.load(w, 32), s2);
    s3 = madd(v, v128.load(w, 48), s3);
    s4 = madd(v, v128.load(w, 64), s4);
    s5 = madd(v, v128.load(w, 80), s5);
    s6 = madd(v, v128.load(w, 96), s6);
    s7 = madd(v, v128.load(w, 112), s7);
    px += 4;
  }
  v128.store(y, s0);
  v128.store(y, s1, 16);
  v128.store(y, s2, 32);
  v128.store(y, s3, 48);
  v128.store(y, s4, 64);
  v128.store(y, s5, 80);
  v128.store(y, s6, 96);
  v128.store(y, s7, 112);
}
