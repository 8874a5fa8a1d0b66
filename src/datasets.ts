/**
 * Benchmark time series for reservoir computing / echo state networks: Mackey-Glass, NARMA10,
 * Lorenz-63 and the frequency-to-sine generator task, plus `toTensor`, `rmse` and `nrmse`.
 *
 * Pure TypeScript with no Node APIs, so it runs unchanged in browsers. Series are computed and
 * returned in float64 (`Float64Array`); `toTensor` converts them to the float32 `Tensor` the
 * networks consume.
 *
 * Cross-platform determinism: Mackey-Glass (integer `n`), NARMA10 and Lorenz use only IEEE-754
 * basic operations (+ − × ÷ and a correctly rounded integer power computed in double-double), so
 * they are bit-identical on every engine. `Math.pow` is not used for integer exponents because
 * ECMAScript lets engines approximate it, and Mackey-Glass is chaotic: a one-ulp difference
 * grows to O(1) within a few thousand time units. Random inputs come from `createRng`
 * (./random.js), which is bit-identical everywhere. Exceptions: Mackey-Glass with a non-integer
 * `n` (uses `Math.pow`) and `frequencyToSine`'s target (uses `Math.sin`) may differ in the last
 * bit between engines.
 *
 * Sampling convention shared by `mackeyGlass` and `lorenz`: the integrator advances in steps of
 * `dt`; every `subsample`-th state is a sample (sample i is the state at time i·subsample·dt,
 * sample 0 being the initial condition); the first `discard` samples are dropped and the next
 * `length` returned. So element j of the result is the state at time (discard + j)·subsample·dt.
 *
 * Every option is validated; a bad value throws RecurError "E_VALUE" naming the function, the
 * option and the value. Unknown option names are rejected the same way (catches typos).
 */
import { fail } from "./errors.js";
import { createRng } from "./random.js";
import type { Tensor } from "./tensor.js";

// ---------------------------------------------------------------------------------------------
// Option validation
// ---------------------------------------------------------------------------------------------

type Opts = Record<string, unknown>;

function readOptions(fn: string, options: unknown, allowed: readonly string[]): Opts {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail("E_VALUE", `${fn}: options must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      fail("E_VALUE", `${fn}: unknown option "${key}" (allowed: ${allowed.join(", ")})`);
    }
  }
  return options as Opts;
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return `[${Array.from(v as unknown as ArrayLike<number>).join(", ")}]`;
  return String(v);
}

/** An integer option >= min (and <= max if given); `def` when undefined (required if def is undefined). */
function intOption(fn: string, o: Opts, name: string, def: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[name] === undefined ? def : o[name];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    fail("E_VALUE", `${fn}: ${name} must be an integer ${range}, got ${show(v)}`);
  }
  return v;
}

interface NumRule {
  positive?: boolean; // > 0
  min?: number; // >= min
  max?: number; // <= max
}

/** A finite number option obeying `rule`; `def` when undefined (required if def is undefined). */
function numOption(fn: string, o: Opts, name: string, def: number | undefined, rule: NumRule = {}): number {
  const v = o[name] === undefined ? def : o[name];
  let ok = typeof v === "number" && Number.isFinite(v);
  let want = "a finite number";
  if (rule.positive) {
    want = "a finite number > 0";
    ok = ok && (v as number) > 0;
  }
  if (rule.min !== undefined) {
    want += ` >= ${rule.min}`;
    ok = ok && (v as number) >= rule.min;
  }
  if (rule.max !== undefined) {
    want += ` <= ${rule.max}`;
    ok = ok && (v as number) <= rule.max;
  }
  if (!ok) fail("E_VALUE", `${fn}: ${name} must be ${want}, got ${show(v)}`);
  return v as number;
}

function seedOption(fn: string, o: Opts): number {
  const v = o.seed;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(v)}`);
  }
  return v;
}

function checkFiniteSeries(fn: string, data: Float64Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      fail("E_NUMERIC", `${fn}: the ${what} became non-finite (${data[i]}) at element ${i}; the parameters make the system diverge`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Correctly rounded integer power (double-double exponentiation by squaring)
// ---------------------------------------------------------------------------------------------

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)
let ddHi = 0;
let ddLo = 0;

/** (ah + al) · (bh + bl) in double-double, result in ddHi/ddLo. */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  const p = ah * bh;
  let t = SPLITTER * ah;
  const ahh = t - (t - ah);
  const ahl = ah - ahh;
  t = SPLITTER * bh;
  const bhh = t - (t - bh);
  const bhl = bh - bhh;
  let e = ahh * bhh - p + ahh * bhl + ahl * bhh + ahl * bhl; // exact error of ah·bh
  e += ah * bl + al * bh;
  const s = p + e;
  ddHi = s;
  ddLo = e - (s - p);
}

