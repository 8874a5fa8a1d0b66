import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  column,
  frequencyToSine,
  lorenz,
  mackeyGlass,
  narma10,
  narma10FromInput,
  nrmse,
  powInt,
  rmse,
  toTensor,
} from "../src/datasets/index.js";
import { createRng } from "../src/random.js";
import { expectRecurError } from "./helpers/errors.js";
import { loadJson, maxAbsDiff } from "./helpers/fixtures.js";


function stats(a: ArrayLike<number>): { min: number; max: number; mean: number; std: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    min = Math.min(min, a[i]);
    max = Math.max(max, a[i]);
    sum += a[i];
  }
  const mean = sum / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(v / a.length) };
}

interface SeriesFixture {
  length: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  values: number[];
}

describe("powInt", () => {
  /** x^n correctly rounded to nearest-even, computed exactly with BigInt (normal results only). */
  function exactPow(x: number, n: number): number {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, x);
    const bits = dv.getBigUint64(0);
    const e = Number((bits >> 52n) & 0x7ffn);
    const M = (bits & ((1n << 52n) - 1n)) | (1n << 52n); // normal x only
    const E = e - 1075; // x = M · 2^E
    const P = M ** BigInt(n);
    const len = P.toString(2).length;
    const shift = len - 53;
    let q = P >> BigInt(shift);
    const rem = P - (q << BigInt(shift));
    const halfway = 1n << BigInt(shift - 1);
    if (rem > halfway || (rem === halfway && (q & 1n) === 1n)) q += 1n;
    return Number(q) * 2 ** (shift + E * n);
  }

  /** x^-n to ~60 bits (then rounded once by Number()), exact BigInt arithmetic. */
  function exactRecipPow(x: number, n: number): number {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, x);
    const bits = dv.getBigUint64(0);
    const M = (bits & ((1n << 52n) - 1n)) | (1n << 52n);
    const E = Number((bits >> 52n) & 0x7ffn) - 1075;
    const P = M ** BigInt(n);
    const k = P.toString(2).length + 62;
    return Number((1n << BigInt(k)) / P) * 2 ** (-k - E * n);
  }

  it("is correctly rounded for x^10 on the Mackey-Glass range and exact on small cases", () => {
    const r = createRng(99);
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = r.uniform(0.2, 1.6);
      if (powInt(x, 10) !== exactPow(x, 10)) bad++;
    }
    expect(bad).toBe(0);
    for (const n of [2, 3, 7, 17, 31]) {
      const x = r.uniform(0.5, 2);
      expect(powInt(x, n)).toBe(exactPow(x, n));
    }
    expect(powInt(3, 10)).toBe(59049);
    expect(powInt(1.5, 10)).toBe(57.6650390625);
    expect(powInt(-2, 3)).toBe(-8);
    expect(powInt(2, -3)).toBe(0.125);
    expect(powInt(7, 0)).toBe(1);
    expect(powInt(0, 10)).toBe(0);
    for (let i = 0; i < 2000; i++) {
      const x = r.uniform(0.2, 1.6);
      const want = exactRecipPow(x, 10);
      expect(Math.abs(powInt(x, -10) - want) / want).toBeLessThanOrEqual(2 ** -52); // faithful
    }
    expect(powInt(1e40, 10)).toBe(Infinity); // overflow falls back to Math.pow
    expectRecurError(() => powInt(2, 2.5), "E_VALUE", "n", "2.5");
  });
});

