// Optimizer updates with PyTorch 1.13 semantics (torch.optim._single_tensor_*), one call per
// parameter region: params, grads and every state buffer share one layout, so each update is a
// single pass over flat float32 arrays.
//
// Scalars derived from hyper-parameters (1 - beta, bias corrections, step sizes) are computed in
// float64 by the caller and arrive as f32, the way PyTorch turns Python scalars into the tensor's
// dtype. Element-wise math is float32 with plain mul/add (never madd): the update is memory-bound,
// and this way both binaries produce bit-identical parameters.
//
// Regions may hold zero padding (params = grads = 0). Where PyTorch divides, an exactly-zero
// numerator yields 0 even when the denominator is 0 (possible only with eps = 0), so padding never
// turns into NaN; any other result is PyTorch's.
//
// Each loop inlines its chunk once, for full and partial (last) chunks alike: the `cnt == 4`
// branches predict well and the update is memory-bound, so a second, tail-only copy would only
// add code size.
import { loadPartial, storePartial } from "./simd";

// The partial (last-chunk) paths are calls, not inlined: they run once per update.
function loadTail(p: usize, cnt: i32): v128 {
  return loadPartial(p, cnt);
}

function storeTail(p: usize, v: v128, cnt: i32): void {
  storePartial(p, v, cnt);
}

// @ts-ignore: decorator
@inline
function ld(p: usize, cnt: i32): v128 {
  return cnt == 4 ? v128.load(p) : loadTail(p, cnt);
}

// @ts-ignore: decorator
@inline
function st(p: usize, v: v128, cnt: i32): void {
  if (cnt == 4) v128.store(p, v);
  else storeTail(p, v, cnt);
}

// num / den with 0 / x -> 0 (see the header).
// @ts-ignore: decorator
@inline
function div0(num: v128, den: v128): v128 {
  return v128.and(f32x4.div(num, den), f32x4.ne(num, f32x4.splat(0)));
}

// d = sign * g (+ wd * p): the gradient as every update rule sees it (maximize, L2 weight decay).
// @ts-ignore: decorator
@inline
function effectiveGrad(p: v128, g: v128, sign: v128, wd: v128, hasWd: bool): v128 {
  let d = f32x4.mul(g, sign);
  if (hasWd) d = f32x4.add(d, f32x4.mul(p, wd));
  return d;
}

// ---------------------------------------------------------------------------------------------
// SGD: d = g + wd p; buf = d on the first step, else momentum buf + (1 - dampening) d;
// d = d + momentum buf (nesterov) or buf; p -= lr d.

// @ts-ignore: decorator
@inline
function sgdChunk(off: usize, cnt: i32, p: usize, g: usize, buf: usize, lr: v128, wd: v128, hasWd: bool, momentum: v128, hasMomentum: bool, oneMinusDampening: v128, nesterov: bool, first: bool, sign: v128): void {
  const pv = ld(p + off, cnt);
  let d = effectiveGrad(pv, ld(g + off, cnt), sign, wd, hasWd);
  if (hasMomentum) {
    let b: v128;
    if (first) b = d;
    else b = f32x4.add(f32x4.mul(ld(buf + off, cnt), momentum), f32x4.mul(d, oneMinusDampening));
    st(buf + off, b, cnt);
    d = nesterov ? f32x4.add(d, f32x4.mul(b, momentum)) : b;
  }
  st(p + off, f32x4.sub(pv, f32x4.mul(d, lr)), cnt);
}

/** One SGD step over n floats. `buf` is only read or written when momentum != 0. */
export function sgdStep(p: usize, g: usize, buf: usize, n: i32, lr: f32, weightDecay: f32, momentum: f32, oneMinusDampening: f32, nesterov: bool, first: bool, sign: f32): void {
  // Splats hoisted by hand: V8 does not move them out of the loop.
  const lrv = f32x4.splat(lr), wdv = f32x4.splat(weightDecay), mv = f32x4.splat(momentum);
  const omd = f32x4.splat(oneMinusDampening), sv = f32x4.splat(sign);
  const hasWd = weightDecay != 0, hasM = momentum != 0;
  for (let i = 0; i < n; i += 4) sgdChunk(<usize>i << 2, min(4, n - i), p, g, buf, lrv, wdv, hasWd, mv, hasM, omd, nesterov, first, sv);
}

