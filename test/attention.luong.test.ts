/**
 * Luong et al.'s multiplicative scores ("dot", "general") against the float64 reference and
 * finite differences, as test/attention.test.ts does for the additive score.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { AttentionDecoder, Seq2Seq } from "../src/attention/index.js";
import { queriesCheaper } from "../src/attention/layout.js";
import { attention64, type Problem64 } from "./reference/attention64.js";
import { randn } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// Odd sizes: H is not a whole group of 8; "dot" needs D = H.
const B = 3, L = 4, T = 3, V = 7, E = 3, H = 9;
const mask = { shape: [B, L], data: Float32Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1]) };
const inputs = [[0, 3, 4], [0, 6, 1], [0, 2, 2]];
const targets = [[3, 4, 5], [6, 1, -1], [2, 2, 6]];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// "general" trains against the queries W_aᵀ h_{t-1} where they cost less than the keys W_a a_i
// (D = 5 here), else against the keys (D = 48: the queries' T products of D x H outweigh).
describe.each([
  ["dot", H, "queries"],
  ["general", 5, "queries"],
  ["general", 48, "keys"],
] as const)("score %s, D = %i, training against the %s", (score, D, form) => {
  const make = (seed: number): AttentionDecoder => new AttentionDecoder({ vocabSize: V, annotationSize: D, embeddingSize: E, hiddenSize: H, score, seed });

  it("the training form this case is meant to check", () => {
    // "dot" has no keys and always scores the annotations: the choice is "general"'s alone.
    const queries = queriesCheaper({ V, D, A: H, E, H, score, cell: "gru", output: "shallow" }, T, L);
    expect(queries).toBe(score === "general" && form === "queries");
  });

  it("parameters: only what the score needs", () => {
    const dec = make(1);
    const names = Object.keys(dec.stateDict()).filter((k) => k.startsWith("attention."));
    expect(names).toEqual(score === "dot" ? [] : ["attention.key.weight"]);
    if (score === "general") expect(dec.stateDict()["attention.key.weight"].shape).toEqual([H, D]);
    dec.dispose();
  });

  it("forward matches the reference; every gradient matches finite differences", () => {
    const dec = make(4);
    const lambda = 0.3;
    const annotations = randn([B, L, D], 5);
    const h0 = randn([B, H], 6, 0.8);
    const out = dec.forward({ annotations, mask, h0 }, inputs);
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const a64 = Float64Array.from(annotations.data), h64 = Float64Array.from(h0.data);
    const q: Problem64 = { V, D, A: H, E, H, B, L, T, annotations: a64, mask: mask.data, inputs, targets, lambda, h0: h64, score };
    const ref = attention64(sd, q);
    expect(maxDiff(out.logits.data, ref.logits)).toBeLessThan(2e-5);
    expect(maxDiff(out.attention.data, ref.attention)).toBeLessThan(2e-6);
    // The scores depend on h_{t-1}: the weights differ from step to step.
    expect(maxDiff(out.attention.data.subarray(0, L), out.attention.data.subarray(L, 2 * L))).toBeGreaterThan(1e-3);
    dec.zeroGrad();
    const res = dec.backwardLoss(targets, { ignoreIndex: -1, doublyStochastic: lambda });
    const grads = dec.gradients();
    const loss = (): number => attention64(sd, q).loss;
    expect(Math.abs(res.loss - loss())).toBeLessThan(1e-5);
    const eps = 1e-5;
    const check = (name: string, x: Float64Array, g: ArrayLike<number>): void => {
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
    };
    for (const [name, x] of Object.entries(sd)) check(name, x, grads[name].data);
    check("annotations", a64, res.annotations.data);
    check("h0", h64, res.h0.data);
    dec.dispose();
  });

  it("beam search of width 1 is greedy decoding", () => {
    const dec = make(7);
    const annotations = randn([B, L, D], 8);
    const greedy = dec.greedy({ annotations, mask }, { start: 0, end: 6, maxLength: 5 });
    const beam = dec.beamSearch({ annotations, mask }, { start: 0, end: 6, maxLength: 5, width: 1 });
    expect(beam.map((h) => h[0].tokens)).toEqual(greedy.map((h) => h.tokens));
    dec.dispose();
  });
});

describe("multiplicative scores: options", () => {
  it("dot with annotationSize ≠ hiddenSize, an attentionSize, an unknown score: RecurError", () => {
    expectRecurError(() => new AttentionDecoder({ vocabSize: V, annotationSize: 5, hiddenSize: H, score: "dot" }), "E_SHAPE", "annotationSize");
    expectRecurError(() => new AttentionDecoder({ vocabSize: V, annotationSize: 5, hiddenSize: H, attentionSize: 4, score: "general" }), "E_VALUE", "attentionSize");
    expectRecurError(() => new AttentionDecoder({ vocabSize: V, annotationSize: 5, hiddenSize: H, score: "cosine" as "dot" }), "E_VALUE", "score");
  });

  it("Seq2Seq passes score to its decoder; dot needs hiddenSize = 2 * encoderHiddenSize", () => {
    const m = new Seq2Seq({ sourceVocab: 5, targetVocab: 6, startToken: 4, endToken: 5, embeddingSize: 4, encoderHiddenSize: 4, hiddenSize: 8, score: "dot", seed: 1 });
    expect(m.decoder.dims.score).toBe("dot");
    expect(Object.keys(m.stateDict()).filter((k) => k.startsWith("decoder.attention."))).toEqual([]);
    m.zeroGrad();
    const loss = m.lossAndGrad([[0, 1, 2], [3, 1]], [[2, 1, 0], [1, 3]]);
    expect(loss).toBeGreaterThan(0);
    // The scores' gradient reaches the encoder.
    expect(Object.values(m.encoder.gradients()).some((t) => t.data.some((v) => v !== 0))).toBe(true);
    m.dispose();
    expectRecurError(() => new Seq2Seq({ sourceVocab: 5, targetVocab: 6, startToken: 4, endToken: 5, encoderHiddenSize: 4, hiddenSize: 9, score: "dot" }), "E_SHAPE", "encoderHiddenSize");
    expectRecurError(() => new Seq2Seq({ sourceVocab: 5, targetVocab: 6, startToken: 4, endToken: 5, hiddenSize: 8, attentionSize: 4, score: "general" }), "E_VALUE", "attentionSize");
  });
});
