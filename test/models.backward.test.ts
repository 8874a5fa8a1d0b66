import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { modelFromTorchConfig } from "../src/testing/index.js";
import { listTorchCases, loadTorchCase, maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";

beforeAll(async () => {
  await init();
});

describe("BPTT parity with PyTorch fixtures (all gradients)", () => {
  for (const name of listTorchCases()) {
    it(name, () => {
      const c = loadTorchCase(name);
      const model = modelFromTorchConfig(c.module, c.config);
      try {
        model.loadStateDict(c.params);
        const r = model.forwardTrain(c.input, { h0: c.h0, c0: c.c0, lengths: c.lengths });
        expect(maxAbsDiff(r.output.data, c.output.data)).toBeLessThanOrEqual(toleranceFor(c.output.data));
        let loss = 0;
        for (let i = 0; i < r.output.data.length; i++) loss += r.output.data[i] * c.dout.data[i];
        for (let i = 0; i < r.hN.data.length; i++) loss += r.hN.data[i] * c.dh_n.data[i];
        if (c.c_n) for (let i = 0; i < r.cN!.data.length; i++) loss += r.cN!.data[i] * c.dc_n!.data[i];
        expect(Math.abs(loss - c.loss_value)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(c.loss_value)));

        model.zeroGrad();
        const d = model.backward({ output: c.dout, hN: c.dh_n, cN: c.dc_n });
        const grads = model.gradients();
        for (const [key, ref] of Object.entries(c.grads)) {
          const got = key === "input" ? d.input!.data : key === "h0" ? d.h0.data : key === "c0" ? d.c0!.data : grads[key]?.data;
          expect(got, key).toBeDefined();
          expect(maxAbsDiff(got!, ref.data), key).toBeLessThanOrEqual(toleranceFor(ref.data));
        }
      } finally {
        model.dispose();
      }
    });
  }
});