// ---------------------------------------------------------------------------------------------
// RMSprop: sq = alpha sq + (1 - alpha) d^2; centered: ga = alpha ga + (1 - alpha) d and
// avg = sqrt(sq - ga^2) + eps, else avg = sqrt(sq) + eps (eps outside the root);
// momentum > 0: buf = momentum buf + d / avg, p -= lr buf; else p -= lr d / avg.

// @ts-ignore: decorator
@inline
function rmspropChunk(off: usize, cnt: i32, p: usize, g: usize, sq: usize, gavg: usize, buf: usize, lr: v128, a: v128, oma: v128, eps: v128, wd: v128, hasWd: bool, momentum: v128, hasMomentum: bool, sign: v128): void {
  const pv = ld(p + off, cnt);
  const d = effectiveGrad(pv, ld(g + off, cnt), sign, wd, hasWd);
  const s = f32x4.add(f32x4.mul(ld(sq + off, cnt), a), f32x4.mul(f32x4.mul(d, d), oma));
  st(sq + off, s, cnt);
  let avg: v128;
  if (gavg != 0) {
    const ga = f32x4.add(f32x4.mul(ld(gavg + off, cnt), a), f32x4.mul(d, oma));
    st(gavg + off, ga, cnt);
    avg = f32x4.sqrt(f32x4.sub(s, f32x4.mul(ga, ga)));
  } else {
    avg = f32x4.sqrt(s);
  }
  avg = f32x4.add(avg, eps);
  let u = div0(d, avg);
  if (hasMomentum) {
    u = f32x4.add(f32x4.mul(ld(buf + off, cnt), momentum), u);
    st(buf + off, u, cnt);
  }
  st(p + off, f32x4.sub(pv, f32x4.mul(u, lr)), cnt);
}

/** One RMSprop step; `gavg` = 0 unless centered, `buf` only used when momentum > 0. */
export function rmspropStep(p: usize, g: usize, sq: usize, gavg: usize, buf: usize, n: i32, lr: f32, alpha: f32, oneMinusAlpha: f32, eps: f32, weightDecay: f32, momentum: f32, sign: f32): void {
  const lrv = f32x4.splat(lr), av = f32x4.splat(alpha), omav = f32x4.splat(oneMinusAlpha), ev = f32x4.splat(eps);
  const wdv = f32x4.splat(weightDecay), mv = f32x4.splat(momentum), sv = f32x4.splat(sign);
  const hasWd = weightDecay != 0, hasM = momentum > 0;
  for (let i = 0; i < n; i += 4) rmspropChunk(<usize>i << 2, min(4, n - i), p, g, sq, gavg, buf, lrv, av, omav, ev, wdv, hasWd, mv, hasM, sv);
}

// ---------------------------------------------------------------------------------------------
// Adagrad: sum += d^2; p -= clr d / (sqrt(sum) + eps), clr = lr / (1 + (t - 1) lr_decay) from the caller.

// @ts-ignore: decorator
@inline
function adagradChunk(off: usize, cnt: i32, p: usize, g: usize, sum: usize, clr: v128, eps: v128, wd: v128, hasWd: bool, sign: v128): void {
  const pv = ld(p + off, cnt);
  const d = effectiveGrad(pv, ld(g + off, cnt), sign, wd, hasWd);
  const s = f32x4.add(ld(sum + off, cnt), f32x4.mul(d, d));
  st(sum + off, s, cnt);
  const std = f32x4.add(f32x4.sqrt(s), eps);
  st(p + off, f32x4.sub(pv, f32x4.mul(div0(d, std), clr)), cnt);
}

