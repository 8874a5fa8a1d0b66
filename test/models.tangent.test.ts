// Forward mode (R-operator) of every supported cell against central differences of the float64
// reference along the same direction.
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM } from "../src/index.js";
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
        const p = params64(model);
        const v: Record<string, Float64Array> = {};
        let seed = 30;
        for (const [k, val] of Object.entries(p)) v[k] = Float64Array.from(randn([val.length], seed++).data);
        model.forwardTrain(x, { h0, lengths: c.lengths });
        const got = forwardTangent(model, flatten(c.make, v), { input: dx });
        const eps = 1e-5;
        const at = (s: number) => {
          const q = Object.fromEntries(Object.entries(p).map(([k, val]) => [k, val.map((w, i) => w + s * eps * v[k][i])]));
          const xs = Float64Array.from(x.data, (w, i) => w + s * eps * dx.data[i]);
          return c.ref(q, xs, Float64Array.from(h0.data));
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
    const x = randn([2, 1, 2], 1);
    expect(() => forwardTangent(lstm, new Float32Array(lstm.parameterRegions()[0].floats))).toThrow(/forwardTrain/);
    lstm.forwardTrain(x);
    expect(() => forwardTangent(lstm, new Float32Array(lstm.parameterRegions()[0].floats))).toThrow(/peepholes/);
    gru.forwardTrain(x);
    expect(() => forwardTangent(gru, new Float32Array(gru.parameterRegions()[0].floats))).toThrow(/resetAfter/);
    expect(() => forwardTangent(gru, new Float32Array(3))).toThrow();
    lstm.dispose();
    gru.dispose();
  });
});
