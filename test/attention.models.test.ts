import { beforeAll, describe, expect, it } from "vitest";
import { Adam, clipGradNorm, createRng, init } from "../src/index.js";
import { Captioner, Seq2Seq } from "../src/attention/index.js";
import { randn } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

describe("Seq2Seq", () => {
  it("learns to reverse sequences of varying length through the bidirectional encoder; beam search decodes them too", () => {
    const m = new Seq2Seq({ sourceVocab: 6, targetVocab: 8, startToken: 6, endToken: 7, embeddingSize: 16, encoderHiddenSize: 32, hiddenSize: 32, seed: 1 });
    const opt = new Adam(m, { lr: 1e-2 });
    const rng = createRng(2);
    const batch = (B: number): [number[][], number[][]] => {
      const s = Array.from({ length: B }, () => Array.from({ length: 2 + rng.int(5) }, () => rng.int(6)));
      return [s, s.map((x) => [...x].reverse())];
    };
    let first = 0, loss = 0;
    for (let i = 0; i < 200; i++) {
      const [s, t] = batch(32);
      m.zeroGrad();
      loss = m.lossAndGrad(s, t);
      if (i === 0) {
        first = loss;
        // The annotations' gradient reaches the encoder and the source embedding.
        for (const g of [m.encoder.gradients(), m.embedding.gradients()]) expect(Object.values(g).some((t) => t.data.some((v) => v !== 0))).toBe(true);
      }
      clipGradNorm(m, 5);
      opt.step();
    }
    expect(loss).toBeLessThan(first / 10);
    const [s, t] = batch(100);
    const exact = (hyps: { tokens: number[] }[]): number => hyps.filter((h, i) => JSON.stringify(h.tokens) === JSON.stringify([...t[i], 7])).length / s.length;
    expect(exact(m.translate(s))).toBeGreaterThan(0.85);
    expect(exact(m.translate(s, { beamWidth: 3 }))).toBeGreaterThan(0.85);
    expectRecurError(() => m.translate([[1, 2], []]), "E_SHAPE", "sources[1]", "L = 0");
    expectRecurError(() => m.translate([[1, 2]], { beamWidth: 0 }), "E_VALUE", "beamWidth");
    expectRecurError(() => m.translate([[1, 9]]), "E_VALUE", "9");
    m.dispose();
  });

  it("cell \"lstm\" and output \"deep\" reach the decoder: LSTMCell-shaped weights, and it learns to reverse", () => {
    const m = new Seq2Seq({ sourceVocab: 6, targetVocab: 8, startToken: 6, endToken: 7, embeddingSize: 16, encoderHiddenSize: 16, hiddenSize: 32, cell: "lstm", output: "deep", seed: 3 });
    const sd = m.stateDict();
    expect(sd["decoder.cell.weight_hh"].shape).toEqual([128, 32]);
    expect(sd["decoder.out.weight"].shape).toEqual([8, 16]);
    const opt = new Adam(m, { lr: 1e-2 });
    const rng = createRng(4);
    let first = 0, last = 0;
    for (let i = 0; i < 150; i++) {
      const s = Array.from({ length: 16 }, () => Array.from({ length: 2 + rng.int(4) }, () => rng.int(6)));
      m.zeroGrad();
      const loss = m.lossAndGrad(s, s.map((x) => [...x].reverse()));
      if (i === 0) first = loss;
      if (i >= 140) last += loss / 10;
      clipGradNorm(m, 5);
      opt.step();
    }
    expect(last).toBeLessThan(first / 3);
    expect(m.translate([[1, 2, 3]], { beamWidth: 2 })[0].tokens.length).toBeGreaterThan(0);
    expectRecurError(() => new Seq2Seq({ sourceVocab: 6, targetVocab: 8, startToken: 6, endToken: 7, output: "wide" as "deep" }), "E_VALUE", "output");
    opt.dispose();
    m.dispose();
  });
});

