// The batch-1 forward: one row steps with a GEMV over W_hh packed in 32-column stripes
// (assembly/gemm/gemv.ts) instead of the GEMM over 8-wide panels. Both sum each pre-activation
// from b_hh in k order, so a row computed alone must be bit-identical to the same row inside a
// batch of two (the GEMM's two-row tile), on every binary: SIMD128, relaxed SIMD, and the
// threaded build. The float64 reference checks the batch-1 results themselves, for each cell,
// cell options, peepholes, a projection, sizes that leave a partial stripe, and both directions.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Backend } from "../src/runtime.js";
import { forward64, type RefConfig } from "./reference/rnn64.js";
import { maxAbsDiff, toleranceFor } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

type Lib = typeof import("../src/index.js");

interface Case {
  name: string;
  make: (lib: Lib) => InstanceType<Lib["LSTM"]> | InstanceType<Lib["GRU"]> | InstanceType<Lib["RNN"]>;
  mode: RefConfig["mode"];
  I: number;
  H: number;
  P?: number;
  bidirectional?: boolean;
  layers?: number;
  peepholes?: boolean;
  /** Cell options the float64 reference does not model: only the batch-of-two check. */
  noReference?: boolean;
}

const CASES: Case[] = [
  { name: "LSTM H=33 (a partial stripe), 2 layers", mode: "LSTM", I: 5, H: 33, layers: 2, make: (l) => new l.LSTM({ inputSize: 5, hiddenSize: 33, numLayers: 2, seed: 1 }) },
  { name: "LSTM H=7, bidirectional", mode: "LSTM", I: 3, H: 7, bidirectional: true, make: (l) => new l.LSTM({ inputSize: 3, hiddenSize: 7, bidirectional: true, seed: 2 }) },
  { name: "LSTM H=12 with projection 5", mode: "LSTM", I: 4, H: 12, P: 5, make: (l) => new l.LSTM({ inputSize: 4, hiddenSize: 12, projSize: 5, seed: 3 }) },
  { name: "LSTM H=6 with peepholes", mode: "LSTM", I: 4, H: 6, peepholes: true, make: (l) => new l.LSTM({ inputSize: 4, hiddenSize: 6, peepholes: true, seed: 8 }) },
  { name: "LSTM H=10, input_forget, hardSigmoid / softsign, clip", mode: "LSTM", I: 3, H: 10, noReference: true, make: (l) => new l.LSTM({ inputSize: 3, hiddenSize: 10, inputForget: true, clip: 2, activations: [{ name: "hardSigmoid", alpha: 0.2, beta: 0.5 }, "softsign", "tanh"], seed: 10 }) },
  { name: "GRU H=9, hardSigmoid / leakyRelu", mode: "GRU", I: 3, H: 9, noReference: true, make: (l) => new l.GRU({ inputSize: 3, hiddenSize: 9, activations: ["hardSigmoid", { name: "leakyRelu", alpha: 0.3 }], seed: 11 }) },
  { name: "GRU H=64", mode: "GRU", I: 6, H: 64, make: (l) => new l.GRU({ inputSize: 6, hiddenSize: 64, seed: 4 }) },
  { name: "GRU H=5, 3 layers", mode: "GRU", I: 2, H: 5, layers: 3, make: (l) => new l.GRU({ inputSize: 2, hiddenSize: 5, numLayers: 3, seed: 5 }) },
  { name: "RNN tanh H=30", mode: "RNN_TANH", I: 4, H: 30, make: (l) => new l.RNN({ inputSize: 4, hiddenSize: 30, seed: 6 }) },
  { name: "RNN relu H=9", mode: "RNN_RELU", I: 4, H: 9, make: (l) => new l.RNN({ inputSize: 4, hiddenSize: 9, nonlinearity: "relu", seed: 7 }) },
];

