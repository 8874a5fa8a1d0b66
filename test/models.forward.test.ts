import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
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
