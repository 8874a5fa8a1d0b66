import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM } from "../src/index.js";
import { modelFromTorchConfig } from "../src/testing/index.js";
import { listTorchCases, loadTorchCase, maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";

beforeAll(async () => {
  await init();
});

describe("forward parity with PyTorch fixtures", () => {
  for (const name of listTorchCases()) {
    it(name, () => {
      const c = loadTorchCase(name);
      const model = modelFromTorchConfig(c.module, c.config);
      try {
        model.loadStateDict(c.params);
        const r = model.forward(c.input, { h0: c.h0, c0: c.c0, lengths: c.lengths });
        expect(r.output.shape).toEqual(c.output.shape);
        expect(maxAbsDiff(r.output.data, c.output.data)).toBeLessThanOrEqual(toleranceFor(c.output.data));
        expect(r.hN.shape).toEqual(c.h_n.shape);
        expect(maxAbsDiff(r.hN.data, c.h_n.data)).toBeLessThanOrEqual(toleranceFor(c.h_n.data));
        if (c.c_n) {
          expect(maxAbsDiff(r.cN!.data, c.c_n.data)).toBeLessThanOrEqual(toleranceFor(c.c_n.data));
        }
      } finally {
        model.dispose();
      }
    });
  }
});

// forward({ out }): the results written into the caller's arrays, values as PyTorch's. The views
// of the workspace are cached (WorkspaceViews): a memory grow between calls must not leave the
// second call reading a detached buffer, so a large model is made between the two calls.
describe("forward into the caller's arrays (out)", () => {
  for (const name of listTorchCases()) {
    it(name, () => {
      const c = loadTorchCase(name);
      const model = modelFromTorchConfig(c.module, c.config);
      const out = { output: new Float32Array(c.output.data.length), hN: new Float32Array(c.h_n.data.length), ...(c.c_n ? { cN: new Float32Array(c.c_n.data.length) } : {}) };
      let big: LSTM | undefined;
      try {
        model.loadStateDict(c.params);
        for (let call = 0; call < 2; call++) {
          out.output.fill(NaN);
          out.hN.fill(NaN);
          const r = model.forward(c.input, { h0: c.h0, c0: c.c0, lengths: c.lengths, out });
          expect(r.output.data).toBe(out.output);
          expect(r.hN.data).toBe(out.hN);
          expect(r.output.shape).toEqual(c.output.shape);
          expect(maxAbsDiff(r.output.data, c.output.data)).toBeLessThanOrEqual(toleranceFor(c.output.data));
          expect(maxAbsDiff(r.hN.data, c.h_n.data)).toBeLessThanOrEqual(toleranceFor(c.h_n.data));
          if (c.c_n) {
            expect(r.cN!.data).toBe(out.cN);
            expect(maxAbsDiff(r.cN!.data, c.c_n.data)).toBeLessThanOrEqual(toleranceFor(c.c_n.data));
          }
          big ??= new LSTM({ inputSize: 1024, hiddenSize: 1024, seed: 1 }); // 16 MB of weights: memory grows
        }
      } finally {
        model.dispose();
        big?.dispose();
      }
    });
  }

  it("rejects arrays of the wrong size or type, and cN on a model without a cell state", () => {
    const lstm = new LSTM({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const gru = new GRU({ inputSize: 3, hiddenSize: 4, seed: 1 });
    const x = { shape: [5, 2, 3], data: new Float32Array(30) };
    try {
      const before = lstm.forward(x).output.data;
      expect(() => lstm.forward(x, { out: { output: new Float32Array(39) } })).toThrow(expect.objectContaining({ code: "E_SHAPE", message: expect.stringContaining("forward: out.output must be a Float32Array of 40 values") }));
      expect(() => lstm.forward(x, { out: { hN: new Float64Array(8) as unknown as Float32Array } })).toThrow(expect.objectContaining({ code: "E_SHAPE", message: expect.stringContaining("out.hN must be a Float32Array of 8 values") }));
      expect(() => lstm.forward(x, { out: null as unknown as object })).toThrow(expect.objectContaining({ code: "E_TYPE" }));
      expect(() => gru.forward(x, { out: { cN: new Float32Array(8) } })).toThrow(expect.objectContaining({ code: "E_VALUE", message: expect.stringContaining("out.cN is only for LSTM") }));
      expect(() => lstm.forwardTrain(x, { out: { cN: new Float32Array(7) } })).toThrow(expect.objectContaining({ code: "E_SHAPE", message: expect.stringContaining("forwardTrain: out.cN") }));
      expect(lstm.forward(x).output.data).toEqual(before); // the failed calls changed nothing
    } finally {
      lstm.dispose();
      gru.dispose();
    }
  });

  it("forwardTrain writes into out too, with the values of forward", () => {
    const gru = new GRU({ inputSize: 3, hiddenSize: 4, numLayers: 2, seed: 2 });
    const x = { shape: [5, 2, 3], data: Float32Array.from({ length: 30 }, (_, i) => Math.sin(i)) };
    try {
      const ref = gru.forward(x);
      const out = { output: new Float32Array(40), hN: new Float32Array(16) };
      const r = gru.forwardTrain(x, { out });
      expect(r.output!.data).toBe(out.output);
      expect(r.hN.data).toBe(out.hN);
      expect(Array.from(out.output)).toEqual(Array.from(ref.output.data));
      expect(Array.from(out.hN)).toEqual(Array.from(ref.hN.data));
    } finally {
      gru.dispose();
    }
  });
});
