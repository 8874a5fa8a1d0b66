// Vectorised activations, accurate to <= 1e-6 absolute against float64 over the whole float range.
//
// exp(x) for x <= 0: n = round(x / ln2), r = x - n ln2 (Cody-Waite split, |r| <= ln2/2), exp(r) by
// its degree-6 Taylor polynomial (truncation r^7/7! <= 1.2e-7 relative), times 2^n. x is clamped
// at -86 so 2^n stays a normal number, and results for x < -86 (true value below 4.4e-38) are
// flushed to 0, so exp(-inf) = 0 and sigmoid(-inf) = 0 exactly and softmax gives exact zeros for
// -inf logits (NaN < -86 is false: NaN still propagates).
//
// Both n and 2^n come from one addition: x/ln2 + MAGIC rounds x/ln2 to an integer that lands in
// the low mantissa bits (MAGIC = 1.5 * 2^23 + 127), so the float n is that sum minus MAGIC and
// the sum's bits shifted left by 23 are exactly the float 2^n (the exponent field 127 + n). This
// avoids f32x4.nearest and i32x4.trunc_sat, and f32x4.pmax replaces f32x4.max: wasm's NaN-exact
// min/max and saturating conversion lower to long instruction sequences on x86. pmax(x, c) is
// `x < c ? c : x`, which keeps a NaN x.
import { madd, nmadd } from "./simd";

//
// Constants come from a static table by broadcast loads (one vbroadcastss each): V8 rebuilds a
// v128.const inside the loop at every use, from general registers, in several instructions.
const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693145751953125; // ln2 with its low mantissa bits cleared: n*LN2_HI is exact
const LN2_LO: f32 = 1.42860677e-6;
const MAGIC: f32 = 12583039.0; // 0x4B40007F

const TABLE: usize = memory.data<f32>([
  LOG2E, LN2_HI, LN2_LO, MAGIC, -86.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 0.0,
  reinterpret<f32>(0x80000000),
  // tanhFast4: clamp, then x P(x^2) / Q(x^2)
  -8.0, 8.0, 0.9999991059303284, 0.12697111070156097, 0.0026818918995559216, 7.065679255902069e-06,
  -5.991819040929158e-09, 0.46030092239379883, 0.022785985842347145, 0.00019497850735206157,
]);
const C_LOG2E = 0, C_LN2_HI = 1, C_LN2_LO = 2, C_MAGIC = 3, C_CLAMP = 4, C_P6 = 5, C_P5 = 6, C_P4 = 7;
const C_P3 = 8, C_HALF = 9, C_ONE = 10, C_ZERO = 11, C_SIGN = 12;
const C_TLO = 13, C_THI = 14, C_TP0 = 15, C_TP1 = 16, C_TP2 = 17, C_TP3 = 18, C_TP4 = 19;
const C_TQ1 = 20, C_TQ2 = 21, C_TQ3 = 22;

/** Broadcast of constant `i` of the table. */
// @ts-ignore: decorator
@inline
export function k4(i: i32): v128 {
  return v128.load32_splat(TABLE + (<usize>i << 2));
}

/** 1.0 in every lane, cheaply (see TABLE). */
// @ts-ignore: decorator
@inline
export function one4(): v128 {
  return k4(C_ONE);
}

/** 0.0 in every lane. */
// @ts-ignore: decorator
@inline
export function zero4(): v128 {
  return k4(C_ZERO);
}

