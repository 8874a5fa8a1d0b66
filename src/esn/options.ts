/** Validation of the ESN's options, weights and data: every failure is a RecurError naming the culprit. */
import { fail } from "../errors.js";
import { WASM_MAX_BYTES } from "../memory.js";
import { boolean, integer, number, oneOf, optionsObject, show } from "../validate.js";
import type { Tensor } from "../tensor.js";
import { ACT_CODE } from "./layout.js";
import type { ESNActivation, ESNOptions, ReservoirWeights, SparseMatrix } from "./types.js";

export const RESERVOIR_KEYS = [
  "units", "leakRate", "spectralRadius", "inputScaling", "biasScaling", "connectivity", "inputConnectivity",
  "activation", "sparse", "feedbackScaling", "feedbackConnectivity", "noise",
] as const;
export const ESN_KEYS: readonly string[] = /* @__PURE__ */ (RESERVOIR_KEYS as readonly string[]).concat(["layers", "ridge", "readoutInput", "seed", "inputDim", "outputDim", "weights", "noiseWhen", "precision", "ridgeSolver"]);

export interface LayerSpec {
  units: number;
  leakRate: number;
  spectralRadius: number;
  radiusGiven: boolean;
  inputScaling: number | number[];
  biasScaling: number;
  connectivity: number;
  inputConnectivity: number;
  activation: ESNActivation;
  sparse: boolean | "auto";
  feedbackScaling: number;
  feedbackConnectivity: number;
  noise: number;
  weights: ReservoirWeights;
}

export function resolveLayer(fn: string, top: Record<string, unknown>, own: Record<string, unknown>, weights: ReservoirWeights, l: number): LayerSpec {
  // Output feedback enters the first layer only: deeper layers do not inherit its options.
  const pick = (k: string): unknown => (own[k] !== undefined ? own[k] : l > 0 && k.startsWith("feedback") ? undefined : top[k]);
  const where = `${fn}: layer ${l}`;
  const units = integer(fn, `layer ${l} units`, pick("units"), { min: 1 });
  const act = pick("activation") ?? "tanh";
  if (typeof act !== "string" || !(act in ACT_CODE)) fail("E_VALUE", `${where}: activation must be one of ${Object.keys(ACT_CODE).join(", ")}, got ${show(act)}`);
  const sparse = oneOf(where, "sparse", pick("sparse"), [true, false, "auto"] as const, "auto");
  let inputScaling = pick("inputScaling") ?? 1;
  if (Array.isArray(inputScaling)) {
    inputScaling.forEach((s, i) => number(fn, `layer ${l} inputScaling[${i}]`, s, { min: 0 }, 0));
    inputScaling = [...inputScaling];
  } else inputScaling = number(fn, `layer ${l} inputScaling`, inputScaling, { min: 0 }, 1);
  return {
    units,
    leakRate: number(fn, `layer ${l} leakRate`, pick("leakRate"), { min: 0, max: 1, open: true }, 1),
    spectralRadius: number(fn, `layer ${l} spectralRadius`, pick("spectralRadius"), { min: 0 }, 0.9),
    radiusGiven: pick("spectralRadius") !== undefined,
    inputScaling: inputScaling as number | number[],
    biasScaling: number(fn, `layer ${l} biasScaling`, pick("biasScaling"), { min: 0 }, 1),
    connectivity: number(fn, `layer ${l} connectivity`, pick("connectivity"), { min: 0, max: 1 }, 0.1),
    inputConnectivity: number(fn, `layer ${l} inputConnectivity`, pick("inputConnectivity"), { min: 0, max: 1 }, 0.1),
    activation: act as ESNActivation,
    sparse: sparse as boolean | "auto",
    feedbackScaling: number(fn, `layer ${l} feedbackScaling`, pick("feedbackScaling"), { min: 0 }, 0),
    feedbackConnectivity: number(fn, `layer ${l} feedbackConnectivity`, pick("feedbackConnectivity"), { min: 0, max: 1 }, 1),
    noise: number(fn, `layer ${l} noise`, pick("noise"), { min: 0 }, 0),
    weights,
  };
}

export function isSparse(w: unknown): w is SparseMatrix {
  return typeof w === "object" && w !== null && "rowPtr" in w;
}

