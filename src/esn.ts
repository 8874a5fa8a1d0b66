/**
 * Echo state networks (reservoir computing): leaky reservoirs (dense or sparse, stacked), ridge
 * and online (RLS / FORCE) readouts, teacher forcing, closed-loop generation.
 *
 *   x(t) = (1 − a) x(t−1) + a (f(W_in u(t) + bias + W x(t−1) [+ W_fb y(t−1)]) [+ noise])
 *   y(t) = W_out [1; u(t); x(t)]        (or [1; x(t)] with readoutInput: false)
 *
 * Every sequence run is one Wasm call (assembly/reservoir.ts: `esnRun`) over all its steps; the
 * ridge readout streams the float64 Gram matrix [Z Y]ᵀ[Z Y] while the reservoir runs, so a long
 * series never keeps its states, and solves (ZᵀZ + ridge·I) W_outᵀ = ZᵀY by a float64 Cholesky
 * factorisation in Wasm. Names follow ReservoirPy where it has one (units, leak rate, spectral
 * radius, input/bias scaling, connectivity, ridge, warmup...).
 */
import { fail } from "./errors.js";
import type { Heap } from "./memory.js";
import { createRng, type Rng } from "./random.js";
import { runtime, type Runtime } from "./runtime.js";
import { spectralRadius, type KrylovWorkspace, type LinearOperator } from "./spectral.js";
import type { Tensor } from "./tensor.js";

// ---------------------------------------------------------------------------------------------
// Public types

export type ESNActivation = "tanh" | "sigmoid" | "relu" | "identity";

/** Options of one reservoir layer. In `ESNOptions` they are the defaults of every layer. */
export interface ReservoirOptions {
  /** Number of units (neurons). Required. */
  units: number;
  /** Leak rate a of x(t) = (1 − a)·x(t−1) + a·f(...), in (0, 1]. Default 1 (no leak). */
  leakRate?: number;
  /**
   * Spectral radius (largest |eigenvalue|) W is rescaled to, measured by implicitly restarted
   * Arnoldi in float64 (src/spectral.ts). Default 0.9. Applied to a random W always, to an
   * explicit W only when this option is given explicitly (explicit weights are otherwise used
   * as given). 0 means no recurrence (W = 0).
   */
  spectralRadius?: number;
  /**
   * W_in entries are drawn uniformly from [−s, s]: one `s` for all input channels or one per
   * channel. Default 1.
   */
  inputScaling?: number | number[];
  /** Bias entries are drawn uniformly from [−biasScaling, biasScaling]. Default 1; 0 = no bias. */
  biasScaling?: number;
  /**
   * Fraction of nonzero entries of W, in [0, 1]: every row gets max(1, round(connectivity·units))
   * nonzeros at distinct random columns, drawn uniformly from [−1, 1] before rescaling. Default 0.1.
   */
  connectivity?: number;
  /** Probability that an entry of W_in is nonzero, in [0, 1]. Default 0.1 (ReservoirPy's). */
  inputConnectivity?: number;
  /** f in the state equation. Default "tanh". */
  activation?: ESNActivation;
  /**
   * Storage of W: true = CSR (sparse product), false = dense SIMD product, "auto" (default) =
   * CSR when fewer than 10 % of W's entries are nonzero (the measured crossover of the two
   * kernels: at 5 % CSR takes 0.5–0.75x the dense time, at 10 % 0.9–1.1x, for 100–1000 units).
   */
  sparse?: boolean | "auto";
  /**
   * Output feedback W_fb y(t−1) into the first layer: W_fb entries are drawn from
   * [−feedbackScaling, feedbackScaling]. Default 0 (no feedback). Fitting teacher-forces y(t−1).
   */
  feedbackScaling?: number;
  /** Probability that an entry of W_fb is nonzero. Default 1. */
  feedbackConnectivity?: number;
  /**
   * Standard deviation of Gaussian state noise added to f(...) (ReservoirPy's noise_rc), a
   * regulariser that stabilises closed-loop generation. Default 0. See `ESNOptions.noiseWhen`.
   */
  noise?: number;
}

/** A CSR matrix: row i holds values[rowPtr[i] .. rowPtr[i+1]) at columns colIdx[...]. */
export interface SparseMatrix {
  shape: [number, number];
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
}

/**
 * Explicit weights of one layer, used as given (no rescaling unless `spectralRadius` is passed
 * explicitly). Any piece left out is drawn at random. Shapes: W_in [units, inDim] where inDim is
 * the input size (first layer) or the previous layer's units; bias [units]; W [units, units];
 * W_fb [units, outDim] (first layer only).
 */
export interface ReservoirWeights {
  Win?: Tensor;
  bias?: Tensor;
  W?: Tensor | SparseMatrix;
  Wfb?: Tensor;
}

export interface ESNOptions extends Partial<ReservoirOptions> {
  /**
   * Stacked (deep) reservoirs: one entry per layer, each overriding the top-level reservoir
   * options. Layer l > 0 is driven by layer l − 1's state; the readout reads every layer.
   * Default: one layer with the top-level options.
   */
  layers?: Partial<ReservoirOptions>[];
  /** Ridge (Tikhonov) coefficient of the readout; every entry of W_out, the bias included, is regularised. Default 1e-8. */
  ridge?: number;
  /** Readout on [1; u; x] (true) or [1; x] (false, default, as ReservoirPy's ESN). */
  readoutInput?: boolean;
  /** Seed of every random draw (weights, state noise). Default 0. Same seed, same network. */
  seed?: number;
  /** Input channels; default: taken from the first data seen (or from `weights`). */
  inputDim?: number;
  /** Output channels; default: taken from the first targets (required up front with feedback, unless `weights.Wfb` gives it). */
  outputDim?: number;
  /** Explicit weights for the first layer, or one entry per layer. */
  weights?: ReservoirWeights | ReservoirWeights[];
  /** When state noise applies: "fit" (default: teacher-forced training runs only) or "always". */
  noiseWhen?: "fit" | "always";
  /**
   * Arithmetic of the reservoir: "float32" (default; SIMD, half the memory) or "float64" (states,
   * weights and feedback in float64, scalar: several times slower). The readout, its Gram matrix
   * and the solve are float64 in both. Choose float64 when a closed-loop run must follow a
   * float64 reference closely: chaotic free runs with a weakly regularised readout amplify float32
   * rounding (see test/esn.exact.test.ts). Inputs, targets and results stay float32 tensors.
   */
  precision?: "float32" | "float64";
}

export interface FitOptions {
  /** Initial steps of each sequence run but left out of the regression (transient). Default 0. */
  washout?: number;
  /** Reset the state to zero before each sequence (default false: continue from the current state). */
  reset?: boolean;
  /** Overrides the model's ridge for this solve. */
  ridge?: number;
}

export interface SolveOptions {
  /** Overrides the model's ridge for this solve. */
  ridge?: number;
}

export interface OnlineFitOptions {
  /** Initial steps run without learning. Default 0. */
  washout?: number;
  /** Reset the state to zero first (default false). */
  reset?: boolean;
  /** P(0) = I / alpha: small alpha = fast initial learning (ReservoirPy's RLS/FORCE `alpha`). Default 1e-6. */
  alpha?: number;
  /** Forgetting factor λ in (0, 1]: past errors weigh λ^age. Default 1 (plain RLS). */
  forgetting?: number;
  /**
   * What the output feedback sees while learning: "teacher" (default; teacher forcing) or
   * "output" (the readout's own output: FORCE learning, Sussillo & Abbott 2009).
   */
  feedbackFrom?: "teacher" | "output";
  /** Start from W_out = 0 and P = I/alpha even if a readout exists. Default false. */
  restart?: boolean;
}

export interface PredictOptions {
  /** Teacher outputs for the feedback (teacher forcing) instead of the model's own outputs, [T, outDim]. */
  teacher?: Tensor;
  /** Reset the state to zero first (default false: continue from the current state). */
  reset?: boolean;
}

export interface GenerateOptions {
  /**
   * Series to drive the model with before running closed-loop: [Tw, inDim] (or [Tw, outDim]
   * for a model without inputs). Its last step's prediction is the first generated value.
   */
  warmup?: Tensor;
  /** Reset the state to zero first (default false). */
  reset?: boolean;
}

/** What was built for one layer. */
export interface LayerInfo {
  units: number;
  inputDim: number;
  storage: "dense" | "csr";
  /** Nonzeros of W. */
  nnz: number;
  /** Spectral radius of the stored (float32) W, measured before scaling times the scale. */
  spectralRadius: number;
  /** Details of the eigenvalue computation (undefined if W was used as given). */
  eigen?: { residual: number; converged: boolean; products: number };
}

// ---------------------------------------------------------------------------------------------
// Descriptor layout shared with assembly/reservoir.ts

