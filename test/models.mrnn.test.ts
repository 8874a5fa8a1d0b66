// The multiplicative RNN against a float64 reference of its equations (test/reference/mrnn64.ts):
// forward, streaming, and every gradient against central finite differences of the reference.
import { beforeAll, describe, expect, it } from "vitest";
import { Adam, init, loadModel, LSTM, MRNN, RecurError, saveModel, SequenceModel, type Tensor } from "../src/index.js";
import { mrnnForward64, numericGrad, toParams64, type Mrnn64Config } from "./reference/mrnn64.js";
import { maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

interface Case {
  name: string;
  cfg: Mrnn64Config;
  T: number;
  B: number;
  lengths?: number[];
}

const cases: Case[] = [
  { name: "one layer", cfg: { inputSize: 3, hiddenSize: 5, factorSize: 4, numLayers: 1, bidirectional: false, bias: true }, T: 4, B: 2 },
  { name: "two layers, F > H, lengths", cfg: { inputSize: 6, hiddenSize: 9, factorSize: 17, numLayers: 2, bidirectional: false, bias: true }, T: 5, B: 3, lengths: [5, 2, 4] },
  { name: "bidirectional, no bias", cfg: { inputSize: 2, hiddenSize: 8, factorSize: 3, numLayers: 2, bidirectional: true, bias: false }, T: 3, B: 2, lengths: [3, 1] },
];

const make = (c: Case, seed = 3): MRNN => new MRNN({ ...c.cfg, seed });

describe("MRNN against the float64 reference", () => {
  for (const c of cases) {
    it(`forward and gradients: ${c.name}`, () => {
      const model = make(c);
      try {
        const { T, B } = c;
        const D = c.cfg.bidirectional ? 2 : 1;
        const LD = c.cfg.numLayers * D;
        const H = c.cfg.hiddenSize;
        const x = randn([T, B, c.cfg.inputSize], 10);
        const h0 = randn([LD, B, H], 11, 0.5);
        const p = toParams64(model.stateDict());
        const want = mrnnForward64(c.cfg, p, x.data, T, B, h0.data, c.lengths);
        const got = model.forward(x, { h0, lengths: c.lengths });
        expect(maxAbsDiff(got.output.data, want.output)).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(got.hN.data, want.hN)).toBeLessThanOrEqual(1e-5);

        const dout = randn([T, B, D * H], 12);
        const dhN = randn([LD, B, H], 13);
        const r = model.forwardTrain(x, { h0, lengths: c.lengths });
        expect(maxAbsDiff(r.output.data, want.output)).toBeLessThanOrEqual(1e-5);
        model.zeroGrad();
        const d = model.backward({ output: dout, hN: dhN });
        const x64 = Float64Array.from(x.data);
        const h064 = Float64Array.from(h0.data);
        const loss = (): number => {
          const o = mrnnForward64(c.cfg, p, x64, T, B, h064, c.lengths);
          let s = 0;
          for (let i = 0; i < o.output.length; i++) s += o.output[i] * dout.data[i];
          for (let i = 0; i < o.hN.length; i++) s += o.hN[i] * dhN.data[i];
          return s;
        };
        const grads = model.gradients();
        for (const key of Object.keys(p)) {
          const ref = numericGrad(p[key], loss);
          expect(maxAbsDiff(grads[key].data, ref), key).toBeLessThanOrEqual(1e-4 * Math.max(1, ...ref.map(Math.abs)));
        }
        const gx = numericGrad(x64, loss);
        expect(maxAbsDiff(d.input!.data, gx), "input").toBeLessThanOrEqual(1e-4 * Math.max(1, ...gx.map(Math.abs)));
        const gh = numericGrad(h064, loss);
        expect(maxAbsDiff(d.h0.data, gh), "h0").toBeLessThanOrEqual(1e-4 * Math.max(1, ...gh.map(Math.abs)));
      } finally {
        model.dispose();
      }
    });
  }

  it("has the documented state dict and rebuilds from a weight file", () => {
    const model = new MRNN({ inputSize: 4, hiddenSize: 6, factorSize: 5, numLayers: 2, seed: 1 });
    expect(model.parameterShapes()).toEqual({
      weight_fx_l0: [5, 4], weight_fh_l0: [5, 6], weight_hf_l0: [6, 5], weight_hx_l0: [6, 4], bias_h_l0: [6],
      weight_fx_l1: [5, 6], weight_fh_l1: [5, 6], weight_hf_l1: [6, 5], weight_hx_l1: [6, 6], bias_h_l1: [6],
    });
    const x = randn([3, 2, 4], 5);
    const loaded = loadModel(saveModel(model), "MRNN").model;
    expect(loaded.config.factorSize).toBe(5);
    expect(maxAbsDiff(loaded.forward(x).output.data, model.forward(x).output.data)).toBe(0);
    model.dispose();
    loaded.dispose();
  });

  it("steps one input at a time as forward runs the sequence", () => {
    const model = new MRNN({ inputSize: 3, hiddenSize: 7, factorSize: 9, numLayers: 2, seed: 2 });
    const x = randn([6, 2, 3], 6);
    const whole = model.forward(x);
    const state = model.initialState(2);
    for (let t = 0; t < 6; t++) {
      const xt: Tensor = { shape: [1, 2, 3], data: x.data.slice(t * 6, t * 6 + 6) };
      const { output } = model.step(xt, state);
      expect(maxAbsDiff(output.data, whole.output.data.subarray(t * 14, t * 14 + 14))).toBeLessThanOrEqual(1e-6);
    }
    expect(maxAbsDiff(state.h.data, whole.hN.data)).toBeLessThanOrEqual(1e-6);
    model.dispose();
  });

  it("rejects bad input with a RecurError naming it", () => {
    const base = { inputSize: 3, hiddenSize: 4 };
    for (const factorSize of [0, -1, 2.5, undefined]) {
      expect(() => new MRNN({ ...base, factorSize } as never)).toThrow(/factorSize/);
    }
    expect(() => new MRNN({ ...base, factorSize: 0 })).toThrow(RecurError);
    expect(() => new MRNN({ ...base, factorSize: 2, clip: 3 })).toThrow(/clip is not an MRNN option/);
    const model = new MRNN({ ...base, factorSize: 2 });
    const lstm = new LSTM(base);
    const before = model.stateDict();
    expect(() => model.loadStateDict(lstm.stateDict())).toThrow(/weight_fx_l0/);
    expect(maxAbsDiff(model.stateDict().weight_fh_l0.data, before.weight_fh_l0.data)).toBe(0);
    expect(() => model.forward(randn([2, 1, 5], 1))).toThrow(/inputSize/);
    expect(() => model.forward(randn([2, 1, 3], 1), { c0: randn([1, 1, 4], 2) })).toThrow(/c0/);
    model.dispose();
    lstm.dispose();
  });
});

