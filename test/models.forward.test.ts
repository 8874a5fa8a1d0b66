import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, RNN, type RecurrentModel } from "../src/index.js";
import { listTorchCases, loadTorchCase, maxAbsDiff, toleranceFor, type TorchCase } from "./helpers/fixtures.js";

beforeAll(async () => {
  await init();
});

function build(c: TorchCase): RecurrentModel {
  const base = {
    inputSize: c.config.input_size,
    hiddenSize: c.config.hidden_size,
    numLayers: c.config.num_layers,
    bias: c.config.bias,
    batchFirst: c.config.batch_first,
    bidirectional: c.config.bidirectional,
  };
  if (c.module === "LSTM") return new LSTM({ ...base, projSize: c.config.proj_size ?? 0 });
  if (c.module === "GRU") return new GRU(base);
  return new RNN({ ...base, nonlinearity: c.config.nonlinearity ?? "tanh" });
}

describe("forward parity with PyTorch fixtures", () => {
  for (const name of listTorchCases()) {
    it(name, () => {
      const c = loadTorchCase(name);
      const model = build(c);
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
