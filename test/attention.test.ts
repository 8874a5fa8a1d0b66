import { beforeAll, describe, expect, it } from "vitest";
import { init, type Tensor } from "../src/index.js";
import { AttentionDecoder } from "../src/attention/index.js";
import { attention64, type Problem64 } from "./reference/attention64.js";
import { randn } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// Odd sizes on purpose: H and A are not whole groups of 8, D and E not whole vectors.
const dims = { V: 7, D: 5, A: 6, E: 3, H: 9 };
const B = 3, L = 4, T = 3;
const mask = { shape: [B, L], data: Float32Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1]) };
const inputs = [[0, 3, 4], [0, 6, 1], [0, 2, 2]];
const targets = [[3, 4, 5], [6, 1, -1], [2, 2, 6]];

function makeDecoder(seed = 1): AttentionDecoder {
  return new AttentionDecoder({ vocabSize: dims.V, annotationSize: dims.D, attentionSize: dims.A, embeddingSize: dims.E, hiddenSize: dims.H, seed });
}

function problem(annotations: Tensor, lambda: number, h0?: Tensor): Problem64 {
  return { ...dims, B, L, T, annotations: annotations.data, mask: mask.data, inputs, targets, lambda, h0: h0?.data };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("AttentionDecoder against the float64 reference", () => {
  it("forward: logits and attention weights", () => {
    const dec = makeDecoder();
    const annotations = randn([B, L, dims.D], 2);
    const h0 = randn([B, dims.H], 3, 0.5);
    const out = dec.forward({ annotations, mask, h0 }, inputs);
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, t.data]));
    const ref = attention64(sd, problem(annotations, 0, h0));
    expect(out.logits.shape).toEqual([B, T, dims.V]);
    expect(out.attention.shape).toEqual([B, T, L]);
    expect(maxDiff(out.logits.data, ref.logits)).toBeLessThan(2e-5);
    expect(maxDiff(out.attention.data, ref.attention)).toBeLessThan(2e-6);
    dec.dispose();
  });

  it("gradients of every parameter, the annotations and h0 match finite differences (doubly stochastic term on)", () => {
    const dec = makeDecoder(4);
    const lambda = 0.3;
    const annotations = randn([B, L, dims.D], 5);
    const h0 = randn([B, dims.H], 6, 0.5);
    dec.zeroGrad();
    dec.forward({ annotations, mask, h0 }, inputs);
    const res = dec.backwardLoss(targets, { ignoreIndex: -1, doublyStochastic: lambda });
    const grads = dec.gradients();
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const a64 = Float64Array.from(annotations.data), h64 = Float64Array.from(h0.data);
    const q = { ...problem({ shape: annotations.shape, data: a64 as unknown as Float32Array }, lambda), h0: h64 };
    q.annotations = a64;
    const loss = (): number => attention64(sd, q).loss;
    expect(Math.abs(res.loss - loss())).toBeLessThan(1e-5);
    const eps = 1e-5;
    const fd = (x: Float64Array, i: number): number => {
      const keep = x[i];
      x[i] = keep + eps;
      const up = loss();
      x[i] = keep - eps;
      const down = loss();
      x[i] = keep;
      return (up - down) / (2 * eps);
    };
    const check = (name: string, x: Float64Array, g: ArrayLike<number>): void => {
      const num = Array.from(x, (_, i) => fd(x, i));
      const scale = Math.max(1e-3, ...num.map(Math.abs));
      expect(maxDiff(g, num) / scale, name).toBeLessThan(1e-4);
    };
    for (const [name, x] of Object.entries(sd)) check(name, x, grads[name].data);
    check("annotations", a64, res.annotations.data);
    check("h0", h64, res.h0.data);
    // Padding annotations get no gradient.
    for (let i = 0; i < dims.D; i++) expect(res.annotations.data[(1 * L + 2) * dims.D + i]).toBe(0);
    dec.dispose();
  });

  it("initialState \"mean\": gradients of init.* and the annotations through h0 = tanh(W mean + b) match finite differences", () => {
    const dec = new AttentionDecoder({ vocabSize: dims.V, annotationSize: dims.D, attentionSize: dims.A, embeddingSize: dims.E, hiddenSize: dims.H, initialState: "mean", seed: 21 });
    const annotations = randn([B, L, dims.D], 22);
    dec.zeroGrad();
    dec.forward({ annotations, mask }, inputs);
    const res = dec.backwardLoss(targets);
    const grads = dec.gradients();
    expect(Object.keys(grads)).toContain("init.weight");
    const sd = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const a64 = Float64Array.from(annotations.data);
    const q: Problem64 = { ...dims, B, L, T, annotations: a64, mask: mask.data, inputs, targets, lambda: 0 };
    const loss = (): number => attention64(sd, q).loss;
    expect(Math.abs(res.loss - loss())).toBeLessThan(1e-5);
    const eps = 1e-5;
    for (const [name, x, g] of [["init.weight", sd["init.weight"], grads["init.weight"].data], ["init.bias", sd["init.bias"], grads["init.bias"].data], ["annotations", a64, res.annotations.data]] as const) {
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
    // The state dict round-trips, init.* included.
    const copy = new AttentionDecoder({ vocabSize: dims.V, annotationSize: dims.D, attentionSize: dims.A, embeddingSize: dims.E, hiddenSize: dims.H, initialState: "mean", seed: 99 });
    copy.loadStateDict(dec.stateDict());
    expect(maxDiff(copy.forward({ annotations, mask }, inputs).logits.data, dec.forward({ annotations, mask }, inputs).logits.data)).toBe(0);
    copy.dispose();
    dec.dispose();
  });
});

