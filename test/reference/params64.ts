/**
 * The configuration, parameters and small dense algebra of the float64 reference (rnn64.ts, which
 * holds the cells' equations and the forward/backward passes built from them).
 */
export type Mode = "RNN_TANH" | "RNN_RELU" | "LSTM" | "GRU";

export interface RefConfig {
  mode: Mode;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  bidirectional: boolean;
  /** LSTM only; 0 = no projection. */
  projSize: number;
  /** LSTM only: expects `weight_peephole_l{k}{sfx}` of shape [3·H], ONNX order (i, o, f). */
  peepholes?: boolean;
  /** GRU only; default true (PyTorch). false = n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn). */
  resetAfter?: boolean;
}

/** Any row-major tensor; data may be float32 or float64 (finite-difference tests need float64). */
export interface RefTensor {
  shape: readonly number[];
  data: ArrayLike<number>;
}

export type StateDict = Record<string, RefTensor>;

/** Flat data, or a tensor whose `data` is used (its shape is checked only by element count). */
export type TensorArg = ArrayLike<number> | RefTensor;

/** Everything `backward64` needs from the forward pass. Treat as opaque. */
// ---------------------------------------------------------------------------------------------
// Configuration, names, shapes

export const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

export function numDirections(cfg: RefConfig): number {
  return cfg.bidirectional ? 2 : 1;
}

export function outSize(cfg: RefConfig): number {
  return cfg.mode === "LSTM" && cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize;
}

export function suffix(k: number, d: number): string {
  return `l${k}${d === 1 ? "_reverse" : ""}`;
}

function checkConfig(cfg: RefConfig): void {
  const ints: Array<[string, number, number]> = [
    ["inputSize", cfg.inputSize, 1],
    ["hiddenSize", cfg.hiddenSize, 1],
    ["numLayers", cfg.numLayers, 1],
    ["projSize", cfg.projSize, 0],
  ];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new Error(`rnn64: config.${name} must be an integer >= ${min}, got ${v}`);
  }
  if (!(cfg.mode in GATES)) throw new Error(`rnn64: unknown mode ${String(cfg.mode)}`);
  if (cfg.projSize > 0 && cfg.mode !== "LSTM") throw new Error("rnn64: projSize > 0 is LSTM only");
  if (cfg.projSize >= cfg.hiddenSize && cfg.projSize > 0) throw new Error("rnn64: projSize must be < hiddenSize (PyTorch rule)");
  if (cfg.peepholes && cfg.mode !== "LSTM") throw new Error("rnn64: peepholes are LSTM only");
  if (cfg.resetAfter !== undefined && cfg.mode !== "GRU") throw new Error("rnn64: resetAfter is GRU only");
}

/** Expected parameter shapes in PyTorch state_dict order (peepholes last per direction). */
export function paramShapes(cfg: RefConfig): Record<string, number[]> {
  checkConfig(cfg);
  const G = GATES[cfg.mode];
  const H = cfg.hiddenSize;
  const Hout = outSize(cfg);
  const D = numDirections(cfg);
  const shapes: Record<string, number[]> = {};
  for (let k = 0; k < cfg.numLayers; k++) {
    const inK = k === 0 ? cfg.inputSize : D * Hout;
    for (let d = 0; d < D; d++) {
      const s = suffix(k, d);
      shapes[`weight_ih_${s}`] = [G * H, inK];
      shapes[`weight_hh_${s}`] = [G * H, Hout];
      if (cfg.bias) {
        shapes[`bias_ih_${s}`] = [G * H];
        shapes[`bias_hh_${s}`] = [G * H];
      }
      if (cfg.projSize > 0) shapes[`weight_hr_${s}`] = [cfg.projSize, H];
      if (cfg.peepholes) shapes[`weight_peephole_${s}`] = [3 * H];
    }
  }
  return shapes;
}

