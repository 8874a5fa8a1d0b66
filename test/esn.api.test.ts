/**
 * ESN behaviour: equations against a float64 JavaScript reference (deep layers, feedback, leak,
 * several channels), dense vs CSR storage, streaming ridge statistics, RLS = ridge, determinism,
 * slicing of long runs, state handling and disposal.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { lorenz, mackeyGlass, toTensor } from "../src/datasets/index.js";
import { ESN, type SparseMatrix } from "../src/esn/index.js";
import { backendInfo, init } from "../src/runtime.js";
import type { Tensor } from "../src/tensor.js";
import { maxAbsDiff } from "./helpers/fixtures.js";

beforeAll(async () => {
  await init();
});

const mg = mackeyGlass({ length: 3000 });
const seq = (a: number, b: number): Tensor => ({ shape: [b - a, 1], data: Float32Array.from(mg.subarray(a, b)) });

function denseOf(W: Tensor | SparseMatrix, n: number): Float64Array {
  const out = new Float64Array(n * n);
  if ("data" in W) out.set(W.data);
  else for (let i = 0; i < n; i++) for (let j = W.rowPtr[i]; j < W.rowPtr[i + 1]; j++) out[i * n + W.colIdx[j]] = W.values[j];
  return out;
}

/** Solves (A + ridge I) x = b (A: n x n, overwritten) by Gaussian elimination with partial pivoting in float64. */
function solveRidgeReference(A: Float64Array, b: Float64Array, D: number, ridge: number): Float64Array {
  for (let i = 0; i < D; i++) A[i * D + i] += ridge;
  for (let c = 0; c < D; c++) {
    let p = c;
    for (let r = c + 1; r < D; r++) if (Math.abs(A[r * D + c]) > Math.abs(A[p * D + c])) p = r;
    for (let j = 0; j < D; j++) [A[c * D + j], A[p * D + j]] = [A[p * D + j], A[c * D + j]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let r = c + 1; r < D; r++) {
      const f = A[r * D + c] / A[c * D + c];
      for (let j = c; j < D; j++) A[r * D + j] -= f * A[c * D + j];
      b[r] -= f * b[c];
    }
  }
  const sol = new Float64Array(D);
  for (let i = D - 1; i >= 0; i--) {
    let s = b[i];
    for (let j = i + 1; j < D; j++) s -= A[i * D + j] * sol[j];
    sol[i] = s / A[i * D + i];
  }
  return sol;
}

/**
 * The ridge readout on [1; u; x] solved in float64 JavaScript: normal equations over rows
 * washout..T-1 of the states `X` ([T, units]), one input and one output column.
 */
function ridgeReadoutReference(X: Float32Array, units: number, u: Tensor, y: Tensor, washout: number, ridge: number): Float64Array {
  const D = units + 2;
  const A = new Float64Array(D * D);
  const b = new Float64Array(D);
  const z = new Float64Array(D);
  for (let t = washout; t < u.shape[0]; t++) {
    z[0] = 1;
    z[1] = u.data[t];
    for (let i = 0; i < units; i++) z[2 + i] = X[t * units + i];
    for (let i = 0; i < D; i++) {
      b[i] += z[i] * y.data[t];
      for (let j = 0; j < D; j++) A[i * D + j] += z[i] * z[j];
    }
  }
  return solveRidgeReference(A, b, D, ridge);
}

/** Float64 reference of the state equations from the stored weights (teacher-forced feedback). */
function referenceStates(esn: ESN, u: Tensor, teacher: Tensor | undefined, leaks: number[]): Float64Array[] {
  const layers = esn.getWeights();
  const T = u.shape[0];
  const I = u.shape[1];
  const xs = layers.map((l) => new Float64Array(l.bias.shape[0]));
  const out: Float64Array[] = [];
  const O = teacher?.shape[1] ?? 0;
  let yPrev = new Float64Array(O);
  for (let t = 0; t < T; t++) {
    let input: ArrayLike<number> = u.data.subarray(t * I, (t + 1) * I);
    layers.forEach((L, l) => {
      const n = L.bias.shape[0];
      const kin = L.Win.shape[1];
      const W = denseOf(L.W, n);
      const x = xs[l];
      const pre = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = L.bias.data[i];
        for (let c = 0; c < kin; c++) s += L.Win.data[i * kin + c] * input[c];
        for (let j = 0; j < n; j++) s += W[i * n + j] * x[j];
        if (L.Wfb) for (let c = 0; c < O; c++) s += L.Wfb.data[i * O + c] * yPrev[c];
        pre[i] = s;
      }
      for (let i = 0; i < n; i++) x[i] = (1 - leaks[l]) * x[i] + leaks[l] * Math.tanh(pre[i]);
      input = Float64Array.from(x);
    });
    const all = new Float64Array(xs.reduce((a, x) => a + x.length, 0));
    let p = 0;
    for (const x of xs) {
      all.set(x, p);
      p += x.length;
    }
    out.push(all);
    if (teacher) yPrev = Float64Array.from(teacher.data.subarray(t * O, (t + 1) * O));
  }
  return out;
}

