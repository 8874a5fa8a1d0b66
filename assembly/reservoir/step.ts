// One step of every reservoir layer: pre = bias + W_in u + W x(t-1) (+ W_fb y(t-1)), then the
// leaky update x = (1 - a) x + a (f(pre) + noise). Float32 models run it in f32x4, with W dense
// (packed GEMV panels, [W W_in] fused) or block-sparse (below); float64 models run it in scalar
// float64 over a row-major W_in and a dense or CSR W.
import { argI32, fork, taskArg, threadsAvailable } from "../threads";
import { relu4, sigmoidFast4, tanhFast4 } from "../activations";
import { madd } from "../simd";
import { csrDot64, dot64 } from "./linalg";
import {
  ACT_RELU, ACT_SIGMOID, ACT_TANH, L_ACT, L_BIAS, L_CAT, L_COL, L_IN, L_K, L_LEAK, L_LEAK64, L_MODE, L_N, L_NOISE,
  L_PRE, L_VAL, L_W, L_WIN, L_X, LAYER0, LAYER_BYTES, MODE_DENSE, M_LAYERS, M_RNG, copy32, field, ptr,
} from "./layout";

// The float32 reservoir uses the cells' rational tanh / sigmoid (max abs error 4.9e-7 / 2.5e-7,
// NaN propagates): half the work of the exp forms, and a reservoir does not need exact
// saturation. The scalar tail goes through the same vector code so every unit sees one function.
// @ts-ignore: decorator
@inline
function activate4(act: i32, v: v128): v128 {
  if (act == ACT_TANH) return tanhFast4(v);
  if (act == ACT_SIGMOID) return sigmoidFast4(v);
  if (act == ACT_RELU) return relu4(v);
  return v;
}

// @ts-ignore: decorator
@inline
function activate1(act: i32, v: f32): f32 {
  return f32x4.extract_lane(activate4(act, f32x4.splat(v)), 0);
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
// Float32 products

// Block-sparse product of a float32 sparse layer: the rows of [W W_in] in groups of four, and per
// group one block for every column where any of its four rows is nonzero: the four weights as a
// v128 and the byte address of the vector entry the column multiplies (an entry of x(t-1) or of
// the layer input, so no [x; input] copy is needed). y[group] = bias[group] + sum over blocks of
// weights * splat(entry). Against CSR it trades up to 3 zero lanes per block for vector
// accumulators and one index load per four rows; on random W at 1-10 % density (100-1000 units)
// it took 0.6-0.7x the CSR time, and 0.6x the dense GEMV's at 10 % (100 units: the dense
// [W W_in] is 42 KB, more than L1; the blocks 17 KB). Two accumulators hide the add latency.
// Measured and dropped (100 units, 10 %): four FMA chains ran no faster (the loop issues ~7
// instructions and 3 loads per block either way), and the leaky update fused into the group
// loop ran 20-30 % slower (the activation's constants and temporaries crowd the registers).
function blockProduct(groups: i32, start: usize, addr: usize, vals: usize, bias: usize, y: usize): void {
  let b = load<i32>(start);
  for (let g = 0; g < groups; g++) {
    const e = load<i32>(start + (<usize>(g + 1) << 2));
    let s0 = v128.load(bias + (<usize>g << 4));
    let s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let pa = addr + (<usize>b << 2);
    let pv = vals + (<usize>b << 4);
    const end = addr + (<usize>e << 2);
    const quads = addr + (<usize>(b + ((e - b) & ~3)) << 2);
    while (pa < quads) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load(pv), v128.load32_splat(<usize>load<u32>(pa))));
      s1 = f32x4.add(s1, f32x4.mul(v128.load(pv, 16), v128.load32_splat(<usize>load<u32>(pa, 4))));
      s2 = f32x4.add(s2, f32x4.mul(v128.load(pv, 32), v128.load32_splat(<usize>load<u32>(pa, 8))));
      s3 = f32x4.add(s3, f32x4.mul(v128.load(pv, 48), v128.load32_splat(<usize>load<u32>(pa, 12))));
      pa += 16;
      pv += 64;
    }
    while (pa < end) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load(pv), v128.load32_splat(<usize>load<u32>(pa))));
      pa += 4;
      pv += 16;
    }
    v128.store(y + (<usize>g << 4), f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
    b = e;
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
      fork(gemvChunk, chunks);
      return;
    }
  }
  gemvPacked(k, a, bp, n, y);
}

/** One chunk of a forked reservoir product. */
function gemvChunk(control: usize, chunk: i32, chunks: i32): void {
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


// One step of every layer of a float32 model; returns false if a state became non-finite.
export function reservoirStep(m: usize, noise: bool): bool {
  const layers = field(m, M_LAYERS);
  const rng = ptr(m, M_RNG);
  let finite = true;
  for (let l = 0; l < layers; l++) {
    const d = m + LAYER0 + <usize>l * LAYER_BYTES;
    const n = field(d, L_N);
    const pre = ptr(d, L_PRE);
    if (field(d, L_MODE) == MODE_DENSE) {
      // One product for both terms: pre = bias + [W W_in] [x(t-1); in], packed as one matrix.
      const k = field(d, L_K);
      const cat = ptr(d, L_CAT);
      copy32(cat, ptr(d, L_X), n);
      copy32(cat + (<usize>n << 2), ptr(d, L_IN), k);
      gemv(n + k, cat, ptr(d, L_W), n, pre);
    } else blockProduct((n + 3) >> 2, ptr(d, L_W), ptr(d, L_COL), ptr(d, L_VAL), ptr(d, L_BIAS), pre);
    const noiseStd: f32 = noise ? load<f32>(d + (<usize>L_NOISE << 2)) : 0;
    const s = leakyUpdate(n, ptr(d, L_X), pre, load<f32>(d + (<usize>L_LEAK << 2)), field(d, L_ACT), noiseStd, rng);
    if (!(s - s == 0)) finite = false;
  }
  return finite;
}

// ---------------------------------------------------------------------------------------------
// Float64 models (precision: "float64"): W_in is row-major [n][k] f64 with its bias apart
// (L_BIAS); a dense W is row-major [n][n] f64, CSR values are f64.

// @ts-ignore: decorator
@inline
function activate64(act: i32, v: f64): f64 {
  if (act == ACT_TANH) return Math.tanh(v);
  if (act == ACT_SIGMOID) return 1.0 / (1.0 + Math.exp(-v));
  if (act == ACT_RELU) return v < 0 ? 0 : v;
  return v;
}

// One step of every layer of a float64 model; returns false if a state became non-finite.
export function reservoirStep64(m: usize, noise: bool): bool {
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

