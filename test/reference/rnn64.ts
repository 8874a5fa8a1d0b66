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

import { numDirections, outSize, type DirParams, dirNames, loadParams, zerosLike, gemvAdd, gemvTAdd, gerAdd, addInto, sigmoid, dataOf, toTimeMajor, fromTimeMajor, stateOrZeros, type RefConfig, type RefTensor, type StateDict, type TensorArg } from "./params64.js";

export { configFromTorch, paramShapes, type Mode, type RefConfig, type RefTensor, type StateDict, type TensorArg } from "./params64.js";

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
): { dhPrev: Float64Array; dcPrev: Float64Array; dcTotal: Float64Array } {
  let dm = dh;
  if (p.whr) {
    gerAdd(gr.whr!, 0, dh, s.m);
    dm = new Float64Array(H);
    gemvTAdd(dm, p.whr, 0, dh);
  }
  const P = p.peep;
  const da = new Float64Array(4 * H);
  const dcPrev = new Float64Array(H);
  const dcTotal = new Float64Array(H);
  const { i, f, g, o, c, tc, cPrev } = s;
  for (let j = 0; j < H; j++) {
    const dao = dm[j] * tc[j] * o[j] * (1 - o[j]);
    // Total gradient reaching c_t: from the future, through tanh(c_t) into h, and (peephole) through o.
    let dct = dc[j] + dm[j] * o[j] * (1 - tc[j] * tc[j]);
    if (P) dct += dao * P[H + j];
    dcTotal[j] = dct;
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
  return { dhPrev, dcPrev, dcTotal };
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
 * Backward pass (full BPTT) of `sum(output·dout) + sum(hN·dhN) (+ sum(cN·dcN))`. `onHiddenGrad`
 * sees the total gradient reaching each h_t (layer-direction, step, batch row), and for the
 * LSTM the total gradient reaching c_t. `params` must be
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
  onHiddenGrad?: (layerDir: number, t: number, b: number, dh: Float64Array, dcTotal?: Float64Array) => void,
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
          const dhAt = dh; // the total gradient reaching h_t
          let dcAt: Float64Array | undefined;
          const dx = dX.subarray((t * B + b) * inK, (t * B + b + 1) * inK);
          const step = seq[s];
          if (isLstm) {
            const r = lstmBackwardStep(p, g, H, step as LstmStep, dh, dc!, dx);
            dh = r.dhPrev;
            dc = r.dcPrev;
            dcAt = r.dcTotal;
          } else if (config.mode === "GRU") {
            dh = gruBackwardStep(p, g, H, step as GruStep, dh, dx);
          } else {
            dh = rnnBackwardStep(p, g, relu, step as RnnStep, dh, dx);
          }
          onHiddenGrad?.(k * D + d, t, b, dhAt, dcAt);
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

