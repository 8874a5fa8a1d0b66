/**
 * Float64 reference implementation of multi-layer (bi)directional RNN / LSTM / GRU forward and
 * backward (full BPTT), used only by tests as an oracle for the WebAssembly core.
 *
 * Semantics follow PyTorch (docs/parity.md describes the reference cases): gate row order i,f,g,o
 * (LSTM) and r,z,n (GRU), `[k·D + d, b, :]` indexing of h0/c0/h_n/c_n, packed-sequence lengths.
 * Two non-PyTorch variants are added: LSTM peepholes (ONNX style) and the GRU with the reset gate
 * applied before the recurrent matmul (`resetAfter: false`, Keras reset_after=False / ONNX
 * linear_before_reset=0).
 *
 * Deliberately naive: per batch element, per step, plain loops, everything in Float64Array, no
 * reuse of buffers. Clarity over speed; the oracle must be obviously right.
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
export interface Cache64 {
  config: RefConfig;
  T: number;
  B: number;
  lengths: number[];
  /** Input size of each layer (for sizing the input gradient). */
  layerInSizes: number[];
  /** steps[k][d][b] = step records of layer k, direction d, batch element b, in processing order. */
  steps: Step[][][][];
}

export interface Forward64Result {
  /** (T, B, D·H_out), or (B, T, D·H_out) when batchFirst; 0 at padded positions. */
  output: Float64Array;
  outputShape: number[];
  /** (numLayers·D, B, H_out). */
  hN: Float64Array;
  /** LSTM only: (numLayers·D, B, hiddenSize). */
  cN?: Float64Array;
  cache: Cache64;
}

// ---------------------------------------------------------------------------------------------
// Configuration, names, shapes

const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

function numDirections(cfg: RefConfig): number {
  return cfg.bidirectional ? 2 : 1;
}

function outSize(cfg: RefConfig): number {
  return cfg.mode === "LSTM" && cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize;
}

