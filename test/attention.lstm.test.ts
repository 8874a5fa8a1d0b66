/**
 * The LSTM decoder step and the deep output layer against the float64 reference and finite
 * differences (every parameter, the annotations, h0 and c0), as test/attention.test.ts does for
 * the GRU with the shallow output; plus batching, step-by-step decoding, beam width 1 = greedy,
 * and the doubly stochastic term's padding rule.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { init, type Tensor } from "../src/index.js";
import { AttentionDecoder, type AttentionDecoderOptions } from "../src/attention/index.js";
import { attention64, type Problem64 } from "./reference/attention64.js";
import { randn } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// Odd sizes on purpose: H and A are not whole groups of 8, D and E not whole vectors.
const V = 7, D = 5, A = 6, E = 3, H = 9, B = 3, L = 4, T = 3;
const mask = { shape: [B, L], data: Float32Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1]) };
const inputs = [[0, 3, 4], [0, 6, 1], [0, 2, 2]];
const targets = [[3, 4, 5], [6, 1, -1], [2, 2, 6]];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

type Variant = Pick<AttentionDecoderOptions, "cell" | "output" | "score">;
const make = (v: Variant, seed: number, extra: Partial<AttentionDecoderOptions> = {}): AttentionDecoder =>
  new AttentionDecoder({ vocabSize: V, annotationSize: v.score === "dot" ? H : D, attentionSize: v.score && v.score !== "additive" ? H : A, embeddingSize: E, hiddenSize: H, seed, ...v, ...extra });

// Central differences of the reference loss in every entry of x, against g (relative to the largest).
function checkGradient(name: string, x: Float64Array, g: ArrayLike<number>, loss: () => number): void {
  const eps = 1e-5;
  const num = Array.from(x, (_, i) => {
    const keep = x[i];
    x[i] = keep + eps;
    const up = loss();
    x[i] = keep - eps;
    const down = loss();
    x[i] = keep;
    return (up - down) / (2 * eps);
  });
  const scale = Math.max(1e-3, ...num.map(Math.abs));
  expect(maxDiff(g, num) / scale, name).toBeLessThan(1e-4);
}

const variants: [string, Variant][] = [
  ["LSTM, shallow output", { cell: "lstm" }],
  ["LSTM, deep output", { cell: "lstm", output: "deep" }],
  ["GRU, deep output", { cell: "gru", output: "deep" }],
  ["LSTM, general score, deep output", { cell: "lstm", output: "deep", score: "general" }],
];

describe.each(variants)("%s", (_, v) => {
  const lstm = v.cell === "lstm", Da = v.score === "dot" ? H : D, Aa = v.score && v.score !== "additive" ? H : A;

  it("parameters: PyTorch's LSTMCell shapes (gates i, f, g, o) and the deep layer's", () => {
    const dec = make(v, 1);
    const sd = dec.stateDict();
    const G = (lstm ? 4 : 3) * H;
    expect(sd["cell.weight_ih"].shape).toEqual([G, E + Da]);
    expect(sd["cell.weight_hh"].shape).toEqual([G, H]);
    expect(sd["cell.bias_ih"].shape).toEqual([G]);
    expect(sd["cell.bias_hh"].shape).toEqual([G]);
    if (v.output === "deep") {
      expect(sd["deep.context.weight"].shape).toEqual([E, Da]);
      expect(sd["deep.hidden.weight"].shape).toEqual([E, H]);
      expect(sd["deep.bias"].shape).toEqual([E]);
      expect(sd["out.weight"].shape).toEqual([V, E]);
    } else expect(Object.keys(sd).some((k) => k.startsWith("deep."))).toBe(false);
    expect(dec.parameterShapes()).toEqual(Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape])));
    dec.dispose();
  });

  it("forward matches the reference; every gradient (parameters, annotations, h0, c0) matches finite differences", () => {
    const dec = make(v, 4);
    const lambda = 0.3;
    const annotations = randn([B, L, Da], 5);
    const h0 = randn([B, H], 6, 0.5);
    const c0 = lstm ? randn([B, H], 7, 0.5) : undefined;
    const out = dec.forward({ annotations, mask, h0, c0 }, inputs);
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const a64 = Float64Array.from(annotations.data), h64 = Float64Array.from(h0.data), c64 = c0 ? Float64Array.from(c0.data) : undefined;
    const q: Problem64 = { V, D: Da, A: Aa, E, H, B, L, T, annotations: a64, mask: mask.data, inputs, targets, lambda, h0: h64, c0: c64, ...v };
    const ref = attention64(sd, q);
    expect(maxDiff(out.logits.data, ref.logits)).toBeLessThan(2e-5);
    expect(maxDiff(out.attention.data, ref.attention)).toBeLessThan(2e-6);
    dec.zeroGrad();
    const res = dec.backwardLoss(targets, { ignoreIndex: -1, doublyStochastic: lambda });
    const grads = dec.gradients();
    const loss = (): number => attention64(sd, q).loss;
    expect(Math.abs(res.loss - loss())).toBeLessThan(1e-5);
    for (const [name, x] of Object.entries(sd)) checkGradient(name, x, grads[name].data, loss);
    checkGradient("annotations", a64, res.annotations.data, loss);
    checkGradient("h0", h64, res.h0.data, loss);
    if (lstm) checkGradient("c0", c64!, res.c0!.data, loss);
    else expect(res.c0).toBeUndefined();
    dec.dispose();
  });

  it("batched equals one by one; step-by-step decoding equals teacher forcing; beam width 1 is greedy", () => {
    const dec = make(v, 9);
    const annotations = randn([B, L, Da], 8);
    const all = dec.forward({ annotations, mask }, inputs);
    for (let b = 0; b < B; b++) {
      const one = { shape: [1, L, Da], data: annotations.data.slice(b * L * Da, (b + 1) * L * Da) };
      const m = { shape: [1, L], data: mask.data.slice(b * L, (b + 1) * L) };
      const r = dec.forward({ annotations: one, mask: m }, [inputs[b]]);
      expect(maxDiff(r.logits.data, all.logits.data.subarray(b * T * V, (b + 1) * T * V))).toBeLessThan(1e-5);
    }
    dec.beginDecoding({ annotations, mask }, 1);
    for (let t = 0; t < T; t++) {
      const { logits } = dec.decodeStep(inputs.map((row) => row[t]));
      for (let b = 0; b < B; b++) expect(maxDiff(logits.subarray(b * V, (b + 1) * V), all.logits.data.subarray((b * T + t) * V, (b * T + t + 1) * V))).toBeLessThan(1e-5);
    }
    const input = { annotations: randn([B, L, Da], 12, 2), mask };
    const greedy = dec.greedy(input, { start: 0, maxLength: 5 });
    const beams = dec.beamSearch(input, { start: 0, maxLength: 5, width: 1 });
    for (let b = 0; b < B; b++) {
      expect(beams[b][0].tokens).toEqual(greedy[b].tokens);
      expect(Math.abs(beams[b][0].logProb - greedy[b].logProb)).toBeLessThan(1e-5);
    }
    dec.dispose();
  });
});

describe("LSTM decoder", () => {
  it("initialState \"mean\": h0 and c0 from the mean annotation (init.*, init_c.*), gradients match finite differences", () => {
    const dec = make({ cell: "lstm" }, 21, { initialState: "mean" });
    const annotations = randn([B, L, D], 22);
    dec.zeroGrad();
    dec.forward({ annotations, mask }, inputs);
    const res = dec.backwardLoss(targets);
    const grads = dec.gradients();
    expect(Object.keys(grads)).toEqual(expect.arrayContaining(["init.weight", "init.bias", "init_c.weight", "init_c.bias"]));
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const a64 = Float64Array.from(annotations.data);
    const q: Problem64 = { V, D, A, E, H, B, L, T, annotations: a64, mask: mask.data, inputs, targets, lambda: 0, cell: "lstm" };
    const loss = (): number => attention64(sd, q).loss;
    expect(Math.abs(res.loss - loss())).toBeLessThan(1e-5);
    for (const name of ["init.weight", "init.bias", "init_c.weight", "init_c.bias"]) checkGradient(name, sd[name], grads[name].data, loss);
    checkGradient("annotations", a64, res.annotations.data, loss);
    // The state dict round-trips, init_c.* included.
    const copy = make({ cell: "lstm" }, 99, { initialState: "mean" });
    copy.loadStateDict(dec.stateDict());
    expect(maxDiff(copy.forward({ annotations, mask }, inputs).logits.data, dec.forward({ annotations, mask }, inputs).logits.data)).toBe(0);
    copy.dispose();
    dec.dispose();
  });

  it("beam search carries the cell state: a batch of sources equals each source alone", () => {
    const dec = make({ cell: "lstm", output: "deep" }, 15);
    const annotations = randn([B, L, D], 16, 2);
    const all = dec.beamSearch({ annotations, mask }, { start: 0, end: 6, maxLength: 5, width: 3 });
    for (let b = 0; b < B; b++) {
      const one = { annotations: { shape: [1, L, D], data: annotations.data.slice(b * L * D, (b + 1) * L * D) }, mask: { shape: [1, L], data: mask.data.slice(b * L, (b + 1) * L) } };
      const [alone] = dec.beamSearch(one, { start: 0, end: 6, maxLength: 5, width: 3 });
      expect(all[b].map((h) => h.tokens)).toEqual(alone.map((h) => h.tokens));
      for (let i = 0; i < alone.length; i++) expect(Math.abs(all[b][i].score - alone[i].score)).toBeLessThan(1e-5);
    }
    dec.dispose();
  });

  it("bad input: c0 on a GRU decoder, a c0 of the wrong shape, an unknown cell or output", () => {
    const gru = make({}, 1), lstm = make({ cell: "lstm" }, 1);
    const annotations = randn([B, L, D], 1);
    expectRecurError(() => gru.forward({ annotations, c0: randn([B, H], 2) }, inputs), "E_VALUE", "c0");
    expectRecurError(() => lstm.forward({ annotations, c0: randn([B, H + 1], 2) }, inputs), "E_SHAPE", "c0");
    expectRecurError(() => make({ cell: "rnn" as "gru" }, 1), "E_VALUE", "cell");
    expectRecurError(() => make({ output: "wide" as "deep" }, 1), "E_VALUE", "output");
    gru.dispose();
    lstm.dispose();
  });
});

describe("beam search's shared rows", () => {
  // Beam rows continuing one hypothesis share their products and attention in Wasm (and the first
  // step runs once per source): every returned hypothesis must still score as teacher forcing does.
  it.each([["gru", "additive"], ["lstm", "general"]] as const)("%s / %s: each hypothesis' logProb and attention rows equal teacher forcing's", (cell, score) => {
    const dec = make({ cell, score }, 41);
    const annotations = randn([2, L, D], 42, 2);
    const m2 = { shape: [2, L], data: mask.data.slice(0, 2 * L) };
    const all = dec.beamSearch({ annotations, mask: m2 }, { start: 0, maxLength: 4, width: 3 });
    for (let s = 0; s < 2; s++) {
      const one = { annotations: { shape: [1, L, D], data: annotations.data.slice(s * L * D, (s + 1) * L * D) }, mask: { shape: [1, L], data: m2.data.slice(s * L, (s + 1) * L) } };
      expect(all[s].length).toBe(3);
      for (const h of all[s]) {
        const { logits, attention } = dec.forward(one, [[0, ...h.tokens.slice(0, -1)]]);
        let lp = 0;
        for (let t = 0; t < h.tokens.length; t++) {
          const row = Array.from(logits.data.subarray(t * V, (t + 1) * V));
          const mx = Math.max(...row);
          lp += row[h.tokens[t]] - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
          expect(maxDiff(h.attention![t], attention.data.subarray(t * L, (t + 1) * L))).toBeLessThan(1e-5);
        }
        expect(Math.abs(lp - h.logProb)).toBeLessThan(1e-4);
      }
    }
    dec.dispose();
  });
});

describe("beam search's context table", () => {
  // Beam rows take the context's gate inputs from W_ih,z a_i of every annotation: what a masked
  // annotation holds, even NaN, must not reach any hypothesis.
  it("masked annotations holding NaN change no hypothesis", () => {
    const dec = make({ cell: "lstm", score: "general" }, 43);
    const clean = randn([B, L, D], 44, 2);
    const dirty = { shape: clean.shape, data: clean.data.slice() };
    for (let i = 0; i < B * L; i++) if (mask.data[i] === 0) dirty.data.fill(NaN, i * D, (i + 1) * D);
    const a = dec.beamSearch({ annotations: clean, mask }, { start: 0, maxLength: 4, width: 3 });
    const b = dec.beamSearch({ annotations: dirty, mask }, { start: 0, maxLength: 4, width: 3 });
    expect(b.map((hs) => hs.map((h) => h.tokens))).toEqual(a.map((hs) => hs.map((h) => h.tokens)));
    for (let s = 0; s < B; s++) for (let k = 0; k < a[s].length; k++) expect(b[s][k].logProb).toBe(a[s][k].logProb);
    dec.dispose();
  });
});

describe("doubly stochastic term", () => {
  it("counts only the real target steps: padding steps appended to every row change neither the loss nor any gradient", () => {
    const dec = make({ cell: "lstm" }, 31);
    const annotations = randn([B, L, D], 32);
    const run = (ins: number[][], tgs: number[][]): { loss: number; grads: Record<string, Tensor>; annotations: Tensor } => {
      dec.zeroGrad();
      dec.forward({ annotations, mask }, ins);
      const r = dec.backwardLoss(tgs, { doublyStochastic: 0.5 });
      return { loss: r.loss, grads: dec.gradients(), annotations: r.annotations };
    };
    const short = run(inputs, targets);
    const long = run(inputs.map((r) => [...r, 1, 2]), targets.map((r) => [...r, -1, -1]));
    expect(Math.abs(short.loss - long.loss)).toBeLessThan(1e-6);
    expect(maxDiff(short.annotations.data, long.annotations.data)).toBeLessThan(1e-6);
    for (const [k, g] of Object.entries(short.grads)) expect(maxDiff(g.data, long.grads[k].data), k).toBeLessThan(1e-6);
    dec.dispose();
  });
});
