import { fail } from "../errors.js";
import { Linear } from "../layers/linear.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { integer, number, objectArgument, oneOf } from "../validate.js";
import type { AttentionInput } from "./checks.js";
import { AttentionDecoder } from "./decoder.js";
import type { Hypothesis } from "../train/search.js";
import type { AttentionCell, AttentionOutput, AttentionScore } from "./layout.js";

/** Options of `Captioner`. */
export interface CaptionerOptions {
  /** Features of each image region (patch) given to the model. Required. */
  patchSize: number;
  /** Words, the start and end tokens included. Required. */
  vocabSize: number;
  /** Word fed to the decoder first. Required. */
  startToken: number;
  /** Word that ends a caption. Required. */
  endToken: number;
  /** Features of each annotation, tanh(W patch + b). Default 64. */
  annotationSize?: number;
  /** Hidden units of the decoder's cell. Default 128. */
  hiddenSize?: number;
  /** Width of the attention layer. Default hiddenSize (multiplicative scores: must be hiddenSize). */
  attentionSize?: number;
  /** The decoder's score (AttentionDecoder's `score`): "additive", or Luong et al.'s "dot" (needs annotationSize = hiddenSize) and "general". Default "additive". */
  score?: AttentionScore;
  /** The decoder's recurrent step: "gru" or "lstm" (Xu et al. use an LSTM). Default "gru". */
  cell?: AttentionCell;
  /** The decoder's output layer: "shallow" or Xu et al.'s "deep". Default "shallow". */
  output?: AttentionOutput;
  /** The decoder's initial state (AttentionDecoder's `initialState`): "zeros" or "mean" (Xu et al.). Default "zeros". */
  initialState?: "zeros" | "mean";
  /** Width of the word embedding. Default 32. */
  embeddingSize?: number;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** Options of `Captioner.caption`. */
export interface CaptionOptions {
  /** Longest caption, end token included. Default 16. */
  maxLength?: number;
  /** Beam width (1: greedy). Default 1. */
  beamWidth?: number;
  /** α of beam search's length normalisation. Default 1. */
  lengthNormalization?: number;
}

/**
 * "Show, Attend and Tell" on region features: each of an image's L patches becomes an annotation
 * a_i = tanh(W p_i + b) (a Linear layer trained with the decoder), and an AttentionDecoder writes
 * the caption while attending over them. Each caption's attention rows show where it looked.
 */
export class Captioner implements Trainable {
  /** Options with every default filled in. */
  readonly options: Readonly<Required<CaptionerOptions>>;
  /** The patch features' layer. */
  readonly features: Linear;
  /** The attention decoder. */
  readonly decoder: AttentionDecoder;
  private annotations: Float32Array = new Float32Array(0);

  constructor(options: CaptionerOptions) {
    const where = "Captioner";
    objectArgument(where, options);
    const patchSize = integer(where, "patchSize", options.patchSize, { min: 1 });
    const vocabSize = integer(where, "vocabSize", options.vocabSize, { min: 1 });
    const startToken = integer(where, "startToken", options.startToken, { min: 0, max: vocabSize - 1 });
    const endToken = integer(where, "endToken", options.endToken, { min: 0, max: vocabSize - 1 });
    const annotationSize = integer(where, "annotationSize", options.annotationSize, { min: 1 }, 64);
    const hiddenSize = integer(where, "hiddenSize", options.hiddenSize, { min: 1 }, 128);
    const attentionSize = integer(where, "attentionSize", options.attentionSize, { min: 1 }, hiddenSize);
    const embeddingSize = integer(where, "embeddingSize", options.embeddingSize, { min: 1 }, 32);
    const seed = integer(where, "seed", options.seed, {}, 0);
    const score = oneOf(where, "score", options.score, ["additive", "dot", "general"] as const, "additive");
    const cell = oneOf(where, "cell", options.cell, ["gru", "lstm"] as const, "gru");
    const output = oneOf(where, "output", options.output, ["shallow", "deep"] as const, "shallow");
    const initialState = oneOf(where, "initialState", options.initialState, ["zeros", "mean"] as const, "zeros");
    this.options = { patchSize, vocabSize, startToken, endToken, annotationSize, hiddenSize, attentionSize, score, cell, output, initialState, embeddingSize, seed };
    // The decoder checks the score's size rules (and names them) before any parameter exists.
    this.decoder = new AttentionDecoder({ vocabSize, annotationSize, hiddenSize, attentionSize, embeddingSize, score, cell, output, initialState, seed: seed + 2 });
    this.features = new Linear({ inFeatures: patchSize, outFeatures: annotationSize, seed: seed + 1 });
  }