function suffix(k: number, d: number): string {
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
interface DirParams {
  wih: Float64Array; // (G·H, inSize)
  whh: Float64Array; // (G·H, H_out)
  bih: Float64Array | null; // (G·H)
  bhh: Float64Array | null; // (G·H)
  whr: Float64Array | null; // (P, H), LSTM projection
  peep: Float64Array | null; // (3·H) in order i, o, f
  inSize: number;
}

function dirNames(k: number, d: number) {
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
function loadParams(cfg: RefConfig, params: StateDict): DirParams[][] {
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

function zerosLike(p: DirParams): DirParams {
  const z = (a: Float64Array | null) => (a === null ? null : new Float64Array(a.length));
  return { wih: z(p.wih)!, whh: z(p.whh)!, bih: z(p.bih), bhh: z(p.bhh), whr: z(p.whr), peep: z(p.peep), inSize: p.inSize };
}

function forEachDir<R>(cfg: RefConfig, f: (k: number, d: number) => R): R[][] {
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
function gemvAdd(y: Float64Array, W: Float64Array, row0: number, cols: number, v: ArrayLike<number>): void {
  for (let r = 0; r < y.length; r++) {
    let s = 0;
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) s += W[base + c] * v[c];
    y[r] += s;
  }
}

/** y[c] += Σ_r W[row0 + r, c] · g[r], r < g.length, c < y.length (= number of columns). */
function gemvTAdd(y: Float64Array, W: Float64Array, row0: number, g: ArrayLike<number>): void {
  const cols = y.length;
  for (let r = 0; r < g.length; r++) {
    const gr = g[r];
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) y[c] += W[base + c] * gr;
  }
}

/** dW[row0 + r, c] += g[r] · v[c]. */
function gerAdd(dW: Float64Array, row0: number, g: ArrayLike<number>, v: ArrayLike<number>): void {
  const cols = v.length;
  for (let r = 0; r < g.length; r++) {
    const gr = g[r];
    const base = (row0 + r) * cols;
    for (let c = 0; c < cols; c++) dW[base + c] += gr * v[c];
  }
}

function addInto(dst: Float64Array, src: ArrayLike<number>, row0 = 0): void {
  for (let i = 0; i < src.length; i++) dst[row0 + i] += src[i];
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------------------------
// Cells: one forward step and its exact backward step per cell type.
// Backward steps accumulate parameter gradients into `g` and the input gradient into `dx`, and
// return the gradient w.r.t. the previous state.

interface RnnStep {
  x: Float64Array;
  hPrev: Float64Array;
  h: Float64Array;
}

interface LstmStep {
  x: Float64Array;
  hPrev: Float64Array;
  cPrev: Float64Array;
  i: Float64Array;
  f: Float64Array;
  g: Float64Array;
  o: Float64Array;
  c: Float64Array;
  tc: Float64Array; // tanh(c)
  m: Float64Array; // o ⊙ tanh(c), the pre-projection hidden state
  h: Float64Array;
}

interface GruStep {
  x: Float64Array;
  hPrev: Float64Array;
  r: Float64Array;
  z: Float64Array;
  n: Float64Array;
  /** resetAfter: W_hn h_{t-1} + b_hn (the factor multiplied by r). */
  ghn: Float64Array | null;
  /** !resetAfter: r ⊙ h_{t-1} (the vector fed to W_hn). */
  rh: Float64Array | null;
  h: Float64Array;
}

type Step = RnnStep | LstmStep | GruStep;

function rnnForwardStep(p: DirParams, relu: boolean, x: Float64Array, hPrev: Float64Array): RnnStep {
  const H = hPrev.length;
  const a = new Float64Array(H);
  if (p.bih) addInto(a, p.bih);
  if (p.bhh) addInto(a, p.bhh);
  gemvAdd(a, p.wih, 0, p.inSize, x);
  gemvAdd(a, p.whh, 0, H, hPrev);
  const h = a.map((v) => (relu ? Math.max(0, v) : Math.tanh(v)));
  return { x, hPrev, h };
}

function rnnBackwardStep(p: DirParams, g: DirParams, relu: boolean, s: RnnStep, dh: Float64Array, dx: Float64Array): Float64Array {
  // Derivative from the output: tanh' = 1 − h², relu' = [h > 0] (PyTorch's convention at 0).
  const da = dh.map((v, j) => v * (relu ? (s.h[j] > 0 ? 1 : 0) : 1 - s.h[j] * s.h[j]));
  gerAdd(g.wih, 0, da, s.x);
  gerAdd(g.whh, 0, da, s.hPrev);
  if (g.bih) addInto(g.bih, da);
  if (g.bhh) addInto(g.bhh, da);
  gemvTAdd(dx, p.wih, 0, da);
  const dhPrev = new Float64Array(s.hPrev.length);
  gemvTAdd(dhPrev, p.whh, 0, da);
  return dhPrev;
}

function lstmForwardStep(p: DirParams, H: number, x: Float64Array, hPrev: Float64Array, cPrev: Float64Array): LstmStep {
  const a = new Float64Array(4 * H);
  if (p.bih) addInto(a, p.bih);
  if (p.bhh) addInto(a, p.bhh);
  gemvAdd(a, p.wih, 0, p.inSize, x);
  gemvAdd(a, p.whh, 0, hPrev.length, hPrev);
  const vec = () => new Float64Array(H);
  const [i, f, g, o, c, tc, m] = [vec(), vec(), vec(), vec(), vec(), vec(), vec()];
  const P = p.peep;
  for (let j = 0; j < H; j++) {
    // Peepholes: i and f look at the old cell state, o at the new one (ONNX), hence o after c.
    i[j] = sigmoid(a[j] + (P ? P[j] * cPrev[j] : 0));
    f[j] = sigmoid(a[H + j] + (P ? P[2 * H + j] * cPrev[j] : 0));
    g[j] = Math.tanh(a[2 * H + j]);
    c[j] = f[j] * cPrev[j] + i[j] * g[j];
    o[j] = sigmoid(a[3 * H + j] + (P ? P[H + j] * c[j] : 0));
    tc[j] = Math.tanh(c[j]);
    m[j] = o[j] * tc[j];
  }
  let h = m;
  if (p.whr) {
    h = new Float64Array(p.whr.length / H);
    gemvAdd(h, p.whr, 0, H, m);
  }
  return { x, hPrev, cPrev, i, f, g, o, c, tc, m, h };
}

function lstmBackwardStep(
  p: DirParams,
  gr: DirParams,
  H: number,
  s: LstmStep,
  dh: Float64Array,
  dc: Float64Array,
  dx: Float64Array,
): { dhPrev: Float64Array; dcPrev: Float64Array } {
  let dm = dh;
  if (p.whr) {
    gerAdd(gr.whr!, 0, dh, s.m);
    dm = new Float64Array(H);
    gemvTAdd(dm, p.whr, 0, dh);
  }
  const P = p.peep;
  const da = new Float64Array(4 * H);
  const dcPrev = new Float64Array(H);
  const { i, f, g, o, c, tc, cPrev } = s;
  for (let j = 0; j < H; j++) {
    const dao = dm[j] * tc[j] * o[j] * (1 - o[j]);
    // Total gradient reaching c_t: from the future, through tanh(c_t) into h, and (peephole) through o.
    let dct = dc[j] + dm[j] * o[j] * (1 - tc[j] * tc[j]);
    if (P) dct += dao * P[H + j];
    const dai = dct * g[j] * i[j] * (1 - i[j]);
    const daf = dct * cPrev[j] * f[j] * (1 - f[j]);
    const dag = dct * i[j] * (1 - g[j] * g[j]);
    dcPrev[j] = dct * f[j];
    if (P) {
      dcPrev[j] += dai * P[j] + daf * P[2 * H + j];
      gr.peep![j] += dai * cPrev[j];
      gr.peep![H + j] += dao * c[j];
      gr.peep![2 * H + j] += daf * cPrev[j];
    }
    da[j] = dai;
    da[H + j] = daf;
    da[2 * H + j] = dag;
    da[3 * H + j] = dao;
  }
  gerAdd(gr.wih, 0, da, s.x);
  gerAdd(gr.whh, 0, da, s.hPrev);
  if (gr.bih) addInto(gr.bih, da);
  if (gr.bhh) addInto(gr.bhh, da);
  gemvTAdd(dx, p.wih, 0, da);
  const dhPrev = new Float64Array(s.hPrev.length);
  gemvTAdd(dhPrev, p.whh, 0, da);
  return { dhPrev, dcPrev };
}

function gruForwardStep(p: DirParams, H: number, resetAfter: boolean, x: Float64Array, hPrev: Float64Array): GruStep {
  const gi = new Float64Array(3 * H); // input part of all three gates
  if (p.bih) addInto(gi, p.bih);
  gemvAdd(gi, p.wih, 0, p.inSize, x);
  // Recurrent part: r,z rows always act on h_{t-1}; the n rows act on h_{t-1} or on r ⊙ h_{t-1}.
  const ghrz = new Float64Array(2 * H);
  if (p.bhh) addInto(ghrz, p.bhh.subarray(0, 2 * H));
  gemvAdd(ghrz, p.whh, 0, H, hPrev);
  const r = new Float64Array(H);
  const z = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    r[j] = sigmoid(gi[j] + ghrz[j]);
    z[j] = sigmoid(gi[H + j] + ghrz[H + j]);
  }
  let ghn: Float64Array | null = null;
  let rh: Float64Array | null = null;
  const hn = new Float64Array(H); // the whole recurrent term of the n gate
  if (resetAfter) {
    ghn = new Float64Array(H);
    if (p.bhh) addInto(ghn, p.bhh.subarray(2 * H));
    gemvAdd(ghn, p.whh, 2 * H, H, hPrev);
    for (let j = 0; j < H; j++) hn[j] = r[j] * ghn[j];
  } else {
    rh = r.map((v, j) => v * hPrev[j]);
    if (p.bhh) addInto(hn, p.bhh.subarray(2 * H));
    gemvAdd(hn, p.whh, 2 * H, H, rh);
  }
  const n = new Float64Array(H);
  const h = new Float64Array(H);
  for (let j = 0; j < H; j++) {
    n[j] = Math.tanh(gi[2 * H + j] + hn[j]);
    h[j] = (1 - z[j]) * n[j] + z[j] * hPrev[j];
  }
  return { x, hPrev, r, z, n, ghn, rh, h };
}

function gruBackwardStep(p: DirParams, gr: DirParams, H: number, s: GruStep, dh: Float64Array, dx: Float64Array): Float64Array {
  const { r, z, n, hPrev } = s;
  const dhPrev = new Float64Array(H);
  const dgi = new Float64Array(3 * H); // gradient of the gate pre-activations' input part
  const dghrz = new Float64Array(2 * H); // ... and of the r,z recurrent part
  const dan = new Float64Array(H); // gradient of n's pre-activation
  for (let j = 0; j < H; j++) {
    dhPrev[j] = dh[j] * z[j];
    dan[j] = dh[j] * (1 - z[j]) * (1 - n[j] * n[j]);
    dgi[H + j] = dh[j] * (hPrev[j] - n[j]) * z[j] * (1 - z[j]);
    dgi[2 * H + j] = dan[j];
  }
  // dr: how the reset gate entered n decides both dr and the W_hn / b_hn gradients.
  const dr = new Float64Array(H);
  if (s.ghn) {
    const dghn = dan.map((v, j) => v * r[j]);
    for (let j = 0; j < H; j++) dr[j] = dan[j] * s.ghn[j];
    gerAdd(gr.whh, 2 * H, dghn, hPrev);
    if (gr.bhh) addInto(gr.bhh, dghn, 2 * H);
    gemvTAdd(dhPrev, p.whh, 2 * H, dghn);
  } else {
    const rh = s.rh!;
    const drh = new Float64Array(H);
    gemvTAdd(drh, p.whh, 2 * H, dan);
    gerAdd(gr.whh, 2 * H, dan, rh);
    if (gr.bhh) addInto(gr.bhh, dan, 2 * H);
    for (let j = 0; j < H; j++) {
      dr[j] = drh[j] * hPrev[j];
      dhPrev[j] += drh[j] * r[j];
    }
  }
  for (let j = 0; j < H; j++) {
    dgi[j] = dr[j] * r[j] * (1 - r[j]);
    dghrz[j] = dgi[j];
    dghrz[H + j] = dgi[H + j];
  }
  gerAdd(gr.wih, 0, dgi, s.x);
  if (gr.bih) addInto(gr.bih, dgi);
  gemvTAdd(dx, p.wih, 0, dgi);
  gerAdd(gr.whh, 0, dghrz, hPrev);
  if (gr.bhh) addInto(gr.bhh, dghrz);
  gemvTAdd(dhPrev, p.whh, 0, dghrz);
  return dhPrev;
}

// ---------------------------------------------------------------------------------------------
// Layout helpers

function dataOf(a: TensorArg): ArrayLike<number> {
  return "data" in a && typeof a.data === "object" ? (a as RefTensor).data : (a as ArrayLike<number>);
}

/** Copies a (T,B,F) or (B,T,F) array to time-major float64, checking the element count. */
function toTimeMajor(src: ArrayLike<number>, T: number, B: number, F: number, batchFirst: boolean, what: string): Float64Array {
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

function fromTimeMajor(src: Float64Array, T: number, B: number, F: number, batchFirst: boolean): Float64Array {
  if (!batchFirst) return src;
  const out = new Float64Array(T * B * F);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) out.set(src.subarray((t * B + b) * F, (t * B + b + 1) * F), (b * T + t) * F);
  }
  return out;
}

/** Optional (numLayers·D, B, F) state as float64 (zeros when absent). */
function stateOrZeros(a: TensorArg | null | undefined, n: number, what: string): Float64Array {
  if (a === null || a === undefined) return new Float64Array(n);
  const d = dataOf(a);
  if (d.length !== n) throw new Error(`rnn64: ${what} has ${d.length} elements, expected ${n}`);
  return Float64Array.from(d);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Forward pass. `input` is (T, B, inputSize) or (B, T, inputSize) when batchFirst; `h0`/`c0` are
 * (numLayers·D, B, ·) and default to zeros; `lengths` (one per batch element, each ≤ T) gives
 * PyTorch packed-sequence semantics (pack_padded_sequence).
 */
export function forward64(
  config: RefConfig,
  params: StateDict,
  input: RefTensor,
  h0?: TensorArg | null,
  c0?: TensorArg | null,
  lengths?: ArrayLike<number> | null,
): Forward64Result {
  const W = loadParams(config, params);
  if (input.shape.length !== 3 || input.shape[2] !== config.inputSize) {
    throw new Error(`rnn64: input shape [${input.shape.join(", ")}] must be 3-D with last dim ${config.inputSize}`);
  }
  const [T, B] = config.batchFirst ? [input.shape[1], input.shape[0]] : [input.shape[0], input.shape[1]];
  const D = numDirections(config);
  const H = config.hiddenSize;
  const Hout = outSize(config);
  const isLstm = config.mode === "LSTM";
  const resetAfter = config.resetAfter ?? true;
  const relu = config.mode === "RNN_RELU";

  const lens = lengths ? Array.from(lengths) : new Array<number>(B).fill(T);
  if (lens.length !== B || lens.some((L) => !Number.isInteger(L) || L < 0 || L > T)) {
    throw new Error(`rnn64: lengths must be ${B} integers in [0, ${T}], got [${lens.join(", ")}]`);
  }
  const h0d = stateOrZeros(h0, config.numLayers * D * B * Hout, "h0");
  const c0d = isLstm ? stateOrZeros(c0, config.numLayers * D * B * H, "c0") : null;
  if (!isLstm && c0 != null) throw new Error("rnn64: c0 is LSTM only");

  const hN = new Float64Array(config.numLayers * D * B * Hout);
  const cN = isLstm ? new Float64Array(config.numLayers * D * B * H) : undefined;
  const steps: Step[][][][] = [];
  const layerInSizes: number[] = [];

  let X = toTimeMajor(input.data, T, B, config.inputSize, config.batchFirst, "input");
  for (let k = 0; k < config.numLayers; k++) {
    const inK = W[k][0].inSize;
    layerInSizes.push(inK);
    // Padded positions stay 0: that is both PyTorch's padded output and a harmless next-layer input.
    const Y = new Float64Array(T * B * D * Hout);
    const layerSteps: Step[][][] = [];
    for (let d = 0; d < D; d++) {
      const p = W[k][d];
      const dirSteps: Step[][] = [];
      for (let b = 0; b < B; b++) {
        const L = lens[b];
        const sIdx = (k * D + d) * B + b;
        let h: Float64Array = h0d.slice(sIdx * Hout, (sIdx + 1) * Hout);
        let c: Float64Array | null = c0d ? c0d.slice(sIdx * H, (sIdx + 1) * H) : null;
        const seq: Step[] = [];
        for (let s = 0; s < L; s++) {
          // The reverse direction of a packed sequence starts at its own last valid step L−1.
          const t = d === 0 ? s : L - 1 - s;
          const x = X.subarray((t * B + b) * inK, (t * B + b + 1) * inK);
          let step: Step;
          if (isLstm) {
            const ls = lstmForwardStep(p, H, x, h, c!);
            c = ls.c;
            step = ls;
          } else if (config.mode === "GRU") {
            step = gruForwardStep(p, H, resetAfter, x, h);
          } else {
            step = rnnForwardStep(p, relu, x, h);
          }
          h = step.h;
          seq.push(step);
          Y.set(h, (t * B + b) * D * Hout + d * Hout);
        }
        hN.set(h, sIdx * Hout);
        if (cN) cN.set(c!, sIdx * H);
        dirSteps.push(seq);
      }
      layerSteps.push(dirSteps);
    }
    steps.push(layerSteps);
    X = Y;
  }

  const F = D * Hout;
  const result: Forward64Result = {
    output: fromTimeMajor(X, T, B, F, config.batchFirst),
    outputShape: config.batchFirst ? [B, T, F] : [T, B, F],
    hN,
    cache: { config, T, B, lengths: lens, layerInSizes, steps },
  };
  if (cN) result.cN = cN;
  return result;
}

/**
 * Backward pass (full BPTT) of `sum(output·dout) + sum(hN·dhN) (+ sum(cN·dcN))`. `params` must be
 * the ones given to `forward64`. Returns the gradient of every parameter under its state-dict
 * name, plus `input` (input layout), `h0` and, for the LSTM, `c0`. Absent `dhN`/`dcN` mean zero;
 * `dout` at padded positions is ignored (as PyTorch's pad_packed_sequence backward does).
 */
export function backward64(
  config: RefConfig,
  params: StateDict,
  cache: Cache64,
  dout: TensorArg,
  dhN?: TensorArg | null,
  dcN?: TensorArg | null,
): Record<string, Float64Array> {
  const W = loadParams(config, params);
  const G = W.map((row) => row.map(zerosLike));
  const { T, B, lengths, steps, layerInSizes } = cache;
  const D = numDirections(config);
  const H = config.hiddenSize;
  const Hout = outSize(config);
  const isLstm = config.mode === "LSTM";
  const resetAfter = config.resetAfter ?? true;
  const relu = config.mode === "RNN_RELU";

  const dhNd = stateOrZeros(dhN, config.numLayers * D * B * Hout, "dhN");
  const dcNd = isLstm ? stateOrZeros(dcN, config.numLayers * D * B * H, "dcN") : null;
  const gh0 = new Float64Array(config.numLayers * D * B * Hout);
  const gc0 = isLstm ? new Float64Array(config.numLayers * D * B * H) : null;

  let dY = toTimeMajor(dataOf(dout), T, B, D * Hout, config.batchFirst, "dout");
  for (let k = config.numLayers - 1; k >= 0; k--) {
    const inK = layerInSizes[k];
    const dX = new Float64Array(T * B * inK);
    for (let d = 0; d < D; d++) {
      const p = W[k][d];
      const g = G[k][d];
      for (let b = 0; b < B; b++) {
        const L = lengths[b];
        const sIdx = (k * D + d) * B + b;
        const seq = steps[k][d][b];
        let dh: Float64Array = dhNd.slice(sIdx * Hout, (sIdx + 1) * Hout);
        let dc: Float64Array | null = dcNd ? dcNd.slice(sIdx * H, (sIdx + 1) * H) : null;
        for (let s = L - 1; s >= 0; s--) {
          const t = d === 0 ? s : L - 1 - s;
          // h_t feeds both the next step (dh so far) and the layer output at position t.
          addInto(dh, dY.subarray((t * B + b) * D * Hout + d * Hout, (t * B + b) * D * Hout + (d + 1) * Hout));
          const dx = dX.subarray((t * B + b) * inK, (t * B + b + 1) * inK);
          const step = seq[s];
          if (isLstm) {
            const r = lstmBackwardStep(p, g, H, step as LstmStep, dh, dc!, dx);
            dh = r.dhPrev;
            dc = r.dcPrev;
          } else if (config.mode === "GRU") {
            dh = gruBackwardStep(p, g, H, step as GruStep, dh, dx);
          } else {
            dh = rnnBackwardStep(p, g, relu, step as RnnStep, dh, dx);
          }
        }
        gh0.set(dh, sIdx * Hout);
        if (gc0) gc0.set(dc!, sIdx * H);
      }
    }
    dY = dX;
  }

  const grads: Record<string, Float64Array> = {};
  for (let k = 0; k < config.numLayers; k++) {
    for (let d = 0; d < D; d++) {
      const n = dirNames(k, d);
      const g = G[k][d];
      grads[n.wih] = g.wih;
      grads[n.whh] = g.whh;
      if (g.bih) grads[n.bih] = g.bih;
      if (g.bhh) grads[n.bhh] = g.bhh;
      if (g.whr) grads[n.whr] = g.whr;
      if (g.peep) grads[n.peep] = g.peep;
    }
  }
  grads.input = fromTimeMajor(dY, T, B, config.inputSize, config.batchFirst);
  grads.h0 = gh0;
  if (gc0) grads.c0 = gc0;
  return grads;
}