/**
 * x^n for an integer n using only + − × ÷ in double-double arithmetic, so the result is
 * bit-identical on every engine: correctly rounded for n > 0 (barring astronomically rare
 * near-halfway cases), faithful (< 1 ulp) for n < 0. Falls back to `Math.pow` for non-finite or
 * zero x and when an intermediate would overflow the double-double splitting (|x^k| beyond
 * ~2^995). Throws RecurError "E_VALUE" if n is not an integer.
 */
export function powInt(x: number, n: number): number {
  if (typeof n !== "number" || !Number.isInteger(n)) fail("E_VALUE", `powInt: n must be an integer, got ${show(n)}`);
  if (n === 0) return 1;
  if (!Number.isFinite(x) || x === 0) return Math.pow(x, n);
  let m = Math.abs(n);
  let rh = 1;
  let rl = 0;
  let bh = x;
  let bl = 0;
  for (;;) {
    if (m % 2 === 1) {
      ddMul(rh, rl, bh, bl);
      rh = ddHi;
      rl = ddLo;
    }
    m = Math.floor(m / 2);
    if (m === 0) break;
    ddMul(bh, bl, bh, bl);
    bh = ddHi;
    bl = ddLo;
  }
  if (!Number.isFinite(rh) || !Number.isFinite(rl)) return Math.pow(x, n);
  if (n > 0) return rh + rl;
  // 1 / (rh + rl): one Newton correction of q = 1/rh using the exact residual.
  const q = 1 / rh;
  ddMul(q, 0, rh, rl);
  const res = 1 - ddHi - ddLo;
  return q + q * res;
}

// ---------------------------------------------------------------------------------------------
// Mackey-Glass
// ---------------------------------------------------------------------------------------------

/** How `mackeyGlass` integrates: classic RK4 at a small step, or ReservoirPy's one step per sample. */
export type MackeyGlassMethod = "rk4" | "rpy";

/** Options of `mackeyGlass`: the equation's parameters and the sampling. */
export interface MackeyGlassOptions {
  /** Number of samples returned. Default 7000. */
  length?: number;
  /** Delay τ (time units). Default 17. For "rk4" τ/dt must be a whole number of steps. */
  tau?: number;
  /** Production coefficient. Default 0.2. */
  a?: number;
  /** Decay coefficient. Default 0.1. */
  b?: number;
  /** Hill exponent. Default 10. Integer values are computed deterministically (see module doc). */
  n?: number;
  /** Initial value and constant history x(t) = x0 for t <= 0. Default 1.2. */
  x0?: number;
  /** Integration step. Default 0.1 for "rk4"; for "rpy" it is ReservoirPy's `h`, default 1. */
  dt?: number;
  /** Keep every `subsample`-th integration step. Default 10 for "rk4" (unit spacing), 1 for "rpy". */
  subsample?: number;
  /** Samples (after subsampling) dropped at the start. Default 1000. */
  discard?: number;
  /** Discretisation, see `mackeyGlass`. Default "rk4". */
  method?: MackeyGlassMethod;
}

const MG_KEYS = ["length", "tau", "a", "b", "n", "x0", "dt", "subsample", "discard", "method"] as const;

/**
 * The Mackey-Glass delay differential equation dx/dt = a·x(t−τ)/(1 + x(t−τ)^n) − b·x(t), the
 * classic ESN benchmark (τ = 17: mildly chaotic). Returns `length` samples as a Float64Array.
 *
 * - `"rk4"` (default): classic RK4 with step dt (delay D = τ/dt steps), history x(t) = x0 for
 *   t <= 0. Stage 1 uses x(t−τ), stage 4 x(t−τ+dt), and the two half-step stages the mean of
 *   the two (linear interpolation). Reproduces test/fixtures/esn/mackey_glass_tau17_rk4_dt0.1.json
 *   with the defaults (t = 1000 … 7999).
 * - `"rpy"`: the discretisation of ReservoirPy's `reservoirpy.datasets.mackey_glass`: one RK4 step
 *   of size h = dt per step, with x(t−τ) read from a FIFO of the floor(τ/h) previous steps and
 *   held constant over the 4 stages; initial FIFO constant x0 (ReservoirPy jitters it randomly,
 *   this does not). Step 0 is x0. Reproduces test/fixtures/esn/mackey_glass_tau17_rpy_h1.json with
 *   `{ method: "rpy" }` (defaults dt = 1, subsample = 1, discard = 1000).
 *
 * Throws RecurError "E_VALUE" for invalid options, "E_NUMERIC" if the series becomes non-finite.
 */