const enum Field {
  Layers = 0,
  In = 1,
  Out = 2,
  Feat = 3,
  Rin = 4,
  F = 5,
  Ext = 6,
  Fb = 7,
  YPrev = 8,
  Wout = 9,
  Y = 10,
  Z = 11,
  Rng = 12,
  Chunk = 13,
  ChunkRows = 14,
  G = 15,
  Gram = 16,
  P = 17,
  K = 18,
  Prec = 19,
  Forget = 20, // f64
}
const LAYER0 = 128;
const LAYER_BYTES = 128;
const enum LField {
  N = 0,
  K = 1,
  In = 2,
  X = 3,
  Pre = 4,
  Win = 5,
  Mode = 6,
  W = 7,
  Col = 8,
  Val = 9,
  Leak = 10,
  Act = 11,
  Noise = 12,
  Bias = 13,
  Cat = 16,
}
const L_LEAK64 = 56; // byte offset of the f64 leak rate in a layer descriptor
const enum Flag {
  Closed = 1,
  FbIsInput = 2,
  Teacher = 4,
  Gram = 8,
  Rls = 16,
  Noise = 32,
  Output = 64,
}
const ACT_CODE: Record<ESNActivation, number> = { tanh: 0, sigmoid: 1, relu: 2, identity: 3 };

const align = (n: number): number => Math.ceil(n / 64) * 64;
const EPS = 2.220446049250313e-16;
// Bytes of the buffers of one Wasm call; longer sequences are cut into several calls.
const SLICE_BYTES = 16 << 20;
const CHUNK_BYTES = 256 << 10;
// Arnoldi basis size for the spectral radius (src/spectral.ts's default).
const KRYLOV_DIM = 48;

const RESERVOIR_KEYS = [
  "units", "leakRate", "spectralRadius", "inputScaling", "biasScaling", "connectivity", "inputConnectivity",
  "activation", "sparse", "feedbackScaling", "feedbackConnectivity", "noise",
] as const;
const ESN_KEYS = [...RESERVOIR_KEYS, "layers", "ridge", "readoutInput", "seed", "inputDim", "outputDim", "weights", "noiseWhen", "precision"];

interface LayerSpec {
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

interface LayerMem {
  n: number;
  k: number; // inputs of the layer (layer 0: inputDim + feedback)
  desc: number;
  pre: number;
  win: number;
  bias: number; // float64 models only (float32 packs the bias with W_in)
  cat: number; // float32 dense layers: the [x(t-1); input] vector of the fused product
  mode: "dense" | "csr";
  w: number; // packed dense W, or CSR rowPtr
  col: number;
  val: number;
  nnz: number;
}

interface RawLayer {
  n: number;
  kin: number;
  k: number;
  csr?: { rowPtr: Int32Array; col: Int32Array; val: Float64Array };
  dense?: Float64Array;
  win: Float64Array;
  bias: Float64Array;
  rescale: boolean;
  spec: LayerSpec;
}

interface Built {
  I: number;
  O: number; // 0 while unknown
  fb: number;
  D: number;
  block: number;
  desc: number;
  F: number;
  ext: number;
  rng: number;
  layers: LayerMem[];
  info: LayerInfo[];
}

interface Readout {
  block: number;
  yPrev: number;
  y: number;
  z: number;
  k: number;
  wout: number;
}

interface RunRequest {
  label: string;
  steps: number;
  inputs?: Float32Array;
  teacher?: Float32Array;
  outputs?: Float32Array;
  states?: Float32Array;
  washout: number;
  flags: number;
}

// Models are freed when disposed, or when collected without dispose (a safety net only: it runs
// at the engine's leisure).
const finalizer = new FinalizationRegistry<{ heap: Heap; ptrs: Set<number> }>(({ heap, ptrs }) => {
  for (const p of ptrs) heap.release(p);
});

// ---------------------------------------------------------------------------------------------
// Option validation

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  return String(v);
}

function checkKeys(fn: string, o: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (o === undefined) return {};
  if (typeof o !== "object" || o === null || Array.isArray(o)) fail("E_VALUE", `${fn}: options must be an object, got ${show(o)}`);
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) fail("E_VALUE", `${fn}: unknown option "${key}" (allowed: ${allowed.join(", ")})`);
  }
  return o as Record<string, unknown>;
}

function num(fn: string, name: string, v: unknown, def: number, lo: number, hi = Infinity, loOpen = false): number {
  if (v === undefined) return def;
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (loOpen && v === lo)) {
    const range = hi === Infinity ? `${loOpen ? ">" : ">="} ${lo}` : `in ${loOpen ? "(" : "["}${lo}, ${hi}]`;
    fail("E_VALUE", `${fn}: ${name} must be a finite number ${range}, got ${show(v)}`);
  }
  return v;
}

function int(fn: string, name: string, v: unknown, def: number | undefined, lo: number): number {
  if (v === undefined && def !== undefined) return def;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo) fail("E_VALUE", `${fn}: ${name} must be an integer >= ${lo}, got ${show(v)}`);
  return v;
}

function bool(fn: string, name: string, v: unknown, def: boolean): boolean {
  if (v === undefined) return def;
  if (typeof v !== "boolean") fail("E_VALUE", `${fn}: ${name} must be a boolean, got ${show(v)}`);
  return v;
}

function resolveLayer(fn: string, top: Record<string, unknown>, own: Record<string, unknown>, weights: ReservoirWeights, l: number): LayerSpec {
  // Output feedback enters the first layer only: deeper layers do not inherit its options.
  const pick = (k: string): unknown => (own[k] !== undefined ? own[k] : l > 0 && k.startsWith("feedback") ? undefined : top[k]);
  const where = `${fn}: layer ${l}`;
  const units = int(fn, `layer ${l} units`, pick("units"), undefined, 1);
  const act = pick("activation") ?? "tanh";
  if (typeof act !== "string" || !(act in ACT_CODE)) fail("E_VALUE", `${where}: activation must be one of ${Object.keys(ACT_CODE).join(", ")}, got ${show(act)}`);
  const sparse = pick("sparse") ?? "auto";
  if (sparse !== true && sparse !== false && sparse !== "auto") fail("E_VALUE", `${where}: sparse must be true, false or "auto", got ${show(sparse)}`);
  let inputScaling = pick("inputScaling") ?? 1;
  if (Array.isArray(inputScaling)) {
    inputScaling.forEach((s, i) => num(fn, `layer ${l} inputScaling[${i}]`, s, 0, 0));
    inputScaling = [...inputScaling];
  } else inputScaling = num(fn, `layer ${l} inputScaling`, inputScaling, 1, 0);
  return {
    units,
    leakRate: num(fn, `layer ${l} leakRate`, pick("leakRate"), 1, 0, 1, true),
    spectralRadius: num(fn, `layer ${l} spectralRadius`, pick("spectralRadius"), 0.9, 0),
    radiusGiven: pick("spectralRadius") !== undefined,
    inputScaling: inputScaling as number | number[],
    biasScaling: num(fn, `layer ${l} biasScaling`, pick("biasScaling"), 1, 0),
    connectivity: num(fn, `layer ${l} connectivity`, pick("connectivity"), 0.1, 0, 1),
    inputConnectivity: num(fn, `layer ${l} inputConnectivity`, pick("inputConnectivity"), 0.1, 0, 1),
    activation: act as ESNActivation,
    sparse: sparse as boolean | "auto",
    feedbackScaling: num(fn, `layer ${l} feedbackScaling`, pick("feedbackScaling"), 0, 0),
    feedbackConnectivity: num(fn, `layer ${l} feedbackConnectivity`, pick("feedbackConnectivity"), 1, 0, 1),
    noise: num(fn, `layer ${l} noise`, pick("noise"), 0, 0),
    weights,
  };
}

function isSparse(w: unknown): w is SparseMatrix {
  return typeof w === "object" && w !== null && "rowPtr" in w;
}