describe("ESN equations", () => {
  for (const [precision, tol] of [["float32", 2e-6], ["float64", 1e-7]] as const) {
    it(`deep reservoir with output feedback, two input channels, per-layer options (${precision})`, () => {
      const esn = new ESN({
        precision,
        seed: 3,
        inputConnectivity: 1,
        feedbackScaling: 0.5,
        outputDim: 2,
        layers: [
          { units: 30, leakRate: 0.3, spectralRadius: 0.9, connectivity: 0.2, inputScaling: [1, 0.25] },
          { units: 20, leakRate: 0.7, spectralRadius: 0.5, connectivity: 1, inputScaling: 0.5, sparse: true },
        ],
      });
      const T = 60;
      const u = { shape: [T, 2], data: Float32Array.from({ length: 2 * T }, (_, i) => Math.sin(0.3 * i) * (i % 2 ? 0.5 : 1)) };
      const y = { shape: [T, 2], data: Float32Array.from({ length: 2 * T }, (_, i) => Math.cos(0.2 * i)) };
      const states = esn.collectStates(u, { teacher: y });
      expect(states.shape).toEqual([T, 50]);
      expect(esn.layers!.map((l) => l.storage)).toEqual(["dense", "sparse"]);
      expect(esn.layers![0].spectralRadius).toBeCloseTo(0.9, 6);
      expect(esn.layers![1].spectralRadius).toBeCloseTo(0.5, 6);
      const ref = referenceStates(esn, u, y, [0.3, 0.7]);
      let worst = 0;
      for (let t = 0; t < T; t++) worst = Math.max(worst, maxAbsDiff(states.data.subarray(t * 50, (t + 1) * 50), ref[t]));
      expect(worst).toBeLessThan(tol);
      esn.dispose();
    });
  }

  it("dense and CSR storage of the same W give the same states", () => {
    const base = { units: 300, connectivity: 0.05, spectralRadius: 1.1, leakRate: 0.5, inputConnectivity: 1, seed: 5 };
    const dense = new ESN({ ...base, sparse: false });
    const sparse = new ESN({ ...base, sparse: true });
    const u = seq(0, 500);
    const a = dense.collectStates(u);
    const b = sparse.collectStates(u);
    expect(dense.layers![0].storage).toBe("dense");
    expect(sparse.layers![0].storage).toBe("sparse");
    expect(sparse.layers![0].nnz).toBe(300 * 15);
    expect(maxAbsDiff(a.data, b.data)).toBeLessThan(2e-6);
    dense.dispose();
    sparse.dispose();
  });

  it("ridge readout equals the float64 normal-equation solution on the collected states", () => {
    const esn = new ESN({ units: 40, leakRate: 0.3, spectralRadius: 1.25, inputConnectivity: 1, connectivity: 1, readoutInput: true, seed: 9, ridge: 1e-3 });
    const T = 800;
    const w = 100;
    const u = seq(0, T);
    const y = seq(1, T + 1);
    const X = esn.collectStates(u);
    esn.resetState();
    esn.fit(u, y, { washout: w });
    const sol = ridgeReadoutReference(X.data, 40, u, y, w, 1e-3);
    const W = esn.getReadout().data;
    const scale = Math.max(...sol.map(Math.abs));
    expect(maxAbsDiff(W, sol) / scale).toBeLessThan(1e-9);
    esn.dispose();
  });
});