describe("MRNN in a SequenceModel", () => {
  it("learns to predict a repeating token sequence and round-trips through a weight file", () => {
    const model = new SequenceModel({ cell: "MRNN", factorSize: 12, vocabSize: 5, hiddenSize: 10, outputSize: 5, seed: 4 });
    expect(Object.keys(model.stateDict())).toContain("mrnn.weight_hf_l0");
    const T = 12, B = 4;
    const ids = new Int32Array(T * B), next = new Int32Array(T * B);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) {
      ids[t * B + b] = (t + b) % 5;
      next[t * B + b] = (t + b + 1) % 5;
    }
    const batch = { input: { shape: [T, B], data: ids }, target: { shape: [T, B], data: next } };
    const opt = new Adam(model, { lr: 0.05 });
    const first = model.trainStep(batch, opt).loss;
    let last = first;
    for (let i = 0; i < 60; i++) last = model.trainStep(batch, opt).loss;
    expect(last).toBeLessThan(0.1 * first);
    const loaded = loadModel(saveModel(model), "SequenceModel").model;
    expect(maxAbsDiff(loaded.predict(batch).data, model.predict(batch).data)).toBe(0);
    expect(() => new SequenceModel({ cell: "MRNN", vocabSize: 5, hiddenSize: 4, outputSize: 5 })).toThrow(/factorSize/);
    model.dispose();
    loaded.dispose();
  });
});