export function mackeyGlass(options: MackeyGlassOptions = {}): Float64Array {
  const fn = "mackeyGlass";
  const o = readOptions(fn, options, MG_KEYS);
  const method = o.method === undefined ? "rk4" : o.method;
  if (method !== "rk4" && method !== "rpy") {
    fail("E_VALUE", `${fn}: method must be "rk4" or "rpy", got ${show(method)}`);
  }
  const length = intOption(fn, o, "length", 7000, 1);
  const tau = numOption(fn, o, "tau", 17, { positive: true });
  const a = numOption(fn, o, "a", 0.2);
  const b = numOption(fn, o, "b", 0.1);
  const n = numOption(fn, o, "n", 10);
  const x0 = numOption(fn, o, "x0", 1.2);
  const dt = numOption(fn, o, "dt", method === "rk4" ? 0.1 : 1, { positive: true });
  const subsample = intOption(fn, o, "subsample", method === "rk4" ? 10 : 1, 1);
  const discard = intOption(fn, o, "discard", 1000, 0);

  const pow = Number.isInteger(n) ? (x: number) => powInt(x, n) : (x: number) => Math.pow(x, n);
  // Same operation order as the fixtures' generator: a·xd/(1 + xd^n) − b·x.
  const f = (x: number, xd: number): number => (a * xd) / (1 + pow(xd)) - b * x;

  const samples = discard + length;
  const out = new Float64Array(length);
  let x = x0;

  if (method === "rk4") {
    const ratio = tau / dt;
    const D = Math.round(ratio);
    if (D < 1 || Math.abs(ratio - D) > 1e-9 * D) {
      fail("E_VALUE", `${fn}: with method "rk4", tau / dt must be a whole number >= 1 of steps, got tau=${tau}, dt=${dt} (ratio ${ratio})`);
    }
    // Ring buffer: slot k mod (D+1) holds x_k; slots never written stand for the history x0.
    const size = D + 1;
    const buf = new Float64Array(size).fill(x0);
    const half = dt / 2;
    const sixth = dt / 6;
    const lastStep = (samples - 1) * subsample;
    for (let k = 0, phase = 0, i = 0; ; k++) {
      if (phase === 0) {
        if (i >= discard) out[i - discard] = x;
        i++;
      }
      if (k === lastStep) break;
      if (++phase === subsample) phase = 0;
      const xd0 = buf[(k + 1) % size]; // x(t − τ) = x_{k−D}
      const xd1 = buf[(k + 2) % size]; // x(t − τ + dt) = x_{k−D+1}
      const xm = 0.5 * (xd0 + xd1);
      const k1 = f(x, xd0);
      const k2 = f(x + half * k1, xm);
      const k3 = f(x + half * k2, xm);
      const k4 = f(x + dt * k3, xd1);
      x = x + sixth * (k1 + 2 * k2 + 2 * k3 + k4);
      buf[(k + 1) % size] = x; // x_{k+1} overwrites x_{k−D}, no longer needed
    }
  } else {
    const h = dt;
    // floor(τ/h) as in ReservoirPy, with a tiny tolerance so that e.g. 1.7/0.1 counts as 17.
    const L = Math.floor(tau / h + 1e-9);
    if (L < 1) {
      fail("E_VALUE", `${fn}: with method "rpy", tau must be >= dt (history of floor(tau/dt) steps), got tau=${tau}, dt=${dt}`);
    }
    const fifo = new Float64Array(L).fill(x0);
    let head = 0; // oldest entry
    const lastStep = (samples - 1) * subsample;
    for (let k = 0, phase = 0, i = 0; ; k++) {
      if (phase === 0) {
        if (i >= discard) out[i - discard] = x;
        i++;
      }
      if (k === lastStep) break;
      if (++phase === subsample) phase = 0;
      const xtau = fifo[head]; // popleft
      fifo[head] = x; // append
      head = head + 1 === L ? 0 : head + 1;
      const k1 = h * f(x, xtau);
      const k2 = h * f(x + 0.5 * k1, xtau);
      const k3 = h * f(x + 0.5 * k2, xtau);
      const k4 = h * f(x + k3, xtau);
      x = x + k1 / 6 + k2 / 3 + k3 / 3 + k4 / 6;
    }
  }
  checkFiniteSeries(fn, out, "series");
  return out;
}

