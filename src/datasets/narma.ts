/** NARMA10, the tenth-order nonlinear autoregressive moving average task. */
import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { integer, optionsObject, show } from "../validate.js";
import { seedOption } from "./common.js";

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
  const o = optionsObject(fn, options, ["discard", "yInit"]);
  const T = u.length;
  const discard = integer(fn, "discard", o.discard, { min: 0, max: T }, 0);
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
  const o = optionsObject(fn, options, ["length", "seed", "discard", "onDivergence"]);
  const length = integer(fn, "length", o.length, { min: 1 });
  const seed = seedOption(fn, o);
  const discard = integer(fn, "discard", o.discard, { min: 0 }, 200);
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
