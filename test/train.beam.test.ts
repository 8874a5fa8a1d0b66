import { beforeAll, describe, expect, it } from "vitest";
import { init, SequenceModel, type Tensor } from "../src/index.js";
import { CharLM } from "../src/char-lm/index.js";
import { sequenceBeamSearch } from "../src/beam-search/index.js";
import { expectRecurError } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// log p(seq | prime) by feeding the model's public parts one token at a time.
function logProb(model: SequenceModel, prime: number[], seq: number[]): number {
  const state = model.rnn.initialState(1);
  const feed = (t: number): Float32Array => {
    const x = model.embedding!.forward([t], [1]);
    const { output } = model.rnn.step(x as Tensor, state);
    return model.head.forward({ shape: [1, output.data.length], data: output.data }).data;
  };
  let logits = new Float32Array(0);
  for (const t of prime) logits = feed(t);
  let s = 0;
  for (const t of seq) {
    const m = Math.max(...logits);
    s += logits[t] - m - Math.log(logits.reduce((a, x) => a + Math.exp(x - m), 0));
    logits = feed(t);
  }
  return s;
}

describe("beam search for SequenceModel and CharLM", () => {
  it("as wide as the vocabulary it finds the most probable 2-token continuation; width 1 is greedy sampling", () => {
    const V = 5;
    const model = new SequenceModel({ cell: "LSTM", vocabSize: V, embeddingDim: 3, hiddenSize: 8, outputSize: V, seed: 4 });
    const prime = [1, 3];
    let best = { seq: [] as number[], lp: -Infinity };
    for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) {
      const lp = logProb(model, prime, [a, b]);
      if (lp > best.lp) best = { seq: [a, b], lp };
    }
    const [top] = sequenceBeamSearch(model, { prime, length: 2, width: V, lengthNormalization: 0 });
    expect(top.tokens).toEqual(best.seq);
    expect(Math.abs(top.logProb - best.lp)).toBeLessThan(1e-4);
    const [one] = sequenceBeamSearch(model, { prime, length: 6, width: 1 });
    expect(one.tokens).toEqual(model.sample({ prime, length: 6, topK: 1 }));
    expectRecurError(() => sequenceBeamSearch(model, { prime, length: 3, width: 0 }), "E_VALUE", "width");
    expectRecurError(() => sequenceBeamSearch(model, { prime: [1, 9], length: 3 }), "E_VALUE", "prime[1] = 9");
    model.dispose();
  });

  it("CharLM.beamSearch continues a learned text and stops at the stop character", async () => {
    const text = "one two three\n".repeat(40);
    const lm = CharLM.fromText(text, { hiddenSize: 32, embeddingDim: 8, seed: 1 });
    await lm.train({ text, steps: 80, seqLength: 16, batchSize: 8, lr: 1e-2 });
    expect(lm.beamSearch({ prime: "one ", length: 20, width: 3, stop: "\n" })).toBe("two three\n");
    expectRecurError(() => lm.beamSearch({ prime: "one", length: 5, stop: "z" }), "E_VALUE", "stop");
    lm.dispose();
  });
});
