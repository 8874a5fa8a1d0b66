// Decoding a token model step by step: greedy, sampling with temperature, and beam search with
// length normalisation. Every model that can extend some rows of hypotheses by one token (the
// attention decoder, SequenceModel, CharLM) is a TokenStepper; the search is written once.
import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { sampleLogits } from "./sampling.js";
import { integer, number } from "../validate.js";

/** A model that extends `rows` hypotheses by one token each. */
export interface TokenStepper {
  /** Tokens the model scores. */
  readonly vocabSize: number;
  /** Hypotheses it holds. */
  readonly rows: number;
  /** Feeds one token per row; returns the next-token logits [rows * vocabSize]. */
  step(tokens: Int32Array): Float32Array;
  /** Row r continues from the state row parents[r] had. */
  reorder(parents: Int32Array): void;
  /** After `step`: what each row attended to, [rows * width] (attention models only). */
  attention?(): Float32Array | undefined;
}

/** Options of greedy and sampled decoding. */
export interface DecodeOptions {
  /** Token fed first (start of sequence). Required. */
  start: number;
  /** Token that ends a hypothesis (kept in the output). Default: none, every row runs maxLength steps. */
  end?: number;
  /** Most tokens generated per row. Required. */
  maxLength: number;
  /** Sampling only: logits are divided by it. Default 1. */
  temperature?: number;
  /** Sampling only: keep only the k most likely tokens (0: all). Default 0. */
  topK?: number;
  /** Sampling only: seed of the draws. Default 0. */
  seed?: number;
}

/** Options of beam search. */
export interface BeamOptions {
  /** Token fed first. Required. */
  start: number;
  /** Token that ends a hypothesis. Default: none (hypotheses run maxLength steps). */
  end?: number;
  /** Most tokens per hypothesis. Required. */
  maxLength: number;
  /** Hypotheses kept at every step (>= 1). Default 4. */
  width?: number;
  /**
   * α of the length normalisation: a finished hypothesis of n tokens ranks by log p / n^α
   * (0: by log p, which favours short outputs; 1: by the mean log p per token). Default 1.
   */
  lengthNormalization?: number;
}

/** A decoded sequence. */
export interface Hypothesis {
  /** Generated tokens (the end token included when it was produced). */
  tokens: number[];
  /** Sum of the tokens' log-probabilities. */
  logProb: number;
  /** logProb / length^α: what beam search ranks by. */
  score: number;
  /** Attention models: one row of weights per generated token. */
  attention?: Float32Array[];
}

/** Checks decoding options against the vocabulary. */
export function decodeOptions(where: string, o: DecodeOptions | BeamOptions, V: number): { start: number; end: number; maxLength: number } {
  if (typeof o !== "object" || o === null) fail("E_TYPE", `${where}: options must be an object`);
  const start = integer(where, "start", o.start, { min: 0, max: V - 1 });
  const end = o.end === undefined ? -1 : integer(where, "end", o.end, { min: 0, max: V - 1 });
  const maxLength = integer(where, "maxLength", o.maxLength, { min: 1 });
  return { start, end, maxLength };
}

function logSoftmax(x: Float32Array, off: number, V: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < V; j++) m = Math.max(m, x[off + j]);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[off + j] - m);
  const lse = m + Math.log(s);
  for (let j = 0; j < V; j++) out[j] = x[off + j] - lse;
}

/** Greedy (argmax) or sampled decoding of every row at once. */
export function decodeRows(stepper: TokenStepper, options: DecodeOptions, sample: boolean): Hypothesis[] {
  const where = sample ? "sample" : "greedy";
  const V = stepper.vocabSize, R = stepper.rows;
  const { start, end, maxLength } = decodeOptions(where, options, V);
  const temperature = number(where, "temperature", options.temperature, { min: 0, open: true }, 1);
  const topK = integer(where, "topK", options.topK, { min: 0 }, 0);
  const rng = createRng(options.seed ?? 0);
  const out: Hypothesis[] = Array.from({ length: R }, () => ({ tokens: [], logProb: 0, score: 0, attention: [] }));
  const done = new Uint8Array(R);
  const tokens = new Int32Array(R).fill(start);
  const lp = new Float64Array(V);
  for (let step = 0; step < maxLength && done.some((d) => d === 0); step++) {
    const logits = stepper.step(tokens);
    const att = stepper.attention?.();
    for (let r = 0; r < R; r++) {
      if (done[r]) continue;
      const row = logits.subarray(r * V, (r + 1) * V);
      let id = 0;
      if (sample) id = sampleLogits(row, temperature, topK, rng.next());
      else for (let j = 1; j < V; j++) if (row[j] > row[id]) id = j;
      logSoftmax(logits, r * V, V, lp);
      const h = out[r];
      h.tokens.push(id);
      h.logProb += lp[id];
      if (att) h.attention!.push(att.slice((r * att.length) / R, ((r + 1) * att.length) / R));
      tokens[r] = id;
      if (id === end) done[r] = 1;
    }
  }
  for (const h of out) {
    h.score = h.logProb / Math.max(1, h.tokens.length);
    if (!stepper.attention) delete h.attention;
  }
  return out;
}

