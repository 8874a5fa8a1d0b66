// Forward mode (R-operator) of every cell against central differences of the float64 reference
// along the same direction (parameters, input and initial states together); cells with options,
// which the reference does not have, by the adjoint identity with the backward (itself checked
// against finite differences in models.cell-options.test.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, RNN, type RecurrentModel } from "../src/index.js";
import { runtime } from "../src/runtime.js";
import { forwardTangent } from "../src/hessian-free/index.js";
import { flatten, params64, tangentCases } from "./helpers/tangent-cases.js";
import { maxAbsDiff } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

describe("forwardTangent against finite differences of the float64 reference", () => {
  for (const c of tangentCases) {
    it(c.name, () => {
      const model = c.make();
      try {
        const I = model.config.inputSize;
        const LD = model.config.numLayers * model.directions;
        const x = randn([c.T, c.B, I], 20);
        const h0 = randn([LD, c.B, model.outputSize], 21, 0.5);
        const dx = randn([c.T, c.B, I], 22);
        const lstm = model.config.mode === "LSTM";
        const c0 = lstm ? randn([LD, c.B, model.config.hiddenSize], 23, 0.5) : undefined;
        const dh0 = randn([LD, c.B, model.outputSize], 24);
        const dc0 = lstm ? randn([LD, c.B, model.config.hiddenSize], 25) : undefined;
        const p = params64(model);
        const v: Record<string, Float64Array> = {};
        let seed = 30;
        for (const [k, val] of Object.entries(p)) v[k] = Float64Array.from(randn([val.length], seed++).data);
        model.forwardTrain(x, { h0, c0, lengths: c.lengths });
        const got = forwardTangent(model, flatten(c.make, v), { input: dx, h0: dh0, c0: dc0 });
        const eps = 1e-5;
        const at = (s: number) => {
          const q = Object.fromEntries(Object.entries(p).map(([k, val]) => [k, val.map((w, i) => w + s * eps * v[k][i])]));
          const xs = Float64Array.from(x.data, (w, i) => w + s * eps * dx.data[i]);
          const hs = Float64Array.from(h0.data, (w, i) => w + s * eps * dh0.data[i]);
          const cs = c0 && dc0 ? Float64Array.from(c0.data, (w, i) => w + s * eps * dc0.data[i]) : undefined;
          return c.ref(q, xs, hs, cs);
        };
        const up = at(1), down = at(-1);
        const want = up.output.map((u, i) => (u - down.output[i]) / (2 * eps));
        const wantH = up.hN.map((u, i) => (u - down.hN[i]) / (2 * eps));
        const scale = Math.max(1, ...want.map(Math.abs));
        expect(maxAbsDiff(got.output.data, want)).toBeLessThanOrEqual(2e-4 * scale);
        expect(maxAbsDiff(got.hN.data, wantH)).toBeLessThanOrEqual(2e-4 * scale);
        expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.1); // the check is not vacuous
      } finally {
        model.dispose();
      }
    });
  }

  it("names what it cannot do", () => {
    const lstm = new LSTM({ inputSize: 2, hiddenSize: 4, peepholes: true });
    const gru = new GRU({ inputSize: 2, hiddenSize: 4, resetAfter: false });
    const clipped = new LSTM({ inputSize: 2, hiddenSize: 4, clip: 3 });
    const x = randn([2, 1, 2], 1);
    const v = (m: RecurrentModel) => new Float32Array(m.parameterRegions()[0].floats);
    expect(() => forwardTangent(lstm, v(lstm))).toThrow(/forwardTrain/);
    expect(() => clipped.forwardTrain(x)).toThrow(/clip/);
    expect(() => forwardTangent(clipped, v(clipped))).toThrow(/forwardTrain/);
    lstm.forwardTrain(x);
    expect(() => forwardTangent(lstm, v(lstm), { h0: randn([1, 2, 4], 2) })).toThrow(/h0/);
    gru.forwardTrain(x);
    expect(() => forwardTangent(gru, v(gru), { c0: randn([1, 1, 4], 2) })).toThrow(/c0 is for LSTMs/);
    expect(() => forwardTangent(gru, new Float32Array(3))).toThrow(/direction/);
    lstm.dispose();
    gru.dispose();
    clipped.dispose();
  });
});

