/**
 * A recurrent cell's options beyond PyTorch's: the activations ONNX's LSTM / GRU / RNN nodes may
 * name (with their alpha and beta), Keras's hard-sigmoid gate, ONNX's cell clip and LSTM
 * input_forget. They are checked and filled here, and written into the cell-options block the
 * kernels read (assembly/cells/activation.ts: the functions and their derivatives). A model with
 * PyTorch's activations and neither clip nor input_forget has no block and runs the fused cells.
 */
import { fail } from "../errors.js";
import { show } from "../validate.js";
import { Activation, CellWord } from "./descriptor.js";

/** The activations a cell can run (ONNX's names for RNN, LSTM and GRU activations, in camelCase). */
export type CellActivationName = "sigmoid" | "tanh" | "relu" | "hardSigmoid" | "affine" | "leakyRelu" | "thresholdedRelu" | "scaledTanh" | "elu" | "softsign" | "softplus";

/**
 * One activation of a cell: a name, or a name with its parameters. hardSigmoid is
 * min(max(alpha x + beta, 0), 1) (default alpha 0.2, beta 0.5: Keras 2 and TensorFlow.js; Keras 3
 * uses alpha 1/6), affine alpha x + beta (1, 0), leakyRelu x or alpha x (0.01), thresholdedRelu
 * x > alpha ? x : 0 (1), scaledTanh alpha tanh(beta x) (1, 1), elu x or alpha (e^x - 1) (1);
 * the defaults are those of the ONNX operators of the same names.
 */
export type CellActivation =
  | CellActivationName
  | {
      /** The function. */
      name: CellActivationName;
      /** Its first parameter (see above for which functions read it). */
      alpha?: number;
      /** Its second parameter. */
      beta?: number;
    };

/** A cell activation with its parameters filled in. */
export interface CellActivationSpec {
  /** The function. */
  name: CellActivationName;
  /** Its first parameter (0 where the function has none). */
  alpha: number;
  /** Its second parameter (0 where the function has none). */
  beta: number;
}

const CODES: Record<CellActivationName, Activation> = {
  sigmoid: Activation.Sigmoid,
  tanh: Activation.Tanh,
  relu: Activation.Relu,
  hardSigmoid: Activation.HardSigmoid,
  affine: Activation.Affine,
  leakyRelu: Activation.LeakyRelu,
  thresholdedRelu: Activation.ThresholdedRelu,
  scaledTanh: Activation.ScaledTanh,
  elu: Activation.Elu,
  softsign: Activation.Softsign,
  softplus: Activation.Softplus,
};

/** Names of the cell activations, as ONNX files spell them (lowercased) mapped to recur's. */
export const ONNX_ACTIVATIONS: Record<string, CellActivationName> = Object.fromEntries(Object.keys(CODES).map((n) => [n.toLowerCase(), n as CellActivationName]));

const DEFAULT_PARAMS: Partial<Record<CellActivationName, [number, number]>> = {
  hardSigmoid: [0.2, 0.5],
  affine: [1, 0],
  leakyRelu: [0.01, 0],
  thresholdedRelu: [1, 0],
  scaledTanh: [1, 1],
  elu: [1, 0],
};

/** What each cell's activations are for, and PyTorch's choice of them. */
export const CELL_FUNCTIONS: Record<"RNN" | "LSTM" | "GRU", { roles: string; defaults: CellActivationName[] }> = {
  LSTM: { roles: "[gates, candidate, cell output]", defaults: ["sigmoid", "tanh", "tanh"] },
  GRU: { roles: "[gates, candidate]", defaults: ["sigmoid", "tanh"] },
  RNN: { roles: "[activation]", defaults: ["tanh"] },
};

/** Checks one activation and fills its parameters. */
export function cellActivation(where: string, a: unknown): CellActivationSpec {
  const name = typeof a === "string" ? a : typeof a === "object" && a !== null ? (a as { name?: unknown }).name : undefined;
  if (typeof name !== "string" || !(name in CODES)) fail("E_VALUE", `${where}: activation must be one of ${Object.keys(CODES).join(", ")} (or { name, alpha, beta }), got ${show(typeof a === "object" && a !== null ? JSON.stringify(a) : a)}`);
  const [alpha0, beta0] = DEFAULT_PARAMS[name as CellActivationName] ?? [0, 0];
  const given = typeof a === "object" ? (a as { alpha?: unknown; beta?: unknown }) : {};
  const num = (key: "alpha" | "beta", v: unknown, fallback: number): number => {
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) fail("E_VALUE", `${where}: ${name}'s ${key} must be a finite number, got ${show(v)}`);
    return v;
  };
  return { name: name as CellActivationName, alpha: num("alpha", given.alpha, alpha0), beta: num("beta", given.beta, beta0) };
}

