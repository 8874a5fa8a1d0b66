// The machine's wasm SIMD ceiling, for benchmarks to report kernels as a fraction of it: 12
// independent multiply-add chains on registers only (no memory traffic), 12 x 4 lanes x 2 = 96
// flops per round in the baseline (mul + add) and in the relaxed build (one FMA each). Call it
// many times with a medium `rounds` (V8 has no on-stack replacement for wasm: one long first call
// would run in Liftoff throughout).
//
// Measured on the project machine: the relaxed probe is FMA-throughput bound (12 chains hide the
// ~5-cycle latency). In the baseline each chain is mul then add, so the probe reaches only ~0.55
// of the relaxed one, while the GEMM, whose chains carry only the add, reaches ~1.0-1.05 of it.
import { madd } from "./simd";

export function peakProbe(rounds: i32, seed: f32): f32 {
  const m = f32x4.splat(0.999999);
  const d = f32x4.splat(1e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2), a3 = f32x4.splat(seed + 3);
  let a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5), a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7);
  let a8 = f32x4.splat(seed + 8), a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < rounds; i++) {
    a0 = madd(a0, m, d);
    a1 = madd(a1, m, d);
    a2 = madd(a2, m, d);
    a3 = madd(a3, m, d);
    a4 = madd(a4, m, d);
    a5 = madd(a5, m, d);
    a6 = madd(a6, m, d);
    a7 = madd(a7, m, d);
    a8 = madd(a8, m, d);
    a9 = madd(a9, m, d);
    a10 = madd(a10, m, d);
    a11 = madd(a11, m, d);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))), 0);
}

/** Flops performed by one round of peakProbe. */
export const PEAK_FLOPS_PER_ROUND: i32 = 12 * 4 * 2;