// <w, J v> = <Jᵀ w, v> over parameters, input and initial states: J v from forwardTangent, Jᵀ w
// from backward on the same forward.
describe("forwardTangent of cells with options: the adjoint of the backward", () => {
  const cases: [string, () => RecurrentModel][] = [
    ["LSTM hardSigmoid (Keras 3) / softsign / elu, peepholes, projection", () => new LSTM({ inputSize: 3, hiddenSize: 5, projSize: 3, peepholes: true, seed: 4, activations: [{ name: "hardSigmoid", alpha: 1 / 6, beta: 0.5 }, "softsign", { name: "elu", alpha: 0.8 }] })],
    ["LSTM input_forget, peepholes, softplus candidate, bidirectional", () => new LSTM({ inputSize: 3, hiddenSize: 5, bidirectional: true, inputForget: true, peepholes: true, seed: 5, activations: ["sigmoid", "softplus", "tanh"] })],
    ["GRU reset after, hardSigmoid / leakyRelu", () => new GRU({ inputSize: 3, hiddenSize: 5, seed: 6, activations: ["hardSigmoid", { name: "leakyRelu", alpha: 0.3 }] })],
    ["GRU reset before, affine gates / scaledTanh, 2 layers", () => new GRU({ inputSize: 3, hiddenSize: 5, numLayers: 2, resetAfter: false, seed: 7, activations: [{ name: "affine", alpha: 0.2, beta: 0.5 }, { name: "scaledTanh", alpha: 1.3, beta: 0.7 }] })],
    ["RNN softsign / elu, bidirectional", () => new RNN({ inputSize: 3, hiddenSize: 5, bidirectional: true, seed: 8, activations: ["softsign", "elu"] })],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      const model = make();
      try {
        const T = 4, B = 3, lengths = [4, 2, 3];
        const LD = model.config.numLayers * model.directions;
        const lstm = model.config.mode === "LSTM";
        const x = randn([T, B, 3], 40);
        const h0 = randn([LD, B, model.outputSize], 41, 0.5);
        const c0 = lstm ? randn([LD, B, model.config.hiddenSize], 42, 0.5) : undefined;
        const dx = randn([T, B, 3], 43);
        const dh0 = randn([LD, B, model.outputSize], 44);
        const dc0 = lstm ? randn([LD, B, model.config.hiddenSize], 45) : undefined;
        const region = model.parameterRegions()[0];
        const v = Float32Array.from(randn([region.floats], 46).data);
        const wOut = randn([T, B, model.directions * model.outputSize], 47);
        const wH = randn([LD, B, model.outputSize], 48);
        const r = model.forwardTrain(x, { h0, c0, lengths });
        const jv = forwardTangent(model, v, { input: dx, h0: dh0, c0: dc0 });
        model.zeroGrad();
        const d = model.backward({ output: wOut, hN: wH }, { inputGrad: true });
        const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, w, i) => s + w * b[i], 0);
        // Padded output rows are zero in the forward: their weights do not count.
        const lhs = dot(wOut.data, jv.output.data) + dot(wH.data, jv.hN.data);
        const g = runtime().heap.f32(region.grads, region.floats);
        let rhs = dot(g, v) + dot(d.input!.data, dx.data) + dot(d.h0.data, dh0.data);
        if (dc0) rhs += dot(d.c0!.data, dc0.data);
        expect(Math.abs(lhs)).toBeGreaterThan(0.1);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(lhs)));
        expect(r.output.data.some((w, i) => w === 0 && jv.output.data[i] !== 0)).toBe(false);
      } finally {
        model.dispose();
      }
    });
  }
});
