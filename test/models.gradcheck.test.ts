// Gradients PyTorch fixtures do not cover (peepholes, reset-before GRU, bidirectional with
// lengths, projection with lengths, batch-first), against the float64 reference's BPTT, which is
// itself checked by central finite differences in test/reference.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { init, LSTM } from "../src/index.js";
import { backward64, forward64 } from "./reference/rnn64.js";
import { variantCases } from "./helpers/variant-cases.js";
import { maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

describe("BPTT against the float64 reference", () => {
  for (const c of variantCases) {
    it(c.name, () => {
      const model = c.make();
      try {
        const sd = model.stateDict();
        const D = c.ref.bidirectional ? 2 : 1;
        const LD = c.ref.numLayers * D;
        const P = c.ref.projSize > 0 ? c.ref.projSize : c.ref.hiddenSize;
        const x = randn(c.ref.batchFirst ? [c.B, c.T, c.ref.inputSize] : [c.T, c.B, c.ref.inputSize], 200);
        const h0 = randn([LD, c.B, P], 201, 0.5);
        const lstm = c.ref.mode === "LSTM";
        const c0 = lstm ? randn([LD, c.B, c.ref.hiddenSize], 202, 0.5) : undefined;
        const r = model.forwardTrain(x, { h0, c0, lengths: c.lengths });
        const dout = randn(r.output.shape, 203);
        const dhN = randn(r.hN.shape, 204);
        const dcN = lstm ? randn(r.cN!.shape, 205) : undefined;
        model.zeroGrad();
        const d = model.backward({ output: dout, hN: dhN, cN: dcN });
        const want = forward64(c.ref, sd, x, h0, c0, c.lengths);
        const g = backward64(c.ref, sd, want.cache, dout, dhN, dcN);
        const grads = model.gradients();
        for (const [key, ref] of Object.entries(g)) {
          const got = key === "input" ? d.input!.data : key === "h0" ? d.h0.data : key === "c0" ? d.c0!.data : grads[key].data;
          expect(maxAbsDiff(got, ref), key).toBeLessThanOrEqual(toleranceFor(ref));
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("gradients accumulate over backward calls until zeroGrad", () => {
    const model = new LSTM({ inputSize: 3, hiddenSize: 5, seed: 1 });
    const x = randn([4, 2, 3], 1);
    const once = (): Record<string, Float32Array> => {
      const r = model.forwardTrain(x);
      model.backward({ output: { shape: r.output.shape, data: new Float32Array(r.output.data.length).fill(1) } });
      return Object.fromEntries(Object.entries(model.gradients()).map(([k, v]) => [k, v.data]));
    };
    model.zeroGrad();
    const g1 = once();
    const g2 = once();
    for (const k of Object.keys(g1)) expect(maxAbsDiff(g2[k], g1[k].map((v) => 2 * v))).toBeLessThanOrEqual(1e-6);
    model.zeroGrad();
    expect(model.gradients().weight_ih_l0.data.every((v) => v === 0)).toBe(true);
    expect(() => model.backward({})).toThrow(/forwardTrain/);
    model.dispose();
  });
});
