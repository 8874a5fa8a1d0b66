// G v = Jᵀ H_L J v of SequenceModels of every cell kind against an explicit float64 product:
// J column by column from central differences of a float64 reference of the whole model
// (embedding, cell, head, learned initial states), H_L from the float64 softmax (or MSE's 2/n).
import { beforeAll, describe, expect, it } from "vitest";
import { init, SequenceModel, type SequenceModelOptions } from "../src/index.js";
import { runtime } from "../src/runtime.js";
import { gaussNewtonProduct } from "../src/hessian-free/index.js";
import { mrnnRef, torchRef, type Ref } from "./helpers/tangent-cases.js";
import { maxAbsDiff } from "./helpers/fixtures.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

const T = 3, B = 2, V = 4, E = 3, H = 5, O = 4;

interface Case {
  name: string;
  options: SequenceModelOptions;
  ref: Ref;
  prefix: string;
}

const base = { numLayers: 1, bias: true, batchFirst: false, bidirectional: false, projSize: 0 };
const cases: Case[] = [
  { name: "RNN", options: { cell: "RNN", vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "RNN_TANH", inputSize: E, hiddenSize: H, ...base }, T, B), prefix: "rnn" },
  { name: "LSTM", options: { cell: "LSTM", vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "LSTM", inputSize: E, hiddenSize: H, ...base }, T, B), prefix: "lstm" },
  { name: "GRU", options: { cell: "GRU", vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "GRU", inputSize: E, hiddenSize: H, ...base }, T, B), prefix: "gru" },
  { name: "MRNN", options: { cell: "MRNN", factorSize: 6, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: mrnnRef({ inputSize: E, hiddenSize: H, factorSize: 6, numLayers: 1, bidirectional: false, bias: true }, T, B), prefix: "mrnn" },
  { name: "LSTM with peepholes and a projection", options: { cell: "LSTM", peepholes: true, projSize: 3, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "LSTM", inputSize: E, hiddenSize: H, ...base, projSize: 3, peepholes: true }, T, B), prefix: "lstm" },
  { name: "GRU reset before", options: { cell: "GRU", resetAfter: false, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "GRU", inputSize: E, hiddenSize: H, ...base, resetAfter: false }, T, B), prefix: "gru" },
  { name: "LSTM, learned initial states", options: { cell: "LSTM", trainableInitialState: true, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: O }, ref: torchRef({ mode: "LSTM", inputSize: E, hiddenSize: H, ...base }, T, B), prefix: "lstm" },
  { name: "GRU reset before, learned initial state, MSE on the last state, real input", options: { cell: "GRU", resetAfter: false, trainableInitialState: true, inputSize: 2, hiddenSize: H, outputSize: 3, loss: "mse", outputs: "last" }, ref: torchRef({ mode: "GRU", inputSize: 2, hiddenSize: H, ...base, resetAfter: false }, T, B), prefix: "gru" },
  { name: "MRNN, MSE on the last state, real input", options: { cell: "MRNN", factorSize: 6, inputSize: 2, hiddenSize: H, outputSize: 3, loss: "mse", outputs: "last" }, ref: mrnnRef({ inputSize: 2, hiddenSize: H, factorSize: 6, numLayers: 1, bidirectional: false, bias: true }, T, B), prefix: "mrnn" },
];

// Where each parameter element sits in the flat vector over parameterRegions(): load 1, 2, 3, ...
// into a scratch model and read the regions back (0: padding).
function flatLayout(options: SequenceModelOptions): { name: string; index: number }[] {
  const scratch = new SequenceModel({ ...options, seed: 99 });
  const names: { name: string; index: number }[] = [];
  const sd = scratch.stateDict();
  for (const [name, t] of Object.entries(sd)) {
    t.data.forEach((_, i) => {
      names.push({ name, index: i });
      t.data[i] = names.length;
    });
  }
  scratch.loadStateDict(sd);
  const { heap } = runtime();
  const layout: { name: string; index: number }[] = [];
  for (const r of scratch.parameterRegions()) for (const w of heap.f32(r.params, r.floats)) layout.push(w === 0 ? { name: "", index: -1 } : names[w - 1]);
  scratch.dispose();
  return layout;
}

