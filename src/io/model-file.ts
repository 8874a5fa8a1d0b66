import { fail, RecurError } from "../errors.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { RNN } from "../models/rnn.js";
import type { Tensor } from "../tensor.js";
import { SequenceModel, type SequenceModelOptions } from "../train/sequence-model.js";
import { registeredType, registeredTypeNames, type RegisteredType } from "./registry.js";
import { readSafetensors, writeSafetensors, type StoredTensor } from "./safetensors.js";

export { registerModelType, type ModelFactory } from "./registry.js";

/** A model that can be written to a weight file. */
export interface SaveableModel {
  stateDict(): Record<string, StoredTensor>;
  loadStateDict(sd: Record<string, StoredTensor>): void;
  modelSpec(): { type: string; config: Record<string, unknown> };
  dispose(): void;
}

// The built-in types are listed here rather than registered by their own modules: a registration
// is a side effect, and bundlers keep a module with side effects (and everything it imports) in
// every page that imports recur at all, used or not. Other modules register in ./registry.js (the
// echo state network does, with a call bundlers may drop when the ESN is not used).
const builtins = new Map<string, RegisteredType>([
  ["LSTM", { create: (c) => new LSTM(c as never), keepTypes: false }],
  ["GRU", { create: (c) => new GRU(c as never), keepTypes: false }],
  ["RNN", { create: (c) => new RNN(c as never), keepTypes: false }],
  ["SequenceModel", { create: (c) => new SequenceModel(c as unknown as SequenceModelOptions), keepTypes: false }],
]);

const FORMAT = "recur";
const VERSION = "1";

/**
 * A .safetensors file of the model's state dict (PyTorch names, float32) whose `__metadata__`
 * also holds the model's type and config, so loadModel can rebuild it. PyTorch reads it with
 * safetensors.torch.load_file like any other; extra string metadata may be added.
 */
export function saveModel(model: SaveableModel, metadata: Record<string, string> = {}): Uint8Array {
  const spec = model.modelSpec();
  return writeSafetensors(model.stateDict(), {
    ...metadata,
    format: FORMAT,
    "recur.version": VERSION,
    "recur.model": JSON.stringify(spec),
  });
}

/**
 * Rebuilds a model saved by saveModel. A plain PyTorch file (no recur metadata) cannot say which
 * model it holds: build the model yourself and call
 * `model.loadStateDict(readSafetensors(bytes).tensors)`.
 */
export function loadModel(bytes: Uint8Array | ArrayBuffer): SaveableModel {
  const { tensors, metadata } = readSafetensors(bytes, { keepTypes: true });
  const raw = metadata["recur.model"];
  if (raw === undefined) {
    fail("E_FORMAT", "loadModel: the file has no recur model config (a plain PyTorch state dict?); build the model and call loadStateDict(readSafetensors(bytes).tensors)");
  }
  const version = metadata["recur.version"];
  if (version !== undefined && version !== VERSION) fail("E_FORMAT", `loadModel: the file is recur format version ${JSON.stringify(version)}; this version of recur reads version ${VERSION}`);
  let spec: { type?: unknown; config?: unknown };
  try {
    spec = JSON.parse(raw) as typeof spec;
  } catch {
    fail("E_FORMAT", "loadModel: the recur.model metadata is not valid JSON");
  }
  const factory = typeof spec.type === "string" ? (builtins.get(spec.type) ?? registeredType(spec.type)) : undefined;
  if (!factory) {
    const hint = spec.type === "ESN" ? " (a bundle that never imports ESN leaves it out: import { ESN } where you load the file)" : "";
    fail("E_FORMAT", `loadModel: unknown model type ${JSON.stringify(spec.type)}${hint} (known: ${[...builtins.keys(), ...registeredTypeNames()].join(", ")})`);
  }
  if (typeof spec.config !== "object" || spec.config === null) fail("E_FORMAT", "loadModel: the recur.model metadata has no config object");
  const model = factory.create(spec.config as Record<string, unknown>);
  try {
    model.loadStateDict(factory.keepTypes ? tensors : asFloat32(tensors));
  } catch (err) {
    model.dispose();
    throw err instanceof RecurError ? err : new RecurError("E_FORMAT", `loadModel: ${String(err)}`);
  }
  return model;
}

function asFloat32(sd: Record<string, StoredTensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(sd)) out[k] = t.data instanceof Float32Array ? (t as Tensor) : { shape: t.shape, data: Float32Array.from(t.data) };
  return out;
}

/**
 * The entries of a state dict under `prefix` with the prefix removed: PyTorch modules nest their
 * submodules' parameters (e.g. "encoder.lstm.weight_ih_l0").
 */
export function withoutPrefix(sd: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}
