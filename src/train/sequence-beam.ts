// Beam search for SequenceModel (and so CharLM; recur-nn/beam-search): the model's recurrent state
// for `width` rows, reordered as hypotheses branch; the search itself is train/search.ts's.
import { fail } from "../errors.js";
import { checkTensor, type Tensor } from "../tensor.js";
import { beamSearch, type Hypothesis, type TokenStepper } from "./search.js";
import type { SequenceModel } from "./sequence-model.js";

export type { Hypothesis };

/** Options of `sequenceBeamSearch`. */
export interface SequenceBeamOptions {
  /** Tokens fed first (at least one); the search continues after the last. Required. */
  prime: ArrayLike<number>;
  /** Most tokens generated. Required. */
  length: number;
  /** Hypotheses kept at every step. Default 4. */
  width?: number;
  /** Token that ends a hypothesis. Default: none. */
  end?: number;
  /** α of the length normalisation (log p / n^α). Default 1. */
  lengthNormalization?: number;
  /** The condition vector [1, conditionSize] of a conditioned model. */
  condition?: Tensor;
}

/**
 * Beam search over a token model (`vocabSize`, outputs "sequence", unidirectional) after `prime`
 * (width, length normalisation, end token): the hypotheses, best first.
 */
export function sequenceBeamSearch(model: SequenceModel, options: SequenceBeamOptions): Hypothesis[] {
  const where = "sequenceBeamSearch";
  const o = model.options;
  const embedding = model.embedding;
  if (o.vocabSize === undefined || !embedding) fail("E_UNSUPPORTED", `${where}: needs a token model (vocabSize)`);
  if (o.outputs !== "sequence") fail("E_UNSUPPORTED", `${where}: needs outputs "sequence"`);
  if (o.bidirectional) fail("E_UNSUPPORTED", `${where}: a bidirectional model cannot generate step by step`);
  if (typeof options !== "object" || options === null || !options.prime || options.prime.length === 0) fail("E_VALUE", `${where}: prime must hold at least one token`);
  const V = o.vocabSize;
  for (let i = 0; i < options.prime.length; i++) {
    const id = options.prime[i];
    if (!Number.isInteger(id) || id < 0 || id >= V) fail("E_VALUE", `${where}: prime[${i}] = ${String(id)} is not a token id in 0..${V - 1}`);
  }
  const width = options.width ?? 4;
  if (!Number.isInteger(width) || width < 1) fail("E_VALUE", `${where}: width must be an integer >= 1, got ${String(width)}`);
  const E = o.embeddingDim, C = o.conditionSize;
  if (C > 0) {
    if (!options.condition) fail("E_VALUE", `${where}: this model needs a condition vector`);
    checkTensor(options.condition, `${where}: condition`, [1, C]);
  }
  const state = model.rnn.initialState(width);
  model.fillInitialState(state);
  const x = new Float32Array(width * (E + C));
  const feed = (tokens: ArrayLike<number>): Float32Array => {
    const e = embedding.forward(tokens, [width]).data;
    for (let r = 0; r < width; r++) {
      x.set(e.subarray(r * E, (r + 1) * E), r * (E + C));
      if (C > 0) x.set(options.condition!.data, r * (E + C) + E);
    }
    const { output } = model.rnn.step({ shape: [width, E + C], data: x }, state);
    return model.head.forward({ shape: [width, output.data.length / width], data: output.data }).data;
  };
  const prime = Array.from(options.prime);
  for (let i = 0; i + 1 < prime.length; i++) feed(new Array(width).fill(prime[i]));
  const reorderRows = (t: Tensor, parents: Int32Array): void => {
    const [layers, , n] = t.shape;
    const copy = t.data.slice();
    for (let l = 0; l < layers; l++) for (let r = 0; r < width; r++) t.data.set(copy.subarray((l * width + parents[r]) * n, (l * width + parents[r] + 1) * n), (l * width + r) * n);
  };
  const stepper: TokenStepper = {
    vocabSize: V,
    rows: width,
    step: (tokens) => feed(tokens),
    reorder: (parents) => {
      reorderRows(state.h, parents);
      if (state.c) reorderRows(state.c, parents);
    },
  };
  return beamSearch(stepper, { start: prime[prime.length - 1], end: options.end, maxLength: options.length, width, lengthNormalization: options.lengthNormalization })[0];
}
