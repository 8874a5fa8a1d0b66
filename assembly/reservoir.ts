// Echo state network kernels: the whole driven / teacher-forced / closed-loop run over T steps in
// one call, the streamed float64 Gram accumulation of the ridge readout, an online RLS readout
// and a float64 Cholesky solve. Nothing here allocates: src/esn.ts lays out every buffer and
// describes a model in a block of i32 fields (M_* below, layer descriptors L_* after it).
//
// Precision: states are float32 (the recurrent product and the leaky update run in f32x4); every
// quantity of the readout is float64: the features are widened once per step, the readout dot
// products, the Gram matrix [Z Y]^T [Z Y] and the RLS matrix P are float64. A product of two
// float32 numbers is exact in float64, so the Gram only rounds in its sums; this matters because
// Z^T Z + ridge I reaches condition numbers of 1e11 (a float32 solve would be meaningless).
import { gemm } from "./gemm";
import { TASK_GEMV, TASK_SYRK, argI32, fork, taskArg, threadsAvailable } from "./threads";
import { sigmoid4, tanh4, relu4, sigmoid1, tanh1 } from "./activations";
import { madd } from "./simd";

// Model descriptor fields (i32 index). Keep in sync with src/esn.ts (Field).
const M_LAYERS = 0, M_IN = 1, M_OUT = 2, M_FEAT = 3, M_RIN = 4, M_F = 5, M_EXT = 6, M_FB = 7;
const M_YPREV = 8, M_WOUT = 9, M_Y = 10, M_Z = 11, M_RNG = 12, M_CHUNK = 13, M_CHUNK_ROWS = 14;
const M_G = 15, M_GRAM = 16, M_P = 17, M_K = 18, M_PREC = 19;
const M_FORGET = 20; // f64 at byte 80 (RLS forgetting factor)
const LAYER0 = 128; // byte offset of the first layer descriptor
const LAYER_BYTES = 128;

// Layer descriptor fields (i32 index).
const L_N = 0, L_K = 1, L_IN = 2, L_X = 3, L_PRE = 4, L_WIN = 5, L_MODE = 6, L_W = 7, L_COL = 8;
const L_VAL = 9, L_LEAK = 10, L_ACT = 11, L_NOISE = 12, L_BIAS = 13;
const L_LEAK64 = 56; // byte offset of the leak rate as f64 (float64 models)
const L_CAT = 16; // float32 dense layers: [x(t-1); input] scratch, the GEMV's vector

const MODE_DENSE = 0;
const MODE_CSR = 1;

const ACT_TANH = 0, ACT_SIGMOID = 1, ACT_RELU = 2, ACT_IDENTITY = 3;

/** Input of each step is the previous output (closed loop, generation). */
const FLAG_CLOSED = 1;
/** Before each step the feedback/previous output is set to the step's input (generation warm-up). */
const FLAG_FB_IS_INPUT = 2;
/** After each step the previous output becomes teacher[t] (teacher forcing). */
const FLAG_TEACHER = 4;
/** Append [1; u; x; teacher[t]] of every step t >= washout to the Gram matrix. */
const FLAG_GRAM = 8;
/** Update the readout by RLS towards teacher[t] at every step t >= washout. */
const FLAG_RLS = 16;
/** Add state noise (std per layer). */
const FLAG_NOISE = 32;
/** Compute the readout y(t) at every step. */
const FLAG_OUTPUT = 64;

