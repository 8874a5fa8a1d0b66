// Hessian-free optimisation: CG on a convex quadratic, the pathological long-lag addition problem
// (Hochreiter and Schmidhuber 1997) that HF solves and SGD with the same budget does not, and the
// typed errors.
import { beforeAll, describe, expect, it } from "vitest";
import { fit, init, LSTM, RecurError, SequenceModel, SGD, type SequenceBatch } from "../src/index.js";
import { conjugateGradient, HessianFree } from "../src/hessian-free/index.js";
import { createRng } from "../src/random.js";
import { runtime } from "../src/runtime.js";

beforeAll(async () => {
  await init();
});

// A = Qᵀ diag(λ) Q for a random orthogonal Q (Gram-Schmidt), eigenvalues λ from 1 to 100
// spread evenly on a log scale, in float64.
function spd(n: number, seed: number): Float64Array[] {
  const rng = createRng(seed);
  const q: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      const d = u.reduce((s, w, k) => s + w * v[k], 0);
      for (let k = 0; k < n; k++) v[k] -= d * u[k];
    }
    const norm = Math.hypot(...v);
    q.push(v.map((w) => w / norm));
  }
  return q.map((_, i) => Float64Array.from({ length: n }, (_, j) => q.reduce((s, u, k) => s + u[i] * 100 ** (k / (n - 1)) * u[j], 0)));
}

describe("conjugateGradient", () => {
  it("minimises an n-dimensional convex quadratic in n steps", () => {
    const n = 12;
    const A = spd(n, 3);
    const apply = (v: Float32Array, out: Float32Array): void => {
      for (let i = 0; i < n; i++) out[i] = A[i].reduce((s, w, j) => s + w * v[j], 0);
    };
    const rng = createRng(4);
    const g = Float32Array.from({ length: n }, () => rng.normal());
    // The minimiser solves A x = -g: Gaussian elimination in float64.
    const M = A.map((row, i) => [...row, -g[i]]);
    for (let c = 0; c < n; c++) for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
    const want = new Float64Array(n);
    for (let r = n - 1; r >= 0; r--) want[r] = (M[r][n] - M[r].slice(r + 1, n).reduce((s, w, k) => s + w * want[r + 1 + k], 0)) / M[r][r];
    const scale = Math.max(...want.map(Math.abs));
    const err = (x: Float32Array): number => Math.max(...want.map((w, i) => Math.abs(w - x[i]))) / scale;
    const full = conjugateGradient(apply, g, { maxIterations: n, tolerance: 0 });
    expect(full.iterations).toBeLessThanOrEqual(n);
    // Exact arithmetic would reach the minimiser at step n; float32 rounding leaves ~1e-3.
    expect(err(full.x)).toBeLessThan(5e-3);
    expect(err(conjugateGradient(apply, g, { maxIterations: n - 3, tolerance: 0 }).x)).toBeGreaterThan(10 * err(full.x));
    const pre = conjugateGradient(apply, g, { maxIterations: n, tolerance: 0, precond: Float32Array.from(A, (row, i) => row[i]) });
    expect(err(pre.x)).toBeLessThan(5e-3);
    expect(full.kept.map((k) => k.i)).toEqual([1, 2, 3, 4, 5, 7, 9, 11, 12]);
  });

  it("stops with E_NUMERIC at negative curvature", () => {
    const apply = (v: Float32Array, out: Float32Array): void => {
      out[0] = v[0];
      out[1] = -v[1];
    };
    expect(() => conjugateGradient(apply, Float32Array.of(1, 1))).toThrow(/negative or zero curvature/);
  });
});

const T = 50, B = 200;
// Hochreiter's addition problem: each step gives a value in [0, 1) and a marker; the target is
// the sum of the two marked values, one within the first tenth of the sequence, one in its second
// half. Predicting the mean gives an MSE of 1/6.
function additionBatch(seed: number): SequenceBatch {
  const rng = createRng(seed);
  const x = new Float32Array(T * B * 2), y = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const i = Math.floor(rng.next() * (T / 10 + 1));
    const j = T / 2 + Math.floor(rng.next() * (T / 2));
    for (let t = 0; t < T; t++) {
      const v = rng.next();
      x[(t * B + b) * 2] = v;
      if (t === i || t === j) {
        x[(t * B + b) * 2 + 1] = 1;
        y[b] += v;
      }
    }
  }
  return { input: { shape: [T, B, 2], data: x }, target: { shape: [B, 1], data: y } };
}

const additionModel = (): SequenceModel => new SequenceModel({ cell: "RNN", inputSize: 2, hiddenSize: 16, outputSize: 1, loss: "mse", outputs: "last", seed: 1 });