export function checkWeightTensor(fn: string, name: string, t: unknown, shape: number[]): Float32Array {
  if (typeof t !== "object" || t === null) fail("E_TYPE", `${fn}: ${name} must be a tensor { shape, data }`);
  const { shape: s, data } = t as Tensor;
  if (!(data instanceof Float32Array)) fail("E_TYPE", `${fn}: ${name}.data must be a Float32Array`);
  const flat = shape.length === 2 && shape[1] === 1 && Array.isArray(s) && s.length === 1 ? [s[0], 1] : s;
  if (!Array.isArray(flat) || flat.length !== shape.length || flat.some((d, i) => d !== shape[i]) || data.length !== shape.reduce((a, b) => a * b, 1)) {
    fail("E_SHAPE", `${fn}: ${name} must have shape [${shape.join(", ")}], got [${Array.isArray(s) ? s.join(", ") : String(s)}] with ${data.length} values`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail("E_VALUE", `${fn}: ${name} holds a non-finite value (${data[i]}) at index ${i}`);
  }
  return data;
}

/** A sequence tensor [T, cols] (a 1-D [T] counts as [T, 1] when cols is 1), finite throughout. */
export function checkSequence(fn: string, name: string, t: unknown, cols: number | undefined): { T: number; cols: number; data: Float32Array } {
  if (typeof t !== "object" || t === null) fail("E_TYPE", `${fn}: ${name} must be a tensor { shape: [T, channels], data }, got ${t === null ? "null" : typeof t}`);
  const { shape, data } = t as Tensor;
  if (!(data instanceof Float32Array)) fail("E_TYPE", `${fn}: ${name}.data must be a Float32Array`);
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 2 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    fail("E_SHAPE", `${fn}: ${name} must have shape [T, channels], got [${Array.isArray(shape) ? shape.join(", ") : String(shape)}]`);
  }
  const T = shape[0];
  const c = shape.length === 2 ? shape[1] : 1;
  if (T * c !== data.length) fail("E_SHAPE", `${fn}: ${name}: shape [${shape.join(", ")}] needs ${T * c} values, data has ${data.length}`);
  if (cols !== undefined && c !== cols) fail("E_SHAPE", `${fn}: ${name} must have ${cols} channel(s) (shape [T, ${cols}]), got [${shape.join(", ")}]`);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      fail("E_VALUE", `${fn}: ${name} holds ${v} at step ${Math.floor(i / c)}${c > 1 ? `, channel ${i % c}` : ""}; every value must be finite`);
    }
  }
  return { T, cols: c, data };
}

export function checkCsr(fn: string, name: string, m: SparseMatrix, n: number): { rowPtr: Int32Array; col: Int32Array; val: Float64Array } {
  const { shape, rowPtr, colIdx, values } = m;
  if (!Array.isArray(shape) || shape[0] !== n || shape[1] !== n) fail("E_SHAPE", `${fn}: ${name} must have shape [${n}, ${n}], got [${shape?.join(", ")}]`);
  if (!(rowPtr instanceof Int32Array) || !(colIdx instanceof Int32Array) || !(values instanceof Float32Array)) {
    fail("E_TYPE", `${fn}: ${name} must be { shape, rowPtr: Int32Array, colIdx: Int32Array, values: Float32Array }`);
  }
  if (rowPtr.length !== n + 1 || rowPtr[0] !== 0 || rowPtr[n] !== values.length || colIdx.length !== values.length) {
    fail("E_SHAPE", `${fn}: ${name}: rowPtr must have ${n + 1} entries from 0 to values.length (${values.length}), colIdx as many as values`);
  }
  for (let i = 0; i < n; i++) if (rowPtr[i + 1] < rowPtr[i]) fail("E_VALUE", `${fn}: ${name}: rowPtr decreases at row ${i}`);
  for (let j = 0; j < colIdx.length; j++) {
    if (!(colIdx[j] >= 0 && colIdx[j] < n)) fail("E_VALUE", `${fn}: ${name}: colIdx[${j}] = ${colIdx[j]} is out of [0, ${n})`);
    if (!Number.isFinite(values[j])) fail("E_VALUE", `${fn}: ${name}: values[${j}] is not finite`);
  }
  return { rowPtr: rowPtr.slice(), col: colIdx.slice(), val: Float64Array.from(values) };
}