describe("gaussNewtonProduct against an explicit float64 Jᵀ H J v", () => {
  for (const c of cases) {
    it(c.name, () => {
      const model = new SequenceModel({ ...c.options, seed: 7 });
      try {
        const o = model.options;
        const tokens = o.vocabSize !== undefined;
        const ids = Int32Array.from({ length: T * B }, (_, i) => (i * 3 + 1) % V);
        const xReal = randn([T, B, 2], 5);
        const last = o.outputs === "last";
        const rows = last ? B : T * B;
        const target = o.loss === "mse" ? randn([rows, O === 4 && !last ? O : o.outputSize], 6) : { shape: [T, B], data: Int32Array.from({ length: T * B }, (_, i) => (i * 5 + 2) % O) };
        const batch = tokens ? { input: { shape: [T, B], data: ids }, target } : { input: xReal, target: { shape: [B, o.outputSize], data: target.data as Float32Array } };
        const p: Record<string, Float64Array> = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
        const I = tokens ? E : 2;
        const Hout = o.projSize || H;
        if (o.trainableInitialState) expect(p["initial.h0"]).toBeDefined();
        const logits = (): Float64Array => {
          const x = new Float64Array(T * B * I);
          for (let r = 0; r < T * B; r++) for (let j = 0; j < I; j++) x[r * I + j] = tokens ? p["embedding.weight"][ids[r] * E + j] : xReal.data[r * I + j];
          const cell = Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith(`${c.prefix}.`)).map(([k, val]) => [k.slice(c.prefix.length + 1), val]));
          // Learned initial states: one row per layer, the same for every sequence.
          const repeat = (row: Float64Array | undefined, n: number) => (row ? Float64Array.from({ length: B * n }, (_, i) => row[i % n]) : new Float64Array(B * n));
          const r = c.ref(cell, x, repeat(p["initial.h0"], Hout), c.prefix === "lstm" ? repeat(p["initial.c0"], H) : undefined);
          const feats = last ? r.hN : r.output;
          const W = p["head.weight"], b = p["head.bias"], Oo = o.outputSize;
          const z = new Float64Array(rows * Oo);
          for (let row = 0; row < rows; row++) for (let j = 0; j < Oo; j++) {
            let s = b[j];
            for (let k = 0; k < Hout; k++) s += W[j * Hout + k] * feats[row * Hout + k];
            z[row * Oo + j] = s;
          }
          return z;
        };
        const layout = flatLayout(c.options);
        const z0 = logits();
        const eps = 1e-6;
        const J: Float64Array[] = layout.map(({ name, index }) => {
          if (!name) return new Float64Array(z0.length);
          const old = p[name][index];
          p[name][index] = old + eps;
          const up = logits();
          p[name][index] = old - eps;
          const down = logits();
          p[name][index] = old;
          return up.map((u, i) => (u - down[i]) / (2 * eps));
        });
        const v = Float32Array.from(randn([layout.length], 8).data, (w, i) => (layout[i].name ? w : 0));
        const Jv = new Float64Array(z0.length);
        J.forEach((col, j) => col.forEach((a, i) => (Jv[i] += a * v[j])));
        const HJv = new Float64Array(z0.length);
        const Oo = o.outputSize;
        if (o.loss === "mse") for (let i = 0; i < z0.length; i++) HJv[i] = (2 * Jv[i]) / z0.length;
        else {
          for (let r = 0; r < rows; r++) {
            const row = z0.subarray(r * Oo, r * Oo + Oo);
            const m = Math.max(...row);
            const e = row.map((w) => Math.exp(w - m));
            const s = e.reduce((a, w) => a + w, 0);
            const pr = e.map((w) => w / s);
            const dot = pr.reduce((a, w, j) => a + w * Jv[r * Oo + j], 0);
            for (let j = 0; j < Oo; j++) HJv[r * Oo + j] = (pr[j] * (Jv[r * Oo + j] - dot)) / rows;
          }
        }
        const want = J.map((col) => col.reduce((a, w, i) => a + w * HJv[i], 0));
        const got = gaussNewtonProduct(model, batch, v).product;
        const scale = Math.max(...want.map(Math.abs));
        expect(scale).toBeGreaterThan(1e-3);
        expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(1e-4 * Math.max(1, scale) + 1e-6);
      } finally {
        model.dispose();
      }
    });
  }
});