// @ts-ignore: decorator
@inline
export function expNeg4(x: v128): v128 {
  const under = f32x4.lt(x, k4(C_CLAMP));
  x = f32x4.pmax(x, k4(C_CLAMP));
  let n = madd(x, k4(C_LOG2E), k4(C_MAGIC));
  const scale = i32x4.shl(n, 23);
  n = f32x4.sub(n, k4(C_MAGIC));
  let r = nmadd(n, k4(C_LN2_HI), x);
  r = nmadd(n, k4(C_LN2_LO), r);
  // Estrin's scheme: (1 + r) + r^2 ((1/2 + r/6) + r^2 ((1/24 + r/120) + r^2 / 720)). Four
  // dependent steps after r instead of Horner's six: activations are latency-bound in cells.
  const r2 = f32x4.mul(r, r);
  let p = madd(r2, k4(C_P6), madd(r, k4(C_P5), k4(C_P4)));
  p = madd(p, r2, madd(r, k4(C_P3), k4(C_HALF)));
  p = madd(p, r2, f32x4.add(r, k4(C_ONE)));
  return v128.andnot(f32x4.mul(p, scale), under);
}

// @ts-ignore: decorator
@inline
export function sigmoid4(x: v128): v128 {
  const e = expNeg4(v128.or(x, k4(C_SIGN))); // exp(-|x|)
  const s = f32x4.div(e, f32x4.add(one4(), e));
  return v128.bitselect(s, f32x4.sub(one4(), s), f32x4.lt(x, zero4()));
}

// @ts-ignore: decorator
@inline
export function tanh4(x: v128): v128 {
  const ax2 = f32x4.add(x, x);
  const e = expNeg4(v128.or(ax2, k4(C_SIGN))); // exp(-2|x|)
  const t = f32x4.div(f32x4.sub(one4(), e), f32x4.add(one4(), e));
  return v128.or(t, v128.and(x, k4(C_SIGN)));
}

// The recurrent cells' activations: a rational tanh, x P(x^2) / Q(x^2) with x clamped to
// [-8, 8] (P of degree 4 and Q of degree 3 in x^2, fitted to minimise the largest error on
// [0, 8] by scripts/fit-tanh.py, which also checks the float32 errors below; tanh(8) is
// 1 - 2.3e-7), and sigmoid(x) = 1/2 + tanh(x/2)/2. About half the work of the exp forms above
// and a shorter dependency chain. Max abs error vs float64 over float32 inputs in [-30, 30], in a
// float32 model of both binaries: tanh 4.3e-7 (FMA) / 4.9e-7 (mul + add), sigmoid 2.3e-7 /
// 2.5e-7. Unlike tanh4 / sigmoid4 they do not saturate exactly (tanh(inf) = 1 - 2e-7,
// sigmoid(-inf) = 1e-7), which is why the public arrays keep the exp forms. NaN propagates
// (pmin/pmax keep a NaN first operand).
// @ts-ignore: decorator
@inline
export function tanhFast4(x: v128): v128 {
  const c = f32x4.pmin(f32x4.pmax(x, k4(C_TLO)), k4(C_THI));
  const z = f32x4.mul(c, c);
  let p = madd(z, k4(C_TP4), k4(C_TP3));
  let q = madd(z, k4(C_TQ3), k4(C_TQ2));
  p = madd(p, z, k4(C_TP2));
  q = madd(q, z, k4(C_TQ1));
  p = madd(p, z, k4(C_TP1));
  q = madd(q, z, k4(C_ONE));
  p = madd(p, z, k4(C_TP0));
  return f32x4.div(f32x4.mul(c, p), q);
}

// @ts-ignore: decorator
@inline
export function sigmoidFast4(x: v128): v128 {
  return madd(tanhFast4(f32x4.mul(x, k4(C_HALF))), k4(C_HALF), k4(C_HALF));
}

// @ts-ignore: decorator
@inline
export function relu4(x: v128): v128 {
  // max(x, 0) but NaN-propagating like PyTorch's relu.
  return v128.bitselect(zero4(), x, f32x4.lt(x, zero4()));
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

// Derivatives of the activations from their outputs, as the backward passes have them.

/** σ'(a) from s = σ(a): s (1 - s). */
// @ts-ignore: decorator
@inline
export function dsigmoid4(s: v128): v128 {
  return f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
}

/** tanh'(a) from y = tanh(a): 1 - y². */
// @ts-ignore: decorator
@inline
export function dtanh4(y: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.mul(y, y));
}