for (const variant of [
  { name: "simd128", backend: "simd128" as Backend, threads: 1 },
  { name: "relaxed", backend: "relaxed" as Backend, threads: 1 },
  { name: "relaxed, threaded build on 2 threads", backend: "relaxed" as Backend, threads: 2 },
]) {
  describe(`batch-1 forward, ${variant.name}`, () => {
    let lib: Lib;
    beforeAll(async () => {
      vi.resetModules();
      lib = await import("../src/index.js");
      const info = await lib.init({ backend: variant.backend, threads: variant.threads });
      expect(info.backend).toBe(variant.backend);
      expect(info.threads, info.threadsFallback).toBe(variant.threads);
    });
    afterAll(async () => {
      await lib.shutdown();
    });

    for (const c of CASES) {
      it(`${c.name}: bit-identical to the row in a batch of two, and within float64's tolerance`, () => {
        const model = c.make(lib);
        try {
          const T = 11;
          const D = c.bidirectional ? 2 : 1;
          const LD = (c.layers ?? 1) * D;
          const P = c.P ?? c.H;
          const lstm = c.mode === "LSTM";
          const x1 = randn([T, 1, c.I], 40, 1.5);
          const h1 = randn([LD, 1, P], 41, 0.5);
          const c1 = lstm ? randn([LD, 1, c.H], 42, 0.5) : undefined;
          const one = model.forward(x1, { h0: h1, c0: c1 });

          // The same row twice: the batch of two takes the GEMM path.
          const twice = (t: { shape: number[]; data: Float32Array }, rows: number, n: number) => {
            const data = new Float32Array(rows * 2 * n);
            for (let r = 0; r < rows; r++) for (let b = 0; b < 2; b++) data.set(t.data.subarray(r * n, (r + 1) * n), (2 * r + b) * n);
            return { shape: [t.shape[0], 2, n], data };
          };
          const two = model.forward(twice(x1, T, c.I), { h0: twice(h1, LD, P), c0: c1 && twice(c1, LD, c.H) });
          const W = D * P;
          for (let t = 0; t < T; t++) {
            for (let j = 0; j < W; j++) {
              if (!Object.is(one.output.data[t * W + j], two.output.data[2 * t * W + j])) {
                throw new Error(`output[${t}][${j}]: ${one.output.data[t * W + j]} alone, ${two.output.data[2 * t * W + j]} in a batch of two`);
              }
            }
          }
          for (let r = 0; r < LD; r++) {
            for (let j = 0; j < P; j++) expect(Object.is(one.hN.data[r * P + j], two.hN.data[2 * r * P + j])).toBe(true);
          }

          if (c.noReference) return;
          const ref: RefConfig = { mode: c.mode, inputSize: c.I, hiddenSize: c.H, numLayers: c.layers ?? 1, bias: true, batchFirst: false, bidirectional: !!c.bidirectional, projSize: c.P ?? 0, peepholes: c.peepholes };
          const want = forward64(ref, model.stateDict(), x1, h1, c1);
          expect(maxAbsDiff(one.output.data, want.output)).toBeLessThanOrEqual(toleranceFor(want.output));
          expect(maxAbsDiff(one.hN.data, want.hN)).toBeLessThanOrEqual(toleranceFor(want.hN));
          if (want.cN) expect(maxAbsDiff(one.cN!.data, want.cN)).toBeLessThanOrEqual(toleranceFor(want.cN));
        } finally {
          model.dispose();
        }
      });
    }

    it("a stateful step at batch 1 equals the sequence forward", () => {
      const model = new lib.GRU({ inputSize: 3, hiddenSize: 20, numLayers: 2, seed: 9 });
      try {
        const x = randn([6, 1, 3], 50);
        const full = model.forward(x);
        const state = model.initialState(1);
        for (let t = 0; t < 6; t++) {
          const { output } = model.step({ shape: [1, 1, 3], data: x.data.subarray(3 * t, 3 * t + 3) }, state);
          for (let j = 0; j < 20; j++) expect(Object.is(output.data[j], full.output.data[20 * t + j])).toBe(true);
        }
      } finally {
        model.dispose();
      }
    });
  });
}