describe("mackeyGlass", () => {
  it('"rk4" reproduces mackey_glass_tau17_rk4_dt0.1.json', () => {
    const fx = loadJson<SeriesFixture>("esn/mackey_glass_tau17_rk4_dt0.1.json");
    const x = mackeyGlass();
    expect(x).toBeInstanceOf(Float64Array);
    expect(x.length).toBe(fx.length);
    const err = maxAbsDiff(x, fx.values);
    console.log(`mackeyGlass rk4 vs fixture: max abs diff = ${err}`);
    expect(err).toBeLessThanOrEqual(1e-9);
    const s = stats(x);
    expect(s.mean).toBeCloseTo(fx.mean, 12);
    expect(s.std).toBeCloseTo(fx.std, 12);
  });

  it('"rpy" reproduces mackey_glass_tau17_rpy_h1.json', () => {
    const fx = loadJson<SeriesFixture>("esn/mackey_glass_tau17_rpy_h1.json");
    const x = mackeyGlass({ method: "rpy" });
    expect(x.length).toBe(fx.length);
    const err = maxAbsDiff(x, fx.values);
    console.log(`mackeyGlass rpy vs fixture: max abs diff = ${err}`);
    expect(err).toBeLessThanOrEqual(1e-9);
    // explicit parameters give the same thing
    expect(mackeyGlass({ method: "rpy", dt: 1, subsample: 1, discard: 1000, length: 7000, tau: 17 })).toEqual(x);
  });

  it("subsample and discard follow the sampling convention", () => {
    for (const method of ["rk4", "rpy"] as const) {
      const fine = mackeyGlass({ method, length: 300, discard: 0, subsample: 1 });
      const coarse = mackeyGlass({ method, length: 30, discard: 0, subsample: 10 });
      for (let j = 0; j < 30; j++) expect(coarse[j]).toBe(fine[10 * j]);
      expect(fine[0]).toBe(1.2);
      const shifted = mackeyGlass({ method, length: 20, discard: 7, subsample: 10 });
      expect(Array.from(shifted.slice(0, 20 - 0))).toEqual(Array.from(mackeyGlass({ method, length: 27, discard: 0, subsample: 10 }).slice(7)));
    }
    // history constant 1.2: until t = tau the delayed term is constant, x(t) relaxes smoothly
    const start = mackeyGlass({ length: 18, discard: 0 });
    expect(start[0]).toBe(1.2);
    const fpPart = 0.2 * 1.2 / (1 + 1.2 ** 10) / 0.1; // equilibrium of dx/dt = c - 0.1 x
    for (let t = 1; t <= 17; t++) {
      expect(start[t]).toBeCloseTo(fpPart + (1.2 - fpPart) * Math.exp(-0.1 * t), 9);
    }
  });

  it("other parameters: tau = 30 is chaotic but bounded, non-integer n works", () => {
    const x = mackeyGlass({ tau: 30, length: 2000 });
    const s = stats(x);
    expect(s.min).toBeGreaterThan(0.2);
    expect(s.max).toBeLessThan(1.6);
    expect(s.std).toBeGreaterThan(0.1);
    const y = mackeyGlass({ n: 9.65, length: 500 });
    expect(y.every(Number.isFinite)).toBe(true);
  });

  it("validates every option", () => {
    expectRecurError(() => mackeyGlass({ length: 2.5 }), "E_VALUE", "length", "2.5");
    expectRecurError(() => mackeyGlass({ length: 0 }), "E_VALUE", "length", "0");
    expectRecurError(() => mackeyGlass({ dt: -0.1 }), "E_VALUE", "dt", "-0.1");
    expectRecurError(() => mackeyGlass({ dt: 0 }), "E_VALUE", "dt", "0");
    expectRecurError(() => mackeyGlass({ tau: -1 }), "E_VALUE", "tau", "-1");
    expectRecurError(() => mackeyGlass({ tau: 17.05 }), "E_VALUE", "tau", "17.05", "dt");
    expectRecurError(() => mackeyGlass({ method: "rpy", tau: 0.5 }), "E_VALUE", "tau", "0.5");
    expectRecurError(() => mackeyGlass({ a: NaN }), "E_VALUE", "a", "NaN");
    expectRecurError(() => mackeyGlass({ b: Infinity }), "E_VALUE", "b", "Infinity");
    expectRecurError(() => mackeyGlass({ n: "10" as unknown as number }), "E_VALUE", "n", '"10"');
    expectRecurError(() => mackeyGlass({ x0: undefined, subsample: 0 }), "E_VALUE", "subsample", "0");
    expectRecurError(() => mackeyGlass({ discard: -1 }), "E_VALUE", "discard", "-1");
    expectRecurError(() => mackeyGlass({ method: "euler" as "rk4" }), "E_VALUE", "method", "euler");
    expectRecurError(() => mackeyGlass({ lenght: 10 } as unknown as object), "E_VALUE", "lenght");
    expectRecurError(() => mackeyGlass(42 as unknown as object), "E_VALUE", "options");
  });
});