// ---------------------------------------------------------------------------------------------
// NARMA10
// ---------------------------------------------------------------------------------------------

/** Options of `narma10`. */
export interface Narma10Options {
  /** Number of samples returned (after `discard`). */
  length: number;
  /** Seed of the input sequence (`createRng`). */
  seed: number;
  /** Initial samples dropped (transient of the zero initial state). Default 200. */
  discard?: number;
  /**
   * What to do when the recurrence diverges for the drawn input: "resample" (default) draws a
   * fresh input sequence from the same generator stream and retries (up to 100 attempts);
   * "throw" throws RecurError "E_NUMERIC" naming the seed at once.
   */
  onDivergence?: "resample" | "throw";
}

/** What `narma10` returns. */
export interface Narma10Series {
  /** Input u[t], i.i.d. uniform on [0, 0.5). */
  u: Float64Array;
  /** Output y[t], aligned with u: the task is to predict y[t+1] from u[0..t]. */
  y: Float64Array;
  /** Number of input sequences drawn (1 unless earlier draws diverged and were resampled). */
  attempts: number;
}

/** Options of `narma10FromInput`. */
export interface Narma10FromInputOptions {
  /** Initial samples dropped from the returned y. Default 0. */
  discard?: number;
  /** y[0..9] (the initial state). Default all zeros (y[t] = 0 for t <= 9). */
  yInit?: ArrayLike<number>;
}

/** |y| above this means the NARMA10 recurrence has diverged (for u >= 0, any y > 14 already does). */
const NARMA_DIVERGED = 1e3;

/**
 * Runs y[t+1] = 0.3·y[t] + 0.05·y[t]·Σ_{i=0..9} y[t−i] + 1.5·u[t−9]·u[t] + 0.1 on the input `u`.
 * y[0..9] = `yInit` (default zeros), then y[t+1] for t = 9 … u.length − 2, so y has u.length
 * samples aligned with u (index t of u and y is the same time t). Returns y without its first
 * `discard` samples.
 *
 * The 10-term sum is evaluated in NumPy's pairwise order (((y0+y1)+(y2+y3)) + ((y4+y5)+(y6+y7)))
 * + y8 + y9 so that NumPy-generated data (test/fixtures/esn/narma10.json) is reproduced bit for bit.
 *
 * Throws RecurError "E_NUMERIC" (naming the time step) if y diverges (|y| > 1000 or non-finite),
 * "E_VALUE" for a non-finite input, a bad `discard` or a `yInit` that is not 10 finite numbers.
 */
export function narma10FromInput(u: ArrayLike<number>, options: Narma10FromInputOptions = {}): Float64Array {
  const fn = "narma10FromInput";
  if (u === null || typeof u !== "object" || typeof (u as ArrayLike<number>).length !== "number") {
    fail("E_VALUE", `${fn}: u must be an array of numbers, got ${show(u)}`);
  }
  const o = readOptions(fn, options, ["discard", "yInit"]);
  const T = u.length;
  const discard = intOption(fn, o, "discard", 0, 0, T);
  for (let t = 0; t < T; t++) {
    if (typeof u[t] !== "number" || !Number.isFinite(u[t])) fail("E_VALUE", `${fn}: u[${t}] must be a finite number, got ${show(u[t])}`);
  }
  const y = new Float64Array(T);
  if (o.yInit !== undefined) {
    const yi = o.yInit as ArrayLike<number>;
    if (yi === null || typeof yi !== "object" || yi.length !== 10) {
      fail("E_VALUE", `${fn}: yInit must hold exactly 10 numbers (y[0..9]), got ${show(yi)}`);
    }
    for (let i = 0; i < 10; i++) {
      if (typeof yi[i] !== "number" || !Number.isFinite(yi[i])) fail("E_VALUE", `${fn}: yInit[${i}] must be a finite number, got ${show(yi[i])}`);
      if (i < T) y[i] = yi[i];
    }
  }
  const at = runNarma10(u, y);
  if (at >= 0) {
    fail("E_NUMERIC", `${fn}: NARMA10 diverged at t=${at} (y=${y[at]}); the recurrence is unstable for some input sequences`);
  }
  return y.slice(discard);
}