describe("ESN readouts", () => {
  for (const precision of ["float32", "float64"] as const) {
    it(`dual ridge solver (more features than rows) = primal solver = float64 reference (${precision})`, () => {
      // 150 units, 100 rows after washout: 152 features. "auto" picks the dual form here.
      const opts = { units: 150, leakRate: 0.3, spectralRadius: 1.1, inputConnectivity: 1, readoutInput: true, seed: 7, ridge: 1e-3, precision };
      const T = 130;
      const w = 30;
      const u = seq(0, T);
      const y = seq(1, T + 1);
      const models = (["auto", "dual", "primal"] as const).map((ridgeSolver) => new ESN({ ...opts, ridgeSolver }).fit(u, y, { washout: w }));
      const [auto, dual, primal] = models.map((m) => m.getReadout().data);
      expect(auto).toEqual(dual);
      const scale = Math.max(...primal.map(Math.abs));
      expect(maxAbsDiff(dual, primal) / scale).toBeLessThan(1e-9);
      // The normal equations on the collected states, solved in JavaScript (collectStates returns
      // float32, so a float64 model's reference carries float32 rounding of its states).
      const X = new ESN(opts).collectStates(u);
      const ref = ridgeReadoutReference(X.data, 150, u, y, w, 1e-3);
      expect(maxAbsDiff(dual, ref) / scale).toBeLessThan(1e-5);
      expect(maxAbsDiff(models[1].predict(seq(T, T + 100)).data, models[2].predict(seq(T, T + 100)).data)).toBeLessThan(1e-6);
      for (const m of models) m.dispose();
    });
  }

  it("dual solver: partialFit pieces + solveReadout = fit; re-solving with another ridge keeps the rows", () => {
    const opts = { units: 200, leakRate: 0.3, spectralRadius: 1.25, readoutInput: true, seed: 2, ridge: 1e-4, ridgeSolver: "dual" as const };
    const a = new ESN(opts).fit(seq(0, 180), seq(1, 181), { washout: 20 });
    const b = new ESN(opts);
    b.partialFit(seq(0, 100), seq(1, 101), { washout: 20 });
    b.partialFit(seq(100, 180), seq(101, 181));
    b.solveReadout();
    const wa = a.getReadout().data;
    expect(maxAbsDiff(wa, b.getReadout().data) / Math.max(...wa.map(Math.abs))).toBeLessThan(1e-9);
    b.solveReadout({ ridge: 1e-1 });
    const wc = b.getReadout().data;
    expect(Math.max(...wc.map(Math.abs))).toBeLessThan(Math.max(...wa.map(Math.abs)));
    b.solveReadout({ ridge: 1e-4 });
    expect(maxAbsDiff(wa, b.getReadout().data) / Math.max(...wa.map(Math.abs))).toBeLessThan(1e-9);
    a.dispose();
    b.dispose();
  });

  it("partialFit over two pieces + solveReadout = fit over the whole series; re-solving with another ridge", () => {
    const opts = { units: 100, leakRate: 0.3, spectralRadius: 1.25, inputConnectivity: 1, readoutInput: true, seed: 2, ridge: 1e-6 };
    const a = new ESN(opts);
    const b = new ESN(opts);
    a.fit(seq(0, 2000), seq(1, 2001), { washout: 100 });
    b.partialFit(seq(0, 1200), seq(1, 1201), { washout: 100 });
    b.partialFit(seq(1200, 2000), seq(1201, 2001));
    b.solveReadout();
    const wa = a.getReadout().data;
    const wb = b.getReadout().data;
    expect(maxAbsDiff(wa, wb) / Math.max(...wa.map(Math.abs))).toBeLessThan(1e-7);
    expect(maxAbsDiff(a.predict(seq(2000, 2500)).data, b.predict(seq(2000, 2500)).data)).toBeLessThan(1e-6);
    b.solveReadout({ ridge: 1e-2 });
    const wc = b.getReadout().data;
    expect(Math.max(...wc.map(Math.abs))).toBeLessThan(Math.max(...wb.map(Math.abs)));
    a.dispose();
    b.dispose();
  });

  it("several sequences in one fit, each washed out, with reset", () => {
    const esn = new ESN({ units: 80, leakRate: 0.3, spectralRadius: 1.2, inputConnectivity: 1, seed: 4 });
    esn.fit([seq(0, 1000), seq(1000, 2000)], [seq(1, 1001), seq(1001, 2001)], { washout: 100, reset: true });
    const p = esn.predict(seq(2000, 2400), { reset: true });
    let e = 0;
    for (let t = 100; t < 400; t++) e += (p.data[t] - mg[2001 + t]) ** 2;
    expect(Math.sqrt(e / 300)).toBeLessThan(0.01);
    esn.dispose();
  });

  it("RLS with P(0) = I/alpha converges to the ridge solution with ridge = alpha", () => {
    const opts = { units: 50, leakRate: 0.3, spectralRadius: 1.1, inputConnectivity: 1, connectivity: 1, readoutInput: true, seed: 8, precision: "float64" as const };
    const ridge = new ESN({ ...opts, ridge: 1e-2 });
    const rls = new ESN(opts);
    ridge.fit(seq(0, 1500), seq(1, 1501), { washout: 100 });
    const during = rls.fitOnline(seq(0, 1500), seq(1, 1501), { washout: 100, alpha: 1e-2 });
    expect(during.shape).toEqual([1500, 1]);
    const wr = ridge.getReadout().data;
    const wo = rls.getReadout().data;
    expect(maxAbsDiff(wr, wo) / Math.max(...wr.map(Math.abs))).toBeLessThan(1e-6);
    // The outputs while learning approach the targets.
    let e = 0;
    for (let t = 1400; t < 1500; t++) e += (during.data[t] - mg[t + 1]) ** 2;
    expect(Math.sqrt(e / 100)).toBeLessThan(1e-2);
    ridge.dispose();
    rls.dispose();
  });

  it("FORCE learning (own output fed back) trains a sine generator without input", () => {
    const T = 3000;
    const period = 50;
    const target = { shape: [T, 1], data: Float32Array.from({ length: T }, (_, t) => Math.sin((2 * Math.PI * t) / period)) };
    const esn = new ESN({ units: 200, inputDim: 0, outputDim: 1, leakRate: 0.5, spectralRadius: 1.2, connectivity: 0.1, feedbackScaling: 0.5, biasScaling: 0.2, seed: 1 });
    const during = esn.fitOnline({ shape: [T, 0], data: new Float32Array(0) }, target, { alpha: 1, feedbackFrom: "output" });
    let e = 0;
    for (let t = T - 200; t < T; t++) e += (during.data[t] - target.data[t]) ** 2;
    expect(Math.sqrt(e / 200)).toBeLessThan(0.02);
    // Free-running after learning: keeps oscillating at the target period.
    const g = esn.generate(200);
    let err = 0;
    for (let t = 0; t < 200; t++) err += (g.data[t] - Math.sin((2 * Math.PI * (T + t)) / period)) ** 2;
    expect(Math.sqrt(err / 200)).toBeLessThan(0.05);
    esn.dispose();
  });

  it("several input and output channels: Lorenz one-step prediction and closed-loop generation", () => {
    const L = lorenz({ length: 4000, dt: 0.02, discard: 500 });
    const scaled = Float32Array.from(L, (v) => v / 20);
    const tens = (a: number, b: number): Tensor => ({ shape: [b - a, 3], data: scaled.slice(a * 3, b * 3) });
    const esn = new ESN({ units: 300, leakRate: 0.5, spectralRadius: 1, inputConnectivity: 1, readoutInput: true, ridge: 1e-7, seed: 1 });
    esn.fit(tens(0, 3000), tens(1, 3001), { washout: 100 });
    expect(esn.outputDim).toBe(3);
    const p = esn.predict(tens(3000, 3500));
    let e = 0;
    for (let i = 0; i < 1500; i++) e += (p.data[i] - scaled[3001 * 3 + i]) ** 2;
    expect(Math.sqrt(e / 1500)).toBeLessThan(5e-3);
    const g = esn.generate(20, { warmup: tens(3400, 3501) });
    expect(g.shape).toEqual([20, 3]);
    let ge = 0;
    for (let i = 0; i < 60; i++) ge = Math.max(ge, Math.abs(g.data[i] - scaled[3501 * 3 + i]));
    expect(ge).toBeLessThan(0.05);
    esn.dispose();
  });
});

