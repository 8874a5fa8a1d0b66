import { fail } from "../errors.js";
import { objectArgument } from "../validate.js";
import { describe, jsonObject, own, parseJson, required } from "./json.js";
import type { Tensor } from "../tensor.js";
import type { Trainable } from "../train/module.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer, type OptimizerStateDict } from "../train/optimizers.js";
import { buildModel, readModelSpec, saveModel, type LoadedModel, type ModelType, type SaveableModel } from "./model-file.js";
import { fileBytes, readSafetensors, writeSafetensors, type StoredTensor } from "./safetensors.js";

const OPT_PREFIX = "optimizer.";

/**
 * A weight file (as saveModel) that also holds the optimizer's state (step count,
 * hyper-parameters, every buffer), so training resumes bit-exactly from it.
 */
export function saveCheckpoint(model: SaveableModel, optimizer: Optimizer, metadata: Record<string, string> = {}): Uint8Array {
  const modelBytes = saveModel(model, metadata);
  const { tensors, metadata: meta } = readSafetensors(modelBytes, { keepTypes: true });
  const sd = optimizer.stateDict();
  sd.state.forEach((entry, i) => {
    for (const [name, t] of Object.entries(entry)) tensors[`${OPT_PREFIX}${i}.${name}`] = t;
  });
  return writeSafetensors(tensors, { ...meta, "recur.optimizer": JSON.stringify({ type: sd.type, step: sd.step, hyperParameters: sd.hyperParameters, regions: sd.state.length }) });
}

/**
 * What `loadCheckpoint` returns: the model as `loadModel` does (`type` narrows `model`), the
 * optimizer's state if the file has one, and the file's metadata.
 */
export type Checkpoint<K extends ModelType = ModelType> = LoadedModel<K> & {
  /** Undefined for a plain model file. */
  optimizerState?: OptimizerStateDict;
  /** The file's string metadata (a vocabulary, a training history, ...). */
  metadata: Record<string, string>;
};

/**
 * Reads a checkpoint (or a plain model file); `expected` as in `loadModel`. Rebuild the
 * optimizer with `optimizerFromState(checkpoint.model, checkpoint.optimizerState)`.
 */
export function loadCheckpoint(bytes: Uint8Array | ArrayBuffer): Checkpoint;
export function loadCheckpoint<K extends ModelType>(bytes: Uint8Array | ArrayBuffer, expected: K): Checkpoint<K>;
export function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, expected?: ModelType): Checkpoint {
  const where = "loadCheckpoint";
  const file = fileBytes(where, bytes);
  const { tensors, metadata } = readSafetensors(file, { keepTypes: true });
  // Everything the file declares is checked before anything is built.
  const { type, config, factory } = readModelSpec(where, metadata, expected);
  const modelTensors: Record<string, StoredTensor> = Object.create(null);
  const optTensors: Record<string, StoredTensor> = Object.create(null);
  for (const [k, v] of Object.entries(tensors)) (k.startsWith(OPT_PREFIX) ? optTensors : modelTensors)[k] = v;
  const rawOpt = own(metadata, "recur.optimizer");
  const optimizerState = rawOpt === undefined ? undefined : readOptimizerState(where, rawOpt as string, optTensors, Object.keys(modelTensors).length);
  if (rawOpt === undefined && Object.keys(optTensors).length > 0) fail("E_FORMAT", `${where}: the file has optimizer tensors but no recur.optimizer metadata`);
  const model = buildModel(where, file.byteLength, factory, type, config, modelTensors);
  return { type, model, ...(optimizerState ? { optimizerState } : {}), metadata } as Checkpoint;
}