/** Fills y[10..] in place; returns the first diverged index, or -1. */
function runNarma10(u: ArrayLike<number>, y: Float64Array): number {
  const T = u.length;
  for (let t = 9; t < T - 1; t++) {
    const yt = y[t];
    // NumPy pairwise order, see the doc comment of narma10FromInput
    const s = (((y[t - 9] + y[t - 8]) + (y[t - 7] + y[t - 6])) + ((y[t - 5] + y[t - 4]) + (y[t - 3] + y[t - 2]))) + y[t - 1] + yt;
    const next = 0.3 * yt + 0.05 * yt * s + 1.5 * u[t - 9] * u[t] + 0.1;
    y[t + 1] = next;
    if (!(Math.abs(next) <= NARMA_DIVERGED)) return t + 1;
  }
  return -1;
}

/** Resampling attempts before `narma10` gives up. */
const NARMA_MAX_ATTEMPTS = 100;

/**
 * The classic NARMA10 task (Atiya & Parlos 2000): u[t] i.i.d. uniform on [0, 0.5) from
 * `createRng(seed)` (one `uniform(0, 0.5)` draw per step), y from `narma10FromInput` with a zero
 * initial state. `discard + length` steps are generated and the first `discard` dropped from both
 * arrays (so u and y keep the same time index; the task is u[t] → y[t+1]).
 *
 * Divergence: NARMA10 is not stable for every input sequence — with u ∈ [0, 0.5) about 6 % of
 * sequences of 10 200 steps blow up (checked against NumPy-driven sequences too: 8 of 200). The
 * usual practice in the reservoir-computing literature is to discard such a sequence and draw a
 * new one, which is the default here (`onDivergence: "resample"`): a sequence is rejected as soon
 * as |y| > 1000 (for u >= 0 any y > 14 already grows without bound), and the next `discard +
 * length` draws of the same generator stream form the next attempt, so the result is still a
 * deterministic function of (seed, length, discard); `attempts` reports how many sequences were
 * drawn. Resampling conditions the inputs on "no divergence" (it slightly under-represents long
 * runs of large inputs) — the same bias as in the literature. After 100 failed attempts (only
 * plausible for very long series), or at the first divergence with `onDivergence: "throw"`, it
 * throws RecurError "E_NUMERIC" naming the seed.
 *
 * The fixture test/fixtures/esn/narma10.json was generated with NumPy's PCG64 input, which this
 * generator does not reproduce; use `narma10FromInput` with its `u` to reproduce its `y`.
 */
export function narma10(options: Narma10Options): Narma10Series {
  const fn = "narma10";
  const o = readOptions(fn, options, ["length", "seed", "discard", "onDivergence"]);
  const length = intOption(fn, o, "length", undefined, 1);
  const seed = seedOption(fn, o);
  const discard = intOption(fn, o, "discard", 200, 0);
  const onDivergence = o.onDivergence === undefined ? "resample" : o.onDivergence;
  if (onDivergence !== "resample" && onDivergence !== "throw") {
    fail("E_VALUE", `${fn}: onDivergence must be "resample" or "throw", got ${show(onDivergence)}`);
  }
  const T = discard + length;
  const rng = createRng(seed);
  const u = new Float64Array(T);
  const y = new Float64Array(T);
  for (let attempt = 1; attempt <= NARMA_MAX_ATTEMPTS; attempt++) {
    for (let t = 0; t < T; t++) u[t] = rng.uniform(0, 0.5);
    y.fill(0);
    const at = runNarma10(u, y);
    if (at < 0) return { u: u.slice(discard), y: y.slice(discard), attempts: attempt };
    if (onDivergence === "throw") {
      fail("E_NUMERIC", `${fn}: NARMA10 diverged for seed ${seed} at t=${at} (y=${y[at]}); use another seed or onDivergence: "resample"`);
    }
  }
  fail("E_NUMERIC", `${fn}: NARMA10 diverged in all ${NARMA_MAX_ATTEMPTS} input sequences drawn for seed ${seed} (length ${T} is too long for this unstable recurrence)`);
}