  /** The annotations of `patches` [B, L, patchSize]: tanh(W p + b), [B, L, annotationSize]. */
  annotate(patches: Tensor): AttentionInput {
    checkTensor(patches, "Captioner: patches");
    const P = this.options.patchSize;
    if (patches.shape.length !== 3 || patches.shape[2] !== P) fail("E_SHAPE", `Captioner: patches must be [B, L, ${P}], got [${patches.shape.join(", ")}]`);
    const [B, L] = patches.shape;
    if (B < 1 || L < 1) fail("E_SHAPE", `Captioner: patches need B >= 1 and L >= 1, got [${patches.shape.join(", ")}]`);
    const a = this.features.forward(patches);
    for (let i = 0; i < a.data.length; i++) a.data[i] = Math.tanh(a.data[i]);
    this.annotations = a.data;
    return { annotations: a };
  }

  /**
   * Teacher-forced forward and backward on images and their captions (word ids without start
   * and end): adds every gradient and returns the mean cross-entropy per word (the regulariser
   * excluded). `doublyStochastic` is Xu et al.'s λ (default 0).
   */
  lossAndGrad(patches: Tensor, captions: ArrayLike<number>[], options: { doublyStochastic?: number } = {}): number {
    const where = "Captioner.lossAndGrad";
    const lambda = number(where, "doublyStochastic", options.doublyStochastic, { min: 0 }, 0);
    if (!Array.isArray(captions) || captions.length !== patches.shape?.[0]) fail("E_SHAPE", `${where}: need one caption per image`);
    const { startToken, endToken } = this.options;
    const T = Math.max(...captions.map((c) => c.length)) + 1;
    const inputs = captions.map((c) => Array.from({ length: T }, (_, i) => (i === 0 ? startToken : i - 1 < c.length ? c[i - 1] : endToken)));
    const outs = captions.map((c) => Array.from({ length: T }, (_, i) => (i < c.length ? c[i] : i === c.length ? endToken : -1)));
    const input = this.annotate(patches);
    this.decoder.forward(input, inputs);
    const { crossEntropy, annotations } = this.decoder.backwardLoss(outs, { ignoreIndex: -1, doublyStochastic: lambda });
    const d = annotations.data, a = this.annotations;
    for (let i = 0; i < d.length; i++) d[i] *= 1 - a[i] * a[i];
    this.features.backward({ shape: annotations.shape, data: d });
    return crossEntropy;
  }

  /** Captions of `patches` [B, L, patchSize] with their attention rows: greedy, or beam search. */
  caption(patches: Tensor, options: CaptionOptions = {}): Hypothesis[] {
    const where = "Captioner.caption";
    const width = integer(where, "beamWidth", options.beamWidth, { min: 1 }, 1);
    const maxLength = integer(where, "maxLength", options.maxLength, { min: 1 }, 16);
    const input = this.annotate(patches);
    const start = this.options.startToken, end = this.options.endToken;
    if (width === 1) return this.decoder.greedy(input, { start, end, maxLength });
    return this.decoder.beamSearch(input, { start, end, maxLength, width, lengthNormalization: options.lengthNormalization }).map((h) => h[0]);
  }

  parameterRegions(): ParameterRegion[] {
    return [...this.features.parameterRegions(), ...this.decoder.parameterRegions()];
  }

  zeroGrad(): void {
    this.features.zeroGrad();
    this.decoder.zeroGrad();
  }

  parametersChanged(): void {
    this.features.parametersChanged();
    this.decoder.parametersChanged();
  }

  /** Every parameter, prefixed features. and decoder. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.features.stateDict())) out[`features.${k}`] = v;
    for (const [k, v] of Object.entries(this.decoder.stateDict())) out[`decoder.${k}`] = v;
    return out;
  }

  /** Frees the Wasm memory of both parts. */
  dispose(): void {
    this.features.dispose();
    this.decoder.dispose();
  }
}