describe("ESN state, determinism, memory", () => {
  it("same seed, same network; another seed, another network", () => {
    const opts = { units: 64, leakRate: 0.3, spectralRadius: 1.25, seed: 12 };
    const a = new ESN(opts);
    const b = new ESN(opts);
    const c = new ESN({ ...opts, seed: 13 });
    const sa = a.collectStates(seq(0, 200));
    expect(maxAbsDiff(sa.data, b.collectStates(seq(0, 200)).data)).toBe(0);
    expect(maxAbsDiff(sa.data, c.collectStates(seq(0, 200)).data)).toBeGreaterThan(1e-3);
    for (const e of [a, b, c]) e.dispose();
  });

  it("state getter/setter, resetState and reset options", () => {
    const esn = new ESN({ units: 32, seed: 1, spectralRadius: 0.9 });
    expect(esn.state.shape).toEqual([32]);
    expect(Math.max(...esn.state.data.map(Math.abs))).toBe(0);
    esn.fit(seq(0, 300), seq(1, 301), { washout: 50 });
    const x = esn.state;
    const p1 = esn.predict(seq(300, 400));
    esn.setState(x);
    const p2 = esn.predict(seq(300, 400));
    expect(maxAbsDiff(p1.data, p2.data)).toBe(0);
    esn.resetState();
    expect(Math.max(...esn.state.data.map(Math.abs))).toBe(0);
    const q1 = esn.predict(seq(0, 50));
    const q2 = esn.predict(seq(0, 50), { reset: true });
    expect(maxAbsDiff(q1.data, q2.data)).toBe(0);
    esn.dispose();
  });

  it("long runs are cut into several Wasm calls without changing the result", () => {
    const esn = new ESN({ units: 100, seed: 3, spectralRadius: 0.9, inputConnectivity: 1 });
    const T = 45000; // 45000 x 100 floats of states: two 16 MiB slices
    const long = { shape: [T, 1], data: Float32Array.from({ length: T }, (_, t) => Math.sin(t * 0.05)) };
    const all = esn.collectStates(long);
    esn.resetState();
    const first = esn.collectStates({ shape: [20000, 1], data: long.data.subarray(0, 20000) });
    const rest = esn.collectStates({ shape: [T - 20000, 1], data: long.data.subarray(20000) });
    expect(maxAbsDiff(all.data.subarray(0, 20000 * 100), first.data)).toBe(0);
    expect(maxAbsDiff(all.data.subarray(20000 * 100), rest.data)).toBe(0);
    esn.dispose();
  });

  it("state noise is seeded, applies while fitting only by default", () => {
    const opts = { units: 50, seed: 6, spectralRadius: 0.9, noise: 1e-3, inputConnectivity: 1 };
    const a = new ESN(opts);
    const b = new ESN(opts);
    a.fit(seq(0, 500), seq(1, 501));
    b.fit(seq(0, 500), seq(1, 501));
    expect(maxAbsDiff(a.getReadout().data, b.getReadout().data)).toBe(0);
    const clean = new ESN({ ...opts, noise: 0 });
    const noisy = new ESN({ ...opts, noiseWhen: "always" });
    const x = a.collectStates(seq(0, 100), { reset: true });
    expect(maxAbsDiff(x.data, clean.collectStates(seq(0, 100)).data)).toBe(0);
    expect(maxAbsDiff(x.data, noisy.collectStates(seq(0, 100)).data)).toBeGreaterThan(1e-5);
    for (const e of [a, b, clean, noisy]) e.dispose();
  });

  it("dispose frees the Wasm memory; a disposed model throws E_STATE", () => {
    const before = backendInfo().heapUsedBytes;
    const esn = new ESN({ units: 200, seed: 1, spectralRadius: 0.9 });
    esn.fit(seq(0, 500), seq(1, 501));
    expect(backendInfo().heapUsedBytes).toBeGreaterThan(before);
    esn.dispose();
    esn.dispose();
    expect(backendInfo().heapUsedBytes).toBe(before);
    expect(() => esn.predict(seq(0, 10))).toThrow(expect.objectContaining({ code: "E_STATE" }));
  });

  it("getWeights returns W_in, bias and W as used; explicit weights round-trip without rescaling", () => {
    const a = new ESN({ units: 40, inputDim: 2, seed: 4, spectralRadius: 0.8, inputConnectivity: 0.5 });
    const w = a.getWeights()[0];
    expect(w.Win.shape).toEqual([40, 2]);
    const b = new ESN({ units: 40, weights: { Win: w.Win, bias: w.bias, W: w.W } });
    expect(b.layers![0].spectralRadius).toBeCloseTo(0.8, 5);
    const u = { shape: [100, 2], data: Float32Array.from({ length: 200 }, (_, i) => Math.sin(i)) };
    expect(maxAbsDiff(a.collectStates(u).data, b.collectStates(u).data)).toBe(0);
    // An explicit W with an explicit spectralRadius is rescaled to it.
    const c = new ESN({ units: 40, spectralRadius: 0.4, weights: { Win: w.Win, bias: w.bias, W: w.W } });
    expect(c.layers![0].spectralRadius).toBeCloseTo(0.4, 6);
    for (const e of [a, b, c]) e.dispose();
  });
});
