import { checkDepth, jsonObject, parseJson } from "../io/json.js";
import { fail, RecurError } from "../errors.js";
import { runtime } from "../runtime.js";
import { KerasModel, type KerasWeight, type WeightSource } from "./model.js";
import { readKerasFile } from "./files.js";

export { KerasModel, type KerasLayerInfo, type KerasWeight } from "./model.js";

/** A TensorFlow.js layers model as `model.save` writes it. */
export interface TfjsLayersModel {
  /** model.json, parsed or as text. */
  modelJson: string | Record<string, unknown>;
  /**
   * The weight shards' bytes: one buffer (the shards concatenated in manifest order), an array
   * of shards in manifest order, or shards by their path in the manifest (e.g. "model.weights.bin"
   * or "./group1-shard1of2.bin").
   */
  weights: Uint8Array | ArrayBuffer | (Uint8Array | ArrayBuffer)[] | Record<string, Uint8Array | ArrayBuffer>;
}

const bytesOf = (b: Uint8Array | ArrayBuffer): Uint8Array => (b instanceof Uint8Array ? b : new Uint8Array(b));

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
}

function tfjsWeights(source: TfjsLayersModel, manifest: ManifestGroup[]): Map<string, KerasWeight> {
  const w = source.weights;
  let all: Uint8Array;
  const paths = manifest.flatMap((g) => g.paths);
  const norm = (p: string): string => p.replace(/^\.\//, "");
  if (w instanceof Uint8Array || w instanceof ArrayBuffer) all = bytesOf(w);
  else {
    const parts = Array.isArray(w)
      ? w.map(bytesOf)
      : paths.map((p) => {
          const hit = Object.entries(w).find(([k]) => norm(k) === norm(p) || norm(k).endsWith("/" + norm(p)));
          if (hit === undefined) fail("E_KEY", `loadKeras: weight shard "${p}" is not in weights (given: ${Object.keys(w).join(", ")})`);
          return bytesOf(hit[1]);
        });
    if (Array.isArray(w) && parts.length !== paths.length) fail("E_VALUE", `loadKeras: the manifest lists ${paths.length} shard(s), weights has ${parts.length}`);
    all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
  }
  const out = new Map<string, KerasWeight>();
  let offset = 0;
  for (const g of manifest) {
    for (const spec of g.weights) {
      if (spec.quantization !== undefined) fail("E_UNSUPPORTED", `loadKeras: weight "${spec.name}" is quantized`);
      if (spec.dtype !== "float32") fail("E_UNSUPPORTED", `loadKeras: weight "${spec.name}" is ${spec.dtype} (recur reads float32 weights)`);
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * n > all.length) fail("E_FORMAT", `loadKeras: the weight shards end before weight "${spec.name}" (${all.length} bytes, needs ${offset + 4 * n})`);
      const data = new Float32Array(n);
      new Uint8Array(data.buffer).set(all.subarray(offset, offset + 4 * n));
      out.set(spec.name, { name: spec.name, shape: spec.shape, data });
      offset += 4 * n;
    }
  }
  if (offset !== all.length) fail("E_FORMAT", `loadKeras: the weight shards hold ${all.length} bytes, the manifest describes ${offset}`);
  return out;
}

/**
 * Loads a Keras or TensorFlow.js model: `{ modelJson, weights }` as tfjs's `model.save` writes
 * them, or the bytes of a Keras file (`.keras`: a zip of config.json and model.weights.h5;
 * legacy `.h5`). Returns a model whose `predict(x)` gives the Keras model's output for a
 * batch-first input. Call `init()` first. Layers or options recur cannot run fail with
 * E_UNSUPPORTED naming each layer and option; malformed files with E_FORMAT.
 */
export function loadKeras(source: TfjsLayersModel | Uint8Array | ArrayBuffer): KerasModel {
  runtime();
  try {
    return load(source);
  } catch (e) {
    // A config missing what Keras always writes surfaces as a TypeError deep in the rebuild.
    if (e instanceof RecurError) throw e;
    throw new RecurError("E_FORMAT", `loadKeras: malformed model: ${(e as Error).message}`);
  }
}

function load(source: TfjsLayersModel | Uint8Array | ArrayBuffer): KerasModel {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const file = readKerasFile(bytesOf(source));
    return new KerasModel(file.config, file.weights, file.format);
  }
  if (typeof source !== "object" || source === null || !("modelJson" in source)) fail("E_TYPE", "loadKeras: pass { modelJson, weights } or the bytes of a .keras / .h5 file");
  const given: unknown = source.modelJson;
  if (typeof given !== "string") checkDepth("loadKeras", "model.json", given);
  const json = jsonObject("loadKeras", "model.json", typeof given === "string" ? parseJson("loadKeras", "model.json", given) : given);
  const topology = (json.modelTopology as Record<string, unknown> | undefined) ?? json;
  const modelConfig = (topology.model_config as Record<string, unknown> | undefined) ?? topology;
  const manifest = json.weightsManifest as ManifestGroup[] | undefined;
  if (!Array.isArray(manifest)) fail("E_FORMAT", "loadKeras: model.json has no weightsManifest (is this a layers model saved by tfjs?)");
  if (json.format !== undefined && json.format !== "layers-model") fail("E_UNSUPPORTED", `loadKeras: a tfjs "${String(json.format)}" (recur loads layers models)`);
  const weights = tfjsWeights(source, manifest);
  // tfjs names weights "<layer>/<weight>" (and "<layer>/forward_<inner>/<weight>" in Bidirectional).
  const byLayer: WeightSource = (layer) => [...weights.values()].filter((w) => w.name.startsWith(layer + "/"));
  return new KerasModel(modelConfig, byLayer, `tfjs layers model (${String(json.generatedBy ?? "unknown producer")})`);
}
