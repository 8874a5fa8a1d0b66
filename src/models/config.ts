/** The options and structure of RNN, LSTM, GRU and MRNN models. */
import { fail } from "../errors.js";
import { boolean, integer, number, objectArgument, oneOf, optionsObject } from "../validate.js";
import { cellConfig, cellOptionsOf, type CellActivation, type CellConfig } from "./cell.js";
import { gateCount, Kind, round8 } from "./descriptor.js";

/** Options shared by RNN, LSTM and GRU; names and defaults follow torch.nn. */
export interface RecurrentOptions {
  /** Features per input step. Required. */
  inputSize: number;
  /** Features of the hidden state. Required. */
  hiddenSize: number;
  /** Stacked layers; layer k > 0 reads the (concatenated) output of layer k-1. Default 1. */
  numLayers?: number;
  /** Adds bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** Input and output are [B, T, features] instead of [T, B, features]. States never are. Default false. */
  batchFirst?: boolean;
  /** Runs a second, reversed direction per layer; outputs are concatenated [forward; reverse]. Default false. */
  bidirectional?: boolean;
  /** Seed of the initial weights (same seed, same weights, everywhere). Default 0. */
  seed?: number;
  /**
   * How the initial weights are drawn. Every scheme draws weight_ih from PyTorch's
   * U(-1/sqrt(H), 1/sqrt(H)) unless it says otherwise; the schemes differ in weight_hh, which they
   * set one gate block at a time (each [H, H_out] block of i f g o, r z n, or the RNN's one):
   * - "uniform": PyTorch's default, U(-1/sqrt(H), 1/sqrt(H)) for every parameter.
   * - "orthogonal": each block a random orthogonal matrix (torch.nn.init.orthogonal_).
   * - "identity" (Le, Jaitly and Hinton 2015, the IRNN: meant for `nonlinearity: "relu"`): each
   *   block gain·I, weight_ih from N(0, inputStd²), biases zero. See {@link IdentityInit}.
   * A string takes the scheme's defaults; an object sets its options. Default "uniform". (The
   * echo-state initialisation of Sutskever et al. 2013 is `echoStateInit` in recur-nn/esn, where
   * the spectral-radius solver lives.)
   */
  init?: "uniform" | "orthogonal" | "identity" | IdentityInit;
  /**
   * The cell's functions, replacing PyTorch's: LSTM [gates, candidate, cell output] (default
   * ["sigmoid", "tanh", "tanh"]), GRU [gates, candidate] (["sigmoid", "tanh"]), RNN [activation]
   * (the nonlinearity); a bidirectional model may list the reverse direction's after the forward
   * one's. ONNX's `activations` (with `activation_alpha` / `activation_beta`) and Keras's
   * `recurrent_activation` / `activation`, e.g. `["hardSigmoid", "tanh", "tanh"]` for a tfjs LSTM.
   * Trained like PyTorch's cells (each derivative from the function's output). Default PyTorch's.
   */
  activations?: CellActivation[];
  /**
   * ONNX's cell clip: every gate and candidate pre-activation is clamped to [-clip, clip] before
   * its function (not the LSTM's cell state). Inference only: a clipped model refuses
   * forwardTrain. Default none.
   */
  clip?: number;
}

/** The "identity" initialisation with its options (Le, Jaitly and Hinton 2015). */
export interface IdentityInit {
  /** Which scheme these options are for. */
  scheme: "identity";
  /** weight_hh's blocks are gain·I (rectangular with a projection: ones on the diagonal). Default 1. */
  gain?: number;
  /** Standard deviation of weight_ih's normal entries. Default 0.001. */
  inputStd?: number;
}

/** An initialisation with every option filled in. */
export type InitSpec =
  | { scheme: "uniform" | "orthogonal" }
  | { scheme: "identity"; gain: number; inputStd: number };

/** A recurrent model's complete configuration: its options with every default filled in. */
export interface RecurrentConfig {
  /** Which cell. */
  mode: "RNN" | "LSTM" | "GRU" | "MRNN";
  /** Features of each input step (I). */
  inputSize: number;
  /** Hidden units per layer and direction (H). */
  hiddenSize: number;
  /** Stacked layers; layer k > 0 reads the outputs of layer k - 1. */
  numLayers: number;
  /** Whether the layers have the biases `bias_ih` and `bias_hh`. */
  bias: boolean;
  /** Inputs and outputs are [B, T, ...] instead of [T, B, ...] (states never are). */
  batchFirst: boolean;
  /** A second direction reads each sequence backwards; outputs concatenate both (D = 2). */
  bidirectional: boolean;
  /** RNN only: the activation. */
  nonlinearity: "tanh" | "relu";
  /** LSTM only: size of the projected hidden state (0 = no projection). */
  projSize: number;
  /** LSTM only: peephole connections from the cell state to the gates. */
  peepholes: boolean;
  /** GRU only: the reset gate applies after the recurrent product (PyTorch) or before it (Keras reset_after=False). */
  resetAfter: boolean;
  /** MRNN only: factors F of the input-dependent transition (0 for the other cells). */
  factorSize: number;
  /** The cell's functions, clip and LSTM input_forget when they are not PyTorch's (undefined: PyTorch's cell). */
  cell?: CellConfig;
}