describe("narma10", () => {
  interface NarmaFixture {
    length: number;
    u: number[];
    y: number[];
    y_mean: number;
    y_std: number;
  }

  it("narma10FromInput reproduces narma10.json from its u", () => {
    const fx = loadJson<NarmaFixture>("esn/narma10.json");
    // The fixture is samples 200.. of a run started from y = 0; y[0..9] of the file are the state
    // at that point, and index t of u and y is the same time t.
    const y = narma10FromInput(fx.u, { yInit: fx.y.slice(0, 10) });
    expect(y.length).toBe(fx.length);
    const err = maxAbsDiff(y, fx.y);
    console.log(`narma10FromInput vs fixture: max abs diff = ${err}`);
    expect(err).toBeLessThanOrEqual(1e-12);
    // the first computed sample by hand: y[10] = 0.3 y9 + 0.05 y9 Σ y0..9 + 1.5 u0 u9 + 0.1
    const s = fx.y.slice(0, 10).reduce((a, b) => a + b, 0);
    expect(y[10]).toBeCloseTo(0.3 * fx.y[9] + 0.05 * fx.y[9] * s + 1.5 * fx.u[0] * fx.u[9] + 0.1, 14);
    // discard drops the first samples
    expect(Array.from(narma10FromInput(fx.u, { yInit: fx.y.slice(0, 10), discard: 100 }))).toEqual(Array.from(y.slice(100)));
  });

  it("zero initial state: y[0..9] = 0, y[10] = 1.5 u0 u9 + 0.1", () => {
    const u = Array.from({ length: 30 }, (_, i) => (i * 0.37) % 0.5);
    const y = narma10FromInput(u);
    for (let t = 0; t < 10; t++) expect(y[t]).toBe(0);
    expect(y[10]).toBe(1.5 * u[0] * u[9] + 0.1);
  });

  it("seeded generator: deterministic, sane statistics over 10 000 samples", () => {
    const a = narma10({ length: 10_000, seed: 0 });
    const b = narma10({ length: 10_000, seed: 0 });
    expect(a.attempts).toBe(1);
    expect(b.u).toEqual(a.u);
    expect(b.y).toEqual(a.y);
    expect(a.u.length).toBe(10_000);
    expect(a.y.length).toBe(10_000);
    const su = stats(a.u);
    expect(su.min).toBeGreaterThanOrEqual(0);
    expect(su.max).toBeLessThan(0.5);
    expect(Math.abs(su.mean - 0.25)).toBeLessThan(0.005);
    const sy = stats(a.y);
    expect(sy.min).toBeGreaterThan(0.1); // y >= 0.1 once the zero state is discarded
    expect(sy.max).toBeLessThan(1.5);
    // close to the fixture's NumPy-driven series (mean 0.392, std 0.109)
    expect(Math.abs(sy.mean - 0.392)).toBeLessThan(0.02);
    expect(Math.abs(sy.std - 0.109)).toBeLessThan(0.02);
    // y is the recurrence of u (continuing from the discarded transient)
    const full = narma10({ length: 10_200, seed: 0, discard: 0 });
    expect(Array.from(full.u.slice(200))).toEqual(Array.from(a.u));
    expect(Array.from(narma10FromInput(full.u, { discard: 200 }))).toEqual(Array.from(a.y));
  });

  it("divergence: resampled by default, or E_NUMERIC naming the seed", () => {
    // seed 1: the first 10 200-step input sequence makes the recurrence blow up
    expectRecurError(() => narma10({ length: 10_000, seed: 1, onDivergence: "throw" }), "E_NUMERIC", "seed 1", "diverged");
    const r = narma10({ length: 10_000, seed: 1 });
    expect(r.attempts).toBeGreaterThan(1);
    const sy = stats(r.y);
    expect(sy.max).toBeLessThan(1.5);
    expect(Array.from(narma10FromInput(narma10({ length: 10_200, seed: 1, discard: 0 }).u, { discard: 200 }))).toEqual(Array.from(r.y));
    // the diverging input itself, fed to narma10FromInput
    const rng = createRng(1);
    const u = Array.from({ length: 10_200 }, () => rng.uniform(0, 0.5));
    expectRecurError(() => narma10FromInput(u), "E_NUMERIC", "diverged", "t=");
    // across seeds the generator never returns a diverged series
    let resampled = 0;
    for (let seed = 0; seed < 50; seed++) {
      const s = narma10({ length: 5000, seed });
      if (s.attempts > 1) resampled++;
      expect(stats(s.y).max).toBeLessThan(1.5);
    }
    console.log(`narma10: ${resampled} of 50 seeds needed resampling for 5200 steps`);
  });

  it("validates every option", () => {
    expectRecurError(() => narma10({ length: 10.5, seed: 1 }), "E_VALUE", "length", "10.5");
    expectRecurError(() => narma10({ seed: 1 } as unknown as { length: number; seed: number }), "E_VALUE", "length", "undefined");
    expectRecurError(() => narma10({ length: 10, seed: 0.5 }), "E_VALUE", "seed", "0.5");
    expectRecurError(() => narma10({ length: 10 } as unknown as { length: number; seed: number }), "E_VALUE", "seed", "undefined");
    expectRecurError(() => narma10({ length: 10, seed: 1, discard: -5 }), "E_VALUE", "discard", "-5");
    expectRecurError(() => narma10({ length: 10, seed: 1, onDivergence: "ignore" as "throw" }), "E_VALUE", "onDivergence", "ignore");
    expectRecurError(() => narma10({ length: 10, seed: 1, order: 20 } as unknown as { length: number; seed: number }), "E_VALUE", "order");
    expectRecurError(() => narma10FromInput([0.1, NaN, 0.2]), "E_VALUE", "u[1]", "NaN");
    expectRecurError(() => narma10FromInput([0.1, 0.2], { discard: 3 }), "E_VALUE", "discard", "3");
    expectRecurError(() => narma10FromInput([0.1, 0.2], { yInit: [0, 0] }), "E_VALUE", "yInit");
    expectRecurError(() => narma10FromInput(null as unknown as number[]), "E_VALUE", "u", "null");
  });
});