describe("AttentionDecoder behaviour", () => {
  it("attention weights sum to 1 over the unmasked annotations and are 0 on masked ones", () => {
    const dec = makeDecoder();
    const { attention } = dec.forward({ annotations: randn([B, L, dims.D], 7), mask }, inputs);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let i = 0; i < L; i++) {
          const w = attention.data[(b * T + t) * L + i];
          if (mask.data[b * L + i] === 0) expect(w).toBe(0);
          else expect(w).toBeGreaterThan(0);
          s += w;
        }
        expect(Math.abs(s - 1)).toBeLessThan(1e-6);
      }
    }
    dec.dispose();
  });

  it("batched equals one by one, and step-by-step decoding equals teacher forcing", () => {
    const dec = makeDecoder(9);
    const annotations = randn([B, L, dims.D], 8);
    const all = dec.forward({ annotations, mask }, inputs);
    for (let b = 0; b < B; b++) {
      const one = { shape: [1, L, dims.D], data: annotations.data.slice(b * L * dims.D, (b + 1) * L * dims.D) };
      const m = { shape: [1, L], data: mask.data.slice(b * L, (b + 1) * L) };
      const r = dec.forward({ annotations: one, mask: m }, [inputs[b]]);
      expect(maxDiff(r.logits.data, all.logits.data.subarray(b * T * dims.V, (b + 1) * T * dims.V))).toBeLessThan(1e-5);
    }
    dec.beginDecoding({ annotations, mask }, 1);
    for (let t = 0; t < T; t++) {
      const { logits, attention } = dec.decodeStep(inputs.map((row) => row[t]));
      for (let b = 0; b < B; b++) {
        const want = all.logits.data.subarray((b * T + t) * dims.V, (b * T + t + 1) * dims.V);
        expect(maxDiff(logits.subarray(b * dims.V, (b + 1) * dims.V), want)).toBeLessThan(1e-5);
        expect(maxDiff(attention.subarray(b * L, (b + 1) * L), all.attention.data.subarray((b * T + t) * L, (b * T + t + 1) * L))).toBeLessThan(1e-6);
      }
    }
    dec.dispose();
  });

  it("bad input: a RecurError naming the argument, before any work", () => {
    const dec = makeDecoder();
    const annotations = randn([B, L, dims.D], 1);
    expectRecurError(() => dec.forward({ annotations: randn([B, L, dims.D + 1], 1) }, inputs), "E_SHAPE", "annotations", `[B, L, ${dims.D}]`);
    expectRecurError(() => dec.forward({ annotations: { shape: [B, 0, dims.D], data: new Float32Array(0) } }, inputs), "E_SHAPE", "L = 0");
    expectRecurError(() => dec.forward({ annotations, mask: { shape: [B, L + 1], data: new Float32Array(B * (L + 1)).fill(1) } }, inputs), "E_SHAPE", "mask");
    expectRecurError(() => dec.forward({ annotations, mask: { shape: [B, L], data: new Float32Array(B * L) } }, inputs), "E_VALUE", "mask row 0");
    expectRecurError(() => dec.forward({ annotations }, [[0, 1, 2], [0, 1, 7], [0, 1, 2]]), "E_VALUE", "inputs[1][2] = 7");
    expectRecurError(() => dec.forward({ annotations }, [[0, 1, 2], [0, 1]]), "E_SHAPE", "inputs");
    expectRecurError(() => dec.backwardLoss(targets), "E_STATE", "forward");
    dec.forward({ annotations }, inputs);
    expectRecurError(() => dec.backwardLoss([[1, 2, 3], [1, 2, 3], [1, 2, 9]]), "E_VALUE", "targets[2][2] = 9");
    dec.beginDecoding({ annotations }, 2);
    expectRecurError(() => dec.decodeStep([0, 0, 0]), "E_SHAPE", "6 ids");
    expectRecurError(() => dec.reorderRows([1, 0, 3, 2, 0, 5]), "E_VALUE", "parents[4]");
    dec.dispose();
  });
});