// @ts-ignore: decorator
@inline
function field(m: usize, i: i32): i32 {
  return load<i32>(m + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function ptr(m: usize, i: i32): usize {
  return <usize>load<u32>(m + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f64x2.relaxed_madd(a, b, c);
  } else {
    return f64x2.add(f64x2.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline
function hsum64(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline
function activate4(act: i32, v: v128): v128 {
  if (act == ACT_TANH) return tanh4(v);
  if (act == ACT_SIGMOID) return sigmoid4(v);
  if (act == ACT_RELU) return relu4(v);
  return v;
}

// @ts-ignore: decorator
@inline
function activate1(act: i32, v: f32): f32 {
  if (act == ACT_TANH) return tanh1(v);
  if (act == ACT_SIGMOID) return sigmoid1(v);
  if (act == ACT_RELU) return v < 0 ? 0 : v;
  return v;
}

// Copies n 4-byte words. The per-step copies are mostly a few words (inputs, outputs), where a
// loop beats memory.copy (a call out of the compiled code in V8).
// @ts-ignore: decorator
@inline
function copy32(dst: usize, src: usize, n: i32): void {
  if (n > 16) memory.copy(dst, src, <usize>n << 2);
  else for (let i = 0; i < n; i++) store<u32>(dst + (<usize>i << 2), load<u32>(src + (<usize>i << 2)));
}

// ---------------------------------------------------------------------------------------------
// Random numbers for state noise: xoshiro128** (same core as src/random.ts) and Marsaglia's polar
// method. State lives in the model block, so noise is a deterministic function of the seed.

// @ts-ignore: decorator
@inline
function rotl(x: u32, k: u32): u32 {
  return (x << k) | (x >> (32 - k));
}

function nextU32(s: usize): u32 {
  let s0 = load<u32>(s), s1 = load<u32>(s, 4), s2 = load<u32>(s, 8), s3 = load<u32>(s, 12);
  const r = rotl(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  store<u32>(s, s0);
  store<u32>(s, s1, 4);
  store<u32>(s, s2, 8);
  store<u32>(s, s3, 12);
  return r;
}

// Uniform on [-1, 1) with 53 random bits.
function uniformPm1(s: usize): f64 {
  const hi = <f64>(nextU32(s) >> 5);
  const lo = <f64>(nextU32(s) >> 6);
  return (hi * 67108864.0 + lo) / 4503599627370496.0 - 1.0;
}

// The polar method yields two normals per draw; the second is kept in the RNG block (a flag at
// byte 16, the value at byte 24) so a run split over several calls draws the same sequence.
function normal(s: usize): f64 {
  if (load<i32>(s, 16) != 0) {
    store<i32>(s, 0, 16);
    return load<f64>(s, 24);
  }
  let u: f64, v: f64, q: f64;
  do {
    u = uniformPm1(s);
    v = uniformPm1(s);
    q = u * u + v * v;
  } while (q >= 1.0 || q == 0.0);
  const m = Math.sqrt((-2.0 * Math.log(q)) / q);
  store<f64>(s, v * m, 24);
  store<i32>(s, 1, 16);
  return u * m;
}

// ---------------------------------------------------------------------------------------------
// Reservoir step pieces

/** y[i] (+)= sum_j vals[j] * x[col[j]] over row i of a CSR matrix (n rows). */
export function csrMatvec(n: i32, rowPtr: usize, col: usize, vals: usize, x: usize, y: usize, accumulate: bool): void {
  let start = load<i32>(rowPtr);
  for (let i = 0; i < n; i++) {
    const end = load<i32>(rowPtr + (<usize>(i + 1) << 2));
    // Four partial sums hide the add latency; rows hold ~connectivity*N entries.
    let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
    let j = start;
    for (; j + 4 <= end; j += 4) {
      const pc = col + (<usize>j << 2);
      const pv = vals + (<usize>j << 2);
      s0 += load<f32>(pv) * load<f32>(x + (<usize>load<i32>(pc) << 2));
      s1 += load<f32>(pv, 4) * load<f32>(x + (<usize>load<i32>(pc, 4) << 2));
      s2 += load<f32>(pv, 8) * load<f32>(x + (<usize>load<i32>(pc, 8) << 2));
      s3 += load<f32>(pv, 12) * load<f32>(x + (<usize>load<i32>(pc, 12) << 2));
    }
    for (; j < end; j++) s0 += load<f32>(vals + (<usize>j << 2)) * load<f32>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 2));
    const sum = (s0 + s1) + (s2 + s3);
    const dst = y + (<usize>i << 2);
    store<f32>(dst, accumulate ? load<f32>(dst) + sum : sum);
    start = end;
  }
}

// y[0 .. 8*panels) = bias + a B for B packed by packB/packBT (k rows, n columns; y padded to a
// multiple of 8 floats). The batch-1 product of the reservoir step: three panels per pass give 6
// accumulator chains (more spill in V8's 15 vector registers). Multiply and add stay separate
// even in the relaxed build: the loop-carried dependency is then one add (3 cycles) instead of
// an FMA (4), which is what bounds a single-row product.
function gemvPacked(k: i32, a: usize, bp: usize, n: i32, y: usize): void {
  const panels = (n + 7) >> 3;
  const panelBytes = <usize>(k + 1) << 5;
  let p = 0;
  for (; p + 3 <= panels; p += 3) {
    let b0 = bp + <usize>p * panelBytes;
    let b1 = b0 + panelBytes;
    let b2 = b1 + panelBytes;
    let s0 = v128.load(b0), s1 = v128.load(b0, 16), s2 = v128.load(b1), s3 = v128.load(b1, 16);
    let s4 = v128.load(b2), s5 = v128.load(b2, 16);
    let pa = a;
    const end = a + (<usize>k << 2);
    while (pa < end) {
      b0 += 32;
      b1 += 32;
      b2 += 32;
      const v = v128.load32_splat(pa);
      s0 = f32x4.add(s0, f32x4.mul(v, v128.load(b0)));
      s1 = f32x4.add(s1, f32x4.mul(v, v128.load(b0, 16)));
      s2 = f32x4.add(s2, f32x4.mul(v, v128.load(b1)));
      s3 = f32x4.add(s3, f32x4.mul(v, v128.load(b1, 16)));
      s4 = f32x4.add(s4, f32x4.mul(v, v128.load(b2)));
      s5 = f32x4.add(s5, f32x4.mul(v, v128.load(b2, 16)));
      pa += 4;
    }
    const dst = y + (<usize>p << 5);
    v128.store(dst, s0);
    v128.store(dst, s1, 16);
    v128.store(dst, s2, 32);
    v128.store(dst, s3, 48);
    v128.store(dst, s4, 64);
    v128.store(dst, s5, 80);
  }
  // The last one or two panels: one at a time, K split in three interleaved phases so that six
  // chains stay in flight (two would leave the adder idle two cycles in three).
  for (; p < panels; p++) {
    const b = bp + <usize>p * panelBytes;
    let s0 = v128.load(b), s1 = v128.load(b, 16);
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), u0 = f32x4.splat(0), u1 = f32x4.splat(0);
    let pb = b + 32;
    let pa = a;
    const end3 = a + (<usize>(k - k % 3) << 2);
    while (pa < end3) {
      let v = v128.load32_splat(pa);
      s0 = f32x4.add(s0, f32x4.mul(v, v128.load(pb)));
      s1 = f32x4.add(s1, f32x4.mul(v, v128.load(pb, 16)));
      v = v128.load32_splat(pa, 4);
      t0 = f32x4.add(t0, f32x4.mul(v, v128.load(pb, 32)));
      t1 = f32x4.add(t1, f32x4.mul(v, v128.load(pb, 48)));
      v = v128.load32_splat(pa, 8);
      u0 = f32x4.add(u0, f32x4.mul(v, v128.load(pb, 64)));
      u1 = f32x4.add(u1, f32x4.mul(v, v128.load(pb, 80)));
      pa += 12;
      pb += 96;
    }
    const end = a + (<usize>k << 2);
    while (pa < end) {
      const v = v128.load32_splat(pa);
      s0 = f32x4.add(s0, f32x4.mul(v, v128.load(pb)));
      s1 = f32x4.add(s1, f32x4.mul(v, v128.load(pb, 16)));
      pa += 4;
      pb += 32;
    }
    v128.store(y + (<usize>p << 5), f32x4.add(s0, f32x4.add(t0, u0)));
    v128.store(y + (<usize>p << 5), f32x4.add(s1, f32x4.add(t1, u1)), 16);
  }
}

// Threaded binaries: the reservoir's product is memory-bound (the whole of W every step), and two
// cores stream it faster than one. Chunks are whole triples of panels, so every panel is summed
// by the same code path as in one call (the last chunk keeps the leftover panels).
const GEMV_FORK_MACS: i64 = 1 << 17;

function gemv(k: i32, a: usize, bp: usize, n: i32, y: usize): void {
  if (ASC_FEATURE_THREADS) {
    const chunks = min(threadsAvailable(), ((n + 7) >> 3) / 3);
    if (chunks > 1 && <i64>k * <i64>n >= GEMV_FORK_MACS) {
      store<i32>(taskArg(0), k);
      store<u32>(taskArg(1), <u32>a);
      store<u32>(taskArg(2), <u32>bp);
      store<i32>(taskArg(3), n);
      store<u32>(taskArg(4), <u32>y);
      fork(TASK_GEMV, chunks);
      return;
    }
  }
  gemvPacked(k, a, bp, n, y);
}

/** One chunk of a forked reservoir product. */
export function gemvChunk(control: usize, chunk: i32, chunks: i32): void {
  const k = argI32(control, 0), a = <usize><u32>argI32(control, 1), bp = <usize><u32>argI32(control, 2);
  const n = argI32(control, 3), y = <usize><u32>argI32(control, 4);
  const triples = ((n + 7) >> 3) / 3;
  const p0 = 3 * <i32>(<i64>triples * chunk / chunks);
  const p1 = chunk + 1 == chunks ? (n + 7) >> 3 : 3 * <i32>(<i64>triples * (chunk + 1) / chunks);
  if (p1 <= p0) return;
  const panelBytes = <usize>(k + 1) << 5;
  gemvPacked(k, a, bp + <usize>p0 * panelBytes, min(n, p1 << 3) - (p0 << 3), y + (<usize>p0 << 5));
}

// x = (1 - a) x + a (f(pre) + noise); returns the sum of the new x (non-finite iff some x is).
function leakyUpdate(n: i32, x: usize, pre: usize, leak: f32, act: i32, noiseStd: f32, rng: usize): f32 {
  const keepS: f32 = <f32>1.0 - leak;
  const keep = f32x4.splat(keepS);
  const a = f32x4.splat(leak);
  let sum = f32x4.splat(0);
  let i = 0;
  if (noiseStd == 0) {
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      const f = activate4(act, v128.load(pre + off));
      const v = madd(a, f, f32x4.mul(keep, v128.load(x + off)));
      v128.store(x + off, v);
      sum = f32x4.add(sum, v);
    }
  }
  let s: f32 = f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 1) + f32x4.extract_lane(sum, 2) + f32x4.extract_lane(sum, 3);
  for (; i < n; i++) {
    const off = <usize>i << 2;
    let f = activate1(act, load<f32>(pre + off));
    if (noiseStd != 0) f += noiseStd * <f32>normal(rng);
    const v: f32 = keepS * load<f32>(x + off) + leak * f;
    store<f32>(x + off, v);
    s += v;
  }
  return s;
}

// One step of every layer; returns false if a state became non-finite.
function reservoirStep(m: usize, noise: bool): bool {
  const layers = field(m, M_LAYERS);
  const rng = ptr(m, M_RNG);
  let finite = true;
  for (let l = 0; l < layers; l++) {
    const d = m + LAYER0 + <usize>l * LAYER_BYTES;
    const n = field(d, L_N);
    const k = field(d, L_K);
    const x = ptr(d, L_X);
    const pre = ptr(d, L_PRE);
    if (field(d, L_MODE) == MODE_DENSE) {
      // One product for both terms: pre = bias + [W W_in] [x(t-1); in], packed as one matrix.
      const cat = ptr(d, L_CAT);
      copy32(cat, x, n);
      copy32(cat + (<usize>n << 2), ptr(d, L_IN), k);
      gemv(n + k, cat, ptr(d, L_W), n, pre);
    } else {
      // pre = bias + W_in in (bias in the packed panels' bias row), then += W x(t-1).
      gemm(1, n, k, ptr(d, L_IN), k, ptr(d, L_WIN), pre, n, false);
      csrMatvec(n, ptr(d, L_W), ptr(d, L_COL), ptr(d, L_VAL), x, pre, true);
    }
    const noiseStd: f32 = noise ? load<f32>(d + (<usize>L_NOISE << 2)) : 0;
    const s = leakyUpdate(n, x, pre, load<f32>(d + (<usize>L_LEAK << 2)), field(d, L_ACT), noiseStd, rng);
    if (!(s - s == 0)) finite = false;
  }
  return finite;
}

// z (f64) = F (f32), n values.
function widen(f: usize, z: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    v128.store(z + (<usize>i << 3), f64x2.promote_low_f32x4(v128.load64_zero(f + (<usize>i << 2))));
  }
  if (i < n) store<f64>(z + (<usize>i << 3), <f64>load<f32>(f + (<usize>i << 2)));
}

function dot64(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 3;
    s0 = madd64(v128.load(a + off), v128.load(b + off), s0);
    s1 = madd64(v128.load(a + off, 16), v128.load(b + off, 16), s1);
  }
  let s = hsum64(f64x2.add(s0, s1));
  for (; i < n; i++) s += load<f64>(a + (<usize>i << 3)) * load<f64>(b + (<usize>i << 3));
  return s;
}