/** RefConfig for a fixture case (`module` and snake_case `config` of a reference case). */
export function configFromTorch(
  module: "RNN" | "LSTM" | "GRU",
  c: {
    input_size: number;
    hidden_size: number;
    num_layers: number;
    bias: boolean;
    batch_first: boolean;
    bidirectional: boolean;
    nonlinearity?: string;
    proj_size?: number;
  },
): RefConfig {
  const mode: Mode = module === "RNN" ? (c.nonlinearity === "relu" ? "RNN_RELU" : "RNN_TANH") : module;
  return {
    mode,
    inputSize: c.input_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_layers,
    bias: c.bias,
    batchFirst: c.batch_first,
    bidirectional: c.bidirectional,
    projSize: c.proj_size ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Parameters of one layer and direction

/** Weights (or, with the same layout, their gradients) of one layer and direction. */
export interface DirParams {
  wih: Float64Array; // (G·H, inSize)
  whh: Float64Array; // (G·H, H_out)
  bih: Float64Array | null; // (G·H)
  bhh: Float64Array | null; // (G·H)
  whr: Float64Array | null; // (P, H), LSTM projection
  peep: Float64Array | null; // (3·H) in order i, o, f
  inSize: number;
}

export function dirNames(k: number, d: number) {
  const s = suffix(k, d);
  return {
    wih: `weight_ih_${s}`,
    whh: `weight_hh_${s}`,
    bih: `bias_ih_${s}`,
    bhh: `bias_hh_${s}`,
    whr: `weight_hr_${s}`,
    peep: `weight_peephole_${s}`,
  };
}

/** Converts the state dict to float64, rejecting missing, misshaped or unexpected entries. */
export function loadParams(cfg: RefConfig, params: StateDict): DirParams[][] {
  const shapes = paramShapes(cfg);
  for (const name of Object.keys(params)) {
    if (!(name in shapes)) throw new Error(`rnn64: unexpected parameter ${name}`);
  }
  const get = (name: string): Float64Array | null => {
    const shape = shapes[name];
    if (shape === undefined) return null;
    const p = params[name];
    if (p === undefined) throw new Error(`rnn64: missing parameter ${name}`);
    if (p.shape.length !== shape.length || p.shape.some((v, i) => v !== shape[i])) {
      throw new Error(`rnn64: ${name} has shape [${p.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
    return Float64Array.from(p.data);
  };
  return forEachDir(cfg, (k, d) => {
    const n = dirNames(k, d);
    return {
      wih: get(n.wih)!,
      whh: get(n.whh)!,
      bih: get(n.bih),
      bhh: get(n.bhh),
      whr: get(n.whr),
      peep: get(n.peep),
      inSize: shapes[n.wih][1],
    };
  });
}

export function zerosLike(p: DirParams): DirParams {
  const z = (a: Float64Array | null) => (a === null ? null : new Float64Array(a.length));
  return { wih: z(p.wih)!, whh: z(p.whh)!, bih: z(p.bih), bhh: z(p.bhh), whr: z(p.whr), peep: z(p.peep), inSize: p.inSize };
}

export function forEachDir<R>(cfg: RefConfig, f: (k: number, d: number) => R): R[][] {
  const out: R[][] = [];
  for (let k = 0; k < cfg.numLayers; k++) {
    const row: R[] = [];
    for (let d = 0; d < numDirections(cfg); d++) row.push(f(k, d));
    out.push(row);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small dense helpers. `row0` selects a block of rows so the GRU can treat r,z and n separately.

/** y[r] += Σ_c W[row0 + r, c] · v[c], r < y.length. */
export function gemvAdd(y: Float64Array, W: Float64Array, row0: number, cols: number, v: ArrayLike<number>): void {
  for (let r = 0; r < y.length; r++) {
    let s = 0;
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) s += W[base + c] * v[c];
    y[r] += s;
  }
}

/** y[c] += Σ_r W[row0 + r, c] · g[r], r < g.length, c < y.length (= number of columns). */
export function gemvTAdd(y: Float64Array, W: Float64Array, row0: number, g: ArrayLike<number>): void {
  const cols = y.length;
  for (let r = 0; r < g.length; r++) {
    const gr = g[r];
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) y[c] += W[base + c] * gr;
  }
}

/** dW[row0 + r, c] += g[r] · v[c]. */
export function gerAdd(dW: Float64Array, row0: number, g: ArrayLike<number>, v: ArrayLike<number>): void {
  const cols = v.length;
  for (let r = 0; r < g.length; r++) {
    const gr = g[r];
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) dW[base + c] += gr * v[c];
  }
}

export function addInto(dst: Float64Array, src: ArrayLike<number>, row0 = 0): void {
  for (let i = 0; i < src.length; i++) dst[row0 + i] += src[i];
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------------------------
// Layout helpers

export function dataOf(a: TensorArg): ArrayLike<number> {
  return "data" in a && typeof a.data === "object" ? (a as RefTensor).data : (a as ArrayLike<number>);
}

/** Copies a (T,B,F) or (B,T,F) array to time-major float64, checking the element count. */
export function toTimeMajor(src: ArrayLike<number>, T: number, B: number, F: number, batchFirst: boolean, what: string): Float64Array {
  if (src.length !== T * B * F) throw new Error(`rnn64: ${what} has ${src.length} elements, expected ${T * B * F}`);
  const out = new Float64Array(T * B * F);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const from = (batchFirst ? b * T + t : t * B + b) * F;
      for (let j = 0; j < F; j++) out[(t * B + b) * F + j] = src[from + j];
    }
  }
  return out;
}

export function fromTimeMajor(src: Float64Array, T: number, B: number, F: number, batchFirst: boolean): Float64Array {
  if (!batchFirst) return src;
  const out = new Float64Array(T * B * F);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) out.set(src.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  }
  return out;
}

/** Optional (numLayers·D, B, F) state as float64 (zeros when absent). */
export function stateOrZeros(a: TensorArg | null | undefined, n: number, what: string): Float64Array {
  if (a === null || a === undefined) return new Float64Array(n);
  const d = dataOf(a);
  if (d.length !== n) throw new Error(`rnn64: ${what} has ${d.length} elements, expected ${n}`);
  return Float64Array.from(d);
}

