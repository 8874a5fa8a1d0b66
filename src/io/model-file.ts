import { fail, RecurError } from "../errors.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { RNN } from "../models/rnn.js";
import type { Tensor } from "../tensor.js";
import { SequenceModel, type SequenceModelOptions } from "../train/sequence-model.js";
import { readSafetensors, writeSafetensors } from "./safetensors.js";

/** A model that can be written to a weight file. */
export interface SaveableModel {
  /** Every parameter, by its PyTorch name. */
  stateDict(): Record<string, Tensor>;
  /** Replaces the parameters (all or nothing). */
  loadStateDict(sd: Record<string, Tensor>): void;
  /** The type name and constructor options that rebuild the model. */
  modelSpec(): {
    /** The name `loadModel` looks up (see ModelTypes). */
    type: string;
    /** The options the model is rebuilt from. */
    config: Record<string, unknown>;
  };
  /** Frees the model's Wasm memory. */
  dispose(): void;
}

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
  /** `saveModel(new SequenceModel(...))`, `CharLM.save()` */
  SequenceModel: SequenceModel;
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

/** Builds a model of one type from the config its file recorded. */
export type ModelFactory<M extends SaveableModel = SaveableModel> = (config: Record<string, unknown>) => M;

// The built-in types are listed here rather than registered by their own modules: a registration
// is a side effect, and bundlers keep a module with side effects (and everything it imports) in
// every page that imports recur at all, used or not.
const factories = new Map<string, ModelFactory>([
  ["LSTM", (c) => new LSTM(c as never)],
  ["GRU", (c) => new GRU(c as never)],
  ["RNN", (c) => new RNN(c as never)],
  ["SequenceModel", (c) => new SequenceModel(c as unknown as SequenceModelOptions)],
]);

/**
 * Lets `loadModel` rebuild another model kind (e.g. a composed model) from files whose
 * `modelSpec().type` is `type`. Add the type to `ModelTypes` for typed results.
 */
export function registerModelType(type: string, factory: ModelFactory): void {
  factories.set(type, factory);
}

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
 * `E_FORMAT` for a file that is not a recur model (or not of `expected`), naming what is wrong.
 */
export function loadModel(bytes: Uint8Array | ArrayBuffer): LoadedModel;
export function loadModel<K extends ModelType>(bytes: Uint8Array | ArrayBuffer, expected: K): LoadedModel<K>;
export function loadModel(bytes: Uint8Array | ArrayBuffer, expected?: string): LoadedModel {
  const { tensors, metadata } = readSafetensors(bytes);
  const raw = metadata["recur.model"];
  if (raw === undefined) {
    fail("E_FORMAT", "loadModel: the file has no recur model config (a plain PyTorch state dict?); build the model and call loadStateDict(readSafetensors(bytes).tensors)");
  }
  let spec: { type?: unknown; config?: unknown };
  try {
    spec = JSON.parse(raw) as typeof spec;
  } catch {
    fail("E_FORMAT", "loadModel: the recur.model metadata is not valid JSON");
  }
  const type = spec.type;
  const factory = typeof type === "string" ? factories.get(type) : undefined;
  if (typeof type !== "string" || !factory) fail("E_FORMAT", `loadModel: unknown model type ${JSON.stringify(type)} (known: ${[...factories.keys()].join(", ")})`);
  if (expected !== undefined && type !== expected) fail("E_FORMAT", `loadModel: the file's model type is ${type}, not ${expected}`);
  if (typeof spec.config !== "object" || spec.config === null) fail("E_FORMAT", "loadModel: the recur.model metadata has no config object");
  const model = factory(spec.config as Record<string, unknown>);
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    model.dispose();
    throw err instanceof RecurError ? err : new RecurError("E_FORMAT", `loadModel: ${String(err)}`);
  }
  return { type, model } as LoadedModel;
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