// ---------------------------------------------------------------------------------------------
// Lorenz-63
// ---------------------------------------------------------------------------------------------

/** Options of `lorenz`. */
export interface LorenzOptions {
  /** Number of samples (rows) returned. */
  length: number;
  /** RK4 step. Default 0.01. */
  dt?: number;
  /** Default 10. */
  sigma?: number;
  /** Default 28. */
  rho?: number;
  /** Default 8/3. */
  beta?: number;
  /** Initial state [x, y, z]. Default [1, 1, 1]. */
  x0?: ArrayLike<number>;
  /** Keep every `subsample`-th RK4 step. Default 1. */
  subsample?: number;
  /** Samples (after subsampling) dropped at the start. Default 0. */
  discard?: number;
}

/**
 * The Lorenz-63 system dx/dt = σ(y − x), dy/dt = x(ρ − z) − y, dz/dt = xy − βz, integrated with
 * classic RK4. Returns a row-major Float64Array of shape [length, 3] (row j = [x, y, z] at time
 * (discard + j)·subsample·dt). Use `toTensor(series, 3)` for a float32 tensor and
 * `column(series, 3, j)` for one coordinate. Throws "E_NUMERIC" if the trajectory blows up
 * (e.g. a too large dt).
 */
export function lorenz(options: LorenzOptions): Float64Array {
  const fn = "lorenz";
  const o = readOptions(fn, options, ["length", "dt", "sigma", "rho", "beta", "x0", "subsample", "discard"]);
  const length = intOption(fn, o, "length", undefined, 1);
  const dt = numOption(fn, o, "dt", 0.01, { positive: true });
  const sigma = numOption(fn, o, "sigma", 10);
  const rho = numOption(fn, o, "rho", 28);
  const beta = numOption(fn, o, "beta", 8 / 3);
  const subsample = intOption(fn, o, "subsample", 1, 1);
  const discard = intOption(fn, o, "discard", 0, 0);
  const init = o.x0 === undefined ? [1, 1, 1] : (o.x0 as ArrayLike<number>);
  if (
    init === null ||
    typeof init !== "object" ||
    init.length !== 3 ||
    ![0, 1, 2].every((i) => typeof init[i] === "number" && Number.isFinite(init[i]))
  ) {
    fail("E_VALUE", `${fn}: x0 must be 3 finite numbers [x, y, z], got ${show(init)}`);
  }
  let x = init[0];
  let y = init[1];
  let z = init[2];
  const samples = discard + length;
  const out = new Float64Array(length * 3);
  const half = dt / 2;
  const sixth = dt / 6;
  for (let i = 0; i < samples; i++) {
    if (i >= discard) {
      const r = (i - discard) * 3;
      out[r] = x;
      out[r + 1] = y;
      out[r + 2] = z;
    }
    if (i === samples - 1) break;
    for (let s = 0; s < subsample; s++) {
      const ax = sigma * (y - x);
      const ay = x * (rho - z) - y;
      const az = x * y - beta * z;
      let px = x + half * ax;
      let py = y + half * ay;
      let pz = z + half * az;
      const bx = sigma * (py - px);
      const by = px * (rho - pz) - py;
      const bz = px * py - beta * pz;
      px = x + half * bx;
      py = y + half * by;
      pz = z + half * bz;
      const cx = sigma * (py - px);
      const cy = px * (rho - pz) - py;
      const cz = px * py - beta * pz;
      px = x + dt * cx;
      py = y + dt * cy;
      pz = z + dt * cz;
      const dx = sigma * (py - px);
      const dy = px * (rho - pz) - py;
      const dz = px * py - beta * pz;
      x += sixth * (ax + 2 * bx + 2 * cx + dx);
      y += sixth * (ay + 2 * by + 2 * cy + dy);
      z += sixth * (az + 2 * bz + 2 * cz + dz);
    }
    if (!Number.isFinite(x + y + z)) {
      fail("E_NUMERIC", `${fn}: the trajectory became non-finite after sample ${i} (dt=${dt} too large for these parameters?)`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Frequency-to-sine generator task
// ---------------------------------------------------------------------------------------------

/** Options of `frequencyToSine`. */
export interface FrequencyToSineOptions {
  /** Number of samples. */
  length: number;
  /** Seed of the frequency schedule (`createRng`). */
  seed: number;
  /** Lowest frequency, in cycles per sample. Default 0.05 (period 20 samples). */
  minFreq?: number;
  /** Highest frequency, in cycles per sample, <= 0.5 (Nyquist). Default 0.2 (period 5 samples). */
  maxFreq?: number;
  /** Shortest time (samples) a frequency is held. Default 100. */
  holdMin?: number;
  /** Longest time (samples) a frequency is held. Default 300. */
  holdMax?: number;
}

/** What `frequencyToSine` returns. */
export interface FrequencyToSineSeries {
  /** Piecewise-constant input frequency f[t] (cycles per sample). */
  input: Float64Array;
  /** Target sin(2π·φ[t]). */
  target: Float64Array;
  /** Accumulated phase φ[t] in cycles, wrapped to [0, 1). */
  phase: Float64Array;
}

/**
 * The frequency-generator task (Jaeger's "tunable sine generator"): the input is a
 * piecewise-constant frequency and the target a sine whose instantaneous frequency follows it.
 *
 * The schedule is drawn from `createRng(seed)`: each segment draws a frequency uniformly in
 * [minFreq, maxFreq) (`rng.uniform`) and then a hold duration uniformly among the integers
 * holdMin … holdMax (`rng.int`); the last segment is cut at `length`. The phase is accumulated,
 * φ[0] = 0 and φ[t] = φ[t−1] + f[t] (mod 1), so the target sin(2πφ[t]) is continuous across
 * frequency changes (|target[t] − target[t−1]| <= 2π·f[t]) and the current input already sets
 * the current step's phase advance. Frequencies are in cycles per sample; the period is 1/f.
 */
export function frequencyToSine(options: FrequencyToSineOptions): FrequencyToSineSeries {
  const fn = "frequencyToSine";
  const o = readOptions(fn, options, ["length", "seed", "minFreq", "maxFreq", "holdMin", "holdMax"]);
  const length = intOption(fn, o, "length", undefined, 1);
  const seed = seedOption(fn, o);
  const minFreq = numOption(fn, o, "minFreq", 0.05, { positive: true, max: 0.5 });
  const maxFreq = numOption(fn, o, "maxFreq", 0.2, { positive: true, max: 0.5 });
  if (maxFreq < minFreq) fail("E_VALUE", `${fn}: maxFreq must be >= minFreq, got minFreq=${minFreq}, maxFreq=${maxFreq}`);
  const holdMin = intOption(fn, o, "holdMin", 100, 1);
  const holdMax = intOption(fn, o, "holdMax", 300, 1);
  if (holdMax < holdMin) fail("E_VALUE", `${fn}: holdMax must be >= holdMin, got holdMin=${holdMin}, holdMax=${holdMax}`);
  if (holdMax - holdMin + 1 > 4294967296) fail("E_VALUE", `${fn}: holdMax - holdMin must be < 2^32, got ${holdMax - holdMin}`);

  const rng = createRng(seed);
  const input = new Float64Array(length);
  const target = new Float64Array(length);
  const phase = new Float64Array(length);
  let t = 0;
  while (t < length) {
    const f = rng.uniform(minFreq, maxFreq);
    const hold = holdMin + rng.int(holdMax - holdMin + 1);
    const end = Math.min(length, t + hold);
    for (; t < end; t++) input[t] = f;
  }
  let phi = 0;
  for (let i = 0; i < length; i++) {
    if (i > 0) {
      phi += input[i];
      if (phi >= 1) phi -= 1;
    }
    phase[i] = phi;
    target[i] = Math.sin(2 * Math.PI * phi);
  }
  return { input, target, phase };
}

// ---------------------------------------------------------------------------------------------
// Conversion and metrics
// ---------------------------------------------------------------------------------------------

function checkSeries(fn: string, name: string, s: unknown): ArrayLike<number> {
  if (s === null || typeof s !== "object" || typeof (s as ArrayLike<number>).length !== "number") {
    fail("E_VALUE", `${fn}: ${name} must be an array of numbers, got ${show(s)}`);
  }
  return s as ArrayLike<number>;
}

function checkColumns(fn: string, columns: unknown): number {
  if (typeof columns !== "number" || !Number.isInteger(columns) || columns < 1) {
    fail("E_VALUE", `${fn}: columns must be an integer >= 1, got ${show(columns)}`);
  }
  return columns;
}

/**
 * A float32 `Tensor` of shape [T, columns] from a row-major series of T·columns numbers (e.g.
 * `toTensor(mackeyGlass(), 1)` → [7000, 1], `toTensor(lorenz({ length }), 3)` → [length, 3]).
 * Values are rounded to float32. Throws "E_VALUE" for a bad `columns`, "E_SHAPE" if the length is
 * not a multiple of `columns`.
 */
export function toTensor(series: ArrayLike<number>, columns = 1): Tensor {
  const fn = "toTensor";
  checkSeries(fn, "series", series);
  checkColumns(fn, columns);
  if (series.length % columns !== 0) {
    fail("E_SHAPE", `${fn}: series has ${series.length} values, not a multiple of columns=${columns}`);
  }
  return { shape: [series.length / columns, columns], data: Float32Array.from(series) };
}

/** Column `index` of a row-major series with `columns` columns, as a new Float64Array. */
export function column(series: ArrayLike<number>, columns: number, index: number): Float64Array {
  const fn = "column";
  checkSeries(fn, "series", series);
  checkColumns(fn, columns);
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= columns) {
    fail("E_VALUE", `${fn}: index must be an integer in [0, ${columns - 1}], got ${show(index)}`);
  }
  if (series.length % columns !== 0) {
    fail("E_SHAPE", `${fn}: series has ${series.length} values, not a multiple of columns=${columns}`);
  }
  const rows = series.length / columns;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = series[r * columns + index];
  return out;
}

/** Anything `rmse`/`nrmse` compare: a plain array / typed array, or a Tensor (its data). */
export type SeriesLike = ArrayLike<number> | Tensor;

function values(fn: string, name: string, s: unknown): { data: ArrayLike<number>; shape?: number[] } {
  if (s !== null && typeof s === "object" && "data" in s && "shape" in s) {
    const t = s as Tensor;
    return { data: checkSeries(fn, `${name}.data`, t.data), shape: t.shape };
  }
  return { data: checkSeries(fn, name, s) };
}

function pair(fn: string, pred: SeriesLike, target: SeriesLike): [ArrayLike<number>, ArrayLike<number>] {
  const p = values(fn, "pred", pred);
  const t = values(fn, "target", target);
  if (p.data.length !== t.data.length) {
    fail("E_SHAPE", `${fn}: pred has ${p.data.length} values, target has ${t.data.length}`);
  }
  if (p.shape && t.shape && (p.shape.length !== t.shape.length || p.shape.some((d, i) => d !== t.shape![i]))) {
    fail("E_SHAPE", `${fn}: pred shape [${p.shape.join(", ")}] differs from target shape [${t.shape.join(", ")}]`);
  }
  if (t.data.length === 0) fail("E_VALUE", `${fn}: pred and target are empty`);
  return [p.data, t.data];
}

/**
 * Root mean squared error sqrt(mean((pred − target)²)) over all elements (tensors are compared
 * element-wise, all columns pooled). Lengths (and shapes, for two tensors) must match ("E_SHAPE");
 * empty input throws "E_VALUE". NaN in the input gives NaN.
 */
export function rmse(pred: SeriesLike, target: SeriesLike): number {
  const [p, t] = pair("rmse", pred, target);
  let sum = 0;
  for (let i = 0; i < t.length; i++) {
    const d = p[i] - t[i];
    sum += d * d;
  }
  return Math.sqrt(sum / t.length);
}

/**
 * Normalised RMSE: `rmse(pred, target)` divided by the population standard deviation of the
 * target (divide by N, not N − 1), all elements pooled: sqrt(mean((p − t)²) / mean((t − mean t)²)).
 * 1 means "no better than predicting the target's mean". Throws "E_VALUE" when the target is
 * constant (zero standard deviation).
 */
export function nrmse(pred: SeriesLike, target: SeriesLike): number {
  const [p, t] = pair("nrmse", pred, target);
  const N = t.length;
  let mean = 0;
  for (let i = 0; i < N; i++) mean += t[i];
  mean /= N;
  let varSum = 0;
  let errSum = 0;
  for (let i = 0; i < N; i++) {
    const c = t[i] - mean;
    varSum += c * c;
    const d = p[i] - t[i];
    errSum += d * d;
  }
  if (varSum === 0) fail("E_VALUE", "nrmse: target has zero standard deviation (constant target)");
  return Math.sqrt(errSum / varSum);
}
