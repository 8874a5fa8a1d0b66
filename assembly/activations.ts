// Vectorised activations, accurate to <= 1e-6 absolute against float64 over the whole float range.
//
// exp(x) for x <= 0: n = round(x / ln2), r = x - n ln2 (Cody-Waite split, |r| <= ln2/2), exp(r) by
// its degree-6 Taylor polynomial (truncation r^7/7! <= 1.2e-7 relative), times 2^n built in the
// exponent bits. x is clamped at -86 so 2^n stays a normal number; exp(-86) ~ 4e-38 is zero for
// every caller here. NaN propagates (wasm min/max/madd keep NaN).
//
// sigmoid(x) = e/(1+e) with e = exp(-|x|), mirrored for x >= 0: no overflow, relative accuracy
// kept for x << 0. tanh(|x|) = (1-e)/(1+e) with e = exp(-2|x|), sign copied back (so -0 -> -0,
// +-inf -> +-1). Near 0 tanh loses relative accuracy (absolute error stays ~6e-8).
import { madd, nmadd } from "./simd";

const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693145751953125; // ln2 with its low mantissa bits cleared: n*LN2_HI is exact
const LN2_LO: f32 = 1.42860677e-6;

// @ts-ignore: decorator
@inline
export function expNeg4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-86.0));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  let r = nmadd(n, f32x4.splat(LN2_HI), x);
  r = nmadd(n, f32x4.splat(LN2_LO), r);
  let p = madd(r, f32x4.splat(1.0 / 720.0), f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  return i32x4.add(p, i32x4.shl(i32x4.trunc_sat_f32x4_s(n), 23));
}

const SIGN: v128 = i32x4.splat(0x80000000);

// @ts-ignore: decorator
@inline
export function sigmoid4(x: v128): v128 {
  const e = expNeg4(v128.or(x, SIGN)); // exp(-|x|)
  const s = f32x4.div(e, f32x4.add(f32x4.splat(1.0), e));
  return v128.bitselect(s, f32x4.sub(f32x4.splat(1.0), s), f32x4.lt(x, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
export function tanh4(x: v128): v128 {
  const ax2 = f32x4.add(x, x);
  const e = expNeg4(v128.or(ax2, SIGN)); // exp(-2|x|)
  const one = f32x4.splat(1.0);
  const t = f32x4.div(f32x4.sub(one, e), f32x4.add(one, e));
  return v128.or(t, v128.and(x, SIGN));
}

// @ts-ignore: decorator
@inline
export function relu4(x: v128): v128 {
  // max(x, 0) but NaN-propagating like PyTorch's relu.
  return v128.bitselect(f32x4.splat(0), x, f32x4.lt(x, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline
export function sigmoid1(x: f32): f32 {
  return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline
export function tanh1(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}

// @ts-ignore: decorator
@inline
export function expNeg1(x: f32): f32 {
  return f32x4.extract_lane(expNeg4(f32x4.splat(x)), 0);
}

/** y[i] = tanh(x[i]) for n floats; x and y may alias. */
export function tanhArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), tanh4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), tanh1(load<f32>(x + (<usize>i << 2))));
}

/** y[i] = sigmoid(x[i]) for n floats; x and y may alias. */
export function sigmoidArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), sigmoid4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), sigmoid1(load<f32>(x + (<usize>i << 2))));
}

/** y[i] = max(x[i], 0) for n floats (NaN stays NaN). */
export function reluArray(x: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), relu4(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(y + (<usize>i << 2), v < 0 ? 0 : v);
  }
}