describe("lorenz", () => {
  /** Independent reference: RK4 on the vector field written as a function, with step h. */
  function reference(t: number, h: number, x0: number[]): number[] {
    const F = (s: number[]) => [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - (8 / 3) * s[2]];
    const add = (a: number[], b: number[], c: number) => a.map((v, i) => v + c * b[i]);
    let s = x0.slice();
    const steps = Math.round(t / h);
    for (let k = 0; k < steps; k++) {
      const k1 = F(s);
      const k2 = F(add(s, k1, h / 2));
      const k3 = F(add(s, k2, h / 2));
      const k4 = F(add(s, k3, h));
      s = s.map((v, i) => v + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
    }
    return s;
  }

  /** max abs difference on t in {0.5, 1, 1.5, 2} between lorenz({dt, subsample}) and reference(h). */
  function errorVsReference(dt: number, subsample: number, h: number): number {
    const spacing = dt * subsample;
    const series = lorenz({ length: Math.round(2 / spacing) + 1, dt, subsample });
    let worst = 0;
    for (const t of [0.5, 1, 1.5, 2]) {
      const ref = reference(t, h, [1, 1, 1]);
      const row = Math.round(t / spacing);
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(series[row * 3 + c] - ref[c]));
    }
    return worst;
  }

  it("agrees with an independent RK4 and converges at 4th order", () => {
    const series = lorenz({ length: 201 });
    expect(series.length).toBe(201 * 3);
    expect(Array.from(series.slice(0, 3))).toEqual([1, 1, 1]);
    // same step: only rounding differences
    const same = errorVsReference(0.01, 1, 0.01);
    // dt = 0.001 against a 10x finer integration: the RK4 truncation error is ~1e-8 here
    const fine = errorVsReference(0.001, 10, 0.0001);
    // 4th order: halving dt divides the error by ~16
    const e1 = errorVsReference(0.02, 1, 0.0005);
    const e2 = errorVsReference(0.01, 1, 0.0005);
    console.log(`lorenz vs independent RK4, t <= 2: same dt ${same}, dt=0.001 vs 0.0001 ${fine}, error ratio dt 0.02/0.01 = ${e1 / e2}`);
    expect(same).toBeLessThan(1e-10);
    expect(fine).toBeLessThan(1e-6);
    expect(e1 / e2).toBeGreaterThan(12);
    expect(e1 / e2).toBeLessThan(24);
  });

  it("stays on the attractor with the known bounds and mean z", () => {
    const s = lorenz({ length: 50_000, discard: 1000 });
    const [x, y, z] = [0, 1, 2].map((c) => stats(column(s, 3, c)));
    expect(x.min).toBeLessThan(-15);
    expect(x.max).toBeGreaterThan(15);
    expect(Math.max(-x.min, x.max)).toBeLessThan(21);
    expect(Math.max(-y.min, y.max)).toBeLessThan(29);
    expect(z.min).toBeGreaterThan(0);
    expect(z.max).toBeLessThan(50);
    expect(z.mean).toBeGreaterThan(22.5);
    expect(z.mean).toBeLessThan(24.5);
    expect(Math.abs(x.mean)).toBeLessThan(2); // symmetric wings
  });

  it("keeps the fixed point C+ = (sqrt(beta (rho-1)), same, rho-1) fixed", () => {
    const c = Math.sqrt((8 / 3) * 27);
    const s = lorenz({ length: 50, x0: [c, c, 27] });
    for (let i = 0; i < 50; i++) {
      expect(Math.abs(s[i * 3] - c)).toBeLessThan(1e-9);
      expect(Math.abs(s[i * 3 + 2] - 27)).toBeLessThan(1e-9);
    }
  });

  it("subsample / discard follow the sampling convention", () => {
    const fine = lorenz({ length: 100 });
    const coarse = lorenz({ length: 10, subsample: 10 });
    for (let j = 0; j < 10; j++) for (let c = 0; c < 3; c++) expect(coarse[j * 3 + c]).toBe(fine[j * 30 + c]);
    expect(Array.from(lorenz({ length: 5, discard: 3, subsample: 10 }))).toEqual(Array.from(coarse.slice(9, 24)));
    const t = toTensor(coarse, 3);
    expect(t.shape).toEqual([10, 3]);
  });

  it("validates every option", () => {
    expectRecurError(() => lorenz({ length: -1 }), "E_VALUE", "length", "-1");
    expectRecurError(() => lorenz({ length: 10, dt: -0.01 }), "E_VALUE", "dt", "-0.01");
    expectRecurError(() => lorenz({ length: 10, sigma: NaN }), "E_VALUE", "sigma", "NaN");
    expectRecurError(() => lorenz({ length: 10, rho: Infinity }), "E_VALUE", "rho");
    expectRecurError(() => lorenz({ length: 10, beta: "8/3" as unknown as number }), "E_VALUE", "beta");
    expectRecurError(() => lorenz({ length: 10, x0: [1, 1] }), "E_VALUE", "x0", "[1, 1]");
    expectRecurError(() => lorenz({ length: 10, x0: [1, NaN, 1] }), "E_VALUE", "x0", "NaN");
    expectRecurError(() => lorenz({ length: 10, subsample: 1.5 }), "E_VALUE", "subsample", "1.5");
    expectRecurError(() => lorenz({ length: 10, discard: 0.5 }), "E_VALUE", "discard", "0.5");
    expectRecurError(() => lorenz({ length: 1000, dt: 5 }), "E_NUMERIC", "non-finite");
  });
});

