// Keras layers as recur sees them: a functional model's chain of layers in order, and a
// recurrent layer's config and weights converted to a recur LSTM / GRU / RNN (Keras kernels are
// [in, G*units] with gates i, f, c, o for LSTM and z, r, h for GRU; PyTorch's are [G*units, in]
// with i, f, g, o and r, z, n).
import { fail } from "../errors.js";
import type { CellActivation } from "../models/cell.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { RNN } from "../models/rnn.js";
import type { RecurrentModel } from "../models/recurrent.js";
import type { Tensor } from "../tensor.js";
import type { KerasWeight, LayerConfig } from "./types.js";

/** Names of the layers whose outputs feed a functional model's layer (tfjs / Keras 2 and Keras 3 forms). */
function inboundNames(layer: Record<string, unknown>): string[] {
  const nodes = (layer.inbound_nodes ?? []) as unknown[];
  const names: string[] = [];
  for (const node of nodes) {
    if (Array.isArray(node)) for (const t of node) names.push(String((t as unknown[])[0]));
    else {
      // Keras 3: { args: [ { class_name: "__keras_tensor__", config: { keras_history: [name, 0, 0] } } ], kwargs }
      const visit = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v === "object") {
          const history = (v as { config?: { keras_history?: unknown[] } }).config?.keras_history;
          if (Array.isArray(history)) names.push(String(history[0]));
          else Object.values(v).forEach(visit);
        }
      };
      visit((node as { args?: unknown }).args);
    }
  }
  return names;
}

/**
 * The layers of a functional model that is one chain (each layer reads the one before it), in
 * order from the input; anything else (branches, merges, several inputs or outputs) is refused.
 */
export function chainOf(config: Record<string, unknown>): unknown[] {
  const layers = config.layers as Record<string, unknown>[] | undefined;
  if (!Array.isArray(layers)) fail("E_FORMAT", "loadKeras: malformed model config: the model has no layers list");
  const nameOf = (l: Record<string, unknown>): string => String(l.name ?? (l.config as { name?: string } | undefined)?.name ?? "");
  const byName = new Map(layers.map((l) => [nameOf(l), l]));
  const outputs = (config.output_layers ?? []) as unknown[][];
  if (outputs.length !== 1) fail("E_UNSUPPORTED", `loadKeras: a functional model with ${outputs.length} outputs (recur loads one chain of layers)`);
  const chain: unknown[] = [];
  const seen = new Set<string>();
  let name: string | undefined = String((outputs[0] as unknown[])[0]);
  while (name !== undefined) {
    const layer = byName.get(name);
    if (layer === undefined) fail("E_FORMAT", `loadKeras: malformed model config: no layer "${name}"`);
    if (seen.has(name)) fail("E_FORMAT", `loadKeras: malformed model config: layer "${name}" feeds itself`);
    seen.add(name);
    chain.unshift(layer);
    const from = inboundNames(layer);
    if (from.length > 1) fail("E_UNSUPPORTED", `loadKeras: layer "${name}" reads ${from.length} tensors (${from.join(", ")}): recur loads functional models that are one chain of layers`);
    name = from[0];
  }
  if (chain.length !== layers.length) {
    const off = layers.map(nameOf).filter((n) => !seen.has(n));
    fail("E_UNSUPPORTED", `loadKeras: layers ${off.join(", ")} are off the chain from input to output (recur loads one chain of layers)`);
  }
  return chain;
}

export function unwrap(c: unknown): LayerConfig {
  const o = c as { class_name?: string; className?: string; config?: Record<string, unknown> };
  return { className: String(o.class_name ?? o.className ?? ""), config: o.config ?? {} };
}

const TORCH_FROM_KERAS: Record<string, number[]> = { LSTM: [0, 1, 2, 3], GRU: [1, 0, 2], RNN: [0] };

/** Keras [in, G*U] (gate blocks along columns) -> PyTorch [G*U, in] in PyTorch gate order. */
function kernelToTorch(kind: string, k: KerasWeight, U: number): Tensor {
  const [rows, cols] = k.shape;
  const order = TORCH_FROM_KERAS[kind];
  const out = new Float32Array(rows * cols);
  order.forEach((from, to) => {
    for (let u = 0; u < U; u++) for (let r = 0; r < rows; r++) out[(to * U + u) * rows + r] = k.data[r * cols + from * U + u];
  });
  return { shape: [cols, rows], data: out };
}

function biasToTorch(kind: string, b: Float32Array, U: number): Tensor {
  const order = TORCH_FROM_KERAS[kind];
  const out = new Float32Array(order.length * U);
  order.forEach((from, to) => out.set(b.subarray(from * U, (from + 1) * U), to * U));
  return { shape: [out.length], data: out };
}

export const KIND: Record<string, "LSTM" | "GRU" | "RNN"> = { LSTM: "LSTM", GRU: "GRU", SimpleRNN: "RNN" };

interface RecurrentParts {
  kind: "LSTM" | "GRU" | "RNN";
  units: number;
  resetAfter: boolean;
  /** recur's cell functions: [recurrent_activation, activation, activation] (LSTM), [recurrent_activation, activation] (GRU), [activation] (RNN). */
  activations: CellActivation[];
  returnSequences: boolean;
}