// y[i] += alpha x[i]
function axpy64(n: i32, alpha: f64, x: usize, y: usize): void {
  const av = f64x2.splat(alpha);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const off = <usize>i << 3;
    v128.store(y + off, madd64(av, v128.load(x + off), v128.load(y + off)));
  }
  if (i < n) {
    const off = <usize>i << 3;
    store<f64>(y + off, load<f64>(y + off) + alpha * load<f64>(x + off));
  }
}

// RLS towards target t (f32, O values) with features z (f64, D): prior error e = W z - t,
// k = P z, c = 1/(lambda + z^T k), W -= c e k^T, P = (P - c k k^T) / lambda. P is kept full
// (both triangles) so P z is a plain row-major product; c (k_i k_j) rounds the same for (i, j)
// and (j, i), so P stays exactly symmetric and rounding cannot drift it towards indefinite.
function rlsUpdate(m: usize, z: usize, y: usize, target: usize): void {
  const D = field(m, M_FEAT);
  const O = field(m, M_OUT);
  const P = ptr(m, M_P);
  const k = ptr(m, M_K);
  const W = ptr(m, M_WOUT);
  const lambda = load<f64>(m + (<usize>M_FORGET << 2));
  const rowBytes = <usize>D << 3;
  for (let i = 0; i < D; i++) store<f64>(k + (<usize>i << 3), dot64(P + <usize>i * rowBytes, z, D));
  const zk = dot64(z, k, D);
  const c = 1.0 / (lambda + zk);
  for (let o = 0; o < O; o++) {
    const yo = y + (<usize>o << 3);
    const e = load<f64>(yo) - <f64>load<f32>(target + (<usize>o << 2));
    axpy64(D, -c * e, k, W + <usize>o * rowBytes);
    // y becomes the output of the updated readout, W_new z = y - c e z^T k: what FORCE feeds back
    // (Sussillo & Abbott's post-update output, whose error is already small).
    store<f64>(yo, load<f64>(yo) - c * e * zk);
  }
  const inv = f64x2.splat(1.0 / lambda);
  const cv = f64x2.splat(c);
  const scale = lambda != 1.0;
  for (let i = 0; i < D; i++) {
    const row = P + <usize>i * rowBytes;
    const ki = load<f64>(k + (<usize>i << 3));
    const kv = f64x2.splat(ki);
    let j = 0;
    for (; j + 2 <= D; j += 2) {
      const off = <usize>j << 3;
      let v = f64x2.sub(v128.load(row + off), f64x2.mul(cv, f64x2.mul(kv, v128.load(k + off))));
      if (scale) v = f64x2.mul(v, inv);
      v128.store(row + off, v);
    }
    if (j < D) {
      const off = <usize>j << 3;
      let v = load<f64>(row + off) - c * (ki * load<f64>(k + off));
      if (scale) v *= 1.0 / lambda;
      store<f64>(row + off, v);
    }
  }
}