/** A cell's options as a model's configuration keeps them. */
export interface CellConfig {
  /** Per direction (forward first), the cell's functions: see CELL_FUNCTIONS. */
  activations: CellActivationSpec[][];
  /** Pre-activations clamped to [-clip, clip] (undefined: no clip). */
  clip: number | undefined;
  /** LSTM: f = 1 - i. */
  inputForget: boolean;
}

/**
 * Checks a model's `activations`, `clip` and `inputForget` options (`activations`: the cell's
 * functions, or twice as many for a bidirectional model, forward first). Returns undefined when
 * they are PyTorch's cell, which runs the fused kernels.
 */
export function cellConfig(mode: "RNN" | "LSTM" | "GRU", D: number, o: { activations?: unknown; clip?: unknown; inputForget?: unknown }): CellConfig | undefined {
  const { roles, defaults } = CELL_FUNCTIONS[mode];
  const n = defaults.length;
  let perDirection: CellActivationSpec[][] = Array.from({ length: D }, () => defaults.map((name) => cellActivation(mode, name)));
  if (o.activations !== undefined) {
    const list = o.activations;
    if (!Array.isArray(list) || (list.length !== n && list.length !== n * D)) {
      fail("E_VALUE", `${mode}: activations must list ${n} functions ${roles}${D === 2 ? ` or ${2 * n} (forward, then reverse)` : ""}, got ${show(list)}`);
    }
    const specs = list.map((a, i) => cellActivation(`${mode}: activations[${i}]`, a));
    perDirection = Array.from({ length: D }, (_, d) => (specs.length === n ? specs : specs.slice(d * n, d * n + n)));
  }
  let clip: number | undefined;
  if (o.clip !== undefined) {
    if (typeof o.clip !== "number" || !(o.clip > 0)) fail("E_VALUE", `${mode}: clip must be a positive number, got ${show(o.clip)}`);
    clip = o.clip === Infinity ? undefined : o.clip;
  }
  if (o.inputForget !== undefined && typeof o.inputForget !== "boolean") fail("E_VALUE", `${mode}: inputForget must be a boolean, got ${show(o.inputForget)}`);
  const inputForget = o.inputForget === true;
  if (inputForget && mode !== "LSTM") fail("E_VALUE", `${mode}: inputForget is an LSTM option`);
  const plain = perDirection.every((fns) => fns.every((f, i) => f.name === defaults[i]));
  if (plain && clip === undefined && !inputForget) return undefined;
  return { activations: perDirection, clip, inputForget };
}

/** The cell-options block of direction `dir` (CellWord.Count i32 words; floats as their bits). */
export function cellWords(c: CellConfig, dir: number): Int32Array {
  const words = new Int32Array(CellWord.Count);
  const floats = new Float32Array(words.buffer);
  const at = [CellWord.F, CellWord.G, CellWord.H];
  c.activations[dir].forEach((f, i) => {
    words[at[i]] = CODES[f.name];
    floats[at[i] + 1] = f.alpha;
    floats[at[i] + 2] = f.beta;
  });
  // An LSTM's h defaults to tanh when a GRU / RNN list has no third function (unused there).
  if (c.activations[dir].length < 3) words[CellWord.H] = Activation.Tanh;
  floats[CellWord.Clip] = c.clip ?? Infinity;
  words[CellWord.InputForget] = c.inputForget ? 1 : 0;
  return words;
}

/**
 * Why a model with these cell options cannot be trained (undefined: it can): the backward takes
 * each derivative from the activation's output, which a clip or a few parameter ranges hide.
 */
export function untrainable(c: CellConfig | undefined): string | undefined {
  if (c === undefined) return undefined;
  if (c.clip !== undefined) return `clip=${c.clip} (its derivative needs the unclipped pre-activations, which the forward does not keep)`;
  for (const f of c.activations.flat()) {
    const bad =
      (f.name === "leakyRelu" && f.alpha < 0) || (f.name === "thresholdedRelu" && f.alpha < 0) || (f.name === "elu" && f.alpha <= 0) ? `${f.name} with alpha ${f.alpha}` : undefined;
    if (bad) return `${bad} (its output does not determine its derivative)`;
  }
  return undefined;
}

/** The options that rebuild a cell config (for weight files), or {} for PyTorch's cell. */
export function cellOptionsOf(c: CellConfig | undefined): Record<string, unknown> {
  if (c === undefined) return {};
  const out: Record<string, unknown> = { activations: c.activations.flat().map((f) => ({ ...f })) };
  if (c.clip !== undefined) out.clip = c.clip;
  if (c.inputForget) out.inputForget = true;
  return out;
}
