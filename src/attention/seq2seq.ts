import { fail } from "../errors.js";
import { Embedding } from "../layers/embedding.js";
import { GRU } from "../models/gru.js";
import type { Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { boolean, integer, objectArgument, oneOf } from "../validate.js";
import type { AttentionInput } from "./checks.js";
import { AttentionDecoder } from "./decoder.js";
import type { Hypothesis } from "../train/search.js";
import type { AttentionCell, AttentionOutput, AttentionScore } from "./layout.js";

/** Options of `Seq2Seq`. */
export interface Seq2SeqOptions {
  /** Source tokens. Required. */
  sourceVocab: number;
  /** Target tokens, the start and end tokens included. Required. */
  targetVocab: number;
  /** Target id fed to the decoder first. Required. */
  startToken: number;
  /** Target id that ends a translation. Required. */
  endToken: number;
  /** Width of both embeddings. Default 64. */
  embeddingSize?: number;
  /** Hidden units of each direction of the encoder's bidirectional GRU. Default 128. */
  encoderHiddenSize?: number;
  /** Hidden units of the decoder's cell. Default 128. */
  hiddenSize?: number;
  /** Width of the attention layer. Default hiddenSize. */
  attentionSize?: number;
  /**
   * true: the decoder attends over the encoder's outputs (Bahdanau et al.). false: the baseline
   * encoder-decoder (Cho et al. 2014): one fixed context, the encoder's final states of both
   * directions, fed at every step. Default true.
   */
  attention?: boolean;
  /**
   * The decoder's score (AttentionDecoder's `score`): "additive", or Luong et al.'s "dot" (needs
   * hiddenSize = 2 * encoderHiddenSize) and "general". Default "additive".
   */
  score?: AttentionScore;
  /** The decoder's recurrent step (AttentionDecoder's `cell`): "gru" or "lstm". The encoder stays a bidirectional GRU. Default "gru". */
  cell?: AttentionCell;
  /** The decoder's output layer (AttentionDecoder's `output`): "shallow" or "deep". Default "shallow". */
  output?: AttentionOutput;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** Options of `Seq2Seq.translate`. */
export interface TranslateOptions {
  /** Longest output, end token included. Default 2 * source length + 10. */
  maxLength?: number;
  /** Beam width (1: greedy). Default 1. */
  beamWidth?: number;
  /** α of beam search's length normalisation. Default 1. */
  lengthNormalization?: number;
}

/**
 * Sequence to sequence with attention: source tokens → Embedding → bidirectional GRU (the
 * annotations, masked past each source's length) → AttentionDecoder. `trainStep` is teacher
 * forced: the decoder reads [start, y_1 .. y_n] and predicts [y_1 .. y_n, end].
 */
export class Seq2Seq implements Trainable {
  /** Options with every default filled in. */
  readonly options: Readonly<Required<Seq2SeqOptions>>;
  /** The source embedding. */
  readonly embedding: Embedding;
  /** The bidirectional GRU encoder (batch first). */
  readonly encoder: GRU;
  /** The attention decoder. */
  readonly decoder: AttentionDecoder;
  private sourceSteps = 0;

  constructor(options: Seq2SeqOptions) {
    const where = "Seq2Seq";
    objectArgument(where, options);
    const sourceVocab = integer(where, "sourceVocab", options.sourceVocab, { min: 1 });
    const targetVocab = integer(where, "targetVocab", options.targetVocab, { min: 1 });
    const startToken = integer(where, "startToken", options.startToken, { min: 0, max: targetVocab - 1 });
    const endToken = integer(where, "endToken", options.endToken, { min: 0, max: targetVocab - 1 });
    const embeddingSize = integer(where, "embeddingSize", options.embeddingSize, { min: 1 }, 64);
    const encoderHiddenSize = integer(where, "encoderHiddenSize", options.encoderHiddenSize, { min: 1 }, 128);
    const hiddenSize = integer(where, "hiddenSize", options.hiddenSize, { min: 1 }, 128);
    const attentionSize = integer(where, "attentionSize", options.attentionSize, { min: 1 }, hiddenSize);
    const attention = boolean(where, "attention", options.attention, true);
    const seed = integer(where, "seed", options.seed, {}, 0);
    const score = oneOf(where, "score", options.score, ["additive", "dot", "general"] as const, "additive");
    const cell = oneOf(where, "cell", options.cell, ["gru", "lstm"] as const, "gru");
    const output = oneOf(where, "output", options.output, ["shallow", "deep"] as const, "shallow");
    if (score !== "additive" && attentionSize !== hiddenSize) fail("E_VALUE", `${where}: attentionSize ${attentionSize} with score "${score}": multiplicative scores are hiddenSize (${hiddenSize}) wide`);
    if (score === "dot" && hiddenSize !== 2 * encoderHiddenSize) fail("E_SHAPE", `${where}: score "dot" needs hiddenSize (${hiddenSize}) = 2 * encoderHiddenSize (${2 * encoderHiddenSize})`);
    this.options = { sourceVocab, targetVocab, startToken, endToken, embeddingSize, encoderHiddenSize, hiddenSize, attentionSize, attention, score, cell, output, seed };
    this.embedding = new Embedding({ numEmbeddings: sourceVocab, embeddingDim: embeddingSize, seed: seed + 1 });
    this.encoder = new GRU({ inputSize: embeddingSize, hiddenSize: encoderHiddenSize, bidirectional: true, batchFirst: true, seed: seed + 2 });
    this.decoder = new AttentionDecoder({ vocabSize: targetVocab, annotationSize: 2 * encoderHiddenSize, hiddenSize, attentionSize, embeddingSize, score, cell, output, seed: seed + 3 });
  }

  /**
   * One teacher-forced forward and backward on a batch of (source, target) pairs (targets
   * without start and end tokens): adds every gradient and returns the mean cross-entropy per
   * target token. The caller zeroes gradients and steps the optimizer.
   */
  lossAndGrad(sources: ArrayLike<number>[], targets: ArrayLike<number>[]): number {
    const where = "Seq2Seq.lossAndGrad";
    const B = sources.length;
    if (targets.length !== B) fail("E_SHAPE", `${where}: ${B} sources but ${targets.length} targets`);
    const { startToken, endToken } = this.options;
    const T = Math.max(...Array.from(targets, (t) => t.length)) + 1;
    const inputs = Array.from(targets, (t) => Array.from({ length: T }, (_, i) => (i === 0 ? startToken : i - 1 < t.length ? t[i - 1] : endToken)));
    const outs = Array.from(targets, (t) => Array.from({ length: T }, (_, i) => (i < t.length ? t[i] : i === t.length ? endToken : -1)));
    const input = this.encode(where, sources, true);
    this.decoder.forward(input, inputs);
    const { crossEntropy, annotations } = this.decoder.backwardLoss(outs, { ignoreIndex: -1 });
    const S = this.sourceSteps;
    let dx: Tensor | undefined;
    if (this.options.attention) {
      dx = this.encoder.backward({ output: annotations }).input;
    } else {
      const He = this.options.encoderHiddenSize;
      const hN = new Float32Array(2 * B * He);
      for (let b = 0; b < B; b++) {
        hN.set(annotations.data.subarray(b * 2 * He, b * 2 * He + He), b * He);
        hN.set(annotations.data.subarray(b * 2 * He + He, (b + 1) * 2 * He), (B + b) * He);
      }
      dx = this.encoder.backward({ hN: { shape: [2, B, He], data: hN } }).input;
    }
    if (dx) this.embedding.backward({ shape: [B, S, this.options.embeddingSize], data: dx.data });
    return crossEntropy;
  }

  /** Translations of `sources`, one per source: greedy with beamWidth 1, else beam search. */
  translate(sources: ArrayLike<number>[], options: TranslateOptions = {}): Hypothesis[] {
    const where = "Seq2Seq.translate";
    const width = integer(where, "beamWidth", options.beamWidth, { min: 1 }, 1);
    const longest = Math.max(0, ...Array.from(sources, (s) => s.length));
    const maxLength = integer(where, "maxLength", options.maxLength, { min: 1 }, 2 * longest + 10);
    const input = this.encode(where, sources, false);
    const start = this.options.startToken, end = this.options.endToken;
    if (width === 1) return this.decoder.greedy(input, { start, end, maxLength });
    return this.decoder.beamSearch(input, { start, end, maxLength, width, lengthNormalization: options.lengthNormalization }).map((h) => h[0]);
  }

  /** What the decoder attends over for `sources`: the encoder's outputs (or final states) and their mask. */
  encode(where: string, sources: ArrayLike<number>[], train: boolean): AttentionInput {
    if (!Array.isArray(sources) || sources.length === 0) fail("E_SHAPE", `${where}: sources must be a non-empty array of token rows`);
    const B = sources.length;
    const lengths = sources.map((s, b) => {
      if (!s || typeof s.length !== "number" || s.length === 0) fail("E_SHAPE", `${where}: sources[${b}] is empty (L = 0); every source needs at least one token`);
      return s.length;
    });
    const S = Math.max(...lengths);
    this.sourceSteps = S;
    const ids = new Int32Array(B * S);
    for (let b = 0; b < B; b++) for (let i = 0; i < lengths[b]; i++) ids[b * S + i] = sources[b][i];
    const x = this.embedding.forward(ids, [B, S]);
    const He = this.options.encoderHiddenSize;
    const r = train ? this.encoder.forwardTrain(x, { lengths }) : this.encoder.forward(x, { lengths });
    if (!this.options.attention) {
      const h = new Float32Array(B * 2 * He);
      for (let b = 0; b < B; b++) {
        h.set(r.hN.data.subarray(b * He, (b + 1) * He), b * 2 * He);
        h.set(r.hN.data.subarray((B + b) * He, (B + b + 1) * He), b * 2 * He + He);
      }
      return { annotations: { shape: [B, 1, 2 * He], data: h } };
    }
    const mask = new Float32Array(B * S);
    for (let b = 0; b < B; b++) mask.fill(1, b * S, b * S + lengths[b]);
    return { annotations: r.output!, mask: { shape: [B, S], data: mask } };
  }

  parameterRegions(): ParameterRegion[] {
    return [this.embedding, this.encoder, this.decoder].flatMap((m) => m.parameterRegions());
  }

  zeroGrad(): void {
    for (const m of [this.embedding, this.encoder, this.decoder]) m.zeroGrad();
  }

  parametersChanged(): void {
    for (const m of [this.embedding, this.encoder, this.decoder]) m.parametersChanged();
  }

  /** Every parameter, prefixed embedding., encoder., decoder. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of [["embedding", this.embedding], ["encoder", this.encoder], ["decoder", this.decoder]] as const) {
      for (const [k, v] of Object.entries(m.stateDict())) out[`${prefix}.${k}`] = v;
    }
    return out;
  }

  /** Frees every part's Wasm memory. */
  dispose(): void {
    for (const m of [this.embedding, this.encoder, this.decoder]) m.dispose();
  }
}
