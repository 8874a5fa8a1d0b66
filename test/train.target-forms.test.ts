/**
 * Target forms (SequenceModel's lossLastSteps and lossUnits): the loss and every gradient against
 * a float64 reference of the same network (test/reference/rnn64.ts for the recurrent part, the
 * head and the masked losses written out below), plus finite differences of recur's own loss.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { fit, init, RecurError, SGD, SequenceModel, type SequenceBatch, type SequenceModelOptions, type Tensor } from "../src/index.js";
import { createRng } from "../src/random.js";
import { backward64, forward64, type RefConfig } from "./reference/rnn64.js";
import { directionalCheck } from "./helpers/gradcheck.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

interface Reference {
  loss: number;
  grads: Record<string, Float64Array>;
}

// The model's loss and gradients recomputed in float64: RNN (tanh) -> Linear head -> masked MSE
// or masked softmax cross-entropy, with `counted(t, b)` saying which steps carry a target.
function reference(model: SequenceModel, batch: SequenceBatch, counted: (t: number, b: number) => boolean): Reference {
  const o = model.options;
  const sd = model.stateDict();
  const prefix = "rnn.";
  const rnnParams = Object.fromEntries(Object.entries(sd).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const cfg: RefConfig = { mode: "RNN_TANH", inputSize: o.inputSize!, hiddenSize: o.hiddenSize, numLayers: 1, bias: true, batchFirst: false, bidirectional: false, projSize: 0 };
  const input = batch.input as Tensor;
  const [T, B] = input.shape;
  const f = forward64(cfg, rnnParams, input, null, null, batch.lengths ?? null);
  const H = o.hiddenSize;
  const O = o.outputSize;
  const W = sd["head.weight"].data;
  const bias = sd["head.bias"].data;
  const y = new Float64Array(T * B * O);
  for (let r = 0; r < T * B; r++) {
    for (let j = 0; j < O; j++) {
      let s = bias[j];
      for (let k = 0; k < H; k++) s += W[j * H + k] * f.output[r * H + k];
      y[r * O + j] = s;
    }
  }
  const dy = new Float64Array(T * B * O);
  let loss = 0;
  if (o.loss === "mse") {
    const units = o.lossUnits ?? Array.from({ length: O }, (_, j) => j);
    const U = units.length;
    const target = (batch.target as Tensor).data;
    let count = 0;
    for (let r = 0; r < T * B; r++) if (counted(Math.floor(r / B), r % B)) count += U;
    for (let r = 0; r < T * B; r++) {
      if (!counted(Math.floor(r / B), r % B)) continue;
      units.forEach((col, j) => {
        const d = y[r * O + col] - target[r * U + j];
        loss += (d * d) / count;
        dy[r * O + col] = (2 * d) / count;
      });
    }
  } else {
    const ids = batch.target!.data;
    let count = 0;
    for (let r = 0; r < T * B; r++) if (counted(Math.floor(r / B), r % B)) count++;
    for (let r = 0; r < T * B; r++) {
      if (!counted(Math.floor(r / B), r % B)) continue;
      let max = -Infinity;
      for (let j = 0; j < O; j++) max = Math.max(max, y[r * O + j]);
      let z = 0;
      for (let j = 0; j < O; j++) z += Math.exp(y[r * O + j] - max);
      loss += (Math.log(z) + max - y[r * O + ids[r]]) / count;
      for (let j = 0; j < O; j++) dy[r * O + j] = (Math.exp(y[r * O + j] - max) / z - (j === ids[r] ? 1 : 0)) / count;
    }
  }
  const dW = new Float64Array(O * H);
  const db = new Float64Array(O);
  const dh = new Float64Array(T * B * H);
  for (let r = 0; r < T * B; r++) {
    for (let j = 0; j < O; j++) {
      const g = dy[r * O + j];
      db[j] += g;
      for (let k = 0; k < H; k++) {
        dW[j * H + k] += g * f.output[r * H + k];
        dh[r * H + k] += g * W[j * H + k];
      }
    }
  }
  const back = backward64(cfg, rnnParams, f.cache, dh);
  const grads: Record<string, Float64Array> = { "head.weight": dW, "head.bias": db };
  for (const k of Object.keys(rnnParams)) grads[prefix + k] = back[k];
  return { loss, grads };
}

function expectMatches(model: SequenceModel, batch: SequenceBatch, counted: (t: number, b: number) => boolean): void {
  const ref = reference(model, batch, counted);
  model.zeroGrad();
  const { loss } = model.lossAndGrad(batch);
  expect(Math.abs(loss - ref.loss), `loss ${loss} vs ${ref.loss}`).toBeLessThanOrEqual(1e-5 * Math.abs(ref.loss));
  const grads = model.gradients();
  expect(Object.keys(grads).sort()).toEqual(Object.keys(ref.grads).sort());
  for (const [name, g] of Object.entries(ref.grads)) {
    const scale = Math.max(...Array.from(g, Math.abs));
    expect(scale, `${name} has a gradient`).toBeGreaterThan(0);
    let worst = 0;
    g.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - grads[name].data[i]))));
    expect(worst, name).toBeLessThanOrEqual(1e-5 * scale);
  }
}

const T = 7;
const B = 3;
const base: SequenceModelOptions = { cell: "RNN", inputSize: 2, hiddenSize: 5, outputSize: 4, seed: 3 };

describe("target forms: the loss on the last k steps and on a subset of output units", () => {
  it("MSE on the last 2 steps of each sequence (variable lengths) matches the float64 reference", () => {
    const model = new SequenceModel({ ...base, loss: "mse", lossLastSteps: 2 });
    const lengths = [7, 4, 5];
    const batch: SequenceBatch = { input: randn([T, B, 2], 1), target: randn([T, B, 4], 2), lengths };
    expectMatches(model, batch, (t, b) => t < lengths[b] && t >= lengths[b] - 2);
    directionalCheck(model, batch, 11);
    model.dispose();
  });

  it("MSE on output units 3 and 1 only (targets [T, B, 2] in that order) matches the float64 reference", () => {
    const model = new SequenceModel({ ...base, loss: "mse", lossUnits: [3, 1] });
    const batch: SequenceBatch = { input: randn([T, B, 2], 3), target: randn([T, B, 2], 4) };
    expectMatches(model, batch, () => true);
    directionalCheck(model, batch, 11);
    model.dispose();
  });

  it("both at once, and MSE with lengths (padded steps are not counted)", () => {
    const both = new SequenceModel({ ...base, loss: "mse", lossUnits: [0, 2], lossLastSteps: 3 });
    const lengths = [5, 7, 2];
    const batch: SequenceBatch = { input: randn([T, B, 2], 5), target: randn([T, B, 2], 6), lengths };
    expectMatches(both, batch, (t, b) => t < lengths[b] && t >= lengths[b] - 3);
    both.dispose();
    const padded = new SequenceModel({ ...base, loss: "mse" });
    expectMatches(padded, { input: randn([T, B, 2], 7), target: randn([T, B, 4], 8), lengths }, (t, b) => t < lengths[b]);
    padded.dispose();
  });

  it("cross-entropy on the last step only matches the float64 reference", () => {
    const model = new SequenceModel({ ...base, lossLastSteps: 1 });
    const lengths = [3, 7, 6];
    const rng = createRng(9);
    const batch: SequenceBatch = { input: randn([T, B, 2], 10), target: { shape: [T, B], data: Int32Array.from({ length: T * B }, () => rng.int(4)) }, lengths };
    expectMatches(model, batch, (t, b) => t === lengths[b] - 1);
    model.dispose();
  });

  it("targets outside the form change nothing; without a form every step and unit counts", () => {
    const model = new SequenceModel({ ...base, loss: "mse", lossLastSteps: 2, lossUnits: [1] });
    const input = randn([T, B, 1 + 1], 12);
    const target = randn([T, B, 1], 13);
    const a = model.lossAndGrad({ input, target }).loss;
    const early = { shape: target.shape, data: target.data.slice() };
    for (let i = 0; i < (T - 2) * B; i++) early.data[i] += 5; // steps 0..T-3
    expect(model.lossAndGrad({ input, target: early }).loss).toBe(a);
    const late = { shape: target.shape, data: target.data.slice() };
    late.data[(T - 1) * B] += 1;
    expect(model.lossAndGrad({ input, target: late }).loss).not.toBe(a);
    model.dispose();
    const plain = new SequenceModel({ ...base, loss: "mse" });
    expectMatches(plain, { input: randn([T, B, 2], 14), target: randn([T, B, 4], 15) }, () => true);
    plain.dispose();
  });

  it("a model trained on the last step only learns it (the earlier outputs are free)", () => {
    // Target: the sum of the sequence's inputs, given only at its last step.
    const model = new SequenceModel({ cell: "GRU", inputSize: 1, hiddenSize: 16, outputSize: 1, loss: "mse", lossLastSteps: 1, seed: 2 });
    const rng = createRng(3);
    const batch = (n: number): SequenceBatch => {
      const x = new Float32Array(6 * n).map(() => rng.uniform(-0.5, 0.5));
      const y = new Float32Array(6 * n);
      for (let b = 0; b < n; b++) {
        let s = 0;
        for (let t = 0; t < 6; t++) s += x[t * n + b];
        y[5 * n + b] = s;
      }
      return { input: { shape: [6, n, 1], data: x }, target: { shape: [6, n, 1], data: y } };
    };
    const test = batch(200);
    const before = model.lossAndGrad(test).loss;
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9 });
    for (let i = 0; i < 300; i++) model.trainStep(batch(32), opt, { clipGradNorm: 1 });
    expect(model.lossAndGrad(test).loss).toBeLessThan(0.1 * before);
    opt.dispose();
    model.dispose();
  });

  it("bad forms are RecurErrors naming the option", async () => {
    const bad = (o: Partial<SequenceModelOptions>, pattern: RegExp): void => {
      let err: unknown;
      try {
        new SequenceModel({ ...base, ...o }).dispose();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RecurError);
      expect((err as Error).message).toMatch(pattern);
    };
    bad({ lossUnits: [0] }, /lossUnits needs loss "mse"/);
    bad({ loss: "mse", lossUnits: [0, 4] }, /lossUnits entry 4 .*\[0, 4\)/);
    bad({ loss: "mse", lossUnits: [1, 1] }, /unit 1 twice/);
    bad({ loss: "mse", lossUnits: [] }, /non-empty/);
    bad({ lossLastSteps: -1 }, /lossLastSteps must be an integer >= 0/);
    bad({ lossLastSteps: 2, outputs: "last" }, /lossLastSteps needs outputs "sequence"/);
    const model = new SequenceModel({ ...base, loss: "mse", lossUnits: [2] });
    expect(() => model.lossAndGrad({ input: randn([T, B, 2], 1), target: randn([T, B, 4], 2) })).toThrow(/target must have shape \[\*, \*, 1\]|\[7, 3, 1\]/);
    model.dispose();
    const last = new SequenceModel({ ...base, lossLastSteps: 2 });
    const opt = new SGD(last, { lr: 0.1 });
    const batch: SequenceBatch = { input: randn([T, B, 2], 1), target: { shape: [T, B], data: new Int32Array(T * B) } };
    await expect(fit(last, { optimizer: opt, data: [batch], steps: 1, tbptt: { k1: 3 } })).rejects.toThrow(/lossLastSteps/);
    opt.dispose();
    last.dispose();
  });
});
