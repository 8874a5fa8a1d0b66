import { fail, RecurError } from "../errors.js";
import type { ESN } from "../esn/esn.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { MRNN } from "../models/mrnn.js";
import { RNN } from "../models/rnn.js";
import type { Tensor } from "../tensor.js";
import { SequenceModel, type SequenceModelOptions } from "../train/sequence-model.js";
import { registeredType, registeredTypeNames, type ModelFactory, type RegisteredType, type SaveableModel } from "./registry.js";
import { fileBytes, readSafetensors, writeSafetensors, type StoredTensor } from "./safetensors.js";
import { jsonObject, own, parseJson } from "./json.js";
import { mb } from "../memory.js";
import { runtime } from "../runtime.js";

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
  if (typeof model !== "object" || model === null || typeof (model as Partial<SaveableModel>).modelSpec !== "function" || typeof (model as Partial<SaveableModel>).stateDict !== "function") {
    fail("E_TYPE", `saveModel: model must be a recur model (with modelSpec() and stateDict()), got ${model === null ? "null" : typeof model === "object" ? "an object without them" : typeof model}`);
  }
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
  const where = "loadModel";
  const file = fileBytes(where, bytes);
  const { tensors, metadata } = readSafetensors(file, { keepTypes: true });
  const { type, config, factory } = readModelSpec(where, metadata, expected);
  return { type, model: buildModel(where, file.byteLength, factory, type, config, tensors) } as LoadedModel;
}

/** The checked `recur.model` metadata of a file: its type (known, and `expected` if given) and config object. */
export function readModelSpec(where: string, metadata: Record<string, string>, expected?: string): { type: string; config: Record<string, unknown>; factory: RegisteredType } {
  const raw = own(metadata, "recur.model");
  if (raw === undefined) {
    fail("E_FORMAT", `${where}: the file has no recur model config (a plain PyTorch state dict?); build the model and call loadStateDict(readSafetensors(bytes).tensors)`);
  }
  const version = own(metadata, "recur.version");
  if (version !== undefined && version !== VERSION) fail("E_FORMAT", `${where}: the file is recur format version ${JSON.stringify(version)}; this version of recur reads version ${VERSION}`);
  const spec = jsonObject(where, "the recur.model metadata", parseJson(where, "the recur.model metadata", raw));
  const type = own(spec, "type");
  const factory = typeof type === "string" ? (builtins.get(type) ?? registeredType(type)) : undefined;
  if (typeof type !== "string" || !factory) {
    const hint = type === "ESN" ? " (a bundle that never imports ESN leaves it out: import { ESN } where you load the file)" : "";
    const shown = typeof type === "string" && type.length > 40 ? `${JSON.stringify(type.slice(0, 40))}...` : JSON.stringify(type) ?? String(type);
    fail("E_FORMAT", `${where}: unknown model type ${shown}${hint} (known: ${[...builtins.keys(), ...registeredTypeNames()].join(", ")})`);
  }
  if (expected !== undefined && type !== expected) fail("E_FORMAT", `${where}: the file's model type is ${type}, not ${expected}`);
  const config = jsonObject(where, "the recur.model config", own(spec, "config"));
  return { type, config, factory };
}

/**
 * Builds a model from a file's config and loads its tensors, all or nothing: the model's Wasm
 * memory may not exceed what a file of `fileBytes` can justify (so a small file declaring a huge
 * model fails at once), and a model built before a failure is disposed. Any failure is a
 * RecurError.
 */
export function buildModel(where: string, fileBytes: number, factory: RegisteredType, type: string, config: Record<string, unknown>, tensors: Record<string, StoredTensor>): SaveableModel {
  const heap = runtime().heap;
  const budget = BUDGET_PER_BYTE * fileBytes + BUDGET_SLACK;
  const why = (bytes: number): string => `${where}: the file's ${type} config needs more Wasm memory (${mb(bytes)} at least) than its ${fileBytes} bytes of weights can fill; the config does not match the data (corrupt or hostile file)`;
  return heap.withBudget(budget, why, () => {
    let model: SaveableModel | undefined;
    try {
      model = factory.create(config);
      model.loadStateDict(factory.keepTypes ? tensors : asFloat32(tensors));
      return model;
    } catch (err) {
      model?.dispose();
      throw err instanceof RecurError ? err : new RecurError("E_FORMAT", `${where}: the ${type} config is invalid (${String(err)})`);
    }
  });
}

// A model's Wasm memory (parameters, packed copies, workspaces, an ESN's float64 state) is a few
// times its weights; anything far beyond that is a config that does not describe the data.
const BUDGET_PER_BYTE = 16;
const BUDGET_SLACK = 32 * 2 ** 20;

function asFloat32(sd: Record<string, StoredTensor>): Record<string, Tensor> {
  const out: Record<string, Tensor> = Object.create(null);
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