describe("frequencyToSine", () => {
  const opts = { length: 20_000, seed: 3, minFreq: 0.05, maxFreq: 0.2, holdMin: 100, holdMax: 300 };

  it("piecewise-constant input with holds in [holdMin, holdMax]", () => {
    const { input } = frequencyToSine(opts);
    const segments: Array<[number, number]> = []; // [start, end)
    let start = 0;
    for (let t = 1; t <= input.length; t++) {
      if (t === input.length || input[t] !== input[t - 1]) {
        segments.push([start, t]);
        start = t;
      }
    }
    expect(segments.length).toBeGreaterThan(40);
    segments.slice(0, -1).forEach(([a, b]) => {
      expect(b - a).toBeGreaterThanOrEqual(100);
      expect(b - a).toBeLessThanOrEqual(300);
    });
    const s = stats(input);
    expect(s.min).toBeGreaterThanOrEqual(0.05);
    expect(s.max).toBeLessThan(0.2);
  });

  it("target is continuous and its local period matches 1/f", () => {
    const { input, target, phase } = frequencyToSine(opts);
    let jumps = 0;
    let worstPhase = 0;
    let mismatched = 0;
    for (let t = 1; t < target.length; t++) {
      // |d sin(2πφ)| <= 2π Δφ, so no jumps at frequency changes
      if (Math.abs(target[t] - target[t - 1]) > 2 * Math.PI * input[t] + 1e-12) jumps++;
      const dphi = (phase[t] - phase[t - 1] + 1) % 1;
      worstPhase = Math.max(worstPhase, Math.abs(dphi - input[t]));
      if (target[t] !== Math.sin(2 * Math.PI * phase[t])) mismatched++;
    }
    expect(jumps).toBe(0);
    expect(worstPhase).toBeLessThan(1e-12);
    expect(mismatched).toBe(0);
    // period from upward zero crossings (linear interpolation) inside each constant segment
    let checked = 0;
    let worst = 0;
    let start = 0;
    for (let t = 1; t <= input.length; t++) {
      if (t < input.length && input[t] === input[t - 1]) continue;
      const crossings: number[] = [];
      for (let i = start + 1; i < t; i++) {
        if (target[i - 1] < 0 && target[i] >= 0) crossings.push(i - 1 + -target[i - 1] / (target[i] - target[i - 1]));
      }
      if (crossings.length >= 3) {
        const period = (crossings[crossings.length - 1] - crossings[0]) / (crossings.length - 1);
        worst = Math.max(worst, Math.abs(period * input[start] - 1));
        checked++;
      }
      start = t;
    }
    expect(checked).toBeGreaterThan(40);
    expect(worst).toBeLessThan(0.02);
  });

  it("is deterministic per seed; defaults work", () => {
    const a = frequencyToSine({ length: 1000, seed: 11 });
    const b = frequencyToSine({ length: 1000, seed: 11 });
    const c = frequencyToSine({ length: 1000, seed: 12 });
    expect(b.input).toEqual(a.input);
    expect(b.target).toEqual(a.target);
    expect(c.input).not.toEqual(a.input);
    expect(a.target[0]).toBe(0);
    const fixed = frequencyToSine({ length: 40, seed: 1, minFreq: 0.25, maxFreq: 0.25, holdMin: 1, holdMax: 1 });
    expect(Array.from(fixed.target.slice(0, 5)).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([0, 1, 0, -1, 0]);
  });

  it("validates every option", () => {
    expectRecurError(() => frequencyToSine({ length: 1.5, seed: 1 }), "E_VALUE", "length", "1.5");
    expectRecurError(() => frequencyToSine({ length: 10, seed: NaN }), "E_VALUE", "seed", "NaN");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, minFreq: 0 }), "E_VALUE", "minFreq", "0");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, maxFreq: 0.6 }), "E_VALUE", "maxFreq", "0.6");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, minFreq: 0.3, maxFreq: 0.1 }), "E_VALUE", "minFreq=0.3", "maxFreq=0.1");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, holdMin: 0 }), "E_VALUE", "holdMin", "0");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, holdMax: 2.5 }), "E_VALUE", "holdMax", "2.5");
    expectRecurError(() => frequencyToSine({ length: 10, seed: 1, holdMin: 50, holdMax: 10 }), "E_VALUE", "holdMin=50", "holdMax=10");
  });
});