describe("decoding", () => {
  // log p(y | annotations) of every sequence of `n` tokens, by teacher forcing.
  function logProbOf(dec: AttentionDecoder, annotations: Tensor, start: number, seq: number[]): number {
    const { logits } = dec.forward({ annotations }, [[start, ...seq.slice(0, -1)]]);
    let s = 0;
    for (let t = 0; t < seq.length; t++) {
      const row = Array.from(logits.data.subarray(t * dims.V, (t + 1) * dims.V));
      const m = Math.max(...row);
      s += row[seq[t]] - m - Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    }
    return s;
  }

  it("beam search as wide as the vocabulary finds the most probable 2-token sequence; width 1 is greedy", () => {
    const dec = makeDecoder(11);
    const annotations = randn([1, L, dims.D], 12, 2);
    let best = { seq: [] as number[], lp: -Infinity };
    for (let a = 0; a < dims.V; a++) for (let b = 0; b < dims.V; b++) {
      const lp = logProbOf(dec, annotations, 0, [a, b]);
      if (lp > best.lp) best = { seq: [a, b], lp };
    }
    const [hyps] = dec.beamSearch({ annotations }, { start: 0, maxLength: 2, width: dims.V, lengthNormalization: 0 });
    expect(hyps[0].tokens).toEqual(best.seq);
    expect(Math.abs(hyps[0].logProb - best.lp)).toBeLessThan(1e-4);
    expect(hyps[0].attention).toHaveLength(2);
    const [greedy] = dec.greedy({ annotations }, { start: 0, maxLength: 4 });
    const [[one]] = dec.beamSearch({ annotations }, { start: 0, maxLength: 4, width: 1 });
    expect(one.tokens).toEqual(greedy.tokens);
    expect(Math.abs(one.logProb - greedy.logProb)).toBeLessThan(1e-5);
    dec.dispose();
  });

  it("beam search over a batch of sources equals beam search over each alone", () => {
    const dec = makeDecoder(15);
    const annotations = randn([B, L, dims.D], 16, 2);
    const all = dec.beamSearch({ annotations, mask }, { start: 0, end: 6, maxLength: 5, width: 3 });
    for (let b = 0; b < B; b++) {
      const one = { annotations: { shape: [1, L, dims.D], data: annotations.data.slice(b * L * dims.D, (b + 1) * L * dims.D) }, mask: { shape: [1, L], data: mask.data.slice(b * L, (b + 1) * L) } };
      const [alone] = dec.beamSearch(one, { start: 0, end: 6, maxLength: 5, width: 3 });
      expect(all[b].map((h) => h.tokens)).toEqual(alone.map((h) => h.tokens));
      for (let i = 0; i < alone.length; i++) expect(Math.abs(all[b][i].score - alone[i].score)).toBeLessThan(1e-5);
    }
    dec.dispose();
  });

  it("greedy stops rows at the end token; sampling is seeded and becomes greedy as the temperature goes to 0", () => {
    const dec = makeDecoder(13);
    const annotations = randn([B, L, dims.D], 14, 2);
    const greedy = dec.greedy({ annotations, mask }, { start: 0, maxLength: 6 });
    const end = greedy[0].tokens[1];
    const stopped = dec.greedy({ annotations, mask }, { start: 0, end, maxLength: 6 });
    expect(stopped[0].tokens).toEqual(greedy[0].tokens.slice(0, greedy[0].tokens.indexOf(end) + 1));
    for (let b = 1; b < B; b++) expect(stopped[b].tokens.length).toBeLessThanOrEqual(6);
    const cold = dec.sample({ annotations, mask }, { start: 0, maxLength: 6, temperature: 1e-4, seed: 3 });
    expect(cold.map((h) => h.tokens)).toEqual(greedy.map((h) => h.tokens));
    const a = dec.sample({ annotations, mask }, { start: 0, maxLength: 6, temperature: 2, seed: 5 });
    const b = dec.sample({ annotations, mask }, { start: 0, maxLength: 6, temperature: 2, seed: 5 });
    expect(a.map((h) => h.tokens)).toEqual(b.map((h) => h.tokens));
    dec.dispose();
  });

  it("bad decoding options: a RecurError naming them", () => {
    const dec = makeDecoder();
    const annotations = randn([1, L, dims.D], 1);
    expectRecurError(() => dec.beamSearch({ annotations }, { start: 0, maxLength: 3, width: 0 }), "E_VALUE", "width");
    expectRecurError(() => dec.beamSearch({ annotations }, { start: dims.V, maxLength: 3 }), "E_VALUE", "start");
    expectRecurError(() => dec.greedy({ annotations }, { start: 0, maxLength: 0 }), "E_VALUE", "maxLength");
    expectRecurError(() => dec.sample({ annotations }, { start: 0, maxLength: 2, temperature: 0 }), "E_VALUE", "temperature");
    dec.dispose();
  });
});