/** Validates sizes common to all recurrent models and fills the defaults. */
export function baseConfig(mode: RecurrentConfig["mode"], o: RecurrentOptions): RecurrentConfig {
  objectArgument(mode, o);
  return {
    mode,
    inputSize: integer(mode, "inputSize", o.inputSize, { min: 1 }),
    hiddenSize: integer(mode, "hiddenSize", o.hiddenSize, { min: 1 }),
    numLayers: integer(mode, "numLayers", o.numLayers, { min: 1 }, 1),
    bias: boolean(mode, "bias", o.bias, true),
    batchFirst: boolean(mode, "batchFirst", o.batchFirst, false),
    bidirectional: boolean(mode, "bidirectional", o.bidirectional, false),
    nonlinearity: "tanh",
    projSize: 0,
    peepholes: false,
    resetAfter: true,
    factorSize: 0,
    cell: mode === "MRNN" ? noCellOptions(o) : cellConfig(mode, o.bidirectional === true ? 2 : 1, o as RecurrentOptions & { inputForget?: unknown }),
  };
}

const SCHEMES = ["uniform", "orthogonal", "identity"] as const;

/** How the initial weights are drawn (validated before the model reserves any memory). */
export function initOptions(mode: string, o: RecurrentOptions): { seed: number; init: InitSpec } {
  const seed = o.seed ?? 0;
  const given: unknown = o.init;
  const obj = typeof given === "object" && given !== null ? (given as Record<string, unknown>) : undefined;
  // An options object must name its scheme: { spectralRadius: 1 } alone is a mistake, not "uniform".
  const scheme = obj ? oneOf(mode, "init.scheme", obj.scheme, SCHEMES) : oneOf(mode, "init", given, SCHEMES, "uniform");
  if (scheme === "identity") {
    const opts = optionsObject(`${mode}: init`, obj ?? {}, ["scheme", "gain", "inputStd"]);
    return { seed, init: { scheme, gain: number(mode, "init.gain", opts.gain, {}, 1), inputStd: number(mode, "init.inputStd", opts.inputStd, { min: 0 }, 0.001) } };
  }
  if (obj) optionsObject(`${mode}: init`, obj, ["scheme"]);
  return { seed, init: { scheme } };
}

/** What a weight file stores to rebuild a model (see saveModel/loadModel). */
export function modelSpecOf(c: RecurrentConfig): { type: string; config: Record<string, unknown> } {
  const config: Record<string, unknown> = {
    inputSize: c.inputSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    bias: c.bias,
    batchFirst: c.batchFirst,
    bidirectional: c.bidirectional,
  };
  if (c.mode === "RNN" && c.cell === undefined) config.nonlinearity = c.nonlinearity;
  if (c.mode === "LSTM") Object.assign(config, { projSize: c.projSize, peepholes: c.peepholes });
  if (c.mode === "GRU") config.resetAfter = c.resetAfter;
  if (c.mode === "MRNN") config.factorSize = c.factorSize;
  return { type: c.mode, config: { ...config, ...cellOptionsOf(c.cell) } };
}

/** A model's sizes as the kernels see them (H_out = P; padded widths Hp, Ps). */
export interface Dims {
  kind: Kind;
  /** Gate blocks per unit. */
  G: number;
  /** Floats of a gate row: G * Hp, or Fp + Hp for the MRNN (assembly/cells/mrnn.ts). */
  gw: number;
  /** MRNN factors (0 otherwise) and their padded width. */
  F: number;
  Fp: number;
  inputSize: number;
  H: number;
  Hp: number;
  /** H_out: projSize when projecting, H otherwise. */
  P: number;
  Ps: number;
  /** Directions (1 or 2). */
  D: number;
  /** Layers. */
  L: number;
  /** Features of each layer's output rows: D * P. */
  width: number;
  bias: boolean;
  projSize: number;
  peepholes: boolean;
  cell: CellConfig | undefined;
}

export function dimsOf(c: RecurrentConfig): Dims {
  const kind = c.mode === "MRNN" ? Kind.Mrnn : c.mode === "LSTM" ? Kind.Lstm : c.mode === "GRU" ? (c.resetAfter ? Kind.Gru : Kind.GruResetBefore) : c.nonlinearity === "relu" ? Kind.RnnRelu : Kind.RnnTanh;
  const P = c.projSize > 0 ? c.projSize : c.hiddenSize;
  const D = c.bidirectional ? 2 : 1;
  return {
    kind,
    G: gateCount(kind),
    gw: kind === Kind.Mrnn ? round8(c.factorSize) + round8(c.hiddenSize) : gateCount(kind) * round8(c.hiddenSize),
    F: c.factorSize,
    Fp: round8(c.factorSize),
    inputSize: c.inputSize,
    H: c.hiddenSize,
    Hp: round8(c.hiddenSize),
    P,
    Ps: round8(P),
    D,
    L: c.numLayers,
    width: D * P,
    bias: c.bias,
    projSize: c.projSize,
    peepholes: c.peepholes,
    cell: c.cell,
  };
}

/** Input features of layer l: the model's input, or the previous layer's output rows. */
export function layerInputSize(d: Dims, l: number): number {
  return l === 0 ? d.inputSize : d.width;
}

/** The parameter-name suffix of layer l, direction dir (PyTorch's `_l0`, `_l1_reverse`, ...). */
export function paramSuffix(l: number, dir: number): string {
  return `_l${l}${dir === 1 ? "_reverse" : ""}`;
}

// The MRNN has one fixed cell: the options of the others are refused, not ignored.
function noCellOptions(o: RecurrentOptions): undefined {
  for (const key of ["activations", "clip", "inputForget"]) {
    if ((o as unknown as Record<string, unknown>)[key] !== undefined) fail("E_VALUE", `MRNN: ${key} is not an MRNN option`);
  }
  return undefined;
}