describe("toTensor, column, rmse, nrmse", () => {
  it("toTensor makes a float32 [T, columns] tensor", () => {
    const t = toTensor(new Float64Array([0.1, 0.2, 0.3]));
    expect(t.shape).toEqual([3, 1]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([Math.fround(0.1), Math.fround(0.2), Math.fround(0.3)]);
    const m = toTensor([1, 2, 3, 4, 5, 6], 3);
    expect(m.shape).toEqual([2, 3]);
    expect(Array.from(column([1, 2, 3, 4, 5, 6], 3, 1))).toEqual([2, 5]);
    expect(toTensor(mackeyGlass({ length: 10 })).shape).toEqual([10, 1]);
    expectRecurError(() => toTensor([1, 2, 3], 2), "E_SHAPE", "3", "columns=2");
    expectRecurError(() => toTensor([1, 2], 0), "E_VALUE", "columns", "0");
    expectRecurError(() => toTensor([1, 2], 1.5), "E_VALUE", "columns", "1.5");
    expectRecurError(() => toTensor(5 as unknown as number[]), "E_VALUE", "series", "5");
    expectRecurError(() => column([1, 2], 2, 2), "E_VALUE", "index", "2");
  });

  it("rmse and nrmse (population std)", () => {
    const target = [1, 2, 3, 4]; // mean 2.5, population variance 1.25
    const pred = [1, 2, 3, 5];
    expect(rmse(pred, target)).toBeCloseTo(0.5, 15);
    expect(nrmse(pred, target)).toBeCloseTo(0.5 / Math.sqrt(1.25), 15);
    expect(nrmse([2.5, 2.5, 2.5, 2.5], target)).toBeCloseTo(1, 15);
    expect(rmse(target, target)).toBe(0);
    expect(nrmse(toTensor(pred), toTensor(target))).toBeCloseTo(0.5 / Math.sqrt(1.25), 7);
    expect(rmse(new Float64Array(pred), toTensor(target))).toBeCloseTo(0.5, 7);
    expectRecurError(() => rmse([1, 2], [1, 2, 3]), "E_SHAPE", "2", "3");
    expectRecurError(() => nrmse(toTensor([1, 2, 3, 4], 2), toTensor([1, 2, 3, 4], 1)), "E_SHAPE", "[2, 2]", "[4, 1]");
    expectRecurError(() => nrmse([1, 2], [3, 3]), "E_VALUE", "zero standard deviation");
    expectRecurError(() => rmse([], []), "E_VALUE", "empty");
  });
});

describe("browser safety", () => {
  it("src/datasets/ and src/random.ts import no Node modules", () => {
    const datasets = readdirSync(new URL("../src/datasets/", import.meta.url)).map((f) => `../src/datasets/${f}`);
    for (const f of [...datasets, "../src/random.ts"]) {
      const src = readFileSync(new URL(f, import.meta.url), "utf8");
      const imports = [...src.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      for (const spec of imports) expect(spec.startsWith("./") || spec.startsWith("../"), `${f} imports ${spec}`).toBe(true);
      expect(src).not.toMatch(/\bprocess\.|\bBuffer\b|require\(/);
    }
  });
});