export function adagradStep(p: usize, g: usize, sum: usize, n: i32, clr: f32, eps: f32, weightDecay: f32, sign: f32): void {
  const cv = f32x4.splat(clr), ev = f32x4.splat(eps), wdv = f32x4.splat(weightDecay), sv = f32x4.splat(sign);
  const hasWd = weightDecay != 0;
  for (let i = 0; i < n; i += 4) adagradChunk(<usize>i << 2, min(4, n - i), p, g, sum, cv, ev, wdv, hasWd, sv);
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW: p *= decay (AdamW's decoupled 1 - lr wd; 1 for Adam); d = g + wd p (Adam's L2);
// m = beta1 m + (1 - beta1) d; v = beta2 v + (1 - beta2) d^2; amsgrad: vmax = max(vmax, v);
// p -= stepSize m / (sqrt(v or vmax) / bc2Sqrt + eps), stepSize = lr / (1 - beta1^t),
// bc2Sqrt = sqrt(1 - beta2^t): eps is added after the bias correction, as PyTorch does.

// @ts-ignore: decorator
@inline
function adamChunk(off: usize, cnt: i32, p: usize, g: usize, m: usize, v: usize, vmax: usize, stepSize: v128, beta1: v128, oneMinusBeta1: v128, beta2: v128, oneMinusBeta2: v128, bc2Sqrt: v128, eps: v128, wd: v128, hasWd: bool, decay: v128, hasDecay: bool, sign: v128, bk: usize, bks: usize): v128 {
  let pv = ld(p + off, cnt);
  if (bk != 0) v128.store(bk + off, pv);
  if (hasDecay) pv = f32x4.mul(pv, decay);
  const d = effectiveGrad(pv, ld(g + off, cnt), sign, wd, hasWd);
  const m0 = ld(m + off, cnt), v0 = ld(v + off, cnt);
  if (bk != 0) {
    v128.store(bk + bks + off, m0);
    v128.store(bk + 2 * bks + off, v0);
  }
  const mv = f32x4.add(f32x4.mul(m0, beta1), f32x4.mul(d, oneMinusBeta1));
  st(m + off, mv, cnt);
  let vv = f32x4.add(f32x4.mul(v0, beta2), f32x4.mul(f32x4.mul(d, d), oneMinusBeta2));
  st(v + off, vv, cnt);
  if (vmax != 0) {
    const x0 = ld(vmax + off, cnt);
    if (bk != 0) v128.store(bk + 3 * bks + off, x0);
    vv = f32x4.max(x0, vv); // wasm max propagates NaN, like torch.maximum
    st(vmax + off, vv, cnt);
  }
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), bc2Sqrt), eps);
  const np = f32x4.sub(pv, f32x4.mul(div0(mv, denom), stepSize));
  st(p + off, np, cnt);
  // x - x is 0 for a finite x and NaN otherwise. vv covers v (and vmax: max propagates NaN, vmax
  // >= v); a non-finite mv (where a non-finite gradient goes) makes np non-finite: over a finite
  // denominator it stays inf or NaN, over an infinite one (vv flags it) it gives NaN.
  return f32x4.add(f32x4.sub(np, np), f32x4.sub(vv, vv));
}

/**
 * One Adam (decay = 1) or AdamW (wd = 0, decay = 1 - lr wd) step; `vmax` = 0 unless amsgrad.
 * Returns 0 when every parameter and state value it stored is finite, else NaN: the caller's
 * all-or-nothing check without a second pass over parameters and state. With `bk` != 0 it also
 * copies p, m, v (and vmax) as they were to bk, bk + bks, bk + 2 bks (, bk + 3 bks) (bytes), from
 * the registers it loads them into: the caller's backup without a separate copy. Whole vectors:
 * a last partial chunk writes up to 12 bytes past n floats, so bks must leave that room.
 */
export function adamStep(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32, stepSize: f32, beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, bc2Sqrt: f32, eps: f32, weightDecay: f32, decay: f32, sign: f32, bk: usize, bks: usize): f32 {
  const ssv = f32x4.splat(stepSize), b1 = f32x4.splat(beta1), omb1 = f32x4.splat(oneMinusBeta1), b2 = f32x4.splat(beta2);
  const omb2 = f32x4.splat(oneMinusBeta2), bc2 = f32x4.splat(bc2Sqrt), ev = f32x4.splat(eps), wdv = f32x4.splat(weightDecay);
  const dv = f32x4.splat(decay), sv = f32x4.splat(sign);
  const hasWd = weightDecay != 0, hasDecay = decay != 1;
  let check = f32x4.splat(0);
  for (let i = 0; i < n; i += 4) check = f32x4.add(check, adamChunk(<usize>i << 2, min(4, n - i), p, g, m, v, vmax, ssv, b1, omb1, b2, omb2, bc2, ev, wdv, hasWd, dv, hasDecay, sv, bk, bks));
  return f32x4.extract_lane(check, 0) + f32x4.extract_lane(check, 1) + f32x4.extract_lane(check, 2) + f32x4.extract_lane(check, 3);
}