/**
 * Runs the model described at `m` for `steps` steps in one call.
 *
 * inputs:  [steps][I] f32 (ignored with FLAG_CLOSED)
 * teacher: [steps][O] f32 targets (teacher forcing, Gram and RLS targets), or 0
 * outputs: [steps][O] f32 readout per step (with FLAG_OUTPUT), or 0
 * states:  [steps][units] f32 concatenated layer states per step, or 0
 * washout: steps at the start of this call that are not added to the Gram / RLS
 *
 * Returns -1, or the first step whose state or output was not finite (the run stops there).
 */
export function esnRun(m: usize, steps: i32, inputs: usize, teacher: usize, outputs: usize, states: usize, washout: i32, flags: i32): i32 {
  if (field(m, M_PREC) != 0) return esnRun64(m, steps, inputs, teacher, outputs, states, washout, flags);
  const I = field(m, M_IN);
  const O = field(m, M_OUT);
  const D = field(m, M_FEAT);
  const rin = field(m, M_RIN) != 0;
  const fb = field(m, M_FB);
  const F = ptr(m, M_F);
  const ext = ptr(m, M_EXT);
  const yPrev = ptr(m, M_YPREV);
  const yv = ptr(m, M_Y);
  const z = ptr(m, M_Z);
  const W = ptr(m, M_WOUT);
  const units = D - 1 - (rin ? I : 0);
  const xs = F + (<usize>(D - units) << 2);
  const closed = (flags & FLAG_CLOSED) != 0;
  const fbIsInput = (flags & FLAG_FB_IS_INPUT) != 0;
  const teach = (flags & FLAG_TEACHER) != 0;
  const gram = (flags & FLAG_GRAM) != 0;
  const rls = (flags & FLAG_RLS) != 0;
  const noise = (flags & FLAG_NOISE) != 0;
  const out = (flags & FLAG_OUTPUT) != 0 || rls;
  const chunk = ptr(m, M_CHUNK);
  const chunkRows = field(m, M_CHUNK_ROWS);
  const G = field(m, M_G);
  const gBytes = <usize>G << 3;
  let filled = 0;
  let failed = -1;
  store<f32>(F, 1);
  for (let t = 0; t < steps; t++) {
    const u = closed ? yPrev : inputs + <usize>t * (<usize>I << 2);
    if (fbIsInput) copy32(yPrev, u, O);
    copy32(ext, u, I);
    if (fb > 0) copy32(ext + (<usize>I << 2), yPrev, fb);
    if (rin) copy32(F + 4, u, I);
    if (!reservoirStep(m, noise)) {
      failed = t;
      break;
    }
    if (out || gram) widen(F, z, D);
    if (out) {
      for (let o = 0; o < O; o++) {
        const v = dot64(W + <usize>o * (<usize>D << 3), z, D);
        store<f64>(yv + (<usize>o << 3), v);
        if (!(v - v == 0)) failed = t;
      }
      if (failed >= 0) break;
      if (outputs != 0) {
        const dst = outputs + <usize>t * (<usize>O << 2);
        for (let o = 0; o < O; o++) store<f32>(dst + (<usize>o << 2), <f32>load<f64>(yv + (<usize>o << 3)));
      }
    }
    if (states != 0) memory.copy(states + <usize>t * (<usize>units << 2), xs, <usize>units << 2);
    const target = teacher + <usize>t * (<usize>O << 2);
    if (t >= washout) {
      if (gram) {
        const row = chunk + <usize>filled * gBytes;
        memory.copy(row, z, <usize>D << 3);
        for (let o = 0; o < O; o++) store<f64>(row + (<usize>(D + o) << 3), <f64>load<f32>(target + (<usize>o << 2)));
        filled++;
        if (filled == chunkRows) {
          syrkUpper(ptr(m, M_GRAM), G, chunk, filled);
          filled = 0;
        }
      }
      if (rls) rlsUpdate(m, z, yv, target);
    }
    // The previous output seen by the next step: the teacher, or what the readout just said.
    if (teach) copy32(yPrev, target, O);
    else if (out) {
      for (let o = 0; o < O; o++) store<f32>(yPrev + (<usize>o << 2), <f32>load<f64>(yv + (<usize>o << 3)));
    }
  }
  // Rows gathered before a failure are flushed too; the caller discards the whole Gram on failure.
  if (gram && filled > 0) syrkUpper(ptr(m, M_GRAM), G, chunk, filled);
  return failed;
}

