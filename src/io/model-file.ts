import { fail, RecurError } from "../errors.js";
import type { ESN } from "../esn/esn.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { MRNN } from "../models/mrnn.js";
import { RNN } from "../models/rnn.js";
import type { Tensor } from "../tensor.js";
import { SequenceModel, type SequenceModelOptions } from "../train/sequence-model.js";
import { registeredType, registeredTypeNames, type ModelFactory, type RegisteredType, type SaveableModel } from "./registry.js";
import { readSafetensors, writeSafetensors, type StoredTensor } from "./safetensors.js";

export { registerModelType, type ModelFactory, type SaveableModel } from "./registry.js";


/**
 * The model kinds `loadModel` rebuilds, by the `type` a file records. A type added with
 * `registerModelType` joins the result's types by declaration merging:
 *
 * ```ts
 * declare module "recur-nn" {
 *   interface ModelTypes { Seq2Seq: Seq2Seq }
 * }
 * ```
 */
export interface ModelTypes {
  /** `saveModel(new LSTM(...))` */
  LSTM: LSTM;
  /** `saveModel(new GRU(...))` */
  GRU: GRU;
  /** `saveModel(new RNN(...))` */
  RNN: RNN;
  /** `saveModel(new MRNN(...))` */
  MRNN: MRNN;
  /** `saveModel(new SequenceModel(...))`, `CharLM.save()` */
  SequenceModel: SequenceModel;
  /** `saveModel(new ESN(...))`: reservoir, readout and state (a bundle must import ESN to load it) */
  ESN: ESN;
}

/** A type name `loadModel` knows. */
export type ModelType = keyof ModelTypes;

/**
 * What `loadModel` returns: `type` says which model `model` is, so a check of `type` narrows it
 * (`if (loaded.type === "LSTM") loaded.model.forward(x)`).
 */
export type LoadedModel<K extends ModelType = ModelType> = {
  [T in K]: {
    /** The model's type, as the file records it. */
    type: T;
    /** The rebuilt model, its weights loaded. */
    model: ModelTypes[T];
  };
}[K];

// The built-in types are listed here rather than registered by their own modules: a registration
// is a side effect, and bundlers keep a module with side effects (and everything it imports) in
// every page that imports recur at all, used or not. Other modules register in ./registry.js (the
// echo state network does, with a call bundlers may drop when the ESN is not used).
const builtins = new Map<string, RegisteredType>([
  ["LSTM", { create: (c) => new LSTM(c as never), keepTypes: false }],
  ["GRU", { create: (c) => new GRU(c as never), keepTypes: false }],
  ["RNN", { create: (c) => new RNN(c as never), keepTypes: false }],
  ["MRNN", { create: (c) => new MRNN(c as never), keepTypes: false }],
  ["SequenceModel", { create: ((c) => new SequenceModel(c as unknown as SequenceModelOptions)) as ModelFactory, keepTypes: false }],
]);

const FORMAT = "recur";
const VERSION = "1";

/**
 * A .safetensors file of the model's state dict (PyTorch names, float32; an ESN adds float64 and
 * integer tensors) whose `__metadata__` also holds the model's type and config, so loadModel can
 * rebuild it. PyTorch reads it with safetensors.torch.load_file like any other; extra string
 * metadata may be added.
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
 * Rebuilds a model saved by `saveModel` and says which it is:
 *
 * ```ts
 * const loaded = loadModel(bytes);
 * if (loaded.type === "LSTM") loaded.model.forward(x); // loaded.model is an LSTM here
 * const { model } = loadModel(bytes, "GRU");           // a GRU, or a RecurError if the file holds another type
 * ```
 *
 * A plain PyTorch file (no recur metadata) cannot say which model it holds: build the model
 * yourself and call `model.loadStateDict(readSafetensors(bytes).tensors)`. Throws RecurError
 * `E_FORMAT` for a file that is not a recur model (or not of `expected`, or of another format
 * version), naming what is wrong.
 */
export function loadModel(bytes: Uint8Array | ArrayBuffer): LoadedModel;
export function loadModel<K extends ModelType>(bytes: Uint8Array | ArrayBuffer, expected: K): LoadedModel<K>;
export function loadModel(bytes: Uint8Array | ArrayBuffer, expected?: string): LoadedModel {
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
  const type = spec.type;
  const factory = typeof type === "string" ? (builtins.get(type) ?? registeredType(type)) : undefined;
  if (typeof type !== "string" || !factory) {
    const hint = type === "ESN" ? " (a bundle that never imports ESN leaves it out: import { ESN } where you load the file)" : "";
    fail("E_FORMAT", `loadModel: unknown model type ${JSON.stringify(type)}${hint} (known: ${[...builtins.keys(), ...registeredTypeNames()].join(", ")})`);
  }
  if (expected !== undefined && type !== expected) fail("E_FORMAT", `loadModel: the file's model type is ${type}, not ${expected}`);
  if (typeof spec.config !== "object" || spec.config === null) fail("E_FORMAT", "loadModel: the recur.model metadata has no config object");
  const model = factory.create(spec.config as Record<string, unknown>);
  try {
    model.loadStateDict(factory.keepTypes ? tensors : asFloat32(tensors));
  } catch (err) {
    model.dispose();
    throw err instanceof RecurError ? err : new RecurError("E_FORMAT", `loadModel: ${String(err)}`);
  }
  return { type, model } as LoadedModel;
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
