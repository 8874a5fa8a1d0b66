// Keras files: `.keras` (Keras 3: a zip of config.json, metadata.json and model.weights.h5, whose
// weights are under layers/<name>/vars/<i>, layers/<name>/cell/vars/<i> for recurrent layers and
// layers/<name>/{forward,backward}_layer/cell/vars/<i> in Bidirectional) and legacy `.h5`
// (Keras 2: the config in the root attribute "model_config", weights under model_weights/<layer>/
// in the order of the layer group's "weight_names" attribute).
//
// The zip is read with fflate and HDF5 with jsfive: both pure JavaScript, maintained, and small
// next to an HDF5 library compiled to Wasm; an HDF5 reader of our own would have to cover every
// object-header, B-tree, heap and filter variant that the h5py versions in use write.
import { parseJson as parseJsonChecked } from "../io/json.js";
import { unzipSync } from "fflate";
import * as hdf5 from "jsfive";
import { fail, RecurError } from "../errors.js";
import type { KerasWeight, WeightSource } from "./model.js";

export interface KerasFile {
  config: unknown;
  weights: WeightSource;
  format: string;
}

interface H5Node {
  keys?: string[];
  get?(path: string): H5Node | null;
  attrs: Record<string, unknown>;
  value?: ArrayLike<number>;
  shape?: number[];
  dtype?: unknown;
}

const ZIP = [0x50, 0x4b, 0x03, 0x04];
const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

const startsWith = (b: Uint8Array, sig: number[]): boolean => sig.every((v, i) => b[i] === v);

function openH5(bytes: Uint8Array, what: string): H5Node {
  try {
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    return new hdf5.File(buf, what) as unknown as H5Node;
  } catch (e) {
    throw new RecurError("E_FORMAT", `loadKeras: ${what} is not a readable HDF5 file: ${(e as Error).message}`);
  }
}

/** A child by path, or undefined (jsfive throws for a missing name). */
function child(node: H5Node | null | undefined, path: string): H5Node | undefined {
  if (node === null || node === undefined || node.get === undefined) return undefined;
  try {
    return node.get(path) ?? undefined;
  } catch {
    return undefined;
  }
}

function dataset(node: H5Node | null | undefined, path: string): KerasWeight {
  if (node === null || node === undefined || node.value === undefined || node.shape === undefined) fail("E_FORMAT", `loadKeras: weight "${path}" is missing or not a dataset`);
  let values: ArrayLike<number>;
  try {
    values = node.value;
  } catch (e) {
    throw new RecurError("E_FORMAT", `loadKeras: weight "${path}" cannot be read: ${(e as Error).message}`);
  }
  const dtype = String(node.dtype);
  if (!/^[<|]?f[48]$/.test(dtype)) fail("E_UNSUPPORTED", `loadKeras: weight "${path}" has HDF5 type ${dtype} (recur reads float32 / float64 weights)`);
  const data = Float32Array.from(values);
  return { name: path, shape: [...node.shape], data };
}

function text(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && v.length === 1) return text(v[0]);
  return String(v);
}

function parseJson(s: string, what: string): unknown {
  return parseJsonChecked("loadKeras", what, s);
}

function keras3(bytes: Uint8Array): KerasFile {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new RecurError("E_FORMAT", `loadKeras: the .keras zip cannot be read: ${(e as Error).message}`);
  }
  const config = files["config.json"];
  const weights = files["model.weights.h5"];
  if (config === undefined || weights === undefined) fail("E_FORMAT", `loadKeras: a .keras file holds config.json and model.weights.h5; this one has ${Object.keys(files).join(", ") || "nothing"}`);
  const meta = files["metadata.json"] ? (parseJson(new TextDecoder().decode(files["metadata.json"]), "metadata.json") as { keras_version?: string }) : {};
  const h5 = openH5(weights, "model.weights.h5");
  const root = child(h5, "layers") ?? child(h5, "_layer_checkpoint_dependencies");
  const vars = (path: string): KerasWeight[] => {
    const g = child(root, `${path}/vars`);
    if (g === null || g === undefined || g.keys === undefined) return [];
    return g.keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => dataset(child(g, String(i)), `${path}/vars/${i}`));
  };
  const source: WeightSource = (layer) => {
    const own = vars(layer);
    if (own.length > 0) return own;
    const cell = vars(`${layer}/cell`);
    if (cell.length > 0) return cell;
    return [...vars(`${layer}/forward_layer/cell`), ...vars(`${layer}/backward_layer/cell`), ...vars(`${layer}/layer`)];
  };
  return { config: parseJson(new TextDecoder().decode(config), "config.json"), weights: source, format: `Keras ${meta.keras_version ?? "3"} .keras` };
}

function legacyH5(bytes: Uint8Array): KerasFile {
  const h5 = openH5(bytes, "the .h5 file");
  const configText = h5.attrs.model_config;
  if (configText === undefined) fail("E_FORMAT", "loadKeras: the .h5 file has no model_config attribute (a weights-only file? recur needs the model's config too)");
  const mw = child(h5, "model_weights") ?? h5;
  const source: WeightSource = (layer) => {
    const g = child(mw, layer);
    if (g === undefined) return [];
    const names = g.attrs.weight_names;
    if (!Array.isArray(names)) return [];
    return names.map((n) => {
      const path = text(n);
      return dataset(child(g, path), `model_weights/${layer}/${path}`);
    });
  };
  return { config: parseJson(text(configText), "model_config"), weights: source, format: `Keras ${text(h5.attrs.keras_version ?? "2")} .h5` };
}

export function readKerasFile(bytes: Uint8Array): KerasFile {
  if (startsWith(bytes, ZIP)) return keras3(bytes);
  if (startsWith(bytes, HDF5)) return legacyH5(bytes);
  fail("E_FORMAT", "loadKeras: the bytes are neither a .keras zip nor an HDF5 (.h5) file");
}
