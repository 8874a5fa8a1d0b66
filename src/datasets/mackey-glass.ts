/** The Mackey-Glass delay differential equation, integrated by RK4 or sampled by the Rössler-style discretisation. */
import { fail } from "../errors.js";
import { integer, number, optionsObject, show } from "../validate.js";
import { checkFiniteSeries } from "./common.js";
import { powInt } from "./power.js";

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
  const o = optionsObject(fn, options, MG_KEYS);
  const method = o.method === undefined ? "rk4" : o.method;
  if (method !== "rk4" && method !== "rpy") {
    fail("E_VALUE", `${fn}: method must be "rk4" or "rpy", got ${show(method)}`);
  }
  const length = integer(fn, "length", o.length, { min: 1 }, 7000);
  const tau = number(fn, "tau", o.tau, { min: 0, open: true }, 17);
  const a = number(fn, "a", o.a, {}, 0.2);
  const b = number(fn, "b", o.b, {}, 0.1);
  const n = number(fn, "n", o.n, {}, 10);
  const x0 = number(fn, "x0", o.x0, {}, 1.2);
  const dt = number(fn, "dt", o.dt, { min: 0, open: true }, method === "rk4" ? 0.1 : 1);
  const subsample = integer(fn, "subsample", o.subsample, { min: 1 }, method === "rk4" ? 10 : 1);
  const discard = integer(fn, "discard", o.discard, { min: 0 }, 1000);

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