// ---------------------------------------------------------------------------------------------
// Float64 models (precision: "float64"): the same run with every state quantity in float64.
// Layout differences: F, ext, pre and the previous output are f64; W_in is row-major [n][k] f64
// with its bias apart (L_BIAS); a dense W is row-major [n][n] f64, CSR values are f64. The
// float32 inputs/teacher/outputs/states of the call keep their float32 layout.

// @ts-ignore: decorator
@inline
function activate64(act: i32, v: f64): f64 {
  if (act == ACT_TANH) return Math.tanh(v);
  if (act == ACT_SIGMOID) return 1.0 / (1.0 + Math.exp(-v));
  if (act == ACT_RELU) return v < 0 ? 0 : v;
  return v;
}

function csrDot64(rowPtr: usize, col: usize, vals: usize, x: usize, i: i32): f64 {
  const end = load<i32>(rowPtr + (<usize>(i + 1) << 2));
  let s0: f64 = 0, s1: f64 = 0;
  let j = load<i32>(rowPtr + (<usize>i << 2));
  for (; j + 2 <= end; j += 2) {
    s0 += load<f64>(vals + (<usize>j << 3)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
    s1 += load<f64>(vals + (<usize>j << 3), 8) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2), 4) << 3));
  }
  if (j < end) s0 += load<f64>(vals + (<usize>j << 3)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
  return s0 + s1;
}

function reservoirStep64(m: usize, noise: bool): bool {
  const layers = field(m, M_LAYERS);
  const rng = ptr(m, M_RNG);
  let finite = true;
  for (let l = 0; l < layers; l++) {
    const d = m + LAYER0 + <usize>l * LAYER_BYTES;
    const n = field(d, L_N);
    const k = field(d, L_K);
    const x = ptr(d, L_X);
    const pre = ptr(d, L_PRE);
    const inp = ptr(d, L_IN);
    const win = ptr(d, L_WIN);
    const bias = ptr(d, L_BIAS);
    const dense = field(d, L_MODE) == MODE_DENSE;
    const w = ptr(d, L_W);
    // pre must be complete before x is overwritten (every unit reads the old x).
    for (let i = 0; i < n; i++) {
      let s = load<f64>(bias + (<usize>i << 3)) + dot64(win + <usize>i * (<usize>k << 3), inp, k);
      s += dense ? dot64(w + <usize>i * (<usize>n << 3), x, n) : csrDot64(w, ptr(d, L_COL), ptr(d, L_VAL), x, i);
      store<f64>(pre + (<usize>i << 3), s);
    }
    const leak = load<f64>(d + L_LEAK64);
    const keep = 1.0 - leak;
    const act = field(d, L_ACT);
    const noiseStd: f64 = noise ? <f64>load<f32>(d + (<usize>L_NOISE << 2)) : 0;
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) {
      let f = activate64(act, load<f64>(pre + (<usize>i << 3)));
      if (noiseStd != 0) f += noiseStd * normal(rng);
      const v = keep * load<f64>(x + (<usize>i << 3)) + leak * f;
      store<f64>(x + (<usize>i << 3), v);
      sum += v;
    }
    if (!(sum - sum == 0)) finite = false;
  }
  return finite;
}

