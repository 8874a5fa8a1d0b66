/** The options, batches and results of SequenceModel (sequence-model.ts). */
import type { RecurrentOptions } from "../models/config.js";
import type { CellActivation } from "../models/cell.js";
import type { Tensor } from "../tensor.js";

/** Integer ids with a shape, e.g. tokens [T, B] or class labels [B]. */
export interface IndexTensor {
  /** Size of each dimension, outermost first. */
  shape: number[];
  /** The ids, row-major (any array of integers: Int32Array, number[], ...). */
  data: ArrayLike<number>;
}

/** Options of `SequenceModel`. */
export interface SequenceModelOptions {
  /** The recurrent cell. Default "LSTM". */
  cell?: "LSTM" | "GRU" | "RNN" | "MRNN";
  /** Features per step for real-valued input. Give this or vocabSize. */
  inputSize?: number;
  /** Token input: ids in 0..vocabSize-1 are embedded. Give this or inputSize. */
  vocabSize?: number;
  /** Size of the token embedding. Default hiddenSize. */
  embeddingDim?: number;
  /**
   * Size of a fixed vector per sequence fed at every step (image-captioning style): the cell
   * sees [x_t; v], so W_ih x_t + W_iv v is one product. Default 0 (none).
   */
  conditionSize?: number;
  /** Hidden units of the recurrent layers. Required. */
  hiddenSize: number;
  /** Default 1. */
  numLayers?: number;
  /** Default false. */
  bidirectional?: boolean;
  /** LSTM only, see LSTMOptions. Default 0. */
  projSize?: number;
  /** LSTM only. Default false. */
  peepholes?: boolean;
  /** GRU only. Default true. */
  resetAfter?: boolean;
  /** RNN only. Default "tanh". */
  nonlinearity?: "tanh" | "relu";
  /** MRNN only (required there): factors of the input-dependent transition, see MRNNOptions. */
  factorSize?: number;
  /** The cell's functions, see RecurrentOptions.activations. Default PyTorch's. */
  activations?: CellActivation[];
  /** ONNX's cell clip, see RecurrentOptions.clip (such a model is not trainable). Default none. */
  clip?: number;
  /** LSTM only: ONNX's input_forget (f = 1 - i). Default false. */
  inputForget?: boolean;
  /** Features of the Linear head: classes for cross-entropy, targets for MSE. */
  outputSize: number;
  /** "sequence": a prediction at every step; "last": one per sequence, from the final state. Default "sequence". */
  outputs?: "sequence" | "last";
  /** "crossEntropy" (softmax over outputSize classes) or "mse". Default "crossEntropy". */
  loss?: "crossEntropy" | "mse";
  /**
   * Outputs "sequence" only: the loss counts only the last `lossLastSteps` valid steps of each
   * sequence (its own length with `lengths`), e.g. a desired final activity held for a few steps.
   * Targets keep the shape [T, B, ...]; earlier steps' values are ignored. The mean is over the
   * counted positions. Default 0: every step counts.
   */
  lossLastSteps?: number;
  /**
   * MSE only: the output units that have targets (distinct indices into 0..outputSize-1); the
   * others are left free (no loss, no gradient). Targets then hold only these units, in this
   * order: [T, B, lossUnits.length] (or [B, lossUnits.length]). Default: every unit.
   */
  lossUnits?: number[];
  /** Learn h0 (and c0), shared by every sequence, instead of starting from zeros. Default false. */
  trainableInitialState?: boolean;
  /** Seed of all initial weights. Default 0. */
  seed?: number;
  /**
   * How the recurrent layers' weights are drawn (RecurrentOptions.init: "uniform", "orthogonal",
   * "identity" or an options object). Not stored in weight files, which hold the
   * weights themselves. Default "uniform".
   */
  init?: RecurrentOptions["init"];
}

/** One training or inference batch, time-major. */
export interface SequenceBatch {
  /** [T, B, inputSize] floats, or token ids [T, B] for a vocabSize model. */
  input: Tensor | IndexTensor;
  /** Valid steps per sequence (1..T); later steps are ignored. Default all T. */
  lengths?: ArrayLike<number>;
  /** [B, conditionSize] when the model has a condition. */
  condition?: Tensor;
  /**
   * Cross-entropy: class ids [T, B] ("sequence") or [B] ("last"); entries equal to -100 are
   * ignored. MSE: [T, B, outputSize] or [B, outputSize].
   */
  target?: Tensor | IndexTensor;
  /** Initial state (e.g. carried from the previous chunk). Default the model's initial state. */
  h0?: Tensor;
  /** LSTM only: the initial cell state, as `h0`. */
  c0?: Tensor;
}

/** Options of `SequenceModel.trainStep`. */
export interface TrainStepOptions {
  /** Clip the global gradient norm to this (clip_grad_norm_). Default: no clipping. */
  clipGradNorm?: number;
  /** Clip every gradient to [-v, v]. Default: no clipping. */
  clipGradValue?: number;
}

/** What `SequenceModel.trainStep` returns. */
export interface TrainStepResult {
  /** The batch's loss before the update. */
  loss: number;
  /** Global L2 norm of the gradients before clipping (computed when clipping by norm). */
  gradNorm?: number;
  /** Final states, detached, to carry into the next chunk. */
  hN: Tensor;
  /** LSTM only: the final cell states. */
  cN?: Tensor;
}