/**
 * Keras's activations a cell can run, as recur's. The hard sigmoid is the file's own: Keras 3 made
 * it relu6(x + 3) / 6, Keras 2 and TensorFlow.js have max(0, min(1, 0.2 x + 0.5)).
 */
function cellFunction(name: string, keras3: boolean): CellActivation | undefined {
  const key = name.toLowerCase().replace(/_/g, "");
  if (key === "hardsigmoid") return { name: "hardSigmoid", alpha: keras3 ? 1 / 6 : 0.2, beta: 0.5 };
  if (key === "linear") return { name: "affine", alpha: 1, beta: 0 };
  if (key === "elu") return { name: "elu", alpha: 1 };
  return ["tanh", "sigmoid", "relu", "softsign", "softplus"].includes(key) ? (key as CellActivation) : undefined;
}

/** Checks a recurrent layer's options; every one recur cannot express is named in one error. */
export function recurrentParts(where: string, layer: LayerConfig, keras3: boolean): RecurrentParts {
  const c = layer.config;
  const kind = KIND[layer.className];
  const problems: string[] = [];
  const act = String(c.activation ?? "tanh");
  // tfjs layers default recurrentActivation to hard_sigmoid (it writes the value into model.json).
  const recAct = String(c.recurrent_activation ?? "hard_sigmoid");
  const supported = "tanh, sigmoid, hard_sigmoid, relu, linear, softsign, softplus, elu";
  const fAct = cellFunction(act, keras3), fRec = cellFunction(recAct, keras3);
  if (fAct === undefined) problems.push(`activation="${act}" (recur's cells run ${supported})`);
  if (kind !== "RNN" && fRec === undefined) problems.push(`recurrent_activation="${recAct}" (recur's cells run ${supported})`);
  if (c.go_backwards === true) problems.push("go_backwards=true");
  if (c.stateful === true) problems.push("stateful=true");
  if (c.return_state === true) problems.push("return_state=true");
  if (problems.length > 0) fail("E_UNSUPPORTED", `${where}: ${problems.join("; ")}`);
  return {
    kind,
    units: Number(c.units),
    resetAfter: c.reset_after === true,
    activations: kind === "LSTM" ? [fRec!, fAct!, fAct!] : kind === "GRU" ? [fRec!, fAct!] : [fAct!],
    returnSequences: c.return_sequences === true,
  };
}

/** Builds a one-layer recur model (both directions for Bidirectional) from Keras weights. */
export function recurrentModel(where: string, p: RecurrentParts, inputSize: number, directions: KerasWeight[][]): RecurrentModel {
  const U = p.units;
  const G = p.kind === "LSTM" ? 4 : p.kind === "GRU" ? 3 : 1;
  const sd: Record<string, Tensor> = {};
  let resetAfter = p.resetAfter;
  directions.forEach((ws, d) => {
    const sfx = d === 1 ? "_l0_reverse" : "_l0";
    if (ws.length < 2) fail("E_KEY", `${where}: expected kernel and recurrent_kernel${d === 1 ? " of the backward layer" : ""}, the file has ${ws.length} weights`);
    const [k, r, b] = ws;
    if (k.shape.length !== 2 || k.shape[0] !== inputSize || k.shape[1] !== G * U) fail("E_SHAPE", `${where}: kernel "${k.name}" is [${k.shape.join(", ")}], expected [${inputSize}, ${G * U}]`);
    if (r.shape.length !== 2 || r.shape[0] !== U || r.shape[1] !== G * U) fail("E_SHAPE", `${where}: recurrent_kernel "${r.name}" is [${r.shape.join(", ")}], expected [${U}, ${G * U}]`);
    sd[`weight_ih${sfx}`] = kernelToTorch(p.kind, k, U);
    sd[`weight_hh${sfx}`] = kernelToTorch(p.kind, r, U);
    let bi: Float32Array = new Float32Array(G * U), bh: Float32Array = new Float32Array(G * U);
    if (b !== undefined) {
      if (b.data.length === 2 * G * U && p.kind === "GRU") {
        // reset_after=True: [2, 3U] = input bias, recurrent bias
        resetAfter = true;
        bi = b.data.slice(0, G * U);
        bh = b.data.slice(G * U);
      } else if (b.data.length === G * U) {
        if (p.kind === "GRU") resetAfter = false;
        bi = b.data;
      } else fail("E_SHAPE", `${where}: bias "${b.name}" is [${b.shape.join(", ")}], expected [${G * U}]${p.kind === "GRU" ? ` or [2, ${G * U}]` : ""}`);
    }
    sd[`bias_ih${sfx}`] = biasToTorch(p.kind, bi, U);
    sd[`bias_hh${sfx}`] = biasToTorch(p.kind, bh, U);
  });
  const common = { inputSize, hiddenSize: U, batchFirst: true, bidirectional: directions.length === 2, activations: p.activations };
  const model = p.kind === "LSTM" ? new LSTM(common) : p.kind === "GRU" ? new GRU({ ...common, resetAfter }) : new RNN(common);
  try {
    model.loadStateDict(sd);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