function esnRun64(m: usize, steps: i32, inputs: usize, teacher: usize, outputs: usize, states: usize, washout: i32, flags: i32): i32 {
  const I = field(m, M_IN);
  const O = field(m, M_OUT);
  const D = field(m, M_FEAT);
  const rin = field(m, M_RIN) != 0;
  const fb = field(m, M_FB);
  const F = ptr(m, M_F);
  const ext = ptr(m, M_EXT);
  const yPrev = ptr(m, M_YPREV);
  const yv = ptr(m, M_Y);
  const W = ptr(m, M_WOUT);
  const units = D - 1 - (rin ? I : 0);
  const xs = F + (<usize>(D - units) << 3);
  const closed = (flags & FLAG_CLOSED) != 0;
  const fbIsInput = (flags & FLAG_FB_IS_INPUT) != 0;
  const teach = (flags & FLAG_TEACHER) != 0;
  const gram = (flags & FLAG_GRAM) != 0;
  const rls = (flags & FLAG_RLS) != 0;
  const noise = (flags & FLAG_NOISE) != 0;
  const out = (flags & FLAG_OUTPUT) != 0 || rls;
  const chunk = ptr(m, M_CHUNK);
  const chunkRows = field(m, M_CHUNK_ROWS);
  const G = field(m, M_G);
  const gBytes = <usize>G << 3;
  let filled = 0;
  let failed = -1;
  store<f64>(F, 1);
  for (let t = 0; t < steps; t++) {
    // ext[0..I) = u(t): the previous output (closed loop, already f64) or the f32 input row.
    if (closed) copy32(ext, yPrev, 2 * I);
    else {
      const u = inputs + <usize>t * (<usize>I << 2);
      for (let c = 0; c < I; c++) store<f64>(ext + (<usize>c << 3), <f64>load<f32>(u + (<usize>c << 2)));
    }
    if (fbIsInput) copy32(yPrev, ext, 2 * O);
    if (fb > 0) copy32(ext + (<usize>I << 3), yPrev, 2 * fb);
    if (rin) copy32(F + 8, ext, 2 * I);
    if (!reservoirStep64(m, noise)) {
      failed = t;
      break;
    }
    if (out) {
      for (let o = 0; o < O; o++) {
        const v = dot64(W + <usize>o * (<usize>D << 3), F, D);
        store<f64>(yv + (<usize>o << 3), v);
        if (!(v - v == 0)) failed = t;
      }
      if (failed >= 0) break;
      if (outputs != 0) {
        const dst = outputs + <usize>t * (<usize>O << 2);
        for (let o = 0; o < O; o++) store<f32>(dst + (<usize>o << 2), <f32>load<f64>(yv + (<usize>o << 3)));
      }
    }
    if (states != 0) {
      const dst = states + <usize>t * (<usize>units << 2);
      for (let i = 0; i < units; i++) store<f32>(dst + (<usize>i << 2), <f32>load<f64>(xs + (<usize>i << 3)));
    }
    const target = teacher + <usize>t * (<usize>O << 2);
    if (t >= washout) {
      if (gram) {
        const row = chunk + <usize>filled * gBytes;
        memory.copy(row, F, <usize>D << 3);
        for (let o = 0; o < O; o++) store<f64>(row + (<usize>(D + o) << 3), <f64>load<f32>(target + (<usize>o << 2)));
        filled++;
        if (filled == chunkRows) {
          syrkUpper(ptr(m, M_GRAM), G, chunk, filled);
          filled = 0;
        }
      }
      if (rls) rlsUpdate(m, F, yv, target);
    }
    if (teach) {
      for (let o = 0; o < O; o++) store<f64>(yPrev + (<usize>o << 3), <f64>load<f32>(target + (<usize>o << 2)));
    } else if (out) copy32(yPrev, yv, 2 * O);
  }
  if (gram && filled > 0) syrkUpper(ptr(m, M_GRAM), G, chunk, filled);
  return failed;
}

// ---------------------------------------------------------------------------------------------
// Gram accumulation: C[i][j] += sum_b A[b][i] A[b][j] for j >= i (upper triangle, in 4x4 tiles),
// A = rows [rows][g] f64 with g a multiple of 4 (zero padded). Eight f64x2 accumulators plus two
// row vectors and a broadcast stay within V8's 15 vector registers.

/** Adds A^T A (A: `rows` x g float64, g a multiple of 4) to the upper triangle of C (g x g). */
export function syrkUpper(c: usize, g: i32, a: usize, rows: i32): void {
  if (ASC_FEATURE_THREADS) {
    // Threaded binaries: rows of 4 x 4 tiles split in chunks of equal tile count.
    const threads = threadsAvailable();
    if (threads > 1 && g >= 64 && <i64>g * <i64>g * <i64>rows >= SYRK_FORK_MACS) {
      store<u32>(taskArg(0), <u32>c);
      store<i32>(taskArg(1), g);
      store<u32>(taskArg(2), <u32>a);
      store<i32>(taskArg(3), rows);
      fork(TASK_SYRK, min(4 * threads, g >> 4));
      return;
    }
  }
  syrkBlocks(c, g, a, rows, 0, g >> 2);
}

const SYRK_FORK_MACS: i64 = 1 << 19;

// First tile row of chunk i: tile row r holds (tiles - r) tiles, so the cumulative count before
// it is r*tiles - r(r-1)/2; the chunk boundaries split the total evenly.
function syrkBound(tiles: i32, i: i32, chunks: i32): i32 {
  if (i >= chunks) return tiles;
  const target = <i64>tiles * (tiles + 1) / 2 * i / chunks;
  let r = 0;
  while (r < tiles && <i64>r * tiles - <i64>r * (r - 1) / 2 < target) r++;
  return r;
}