function checkWeightTensor(fn: string, name: string, t: unknown, shape: number[]): Float32Array {
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
function checkSequence(fn: string, name: string, t: unknown, cols: number | undefined): { T: number; cols: number; data: Float32Array } {
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

// ---------------------------------------------------------------------------------------------
// Random weights

// Per row exactly `k` distinct columns (Floyd's sampling), sorted: CSR directly, memory O(nnz).
function randomCsr(rng: Rng, n: number, k: number): { rowPtr: Int32Array; col: Int32Array; val: Float64Array } {
  const rowPtr = new Int32Array(n + 1);
  const col = new Int32Array(n * k);
  const val = new Float64Array(n * k);
  const chosen = new Set<number>();
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    rowPtr[i + 1] = (i + 1) * k;
    cols.length = 0;
    if (k === n) for (let j = 0; j < n; j++) cols.push(j);
    else {
      chosen.clear();
      for (let j = n - k; j < n; j++) {
        const t = rng.int(j + 1);
        chosen.add(chosen.has(t) ? j : t);
      }
      for (const c of chosen) cols.push(c);
      cols.sort((a, b) => a - b);
    }
    for (let j = 0; j < k; j++) {
      col[i * k + j] = cols[j];
      val[i * k + j] = rng.uniform(-1, 1);
    }
  }
  return { rowPtr, col, val };
}

function randomDenseBlock(rng: Rng, rows: number, cols: number, scale: (c: number) => number, density: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) {
      if (density < 1 && !(rng.next() < density)) continue;
      const s = scale(c);
      out[i * cols + c] = rng.uniform(-s, s);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * An echo state network. `await init()` first; call `dispose()` when done (a finalizer frees the
 * Wasm memory of a model that is garbage-collected without it, eventually).
 *
 * ```ts
 * const esn = new ESN({ units: 500, leakRate: 0.3, spectralRadius: 1.25, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, seed: 1 });
 * esn.fit(inputs, targets, { washout: 100 });
 * const y = esn.predict(test);
 * const g = esn.generate(200, { warmup });
 * ```
 *
 * Failed calls (bad arguments, non-finite states, singular systems) throw a RecurError and leave
 * the model as it was: state, readout and accumulated statistics are restored.
 */
export class ESN {
  /** Total reservoir units (all layers). */
  readonly units: number;
  private readonly rt: Runtime;
  private readonly specs: LayerSpec[];
  private readonly seed: number;
  private readonly rin: boolean;
  private ridge: number;
  private readonly noiseAlways: boolean;
  /** Bytes per state element: 4 (float32) or 8 (float64). */
  private readonly es: number;
  private readonly fixedInputDim: number | undefined;
  private fixedOutputDim: number | undefined;
  private built: Built | undefined;
  private readout: Readout | undefined;
  private fitted = false;
  private gram: { block: number; chunk: number; gram: number; G: number; rows: number; O: number } | undefined;
  private rls: { block: number; alpha: number } | undefined;
  private isDisposed = false;
  private krylovBlock = 0;
  private readonly owned: { heap: Heap; ptrs: Set<number> };

  constructor(options: ESNOptions) {
    const fn = "ESN";
    if (options === undefined) fail("E_VALUE", `${fn}: options are required (at least { units })`);
    const o = checkKeys(fn, options, ESN_KEYS);
    this.rt = runtime();
    const layerOpts = o.layers === undefined ? [{}] : o.layers;
    if (!Array.isArray(layerOpts) || layerOpts.length === 0) fail("E_VALUE", `${fn}: layers must be a non-empty array of layer options`);
    const weightList = o.weights === undefined ? [] : Array.isArray(o.weights) ? (o.weights as ReservoirWeights[]) : [o.weights as ReservoirWeights];
    if (weightList.length > layerOpts.length) fail("E_VALUE", `${fn}: weights has ${weightList.length} entries for ${layerOpts.length} layer(s)`);
    this.specs = layerOpts.map((lo, l) => {
      const own = { ...checkKeys(`${fn}: layers[${l}]`, lo, RESERVOIR_KEYS) };
      const w = weightList[l] ?? {};
      checkKeys(`${fn}: weights${weightList.length > 1 ? `[${l}]` : ""}`, w, ["Win", "bias", "W", "Wfb"]);
      if (l > 0 && w.Wfb !== undefined) fail("E_VALUE", `${fn}: weights[${l}].Wfb: output feedback enters the first layer only`);
      const top = { ...o };
      // An explicit W's size decides units when none is given.
      if (top.units === undefined && own.units === undefined && w.W !== undefined) own.units = (w.W as { shape: number[] }).shape?.[0];
      return resolveLayer(fn, top, own, w, l);
    });
    for (let l = 1; l < this.specs.length; l++) {
      if (this.specs[l].feedbackScaling > 0) fail("E_VALUE", `${fn}: layer ${l} feedbackScaling: output feedback enters the first layer only`);
    }
    this.units = this.specs.reduce((a, s) => a + s.units, 0);
    this.ridge = num(fn, "ridge", o.ridge, 1e-8, 0);
    this.rin = bool(fn, "readoutInput", o.readoutInput, false);
    this.seed = o.seed === undefined ? 0 : (o.seed as number);
    if (typeof this.seed !== "number" || !Number.isSafeInteger(this.seed)) fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(o.seed)}`);
    const nw = o.noiseWhen ?? "fit";
    if (nw !== "fit" && nw !== "always") fail("E_VALUE", `${fn}: noiseWhen must be "fit" or "always", got ${show(nw)}`);
    this.noiseAlways = nw === "always";
    const prec = o.precision ?? "float32";
    if (prec !== "float32" && prec !== "float64") fail("E_VALUE", `${fn}: precision must be "float32" or "float64", got ${show(prec)}`);
    this.es = prec === "float64" ? 8 : 4;
    const w0 = this.specs[0].weights;
    let inDim = o.inputDim === undefined ? undefined : int(fn, "inputDim", o.inputDim, undefined, 0);
    const winShape = (w0.Win as Tensor | undefined)?.shape;
    if (inDim === undefined && Array.isArray(winShape)) inDim = winShape.length === 2 ? winShape[1] : 1;
    this.fixedInputDim = inDim;
    let outDim = o.outputDim === undefined ? undefined : int(fn, "outputDim", o.outputDim, undefined, 1);
    const wfbShape = (w0.Wfb as Tensor | undefined)?.shape;
    if (outDim === undefined && Array.isArray(wfbShape)) outDim = wfbShape.length === 2 ? wfbShape[1] : 1;
    this.fixedOutputDim = outDim;
    this.owned = { heap: this.rt.heap, ptrs: new Set() };
    finalizer.register(this, this.owned, this);
    if (inDim !== undefined && (!this.hasFeedback || outDim !== undefined)) this.build(inDim, outDim);
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** Input channels (undefined until known). */
  get inputDim(): number | undefined {
    return this.built?.I ?? this.fixedInputDim;
  }

  /** Output channels (undefined until known). */
  get outputDim(): number | undefined {
    return this.built !== undefined && this.built.O > 0 ? this.built.O : this.fixedOutputDim;
  }

  /** Length of the readout's feature vector: 1 + (readoutInput ? inputDim : 0) + units. */
  get featureDim(): number | undefined {
    return this.built?.D;
  }

  /** Per-layer description of the built reservoir (undefined before the first data call). */
  get layers(): LayerInfo[] | undefined {
    return this.built?.info.map((i) => ({ ...i, eigen: i.eigen && { ...i.eigen } }));
  }

  /** True once a readout exists (fit, solveReadout, fitOnline or setReadout). */
  get isFitted(): boolean {
    return this.fitted;
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** The current reservoir state, all layers concatenated: { shape: [units], data } (a copy). */
  get state(): Tensor {
    this.alive("state");
    const data = new Float32Array(this.units);
    const b = this.built;
    if (b !== undefined) data.set(this.vec(b.F + this.es * (b.D - this.units), this.units));
    return { shape: [this.units], data };
  }

  /** Sets the reservoir state ([units], finite). */
  setState(state: Tensor): void {
    this.alive("setState");
    const data = checkWeightTensor("ESN.setState", "state", state, [this.units]);
    const b = this.requireBuilt("ESN.setState");
    this.vec(b.F + this.es * (b.D - this.units), this.units).set(data);
  }

  /** Zeroes the state and the remembered previous output (the feedback / closed-loop input). */
  resetState(): void {
    this.alive("resetState");
    if (this.built !== undefined) this.zeroState();
  }

  /**
   * Trains the ridge readout: runs the reservoir over each sequence (teacher-forcing the output
   * feedback with `targets`), accumulates [Z Y]ᵀ[Z Y] in float64 from step `washout` on, and
   * solves (ZᵀZ + ridge·I) W_outᵀ = ZᵀY by Cholesky. Continues from the current state unless
   * `reset`; afterwards the state is the one after the last step and the previous output is the
   * last target, so `generate` continues the series.
   */
  fit(inputs: Tensor | Tensor[], targets: Tensor | Tensor[], options: FitOptions = {}): this {
    const fn = "ESN.fit";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset", "ridge"]);
    const ridge = num(fn, "ridge", o.ridge, this.ridge, 0);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    this.transaction(() => {
      const g = this.allocGram(b.O);
      try {
        this.accumulate(fn, seqs, g, o);
        this.solveInto(fn, g, ridge);
      } catch (e) {
        this.releaseBlock(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.releaseBlock(this.gram.block);
      this.gram = g;
    });
    this.dropRls();
    this.fitted = true;
    return this;
  }

  /**
   * Adds sequences to the accumulated ridge statistics without solving (ReservoirPy's
   * `partial_fit`); call `solveReadout()` when done. Memory stays O(featureDim²) however long
   * the data.
   */
  partialFit(inputs: Tensor | Tensor[], targets: Tensor | Tensor[], options: Omit<FitOptions, "ridge"> = {}): this {
    const fn = "ESN.partialFit";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset"]);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    this.transaction(() => {
      const g = this.allocGram(b.O);
      try {
        if (this.gram !== undefined) this.rt.heap.f64(g.gram, g.G * g.G).set(this.rt.heap.f64(this.gram.gram, g.G * g.G));
        this.accumulate(fn, seqs, g, o);
      } catch (e) {
        this.releaseBlock(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.releaseBlock(this.gram.block);
      this.gram = g;
    });
    return this;
  }

  /**
   * Solves the ridge readout from the statistics accumulated by `fit`/`partialFit` (it may be
   * called again with another ridge: the statistics are kept).
   */
  solveReadout(options: SolveOptions = {}): this {
    const fn = "ESN.solveReadout";
    this.alive(fn);
    const o = checkKeys(fn, options, ["ridge"]);
    const ridge = num(fn, "ridge", o.ridge, this.ridge, 0);
    if (this.gram === undefined) fail("E_STATE", `${fn}: nothing accumulated; call partialFit (or fit) first`);
    const wout = this.readout === undefined ? undefined : this.rt.heap.f64(this.readout.wout, this.built!.O * this.built!.D).slice();
    try {
      this.solveInto(fn, this.gram, ridge);
    } catch (e) {
      if (wout !== undefined) this.rt.heap.f64(this.readout!.wout, wout.length).set(wout);
      throw e;
    }
    this.dropRls();
    this.fitted = true;
    return this;
  }

  /**
   * Online readout training by recursive least squares (RLS; with `feedbackFrom: "output"`,
   * FORCE learning): at every step after the washout, W_out moves towards the target with the
   * gain P z, P ≈ (Σ λ^age z zᵀ)⁻¹. Continues an earlier online (or ridge) readout unless
   * `restart`. Returns the outputs produced while learning (before each step's update), [T, outDim].
   * Cost O(featureDim²) per step.
   */
  fitOnline(inputs: Tensor, targets: Tensor, options: OnlineFitOptions = {}): Tensor {
    const fn = "ESN.fitOnline";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset", "alpha", "forgetting", "feedbackFrom", "restart"]);
    const alpha = num(fn, "alpha", o.alpha, 1e-6, 0, Infinity, true);
    const forgetting = num(fn, "forgetting", o.forgetting, 1, 0, 1, true);
    const from = o.feedbackFrom ?? "teacher";
    if (from !== "teacher" && from !== "output") fail("E_VALUE", `${fn}: feedbackFrom must be "teacher" or "output", got ${show(from)}`);
    const restart = bool(fn, "restart", o.restart, false);
    const [seq] = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    const heap = this.rt.heap;
    const r = this.readout!;
    const outputs = new Float32Array(seq.T * b.O);
    const oldW = heap.f64(r.wout, b.O * b.D).slice();
    const oldP = this.rls === undefined || restart ? undefined : heap.f64(this.rls.block, b.D * b.D).slice();
    const oldRls = this.rls;
    const wasFitted = this.fitted;
    let created = 0;
    this.transaction(
      () => {
        if (this.rls === undefined || restart || this.rls.alpha !== alpha) {
          // A new P: the old one (if any) is released only on success.
          created = this.allocBlock(b.D * b.D * 8);
          this.rt.kernels.rlsInit(created, b.D, alpha);
          if (restart || !this.fitted) heap.f64(r.wout, b.O * b.D).fill(0);
          this.rls = { block: created, alpha };
        }
        const desc = heap.i32(b.desc, 32);
        desc[Field.P] = this.rls.block;
        heap.f64(b.desc + Field.Forget * 4, 1)[0] = forgetting;
        if (o.reset === true) this.zeroState();
        this.run({
          label: fn,
          steps: seq.T,
          inputs: seq.inputs,
          teacher: seq.targets,
          outputs,
          washout: seq.washout,
          flags: Flag.Rls | Flag.Output | (from === "teacher" ? Flag.Teacher : 0) | this.noiseFlag(true),
        });
      },
      () => {
        heap.f64(r.wout, oldW.length).set(oldW);
        if (created !== 0) {
          this.releaseBlock(created);
          this.rls = oldRls;
        } else if (oldP !== undefined && this.rls !== undefined) heap.f64(this.rls.block, oldP.length).set(oldP);
        this.fitted = wasFitted;
      },
    );
    if (created !== 0 && oldRls !== undefined) this.releaseBlock(oldRls.block);
    this.fitted = true;
    return { shape: [seq.T, b.O], data: outputs };
  }

  /**
   * Driven run: the readout's output for every step of `inputs` ([T, inDim]), continuing from
   * the current state. With feedback, y(t−1) is the model's own previous output unless a
   * `teacher` is given.
   */
  predict(inputs: Tensor, options: PredictOptions = {}): Tensor {
    const fn = "ESN.predict";
    this.alive(fn);
    const o = checkKeys(fn, options, ["teacher", "reset"]);
    if (!this.fitted) fail("E_STATE", `${fn}: the readout is not trained; call fit (or fitOnline / setReadout) first`);
    const b = this.built!;
    const seq = checkSequence(fn, "inputs", inputs, b.I);
    const teacher = o.teacher === undefined ? undefined : checkSequence(fn, "teacher", o.teacher, b.O);
    if (teacher !== undefined && teacher.T !== seq.T) fail("E_SHAPE", `${fn}: teacher has ${teacher.T} steps, inputs ${seq.T}`);
    const outputs = new Float32Array(seq.T * b.O);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      this.run({ label: fn, steps: seq.T, inputs: seq.data, teacher: teacher?.data, outputs, washout: 0, flags: Flag.Output | (teacher ? Flag.Teacher : 0) | this.noiseFlag(false) });
    });
    return { shape: [seq.T, b.O], data: outputs };
  }

  /**
   * Closed-loop generation of `steps` outputs ([steps, outDim]): each output is fed back as the
   * next input (inDim must equal outDim, or be 0 for a feedback-only model). With `warmup`, the
   * model is first driven by that series (feedback teacher-forced with it) and the prediction
   * made at its last step is the first generated value; without, generation continues from the
   * current state and the last output (after `fit`, the last target).
   */
  generate(steps: number, options: GenerateOptions = {}): Tensor {
    const fn = "ESN.generate";
    this.alive(fn);
    const o = checkKeys(fn, options, ["warmup", "reset"]);
    int(fn, "steps", steps, undefined, 0);
    if (!this.fitted) fail("E_STATE", `${fn}: the readout is not trained; call fit (or fitOnline / setReadout) first`);
    const b = this.built!;
    if (b.I !== 0 && b.I !== b.O) fail("E_SHAPE", `${fn}: closed-loop generation feeds outputs back as inputs, so inputDim (${b.I}) must equal outputDim (${b.O}) (or be 0)`);
    const warm = o.warmup === undefined ? undefined : checkSequence(fn, "warmup", o.warmup, b.O);
    const outputs = new Float32Array(steps * b.O);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      if (warm !== undefined && warm.T > 0) {
        if (b.I > 0) {
          // Steps 0..Tw-2 driven with the feedback equal to the input (the teacher of step t−1 is
          // the input of step t); the last warm-up value becomes the first closed-loop input.
          this.run({ label: `${fn} (warmup)`, steps: warm.T - 1, inputs: warm.data, washout: 0, flags: Flag.FbIsInput | this.noiseFlag(false) });
          this.vec(this.readout!.yPrev, b.O).set(warm.data.subarray((warm.T - 1) * b.O, warm.T * b.O));
        } else {
          this.run({ label: `${fn} (warmup)`, steps: warm.T, inputs: new Float32Array(0), teacher: warm.data, washout: 0, flags: Flag.Teacher | this.noiseFlag(false) });
        }
      }
      this.run({ label: fn, steps, outputs, washout: 0, flags: Flag.Closed | Flag.Output | this.noiseFlag(false) });
    });
    return { shape: [steps, b.O], data: outputs };
  }

  /**
   * The reservoir states of a driven run, [T, units] (all layers concatenated), continuing from
   * the current state. With feedback: teacher-forced when `teacher` is given, else fed back from
   * the readout (which must then exist).
   */
  collectStates(inputs: Tensor, options: PredictOptions = {}): Tensor {
    const fn = "ESN.collectStates";
    this.alive(fn);
    const o = checkKeys(fn, options, ["teacher", "reset"]);
    const seq0 = checkSequence(fn, "inputs", inputs, this.built?.I ?? this.fixedInputDim);
    const tdim = o.teacher === undefined ? undefined : checkSequence(fn, "teacher", o.teacher, this.built?.O || this.fixedOutputDim);
    this.ensureBuilt(fn, seq0.cols, tdim?.cols);
    const b = this.built!;
    if (tdim !== undefined && tdim.T !== seq0.T) fail("E_SHAPE", `${fn}: teacher has ${tdim.T} steps, inputs ${seq0.T}`);
    if (b.fb > 0 && tdim === undefined && !this.fitted) fail("E_STATE", `${fn}: the model has output feedback: pass a teacher, or train the readout first`);
    const states = new Float32Array(seq0.T * this.units);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      const flags = tdim !== undefined ? Flag.Teacher : this.fitted ? Flag.Output : 0;
      this.run({ label: fn, steps: seq0.T, inputs: seq0.data, teacher: tdim?.data, states, washout: 0, flags: flags | this.noiseFlag(false) });
    });
    return { shape: [seq0.T, this.units], data: states };
  }

  /** The readout W_out, [outDim, featureDim] in float64 (a copy; columns: 1, inputs if readoutInput, units). */
  getReadout(): { shape: [number, number]; data: Float64Array } {
    this.alive("ESN.getReadout");
    if (!this.fitted) fail("E_STATE", "ESN.getReadout: the readout is not trained");
    const b = this.built!;
    return { shape: [b.O, b.D], data: this.rt.heap.f64(this.readout!.wout, b.O * b.D).slice() };
  }

  /** Sets W_out ([outDim, featureDim], float32 or float64 data, finite). Needs the input size known. */
  setReadout(readout: { shape: number[]; data: Float32Array | Float64Array }): void {
    const fn = "ESN.setReadout";
    this.alive(fn);
    const shape = readout?.shape;
    const data = readout?.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array) || !Array.isArray(shape) || shape.length !== 2) {
      fail("E_TYPE", `${fn}: readout must be { shape: [outDim, featureDim], data: Float32Array | Float64Array }`);
    }
    const I = this.built?.I ?? this.fixedInputDim;
    if (I === undefined) fail("E_STATE", `${fn}: the input size is unknown; pass inputDim to the constructor`);
    this.ensureBuilt(fn, I, shape[0]);
    const b = this.built!;
    if (shape[0] !== b.O || shape[1] !== b.D || data.length !== b.O * b.D) fail("E_SHAPE", `${fn}: readout must have shape [${b.O}, ${b.D}], got [${shape.join(", ")}]`);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) fail("E_VALUE", `${fn}: readout holds a non-finite value at index ${i}`);
    this.rt.heap.f64(this.readout!.wout, data.length).set(data);
    this.dropRls();
    this.fitted = true;
  }

  /**
   * The reservoir weights as stored (after rescaling; rounded to float32 for a float64 model): per layer W_in [units, inDim],
   * bias [units], W (dense tensor, or CSR when stored sparse) and W_fb [units, outDim] if any.
   */
  getWeights(): { Win: Tensor; bias: Tensor; W: Tensor | SparseMatrix; Wfb?: Tensor }[] {
    const fn = "ESN.getWeights";
    this.alive(fn);
    const b = this.requireBuilt(fn);
    const heap = this.rt.heap;
    const k = this.rt.kernels;
    return b.layers.map((L, l) => {
      const kin = l === 0 ? b.I : b.layers[l - 1].n;
      let win: ArrayLike<number>;
      let bias: Float32Array;
      let fusedW: Float32Array | undefined;
      if (this.es === 8) {
        win = heap.f64(L.win, L.n * L.k);
        bias = Float32Array.from(heap.f64(L.bias, L.n));
      } else if (L.mode === "dense") {
        // [W W_in] packed together: split the columns.
        const kk = L.n + L.k;
        const u = unpackBT(heap.f32(L.w, k.packedSize(kk, L.n)), kk, L.n);
        bias = u.bias;
        fusedW = new Float32Array(L.n * L.n);
        const w2 = new Float32Array(L.n * L.k);
        for (let i = 0; i < L.n; i++) {
          fusedW.set(u.m.subarray(i * kk, i * kk + L.n), i * L.n);
          w2.set(u.m.subarray(i * kk + L.n, (i + 1) * kk), i * L.k);
        }
        win = w2;
      } else ({ m: win, bias } = unpackBT(heap.f32(L.win, k.packedSize(L.k, L.n)), L.k, L.n));
      const Win = new Float32Array(L.n * kin);
      const Wfb = new Float32Array(L.n * b.fb);
      for (let i = 0; i < L.n; i++) {
        for (let c = 0; c < kin; c++) Win[i * kin + c] = win[i * L.k + c];
        for (let c = 0; c < b.fb; c++) Wfb[i * b.fb + c] = win[i * L.k + kin + c];
      }
      let W: Tensor | SparseMatrix;
      if (L.mode === "dense") {
        const data = this.es === 8 ? Float32Array.from(heap.f64(L.w, L.n * L.n)) : fusedW!;
        W = { shape: [L.n, L.n], data };
      } else {
        W = {
          shape: [L.n, L.n],
          rowPtr: heap.i32(L.w, L.n + 1).slice(),
          colIdx: heap.i32(L.col, L.nnz).slice(),
          values: Float32Array.from(this.vec(L.val, L.nnz)),
        };
      }
      const out: { Win: Tensor; bias: Tensor; W: Tensor | SparseMatrix; Wfb?: Tensor } = { Win: { shape: [L.n, kin], data: Win }, bias: { shape: [L.n], data: bias }, W };
      if (l === 0 && b.fb > 0) out.Wfb = { shape: [L.n, b.fb], data: Wfb };
      return out;
    });
  }

  /** Frees the model's Wasm memory. Later calls throw E_STATE; calling dispose again is a no-op. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    finalizer.unregister(this);
    for (const p of this.owned.ptrs) this.rt.heap.release(p);
    this.owned.ptrs.clear();
    this.built = undefined;
    this.readout = undefined;
    this.gram = undefined;
    this.rls = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private get hasFeedback(): boolean {
    return this.specs[0].feedbackScaling > 0 || this.specs[0].weights.Wfb !== undefined;
  }

  private alive(fn: string): void {
    if (this.isDisposed) fail("E_STATE", `${fn}: the ESN was disposed`);
  }

  private requireBuilt(fn: string): Built {
    if (this.built === undefined) fail("E_STATE", `${fn}: the reservoir is not built yet (its input size is unknown until the first data or inputDim)`);
    return this.built;
  }

  private noiseFlag(training: boolean): number {
    return (training || this.noiseAlways) && this.specs.some((s) => s.noise > 0) ? Flag.Noise : 0;
  }

  private allocBlock(bytes: number): number {
    const p = this.rt.heap.alloc(bytes);
    this.owned.ptrs.add(p);
    return p;
  }

  private releaseBlock(p: number): void {
    this.owned.ptrs.delete(p);
    this.rt.heap.release(p);
  }

  private zeroState(): void {
    const b = this.built!;
    this.vec(b.F, b.D).fill(0);
    if (this.readout !== undefined) this.vec(this.readout.yPrev, b.O).fill(0);
  }

  /** A fresh view of n state elements (float32 or float64 by precision). */
  private vec(ptr: number, n: number): Float32Array | Float64Array {
    return this.es === 8 ? this.rt.heap.f64(ptr, n) : this.rt.heap.f32(ptr, n);
  }

  private bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.rt.heap.memory.buffer, ptr, n);
  }

  private dropRls(): void {
    if (this.rls !== undefined) {
      this.releaseBlock(this.rls.block);
      this.rls = undefined;
    }
  }

  // Runs fn; on a throw restores the state, the previous output and the noise generator (and
  // whatever `undo` restores) before rethrowing, so a failed call leaves the model as it was.
  private transaction(fn: () => void, undo?: () => void): void {
    const b = this.built!;
    const F = this.bytes(b.F, b.D * this.es).slice();
    const rng = this.bytes(b.rng, 32).slice();
    const yPrev = this.readout === undefined ? undefined : this.bytes(this.readout.yPrev, b.O * this.es).slice();
    try {
      fn();
    } catch (e) {
      this.bytes(b.F, F.length).set(F);
      this.bytes(b.rng, 32).set(rng);
      if (yPrev !== undefined && this.readout !== undefined) this.bytes(this.readout.yPrev, yPrev.length).set(yPrev);
      undo?.();
      throw e;
    }
  }

  private ensureBuilt(fn: string, inDim: number, outDim: number | undefined): void {
    if (this.built === undefined) {
      if (this.fixedInputDim !== undefined && inDim !== this.fixedInputDim) fail("E_SHAPE", `${fn}: inputs have ${inDim} channel(s), the model expects ${this.fixedInputDim}`);
      const O = outDim ?? this.fixedOutputDim;
      if (this.hasFeedback && O === undefined) fail("E_STATE", `${fn}: the model has output feedback; its output size is unknown (pass outputDim, or fit first)`);
      this.build(inDim, O);
    } else if (inDim !== this.built.I) fail("E_SHAPE", `${fn}: inputs have ${inDim} channel(s), the model expects ${this.built.I}`);
    const b = this.built!;
    if (outDim !== undefined && outDim !== b.O) {
      if (b.fb > 0 || (b.O > 0 && this.fitted)) fail("E_SHAPE", `${fn}: targets have ${outDim} channel(s), the model outputs ${b.O}`);
      this.setOutputDim(outDim);
    } else if (b.O > 0 && this.readout === undefined) this.setOutputDim(b.O);
  }

  private prepareTraining(fn: string, inputs: Tensor | Tensor[], targets: Tensor | Tensor[], o: Record<string, unknown>): { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[] {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const tgs = Array.isArray(targets) ? targets : [targets];
    if (ins.length !== tgs.length) fail("E_SHAPE", `${fn}: ${ins.length} input sequence(s) but ${tgs.length} target sequence(s)`);
    if (ins.length === 0) fail("E_VALUE", `${fn}: no sequences given`);
    const washout = int(fn, "washout", o.washout, 0, 0);
    bool(fn, "reset", o.reset, false);
    const multi = ins.length > 1;
    const seqs = ins.map((x, s) => {
      const name = multi ? `inputs[${s}]` : "inputs";
      const seq = checkSequence(fn, name, x, this.built?.I ?? this.fixedInputDim);
      const tg = checkSequence(fn, multi ? `targets[${s}]` : "targets", tgs[s], this.built !== undefined && this.built.O > 0 ? this.built.O : this.fixedOutputDim);
      if (tg.T !== seq.T) fail("E_SHAPE", `${fn}: ${name} has ${seq.T} steps but its targets have ${tg.T}`);
      if (washout >= seq.T) fail("E_VALUE", `${fn}: washout (${washout}) must be smaller than the sequence length (${seq.T}${multi ? `, sequence ${s}` : ""}): nothing would be left to fit`);
      return { T: seq.T, cols: seq.cols, outCols: tg.cols, inputs: seq.data, targets: tg.data, washout };
    });
    for (const s of seqs) {
      if (s.cols !== seqs[0].cols || s.outCols !== seqs[0].outCols) fail("E_SHAPE", `${fn}: all sequences must have the same numbers of channels`);
    }
    this.ensureBuilt(fn, seqs[0].cols, seqs[0].outCols);
    return seqs;
  }

  private accumulate(fn: string, seqs: { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[], g: NonNullable<ESN["gram"]>, o: Record<string, unknown>): void {
    const b = this.built!;
    const desc = this.rt.heap.i32(b.desc, 32);
    desc[Field.Gram] = g.gram;
    desc[Field.Chunk] = g.chunk;
    desc[Field.ChunkRows] = g.rows;
    desc[Field.G] = g.G;
    seqs.forEach((s, i) => {
      if (o.reset === true) this.zeroState();
      this.run({
        label: seqs.length > 1 ? `${fn} (sequence ${i})` : fn,
        steps: s.T,
        inputs: s.inputs,
        teacher: s.targets,
        washout: s.washout,
        flags: Flag.Teacher | Flag.Gram | this.noiseFlag(true),
      });
    });
  }

  private allocGram(O: number): NonNullable<ESN["gram"]> {
    const b = this.built!;
    const G = Math.ceil((b.D + O) / 4) * 4;
    const rows = Math.max(8, Math.min(256, Math.floor(CHUNK_BYTES / (G * 8))));
    const chunkBytes = align(rows * G * 8);
    const block = this.allocBlock(chunkBytes + G * G * 8);
    const heap = this.rt.heap;
    heap.f64(block, (chunkBytes + G * G * 8) / 8).fill(0);
    return { block, chunk: block, gram: block + chunkBytes, G, rows, O };
  }

  // Builds Z^T Z + ridge I and Y^T Z from the Gram and solves for W_out in float64.
  private solveInto(fn: string, g: NonNullable<ESN["gram"]>, ridge: number): void {
    const b = this.built!;
    const { heap, kernels: k } = this.rt;
    const D = b.D;
    const O = b.O;
    const a = this.allocBlock(align(D * D * 8) + O * D * 8);
    const rhs = a + align(D * D * 8);
    try {
      k.ridgeSystem(g.gram, g.G, D, O, ridge, a, rhs);
      const A = heap.f64(a, D * D);
      let maxDiag = 0;
      for (let i = 0; i < D; i++) maxDiag = Math.max(maxDiag, A[i * D + i]);
      if (maxDiag === 0 && ridge === 0) fail("E_NUMERIC", `${fn}: no data was accumulated and ridge is 0: the system is singular`);
      // With ridge > 0 the system is positive definite: only a non-positive pivot fails. With
      // ridge = 0, pivots at rounding level (n·eps·max diag) mean numerically singular.
      const tol = ridge > 0 ? 0 : D * EPS * maxDiag;
      const piv = k.cholSolve(a, D, rhs, O, tol);
      if (piv >= 0) {
        fail(
          "E_NUMERIC",
          `${fn}: the ridge system (ZᵀZ + ${ridge}·I) is singular or not positive definite at feature ${piv} (${this.featureName(piv)}): ` +
            (ridge === 0 ? "features are linearly dependent; use ridge > 0" : "increase ridge"),
        );
      }
      const sol = heap.f64(rhs, O * D);
      for (let i = 0; i < sol.length; i++) {
        if (!Number.isFinite(sol[i])) fail("E_NUMERIC", `${fn}: the ridge solution is not finite (feature ${i % D}); increase ridge`);
      }
      heap.f64(this.readout!.wout, O * D).set(sol);
    } finally {
      this.releaseBlock(a);
    }
  }

  private featureName(i: number): string {
    const b = this.built!;
    if (i === 0) return "the constant/bias";
    let j = i - 1;
    if (this.rin) {
      if (j < b.I) return `input channel ${j}`;
      j -= b.I;
    }
    for (let l = 0; l < b.layers.length; l++) {
      if (j < b.layers[l].n) return `unit ${j}${b.layers.length > 1 ? ` of layer ${l}` : ""}`;
      j -= b.layers[l].n;
    }
    return `output column ${j}`;
  }

  // One or more esnRun calls over the request (sliced so the call buffers stay <= 16 MiB).
  private run(req: RunRequest): void {
    const b = this.built!;
    const { heap, kernels: k } = this.rt;
    if (req.steps === 0) return;
    if ((req.flags & (Flag.Output | Flag.Closed | Flag.Rls | Flag.FbIsInput | Flag.Teacher)) !== 0 && this.readout === undefined) {
      fail("E_STATE", `${req.label}: the output size is unknown`);
    }
    const I = b.I;
    const O = b.O;
    const U = this.units;
    const perStep = 4 * ((req.inputs ? I : 0) + (req.teacher ? O : 0) + (req.outputs ? O : 0) + (req.states ? U : 0));
    const slice = perStep === 0 ? req.steps : Math.max(1, Math.min(req.steps, Math.floor(SLICE_BYTES / perStep)));
    const inBytes = req.inputs ? align(slice * I * 4) : 0;
    const tBytes = req.teacher ? align(slice * O * 4) : 0;
    const oBytes = req.outputs ? align(slice * O * 4) : 0;
    const buf = this.allocBlock(inBytes + tBytes + oBytes + (req.states ? slice * U * 4 : 0));
    const inPtr = buf;
    const tPtr = buf + inBytes;
    const oPtr = tPtr + tBytes;
    const sPtr = oPtr + oBytes;
    try {
      for (let start = 0; start < req.steps; start += slice) {
        const len = Math.min(slice, req.steps - start);
        if (req.inputs && I > 0) heap.f32(inPtr, len * I).set(req.inputs.subarray(start * I, (start + len) * I));
        if (req.teacher) heap.f32(tPtr, len * O).set(req.teacher.subarray(start * O, (start + len) * O));
        const failed = k.esnRun(
          b.desc,
          len,
          req.inputs ? inPtr : 0,
          req.teacher ? tPtr : 0,
          req.outputs ? oPtr : 0,
          req.states ? sPtr : 0,
          Math.max(0, req.washout - start),
          req.flags,
        );
        if (failed >= 0) {
          fail(
            "E_NUMERIC",
            `${req.label}: the reservoir state or output became non-finite at step ${start + failed}` +
              (this.specs.some((s) => s.activation === "identity" || s.activation === "relu") ? " (an unbounded activation diverged: lower spectralRadius or the scalings)" : " (overflow in the weighted sums: check the scale of the inputs and weights)"),
          );
        }
        if (req.outputs) req.outputs.set(heap.f32(oPtr, len * O), start * O);
        if (req.states) req.states.set(heap.f32(sPtr, len * U), start * U);
      }
    } finally {
      this.releaseBlock(buf);
    }
  }

  private setOutputDim(O: number): void {
    const b = this.built!;
    if (this.readout !== undefined) {
      if (this.readout.wout !== 0 && b.O === O) return;
      this.releaseBlock(this.readout.block);
      this.readout = undefined;
    }
    const D = b.D;
    const yPrevB = align(O * this.es);
    const yB = align(O * 8);
    const zB = align(D * 8);
    const block = this.allocBlock(yPrevB + yB + 2 * zB + O * D * 8);
    const r: Readout = { block, yPrev: block, y: block + yPrevB, z: block + yPrevB + yB, k: block + yPrevB + yB + zB, wout: block + yPrevB + yB + 2 * zB };
    const heap = this.rt.heap;
    this.vec(r.yPrev, O).fill(0);
    heap.f64(r.wout, O * D).fill(0);
    this.readout = r;
    b.O = O;
    const desc = heap.i32(b.desc, 32);
    desc[Field.Out] = O;
    desc[Field.YPrev] = r.yPrev;
    desc[Field.Y] = r.y;
    desc[Field.Z] = r.z;
    desc[Field.K] = r.k;
    desc[Field.Wout] = r.wout;
    if (this.gram !== undefined && this.gram.O !== O) {
      this.releaseBlock(this.gram.block);
      this.gram = undefined;
    }
    this.dropRls();
    this.fitted = false;
  }

  // Arnoldi's vectors in one Wasm block (SIMD dots/axpys); its views stay valid because nothing
  // allocates in Wasm while spectralRadius runs. The block lives until the next call.
  private krylovWorkspace(n: number): KrylovWorkspace | undefined {
    if (n <= 64) return undefined;
    const { heap, kernels: k } = this.rt;
    const m = Math.min(KRYLOV_DIM, n - 1);
    const capacity = (m + 1 + 3 + Math.floor(m / 3) + 2) * n + 64;
    if (this.krylovBlock !== 0) this.releaseBlock(this.krylovBlock);
    const block = this.allocBlock(capacity * 8 + 64 * 8);
    this.krylovBlock = block;
    const out = block + capacity * 8;
    let used = 0;
    return {
      array: (length) => {
        if (used + length > capacity) fail("E_STATE", "spectral radius: Krylov workspace exhausted");
        const a = heap.f64(block + used * 8, length);
        a.fill(0);
        used += Math.ceil(length / 8) * 8;
        return a;
      },
      dots: (V, count, len, w, res) => {
        for (let i0 = 0; i0 < count; i0 += 64) {
          const c = Math.min(64, count - i0);
          k.dotsF64(V.byteOffset + i0 * len * 8, c, len, w.byteOffset, out);
          res.set(heap.f64(out, c), i0);
        }
      },
      axpy: (len, alpha, x, xo, y, yo) => k.axpyF64(len, alpha, x.byteOffset + xo * 8, y.byteOffset + yo * 8),
    };
  }

  // Draws (or takes) every weight, lays out the model block, scales W to its spectral radius and
  // packs the dense matrices for the GEMM kernels.
  private build(I: number, O: number | undefined): void {
    const fn = "ESN";
    const { heap, kernels: k } = this.rt;
    const rng = createRng(this.seed);
    const fb = this.hasFeedback ? O! : 0;
    const L = this.specs.length;
    const D = 1 + (this.rin ? I : 0) + this.units;

    // 1. Weights in JS memory (float64), in a fixed draw order per layer: W, W_in, bias, W_fb.
    // A float32 model rounds them first, so the spectral radius is that of the stored matrix.
    const es = this.es;
    const round = es === 4 ? (a: Float64Array): Float64Array => a.map(Math.fround) : (a: Float64Array): Float64Array => a;
    const raws: RawLayer[] = [];
    const wname = (l: number, key: string): string => `weights${L > 1 ? `[${l}]` : ""}.${key}`;
    for (let l = 0; l < L; l++) {
      const s = this.specs[l];
      const n = s.units;
      const kin = l === 0 ? I : this.specs[l - 1].units;
      const kk = kin + (l === 0 ? fb : 0);
      const w = s.weights;
      const raw: RawLayer = { n, kin, k: kk, win: new Float64Array(n * kk), bias: new Float64Array(n), rescale: true, spec: s };
      if (w.W !== undefined) {
        raw.rescale = s.radiusGiven;
        if (isSparse(w.W)) raw.csr = checkCsr(fn, wname(l, "W"), w.W, n);
        else raw.dense = Float64Array.from(checkWeightTensor(fn, wname(l, "W"), w.W, [n, n]));
      } else {
        const per = s.connectivity === 0 ? 0 : Math.max(1, Math.round(s.connectivity * n));
        raw.csr = randomCsr(rng, n, per);
        raw.csr.val = round(raw.csr.val);
      }
      if (Array.isArray(s.inputScaling) && s.inputScaling.length !== kin) {
        fail("E_VALUE", `${fn}: layer ${l} inputScaling has ${s.inputScaling.length} entries for ${kin} input channel(s)`);
      }
      const scaleOf = (c: number): number => (Array.isArray(s.inputScaling) ? s.inputScaling[c] : s.inputScaling);
      const win = w.Win !== undefined ? Float64Array.from(checkWeightTensor(fn, wname(l, "Win"), w.Win, [n, kin])) : round(randomDenseBlock(rng, n, kin, scaleOf, s.inputConnectivity));
      const bias = w.bias !== undefined ? Float64Array.from(checkWeightTensor(fn, wname(l, "bias"), w.bias, [n])) : s.biasScaling > 0 ? round(randomDenseBlock(rng, n, 1, () => s.biasScaling, 1)) : new Float64Array(n);
      raw.bias.set(bias);
      let wfb: Float64Array | undefined;
      if (l === 0 && fb > 0) {
        wfb = w.Wfb !== undefined ? Float64Array.from(checkWeightTensor(fn, "weights.Wfb", w.Wfb, [n, fb])) : round(randomDenseBlock(rng, n, fb, () => s.feedbackScaling, s.feedbackConnectivity));
      }
      for (let i = 0; i < n; i++) {
        raw.win.set(win.subarray(i * kin, (i + 1) * kin), i * kk);
        if (wfb) raw.win.set(wfb.subarray(i * fb, (i + 1) * fb), i * kk + kin);
      }
      // Storage by density (measured crossover of the CSR and dense SIMD kernels, bench/esn.js).
      const nnz = raw.csr ? raw.csr.val.length : countNonzero(raw.dense!);
      const sparse = s.sparse === "auto" ? nnz < 0.1 * n * n : s.sparse;
      if (sparse && raw.dense) raw.csr = denseToCsr(raw.dense, n);
      if (!sparse && raw.csr) raw.dense = csrToDense(raw.csr, n);
      if (sparse) raw.dense = undefined;
      else raw.csr = undefined;
      raws.push(raw);
    }
    const noiseSeed = [rng.nextUint32(), rng.nextUint32(), rng.nextUint32(), rng.nextUint32() | 1];

    // 2. Layout of the model block (float32: W_in with its bias and a dense W packed in GEMM
    // panels; float64: row-major).
    let off = align(LAYER0 + L * LAYER_BYTES);
    const rngOff = off;
    off += 64;
    const fOff = off;
    off += align(D * es);
    const extOff = off;
    off += align((I + fb) * es);
    // A float32 dense layer packs [W W_in] (and the bias) as one matrix: one product per step
    // over the vector cat = [x(t-1); input]; its pre-activation is padded to whole 8-float panels.
    const lay = raws.map((r) => {
      const m = { pre: 0, win: 0, bias: 0, w: 0, col: 0, val: 0, cat: 0 };
      const fused = es === 4 && r.dense !== undefined;
      m.pre = off;
      off += align((fused ? Math.ceil(r.n / 8) * 8 : r.n) * es);
      if (!fused) {
        m.win = off;
        off += align(es === 4 ? k.packedSize(r.k, r.n) * 4 : r.n * r.k * 8);
      }
      if (es === 8) {
        m.bias = off;
        off += align(r.n * 8);
      }
      if (fused) {
        m.cat = off;
        off += align((r.n + r.k) * 4);
      }
      m.w = off;
      if (r.dense) off += align(fused ? k.packedSize(r.n + r.k, r.n) * 4 : r.n * r.n * 8);
      else {
        const nnz = r.csr!.val.length;
        off += align((r.n + 1) * 4);
        m.col = off;
        off += align(nnz * 4);
        m.val = off;
        off += align(nnz * es);
      }
      return m;
    });
    const block = this.allocBlock(off);
    try {
      this.fillBlock(block, off, raws, lay, I, O, fb, D, es, rngOff, fOff, extOff, noiseSeed);
    } catch (e) {
      this.releaseBlock(block); // e.g. an all-zero W asked for a spectral radius
      throw e;
    }
  }

  private fillBlock(
    block: number, off: number, raws: RawLayer[], lay: { pre: number; win: number; bias: number; w: number; col: number; val: number; cat: number }[],
    I: number, O: number | undefined, fb: number, D: number, es: number, rngOff: number, fOff: number, extOff: number, noiseSeed: number[],
  ): void {
    const fn = "ESN";
    const { heap, kernels: k } = this.rt;
    const L = raws.length;
    heap.f32(block, off / 4).fill(0);

    // 3. Spectral radius and scaling, on the values the kernels will use.
    const info: LayerInfo[] = [];
    const layers: LayerMem[] = [];
    const put = (ptr: number, a: Float64Array): void => {
      if (es === 8) heap.f64(ptr, a.length).set(a);
      else heap.f32(ptr, a.length).set(a);
    };
    for (let l = 0; l < L; l++) {
      const r = raws[l];
      const m = lay[l];
      const n = r.n;
      const vals = r.dense ?? r.csr!.val;
      let radius = NaN;
      let eigen: LayerInfo["eigen"];
      if (r.csr) {
        heap.i32(block + m.w, n + 1).set(r.csr.rowPtr);
        heap.i32(block + m.col, r.csr.col.length).set(r.csr.col);
      }
      const target = r.spec.spectralRadius;
      if (r.rescale && target === 0) {
        vals.fill(0);
        radius = 0;
      } else {
        // W (dense) or its CSR values go to Wasm in storage precision for the float64 products.
        const wBytes = vals.length * es;
        const tmp = this.allocBlock(align(wBytes) + 16 * n);
        try {
          const xPtr = tmp + align(wBytes);
          const yPtr = xPtr + 8 * n;
          put(tmp, vals);
          let fro = 0;
          for (let i = 0; i < vals.length; i++) fro += vals[i] * vals[i];
          const wide = es === 8 ? 1 : 0;
          const op: LinearOperator = {
            n,
            norm: Math.sqrt(fro),
            apply: (x, y) => {
              heap.f64(xPtr, n).set(x);
              if (r.dense) k.denseMatvec64(n, tmp, wide, xPtr, yPtr);
              else k.csrMatvec64(n, block + m.w, block + m.col, tmp, wide, xPtr, yPtr);
              y.set(heap.f64(yPtr, n));
            },
          };
          const res = spectralRadius(op, { krylovDim: KRYLOV_DIM, workspace: this.krylovWorkspace(n) });
          eigen = { residual: res.residual, converged: res.converged, products: res.products };
          radius = res.radius;
          if (r.rescale && !(radius > 1e-10 * op.norm)) {
            // All-zero W (and nilpotent W, up to the rounding its defective eigenvalues suffer).
            fail("E_VALUE", `${fn}: layer ${l}: cannot rescale W to spectral radius ${target}: W has spectral radius 0 (all zero or nilpotent); pass spectralRadius: 0 for no recurrence, or other weights`);
          }
        } finally {
          this.releaseBlock(tmp);
          if (this.krylovBlock !== 0) this.releaseBlock(this.krylovBlock);
          this.krylovBlock = 0;
        }
        if (r.rescale) {
          const scale = target / radius;
          for (let i = 0; i < vals.length; i++) vals[i] = es === 4 ? Math.fround(vals[i] * scale) : vals[i] * scale;
          radius *= scale;
        }
      }
      if (r.csr) put(block + m.val, vals);
      else if (es === 8) put(block + m.w, vals);
      else {
        // Fused [W W_in] rows, bias apart: packed as B = [W W_in]^T with the bias row.
        const kk = n + r.k;
        const cat = new Float64Array(n * kk);
        for (let i = 0; i < n; i++) {
          cat.set(vals.subarray(i * n, (i + 1) * n), i * kk);
          cat.set(r.win.subarray(i * r.k, (i + 1) * r.k), i * kk + n);
        }
        const tmp = this.allocBlock(align(n * kk * 4) + n * 4);
        put(tmp, cat);
        put(tmp + align(n * kk * 4), r.bias);
        k.packBT(tmp, kk, kk, n, tmp + align(n * kk * 4), block + m.w);
        this.releaseBlock(tmp);
      }
      if (es === 8) {
        put(block + m.win, r.win);
        put(block + m.bias, r.bias);
      } else if (r.csr) {
        const tmp = this.allocBlock(align(r.n * r.k * 4) + r.n * 4);
        put(tmp, r.win);
        put(tmp + align(r.n * r.k * 4), r.bias);
        k.packBT(tmp, r.k, r.k, r.n, tmp + align(r.n * r.k * 4), block + m.win);
        this.releaseBlock(tmp);
      }
      const desc = block + LAYER0 + l * LAYER_BYTES;
      const nnz = r.csr ? r.csr.val.length : countNonzero(r.dense!);
      layers.push({ n, k: r.k, desc, pre: block + m.pre, win: block + m.win, bias: block + m.bias, cat: block + m.cat, mode: r.dense ? "dense" : "csr", w: block + m.w, col: block + m.col, val: block + m.val, nnz });
      info.push({ units: n, inputDim: r.kin, storage: r.dense ? "dense" : "csr", nnz, spectralRadius: radius, eigen });
    }

    // 4. Descriptors.
    const unitsOff = 1 + (this.rin ? I : 0);
    const md = heap.i32(block, LAYER0 / 4);
    md[Field.Layers] = L;
    md[Field.In] = I;
    md[Field.Out] = O ?? 0;
    md[Field.Feat] = D;
    md[Field.Rin] = this.rin ? 1 : 0;
    md[Field.F] = block + fOff;
    md[Field.Ext] = block + extOff;
    md[Field.Fb] = fb;
    md[Field.Rng] = block + rngOff;
    md[Field.Prec] = es === 8 ? 1 : 0;
    heap.f64(block + Field.Forget * 4, 1)[0] = 1;
    const rs = new Uint32Array(heap.memory.buffer, block + rngOff, 4);
    rs.set(noiseSeed);
    const xPtrs: number[] = [];
    for (let l = 0, x = block + fOff + unitsOff * es; l < L; x += layers[l].n * es, l++) xPtrs.push(x);
    for (let l = 0; l < L; l++) {
      const Lm = layers[l];
      const d = heap.i32(Lm.desc, LAYER_BYTES / 4);
      const df = heap.f32(Lm.desc, LAYER_BYTES / 4);
      d[LField.N] = Lm.n;
      d[LField.K] = Lm.k;
      d[LField.In] = l === 0 ? block + extOff : xPtrs[l - 1];
      d[LField.X] = xPtrs[l];
      d[LField.Pre] = Lm.pre;
      d[LField.Win] = Lm.win;
      d[LField.Mode] = Lm.mode === "dense" ? 0 : 1;
      d[LField.W] = Lm.w;
      d[LField.Col] = Lm.col;
      d[LField.Val] = Lm.val;
      df[LField.Leak] = this.specs[l].leakRate;
      d[LField.Bias] = Lm.bias;
      d[LField.Cat] = Lm.cat;
      heap.f64(Lm.desc + L_LEAK64, 1)[0] = this.specs[l].leakRate;
      d[LField.Act] = ACT_CODE[this.specs[l].activation];
      df[LField.Noise] = this.specs[l].noise;
    }
    this.built = { I, O: 0, fb, D, block, desc: block, F: block + fOff, ext: block + extOff, rng: block + rngOff, layers, info };
    if (O !== undefined) this.setOutputDim(O);
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix helpers

function countNonzero(a: Float32Array | Float64Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}

function denseToCsr(a: Float64Array, n: number): { rowPtr: Int32Array; col: Int32Array; val: Float64Array } {
  const nnz = countNonzero(a);
  const rowPtr = new Int32Array(n + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = a[i * n + j];
      if (v !== 0) {
        col[p] = j;
        val[p++] = v;
      }
    }
    rowPtr[i + 1] = p;
  }
  return { rowPtr, col, val };
}

function csrToDense(c: { rowPtr: Int32Array; col: Int32Array; val: Float64Array }, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = c.rowPtr[i]; j < c.rowPtr[i + 1]; j++) a[i * n + c.col[j]] += c.val[j];
  return a;
}

function checkCsr(fn: string, name: string, m: SparseMatrix, n: number): { rowPtr: Int32Array; col: Int32Array; val: Float64Array } {
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

// Inverse of packBT for an n x k matrix M (M[col][kk]) packed as B = M^T with a bias row.
function unpackBT(packed: Float32Array, k: number, n: number): { m: Float32Array; bias: Float32Array } {
  const m = new Float32Array(n * k);
  const bias = new Float32Array(n);
  const panels = Math.ceil(n / 8);
  for (let p = 0; p < panels; p++) {
    const base = p * (k + 1) * 8;
    for (let j = 0; j < 8; j++) {
      const col = p * 8 + j;
      if (col >= n) break;
      bias[col] = packed[base + j];
      for (let kk = 0; kk < k; kk++) m[col * k + kk] = packed[base + 8 + kk * 8 + j];
    }
  }
  return { m, bias };
}