/**
 * Beam search over `sources` sources at once: the stepper holds `width` rows per source (rows
 * s*width .. s*width+width-1 belong to source s). Returns, per source, the finished hypotheses
 * (or, if none finished, the live ones), best first.
 */
export function beamSearch(stepper: TokenStepper, options: BeamOptions, sources = 1): Hypothesis[][] {
  const where = "beamSearch";
  const V = stepper.vocabSize;
  const { start, end, maxLength } = decodeOptions(where, options, V);
  const K = integer(where, "width", options.width, { min: 1 }, 4);
  const alpha = number(where, "lengthNormalization", options.lengthNormalization, { min: 0 }, 1);
  if (stepper.rows !== K * sources) fail("E_SHAPE", `${where}: the stepper holds ${stepper.rows} rows, not width x sources = ${K * sources}`);
  const norm = (h: Hypothesis): number => h.logProb / Math.max(1, h.tokens.length) ** alpha;
  // Only the first row of a source is live at first: its K rows start identical.
  const beams: Hypothesis[][] = Array.from({ length: sources }, () => [{ tokens: [], logProb: 0, score: 0, attention: [] }]);
  const finished: Hypothesis[][] = Array.from({ length: sources }, () => []);
  const done = new Uint8Array(sources);
  const R = K * sources;
  const tokens = new Int32Array(R).fill(start);
  const parents = new Int32Array(R);
  const lp = new Float64Array(V);
  const topLp = new Float64Array(2 * K), topRow = new Int32Array(2 * K), topId = new Int32Array(2 * K);
  for (let step = 0; step < maxLength && done.some((d) => d === 0); step++) {
    const logits = stepper.step(tokens);
    const att = stepper.attention?.();
    const W = att ? att.length / R : 0;
    for (let s = 0; s < sources; s++) {
      const base = s * K;
      for (let r = 0; r < K; r++) parents[base + r] = base + r;
      if (done[s]) continue;
      // The best 2K continuations suffice: at most K finish and K stay live.
      let n = 0;
      const live = beams[s];
      for (let r = 0; r < live.length; r++) {
        const h = live[r];
        logSoftmax(logits, (base + r) * V, V, lp);
        for (let j = 0; j < V; j++) {
          const v = h.logProb + lp[j];
          if (n === 2 * K && v <= topLp[n - 1]) continue;
          let k = n < 2 * K ? n++ : n - 1;
          for (; k > 0 && topLp[k - 1] < v; k--) {
            topLp[k] = topLp[k - 1];
            topRow[k] = topRow[k - 1];
            topId[k] = topId[k - 1];
          }
          topLp[k] = v;
          topRow[k] = r;
          topId[k] = j;
        }
      }
      const next: Hypothesis[] = [];
      for (let c = 0; c < n; c++) {
        if (next.length === K || finished[s].length >= K) break;
        const row = topRow[c], id = topId[c];
        const parent = beams[s][row];
        const h: Hypothesis = { tokens: [...parent.tokens, id], logProb: topLp[c], score: 0, attention: att ? [...parent.attention!, att.slice((base + row) * W, (base + row + 1) * W)] : [] };
        h.score = norm(h);
        if (id === end) {
          finished[s].push(h);
          continue;
        }
        parents[base + next.length] = base + row;
        tokens[base + next.length] = id;
        next.push(h);
      }
      for (let r = next.length; r < K; r++) parents[base + r] = parents[base];
      beams[s] = next;
      // A live hypothesis only loses log-probability: with α = 0 none can beat the best finished one.
      if (finished[s].length >= K || next.length === 0) done[s] = 1;
      else if (alpha === 0 && finished[s].length > 0 && next[0].logProb < Math.max(...finished[s].map((f) => f.logProb))) done[s] = 1;
    }
    if (done.some((d) => d === 0)) stepper.reorder(parents);
  }
  return finished.map((f, s) => {
    const all = f.length > 0 ? f : beams[s];
    all.sort((a, b) => b.score - a.score);
    if (!stepper.attention) for (const h of all) delete h.attention;
    return all;
  });
}