/** One chunk of a forked syrkUpper. */
export function syrkChunk(control: usize, chunk: i32, chunks: i32): void {
  const c = <usize><u32>argI32(control, 0), g = argI32(control, 1);
  const a = <usize><u32>argI32(control, 2), rows = argI32(control, 3);
  const tiles = g >> 2;
  syrkBlocks(c, g, a, rows, syrkBound(tiles, chunk, chunks), syrkBound(tiles, chunk + 1, chunks));
}

// Tile rows r0 .. r1-1 (rows 4 r0 .. 4 r1 - 1 of C's upper triangle).
function syrkBlocks(c: usize, g: i32, a: usize, rows: i32, r0: i32, r1: i32): void {
  const gBytes = <usize>g << 3;
  for (let i0 = r0 << 2; i0 < r1 << 2; i0 += 4) {
    for (let j0 = i0; j0 < g; j0 += 4) {
      const c0 = c + <usize>i0 * gBytes + (<usize>j0 << 3);
      const c1 = c0 + gBytes, c2 = c1 + gBytes, c3 = c2 + gBytes;
      let a00 = v128.load(c0), a01 = v128.load(c0, 16);
      let a10 = v128.load(c1), a11 = v128.load(c1, 16);
      let a20 = v128.load(c2), a21 = v128.load(c2, 16);
      let a30 = v128.load(c3), a31 = v128.load(c3, 16);
      let pi = a + (<usize>i0 << 3);
      let pj = a + (<usize>j0 << 3);
      for (let b = 0; b < rows; b++) {
        const b0 = v128.load(pj);
        const b1 = v128.load(pj, 16);
        let s = v128.load64_splat(pi);
        a00 = madd64(s, b0, a00);
        a01 = madd64(s, b1, a01);
        s = v128.load64_splat(pi, 8);
        a10 = madd64(s, b0, a10);
        a11 = madd64(s, b1, a11);
        s = v128.load64_splat(pi, 16);
        a20 = madd64(s, b0, a20);
        a21 = madd64(s, b1, a21);
        s = v128.load64_splat(pi, 24);
        a30 = madd64(s, b0, a30);
        a31 = madd64(s, b1, a31);
        pi += gBytes;
        pj += gBytes;
      }
      v128.store(c0, a00);
      v128.store(c0, a01, 16);
      v128.store(c1, a10);
      v128.store(c1, a11, 16);
      v128.store(c2, a20);
      v128.store(c2, a21, 16);
      v128.store(c3, a30);
      v128.store(c3, a31, 16);
    }
  }
}

/**
 * Builds the ridge system from the Gram of [Z Y] (upper triangle, stride g): a (n x n, full
 * symmetric) = Z^T Z + ridge I and b ([o][n], one right-hand side per output row) = Y^T Z.
 */
export function ridgeSystem(gram: usize, g: i32, n: i32, o: i32, ridge: f64, a: usize, b: usize): void {
  const gBytes = <usize>g << 3;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = load<f64>(gram + <usize>i * gBytes + (<usize>j << 3));
      store<f64>(a + (<usize>(i * n + j) << 3), v);
      store<f64>(a + (<usize>(j * n + i) << 3), v);
    }
    const d = a + (<usize>(i * n + i) << 3);
    store<f64>(d, load<f64>(d) + ridge);
  }
  for (let r = 0; r < o; r++) {
    for (let i = 0; i < n; i++) store<f64>(b + (<usize>(r * n + i) << 3), load<f64>(gram + <usize>i * gBytes + (<usize>(n + r) << 3)));
  }
}

// ---------------------------------------------------------------------------------------------
// Float64 Cholesky solve.

/**
 * Solves A X^T = B^T in place for symmetric positive definite A (n x n, row-major, lower triangle
 * read, overwritten by L with A = L L^T) and `nrhs` right-hand sides stored as rows of B
 * ([nrhs][n], overwritten by the solutions). Row-oriented (Cholesky-Banachiewicz): every inner
 * product runs over two contiguous rows of L, four rows j at a time sharing the loads of row i.
 *
 * Returns -1, or the index of the first pivot that is not > `tol` (the matrix is not numerically
 * positive definite: singular, indefinite or NaN); A is then partly overwritten.
 */