describe("Captioner", () => {
  it("the patch layer's gradient matches finite differences of the loss through tanh and the decoder", () => {
    const c = new Captioner({ patchSize: 5, vocabSize: 6, startToken: 4, endToken: 5, annotationSize: 8, hiddenSize: 16, seed: 3 });
    const patches = randn([2, 4, 5], 4);
    const captions = [[0, 1, 2], [3, 3]];
    c.zeroGrad();
    c.lossAndGrad(patches, captions);
    const g = c.features.gradients()["weight"].data;
    const sd = c.features.stateDict();
    const lossAt = (): number => {
      c.features.loadStateDict(sd);
      c.zeroGrad();
      return c.lossAndGrad(patches, captions);
    };
    const eps = 1e-2;
    for (const i of [0, 7, 13, 22, 39]) {
      const keep = sd.weight.data[i];
      sd.weight.data[i] = keep + eps;
      const up = lossAt();
      sd.weight.data[i] = keep - eps;
      const down = lossAt();
      sd.weight.data[i] = keep;
      expect(Math.abs((up - down) / (2 * eps) - g[i])).toBeLessThan(2e-3 + 0.02 * Math.abs(g[i]));
    }
    const [h] = c.caption(patches, { maxLength: 5 });
    expect(h.attention!.length).toBe(h.tokens.length);
    expectRecurError(() => c.caption(randn([2, 4, 6], 1)), "E_SHAPE", "patches", "[B, L, 5]");
    c.dispose();
  });

  it("takes the decoder's score, cell, output and initial state: a general-score LSTM with deep output learns to name the marked patches", () => {
    const c = new Captioner({ patchSize: 4, vocabSize: 6, startToken: 4, endToken: 5, annotationSize: 12, hiddenSize: 16, embeddingSize: 8, score: "general", cell: "lstm", output: "deep", initialState: "mean", seed: 5 });
    const keys = Object.keys(c.stateDict());
    expect(keys).toEqual(expect.arrayContaining(["decoder.attention.key.weight", "decoder.deep.context.weight", "decoder.init_c.weight"]));
    expect(keys).not.toContain("decoder.attention.v");
    expect(c.stateDict()["decoder.cell.weight_hh"].shape).toEqual([64, 16]);
    // Four patches; the caption names, in order, the patches whose first feature is set.
    const rng = createRng(6);
    const batch = (B: number): [{ shape: number[]; data: Float32Array }, number[][]] => {
      const data = new Float32Array(B * 16), caps: number[][] = [];
      for (let b = 0; b < B; b++) {
        const cap: number[] = [];
        for (let i = 0; i < 4; i++) {
          for (let j = 1; j < 4; j++) data[(b * 4 + i) * 4 + j] = rng.normal() * 0.3;
          if (rng.next() < 0.5) {
            data[(b * 4 + i) * 4] = 1;
            cap.push(i);
          }
        }
        caps.push(cap);
      }
      return [{ shape: [B, 4, 4], data }, caps];
    };
    const opt = new Adam(c, { lr: 1e-2 });
    let first = 0, last = 0;
    for (let i = 0; i < 250; i++) {
      const [p, caps] = batch(16);
      c.zeroGrad();
      const loss = c.lossAndGrad(p, caps, { doublyStochastic: 0.01 });
      if (i === 0) first = loss;
      if (i >= 230) last += loss / 20;
      opt.step();
    }
    expect(last).toBeLessThan(first / 3);
    opt.dispose();
    c.dispose();
    expectRecurError(() => new Captioner({ patchSize: 4, vocabSize: 6, startToken: 4, endToken: 5, annotationSize: 12, hiddenSize: 16, score: "dot" }), "E_SHAPE", "dot");
    expectRecurError(() => new Captioner({ patchSize: 4, vocabSize: 6, startToken: 4, endToken: 5, cell: "rnn" as "gru" }), "E_VALUE", "cell");
  });
});