describe("HessianFree", () => {
  it("solves the addition problem at T = 50, which SGD with the same budget of gradient evaluations does not", () => {
    const test = additionBatch(999);
    const model = additionModel();
    const hf = new HessianFree(model, { maxCgIterations: 50, curvatureBatchSize: 50 });
    let evaluations = 0;
    for (let u = 0; u < 60 && model.loss(test) > 0.01; u++) evaluations += hf.update(additionBatch(u)).gradientEvaluations;
    expect(model.loss(test)).toBeLessThan(0.01);
    const sgdModel = additionModel();
    const sgd = new SGD(sgdModel, { lr: 0.1, momentum: 0.9 });
    for (let u = 0; u < evaluations; u++) sgdModel.trainStep(additionBatch(u % 60), sgd, { clipGradNorm: 1 });
    expect(sgdModel.loss(test)).toBeGreaterThan(0.1);
    model.dispose();
    sgdModel.dispose();
  });

  it("trains through fit and reports each update", async () => {
    const model = new SequenceModel({ cell: "MRNN", factorSize: 8, vocabSize: 5, hiddenSize: 8, outputSize: 5, seed: 2 });
    const ids = Int32Array.from({ length: 8 * 4 }, (_, i) => (i + Math.floor(i / 4)) % 5);
    const next = Int32Array.from({ length: 8 * 4 }, (_, i) => (i + Math.floor(i / 4) + 1) % 5);
    const batch = { input: { shape: [8, 4], data: ids }, target: { shape: [8, 4], data: next } };
    const hf = new HessianFree(model, { structuralDamping: 0.3 });
    const r = await fit(model, { optimizer: hf, data: [batch], steps: 8 });
    expect(r.losses[7]).toBeLessThan(0.5 * r.losses[0]);
    expect(hf.last!.cgIterations).toBeGreaterThan(0);
    expect(hf.last!.newLoss).toBeLessThanOrEqual(hf.last!.loss);
    await expect(fit(model, { optimizer: hf, data: [batch], steps: 1, clipGradNorm: 1 })).rejects.toThrow(/HessianFree/);
    model.dispose();
  });

  // The cells forward mode gained last: each trains on a small next-token task.
  const more: [string, Record<string, unknown>][] = [
    ["LSTM with peepholes, a projection and learned initial states", { cell: "LSTM", peepholes: true, projSize: 4, trainableInitialState: true }],
    ["GRU reset before, hardSigmoid gates", { cell: "GRU", resetAfter: false, activations: ["hardSigmoid", "tanh"] }],
    ["LSTM input_forget, softsign candidate", { cell: "LSTM", inputForget: true, activations: ["sigmoid", "softsign", "tanh"] }],
  ];
  for (const [name, options] of more) {
    it(`trains ${name}`, async () => {
      const model = new SequenceModel({ vocabSize: 5, hiddenSize: 8, outputSize: 5, seed: 3, ...options });
      const ids = Int32Array.from({ length: 8 * 4 }, (_, i) => (i + Math.floor(i / 4)) % 5);
      const next = Int32Array.from({ length: 8 * 4 }, (_, i) => (i + Math.floor(i / 4) + 1) % 5);
      const batch = { input: { shape: [8, 4], data: ids }, target: { shape: [8, 4], data: next } };
      const r = await fit(model, { optimizer: new HessianFree(model), data: [batch], steps: 6 });
      expect(r.losses[5]).toBeLessThan(0.6 * r.losses[0]);
      model.dispose();
    });
  }

  it("weighs the per-sequence gradients of the preconditioner by their loss terms (uneven lengths)", () => {
    const model = new SequenceModel({ cell: "GRU", vocabSize: 5, hiddenSize: 6, outputSize: 5, seed: 4 });
    const [T, B] = [6, 4];
    const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 3 + 1) % 5);
    const next = Int32Array.from({ length: T * B }, (_, i) => (i * 2 + 3) % 5);
    next[5] = -100; // an ignored target counts for nothing
    const batch = { input: { shape: [T, B], data: ids }, target: { shape: [T, B], data: next }, lengths: [6, 2, 5, 1] };
    const before = model.loss(batch);
    const r = new HessianFree(model, { maxCgIterations: 5 }).update(batch);
    // The update's starting loss is the per-sequence losses' weighted sum: exactly the batch's.
    expect(Math.abs(r.loss - before)).toBeLessThanOrEqual(1e-6 * before);
    expect(r.newLoss).toBeLessThan(before);
    model.dispose();
  });

  it("names what it cannot handle and leaves the parameters as they were on a numeric failure", () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 3 });
    expect(() => new HessianFree(lstm as never)).toThrow(/SequenceModel/);
    const peep = new SequenceModel({ cell: "LSTM", clip: 2, inputSize: 2, hiddenSize: 3, outputSize: 1, loss: "mse" });
    expect(() => new HessianFree(peep)).toThrow(expect.objectContaining({ code: "E_UNSUPPORTED", message: expect.stringMatching(/clip/) }));
    const model = additionModel();
    const region = model.parameterRegions()[1];
    const { heap } = runtime();
    heap.f32(region.params, 1)[0] = NaN;
    model.parametersChanged();
    const before = heap.f32(region.params, region.floats).slice();
    const hf = new HessianFree(model);
    let error: unknown;
    try {
      hf.update(additionBatch(1));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RecurError);
    expect((error as RecurError).code).toBe("E_NUMERIC");
    expect(Array.from(heap.f32(model.parameterRegions()[1].params, region.floats)).map(String)).toEqual(Array.from(before).map(String));
    for (const m of [lstm, peep, model]) m.dispose();
  });
});