export function cholSolve(a: usize, n: i32, b: usize, nrhs: i32, tol: f64): i32 {
  const rowBytes = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const ri = a + <usize>i * rowBytes;
    let j = 0;
    for (; j + 4 <= i; j += 4) {
      const r0 = a + <usize>j * rowBytes;
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
      let k = 0;
      for (; k + 2 <= j; k += 2) {
        const off = <usize>k << 3;
        const x = v128.load(ri + off);
        s0 = madd64(x, v128.load(r0 + off), s0);
        s1 = madd64(x, v128.load(r1 + off), s1);
        s2 = madd64(x, v128.load(r2 + off), s2);
        s3 = madd64(x, v128.load(r3 + off), s3);
      }
      let d0 = hsum64(s0), d1 = hsum64(s1), d2 = hsum64(s2), d3 = hsum64(s3);
      for (; k < j; k++) {
        const off = <usize>k << 3;
        const x = load<f64>(ri + off);
        d0 += x * load<f64>(r0 + off);
        d1 += x * load<f64>(r1 + off);
        d2 += x * load<f64>(r2 + off);
        d3 += x * load<f64>(r3 + off);
      }
      // Columns j..j+3 of row i depend on each other: finish them in order.
      const jo = <usize>j << 3;
      const l0 = (load<f64>(ri + jo) - d0) / load<f64>(r0 + jo);
      store<f64>(ri + jo, l0);
      d1 += l0 * load<f64>(r1 + jo);
      d2 += l0 * load<f64>(r2 + jo);
      d3 += l0 * load<f64>(r3 + jo);
      const l1 = (load<f64>(ri + jo + 8) - d1) / load<f64>(r1 + jo + 8);
      store<f64>(ri + jo + 8, l1);
      d2 += l1 * load<f64>(r2 + jo + 8);
      d3 += l1 * load<f64>(r3 + jo + 8);
      const l2 = (load<f64>(ri + jo + 16) - d2) / load<f64>(r2 + jo + 16);
      store<f64>(ri + jo + 16, l2);
      d3 += l2 * load<f64>(r3 + jo + 16);
      store<f64>(ri + jo + 24, (load<f64>(ri + jo + 24) - d3) / load<f64>(r3 + jo + 24));
    }
    for (; j < i; j++) {
      const rj = a + <usize>j * rowBytes;
      store<f64>(ri + (<usize>j << 3), (load<f64>(ri + (<usize>j << 3)) - dot64(ri, rj, j)) / load<f64>(rj + (<usize>j << 3)));
    }
    const dpos = ri + (<usize>i << 3);
    const piv = load<f64>(dpos) - dot64(ri, ri, i);
    if (!(piv > tol)) return i;
    store<f64>(dpos, Math.sqrt(piv));
  }
  for (let r = 0; r < nrhs; r++) {
    const x = b + <usize>r * rowBytes;
    // L y = b: y_i = (b_i - L[i, :i] y[:i]) / L_ii
    for (let i = 0; i < n; i++) {
      const ri = a + <usize>i * rowBytes;
      const p = x + (<usize>i << 3);
      store<f64>(p, (load<f64>(p) - dot64(ri, x, i)) / load<f64>(ri + (<usize>i << 3)));
    }
    // L^T x = y, column-oriented so that it reads rows of L: x_i = y_i / L_ii, y[:i] -= x_i L[i, :i]
    for (let i = n - 1; i >= 0; i--) {
      const ri = a + <usize>i * rowBytes;
      const p = x + (<usize>i << 3);
      const xi = load<f64>(p) / load<f64>(ri + (<usize>i << 3));
      store<f64>(p, xi);
      axpy64(i, -xi, ri, x);
    }
  }
  return -1;
}

/** P = I / alpha (n x n float64): the initial inverse correlation matrix of the RLS readout. */
export function rlsInit(p: usize, n: i32, alpha: f64): void {
  memory.fill(p, 0, <usize>n * <usize>n * 8);
  const inv = 1.0 / alpha;
  for (let i = 0; i < n; i++) store<f64>(p + (<usize>(i * n + i) << 3), inv);
}

// ---------------------------------------------------------------------------------------------
// Float64 products with the float32 reservoir matrix, for the spectral radius (src/spectral.ts):
// every float32 weight is exact in float64, so the eigenvalues are those of the stored matrix.

/** y = W x for a dense row-major n x n W (float32, or float64 when `wide`), float64 x and y. */
export function denseMatvec64(n: i32, w: usize, wide: bool, x: usize, y: usize): void {
  if (wide) {
    for (let i = 0; i < n; i++) store<f64>(y + (<usize>i << 3), dot64(w + <usize>i * (<usize>n << 3), x, n));
    return;
  }
  const rowBytes = <usize>n << 2;
  for (let i = 0; i < n; i++) {
    const row = w + <usize>i * rowBytes;
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const v = v128.load(row + (<usize>j << 2));
      s0 = madd64(f64x2.promote_low_f32x4(v), v128.load(x + (<usize>j << 3)), s0);
      s1 = madd64(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), v128.load(x + (<usize>j << 3), 16), s1);
    }
    let s = hsum64(f64x2.add(s0, s1));
    for (; j < n; j++) s += <f64>load<f32>(row + (<usize>j << 2)) * load<f64>(x + (<usize>j << 3));
    store<f64>(y + (<usize>i << 3), s);
  }
}

/** y = W x for a CSR n x n W (float32 values, or float64 when `wide`), float64 x and y. */
export function csrMatvec64(n: i32, rowPtr: usize, col: usize, vals: usize, wide: bool, x: usize, y: usize): void {
  if (wide) {
    for (let i = 0; i < n; i++) store<f64>(y + (<usize>i << 3), csrDot64(rowPtr, col, vals, x, i));
    return;
  }
  let start = load<i32>(rowPtr);
  for (let i = 0; i < n; i++) {
    const end = load<i32>(rowPtr + (<usize>(i + 1) << 2));
    let s0: f64 = 0, s1: f64 = 0;
    let j = start;
    for (; j + 2 <= end; j += 2) {
      s0 += <f64>load<f32>(vals + (<usize>j << 2)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
      s1 += <f64>load<f32>(vals + (<usize>j << 2), 4) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2), 4) << 3));
    }
    if (j < end) s0 += <f64>load<f32>(vals + (<usize>j << 2)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
    store<f64>(y + (<usize>i << 3), s0 + s1);
    start = end;
  }
}

// Vector kernels of the Arnoldi iteration (src/spectral.ts, KrylovWorkspace): for a sparse W
// the Gram-Schmidt work on the basis costs more than the products.

/** out[i] = v_i . w for the `count` vectors v_i = v + i*n (float64). */
export function dotsF64(v: usize, count: i32, n: i32, w: usize, out: usize): void {
  for (let i = 0; i < count; i++) store<f64>(out + (<usize>i << 3), dot64(v + <usize>i * (<usize>n << 3), w, n));
}

/** y += alpha x (float64, n values). */
export function axpyF64(n: i32, alpha: f64, x: usize, y: usize): void {
  axpy64(n, alpha, x, y);
}
