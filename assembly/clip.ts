// Reductions and in-place maps over flat float32 arrays, for gradient clipping and finiteness
// checks. Norm sums are accumulated in float64: the square of a float32 is exact in float64, so the
// only rounding is in the sums, and no float32 overflow can hide a large but finite gradient.
import { loadPartial, storePartial } from "./simd";

/** Sum of x[i]^2 over n floats, in float64. Non-finite iff some x[i] is non-finite. */
export function sumSquaresF64(x: usize, n: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 0, 1));
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  const s = f64x2.add(a0, a1);
  let sum = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    sum += v * v;
  }
  return sum;
}

/** max |x[i]| over n floats (0 for n = 0); NaN if any element is NaN, as torch's max. */
export function maxAbsF32(x: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) m = f32x4.max(m, f32x4.abs(v128.load(x + (<usize>i << 2))));
  if (i < n) m = f32x4.max(m, f32x4.abs(loadPartial(x + (<usize>i << 2), n - i)));
  return max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
}

/** x[i] *= s over n floats. */
export function scaleInPlace(x: usize, n: i32, s: f32): void {
  const sv = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, f32x4.mul(v128.load(p), sv));
  }
  if (i < n) {
    const p = x + (<usize>i << 2);
    storePartial(p, f32x4.mul(loadPartial(p, n - i), sv), n - i);
  }
}

/** x[i] = min(max(x[i], lo), hi) over n floats; NaN stays NaN, as torch.clamp. */
export function clampInPlace(x: usize, n: i32, lo: f32, hi: f32): void {
  const lv = f32x4.splat(lo);
  const hv = f32x4.splat(hi);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = x + (<usize>i << 2);
    v128.store(p, f32x4.min(f32x4.max(v128.load(p), lv), hv));
  }
  if (i < n) {
    const p = x + (<usize>i << 2);
    storePartial(p, f32x4.min(f32x4.max(loadPartial(p, n - i), lv), hv), n - i);
  }
}