// The recur.optimizer metadata and the optimizer.<region>.<buffer> tensors as a state dict,
// checked for shape only; optimizerFromState checks it against the model.
function readOptimizerState(where: string, raw: string, optTensors: Record<string, StoredTensor>, modelTensorCount: number): OptimizerStateDict {
  const what = "the recur.optimizer metadata";
  const head = jsonObject(where, what, parseJson(where, what, raw));
  const type = required(where, what, head, "type");
  if (typeof type !== "string" || !OPTIMIZER_TYPES.has(type)) fail("E_FORMAT", `${where}: ${what}: unknown optimizer type ${describe(type)} (known: ${[...OPTIMIZER_TYPES].join(", ")})`);
  const step = required(where, what, head, "step");
  if (typeof step !== "number" || !Number.isSafeInteger(step) || step < 0) fail("E_FORMAT", `${where}: ${what}: step must be an integer >= 0, got ${describe(step)}`);
  const hyperParameters = jsonObject(where, `${what}'s hyperParameters`, required(where, what, head, "hyperParameters"));
  const regions = required(where, what, head, "regions");
  // Every region holds at least one of the model's tensors, so a count beyond them is corrupt.
  if (typeof regions !== "number" || !Number.isInteger(regions) || regions < 0 || regions > modelTensorCount) {
    fail("E_FORMAT", `${where}: ${what}: regions must be an integer from 0 to ${modelTensorCount} (the model's tensors), got ${describe(regions)}`);
  }
  const state: Record<string, Tensor>[] = Array.from({ length: regions }, () => Object.create(null) as Record<string, Tensor>);
  for (const [k, v] of Object.entries(optTensors)) {
    const rest = k.slice(OPT_PREFIX.length);
    const dot = rest.indexOf(".");
    const i = dot > 0 && /^\d+$/.test(rest.slice(0, dot)) ? Number(rest.slice(0, dot)) : NaN;
    if (!(i >= 0 && i < regions)) fail("E_FORMAT", `${where}: optimizer tensor ${JSON.stringify(k)} names no region (the file has ${regions})`);
    state[i][rest.slice(dot + 1)] = v.data instanceof Float32Array ? (v as Tensor) : { shape: v.shape, data: Float32Array.from(v.data) };
  }
  return { type: type as OptimizerStateDict["type"], step, hyperParameters: hyperParameters as OptimizerStateDict["hyperParameters"], state };
}

const OPTIMIZERS = new Map<string, (modules: Trainable | Trainable[], lr: number) => Optimizer>([
  ["SGD", (m, lr) => new SGD(m, { lr })],
  ["RMSprop", (m, lr) => new RMSprop(m, { lr })],
  ["Adagrad", (m, lr) => new Adagrad(m, { lr })],
  ["Adam", (m, lr) => new Adam(m, { lr })],
  ["AdamW", (m, lr) => new AdamW(m, { lr })],
]);
const OPTIMIZER_TYPES = new Set(OPTIMIZERS.keys());

/**
 * A new optimizer of the saved type over `modules`, with the saved hyper-parameters and state.
 * The state is checked whole first (E_TYPE, E_VALUE or E_KEY naming what is wrong); on failure
 * no optimizer is left behind.
 */
export function optimizerFromState(modules: Trainable | Trainable[], sd: OptimizerStateDict): Optimizer {
  const where = "optimizerFromState";
  objectArgument(where, sd, "the state dict");
  const type = own(sd, "type");
  const factory = typeof type === "string" ? OPTIMIZERS.get(type) : undefined;
  if (!factory) fail("E_VALUE", `${where}: unknown optimizer type ${describe(type)} (known: ${[...OPTIMIZER_TYPES].join(", ")})`);
  const hyper = own(sd, "hyperParameters");
  if (typeof hyper !== "object" || hyper === null || Array.isArray(hyper)) fail("E_TYPE", `${where}: hyperParameters must be an object, got ${describe(hyper)}`);
  const lr = own(hyper, "lr");
  if (typeof lr !== "number" || !(lr >= 0) || !Number.isFinite(lr)) fail("E_VALUE", `${where}: hyperParameters.lr must be a finite number >= 0, got ${describe(lr)}`);
  const opt = factory(modules, lr);
  try {
    opt.loadStateDict(sd);
  } catch (err) {
    opt.dispose();
    throw err;
  }
  return opt;
}