/** An ESN's options, checked, with every default filled. */
export interface ESNConfig {
  specs: LayerSpec[];
  /** Total reservoir units (all layers). */
  units: number;
  ridge: number;
  /** The readout sees the input too. */
  rin: boolean;
  seed: number;
  noiseAlways: boolean;
  /** Bytes per state element: 4 (float32) or 8 (float64). */
  es: 4 | 8;
  /** Known before the first data (given, or read from given weights). */
  inputDim: number | undefined;
  outputDim: number | undefined;
  ridgeSolver: "auto" | "primal" | "dual";
}

/** Checks the ESN constructor's options (layers, weights, readout) and fills the defaults. */
export function resolveESNOptions(fn: string, options: ESNOptions): ESNConfig {
  if (options === undefined) fail("E_VALUE", `${fn}: options are required (at least { units })`);
  const o = optionsObject(fn, options, ESN_KEYS);
  const layerOpts = o.layers === undefined ? [{}] : o.layers;
  if (!Array.isArray(layerOpts) || layerOpts.length === 0) fail("E_VALUE", `${fn}: layers must be a non-empty array of layer options`);
  const weightList = o.weights === undefined ? [] : Array.isArray(o.weights) ? (o.weights as ReservoirWeights[]) : [o.weights as ReservoirWeights];
  if (weightList.length > layerOpts.length) fail("E_VALUE", `${fn}: weights has ${weightList.length} entries for ${layerOpts.length} layer(s)`);
  const specs = layerOpts.map((lo, l) => {
    const own = { ...optionsObject(`${fn}: layers[${l}]`, lo, RESERVOIR_KEYS) };
    const w = weightList[l] ?? {};
    optionsObject(`${fn}: weights${weightList.length > 1 ? `[${l}]` : ""}`, w, ["Win", "bias", "W", "Wfb"]);
    if (l > 0 && w.Wfb !== undefined) fail("E_VALUE", `${fn}: weights[${l}].Wfb: output feedback enters the first layer only`);
    const top = { ...o };
    // An explicit W's size decides units when none is given.
    if (top.units === undefined && own.units === undefined && w.W !== undefined) own.units = (w.W as { shape: number[] }).shape?.[0];
    return resolveLayer(fn, top, own, w, l);
  });
  for (let l = 1; l < specs.length; l++) {
    if (specs[l].feedbackScaling > 0) fail("E_VALUE", `${fn}: layer ${l} feedbackScaling: output feedback enters the first layer only`);
  }
  const units = specs.reduce((a, s) => a + s.units, 0);
  // Each unit holds its state and at least one weight (value and column index, sparse): more than
  // Wasm memory holds is refused before anything is drawn.
  if (units * 12 > WASM_MAX_BYTES) fail("E_MEMORY", `${fn}: ${units} units need more than the ${WASM_MAX_BYTES / 2 ** 30} GiB Wasm memory can hold (state and weights take at least 12 bytes per unit)`);
  const ridge = number(fn, "ridge", o.ridge, { min: 0 }, 1e-8);
  const rin = boolean(fn, "readoutInput", o.readoutInput, false);
  const seed = o.seed === undefined ? 0 : (o.seed as number);
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(o.seed)}`);
  const noiseAlways = oneOf(fn, "noiseWhen", o.noiseWhen, ["fit", "always"], "fit") === "always";
  const es: 4 | 8 = oneOf(fn, "precision", o.precision, ["float32", "float64"], "float32") === "float64" ? 8 : 4;
  const w0 = specs[0].weights;
  let inDim = o.inputDim === undefined ? undefined : integer(fn, "inputDim", o.inputDim, { min: 0 });
  const winShape = (w0.Win as Tensor | undefined)?.shape;
  if (inDim === undefined && Array.isArray(winShape)) inDim = winShape.length === 2 ? winShape[1] : 1;
  let outDim = o.outputDim === undefined ? undefined : integer(fn, "outputDim", o.outputDim, { min: 1 });
  const wfbShape = (w0.Wfb as Tensor | undefined)?.shape;
  if (outDim === undefined && Array.isArray(wfbShape)) outDim = wfbShape.length === 2 ? wfbShape[1] : 1;
  const ridgeSolver = oneOf(fn, "ridgeSolver", o.ridgeSolver, ["auto", "primal", "dual"] as const, "auto");
  return { specs, units, ridge, rin, seed, noiseAlways, es, inputDim: inDim, outputDim: outDim, ridgeSolver };
}
