import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { Trainable } from "../train/module.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer, type OptimizerStateDict } from "../train/optimizers.js";
import { loadModel, saveModel, type LoadedModel, type ModelType, type SaveableModel } from "./model-file.js";
import { readSafetensors, writeSafetensors, type StoredTensor } from "./safetensors.js";

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
  const { tensors, metadata } = readSafetensors(bytes, { keepTypes: true });
  const rawOpt = metadata["recur.optimizer"];
  const modelTensors: Record<string, StoredTensor> = {};
  const optTensors: Record<string, StoredTensor> = {};
  for (const [k, v] of Object.entries(tensors)) (k.startsWith(OPT_PREFIX) ? optTensors : modelTensors)[k] = v;
  const file = writeSafetensors(modelTensors, metadata);
  const loaded = expected === undefined ? loadModel(file) : loadModel(file, expected);
  const model = loaded.model;
  if (rawOpt === undefined) return { ...loaded, metadata };
  let head: { type: OptimizerStateDict["type"]; step: number; hyperParameters: OptimizerStateDict["hyperParameters"]; regions: number };
  try {
    head = JSON.parse(rawOpt) as typeof head;
  } catch {
    model.dispose();
    fail("E_FORMAT", "loadCheckpoint: the recur.optimizer metadata is not valid JSON");
  }
  const state: Record<string, Tensor>[] = Array.from({ length: head.regions }, () => ({}));
  for (const [k, v] of Object.entries(optTensors)) {
    const [i, name] = [Number(k.slice(OPT_PREFIX.length).split(".")[0]), k.slice(OPT_PREFIX.length).split(".").slice(1).join(".")];
    if (!Number.isInteger(i) || i < 0 || i >= head.regions) {
      model.dispose();
      fail("E_FORMAT", `loadCheckpoint: optimizer tensor ${k} names no region (the file has ${head.regions})`);
    }
    state[i][name] = v.data instanceof Float32Array ? (v as Tensor) : { shape: v.shape, data: Float32Array.from(v.data) };
  }
  return { ...loaded, optimizerState: { type: head.type, step: head.step, hyperParameters: head.hyperParameters, state }, metadata };
}

/** A new optimizer of the saved type over `modules`, with the saved hyper-parameters and state. */
export function optimizerFromState(modules: Trainable | Trainable[], sd: OptimizerStateDict): Optimizer {
  const lr = sd.hyperParameters.lr as number;
  const make: Record<OptimizerStateDict["type"], () => Optimizer> = {
    SGD: () => new SGD(modules, { lr }),
    RMSprop: () => new RMSprop(modules, { lr }),
    Adagrad: () => new Adagrad(modules, { lr }),
    Adam: () => new Adam(modules, { lr }),
    AdamW: () => new AdamW(modules, { lr }),
  };
  const factory = make[sd.type];
  if (!factory) fail("E_VALUE", `optimizerFromState: unknown optimizer type ${JSON.stringify(sd.type)}`);
  const opt = factory();
  try {
    opt.loadStateDict(sd);
  } catch (err) {
    opt.dispose();
    throw err;
  }
  return opt;
}
