/**
 * The spectral norm of the step Jacobian ∂s_t/∂s_{t-1} along a trajectory (s = h, or [h; c] for
 * an LSTM): the factor by which one step of backpropagation can at most stretch a gradient, the
 * quantity whose product over steps makes gradients vanish or explode (Pascanu, Mikolov and
 * Bengio 2013).
 *
 * Each Jacobian is built exactly, one row per vector-Jacobian product, by the BPTT kernels: every
 * (step, sequence, state unit) becomes one row of a one-step batch that starts from the
 * trajectory's state before the step, and the backward of a unit vector on the new state gives
 * that row of J as the initial-state gradient. No finite differences.
 */
import { fail } from "../errors.js";
import { runtime } from "../runtime.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { RecurrentModel } from "../models/recurrent.js";

/** Options of `stepJacobianNorms`. */
export interface StepJacobianOptions {
  /** Initial hidden state [1, B, H_out] ([1, H_out] for an unbatched x). Default zeros. */
  h0?: Tensor;
  /** LSTM only: initial cell state [1, B, hiddenSize] ([1, hiddenSize] for an unbatched x). Default zeros. */
  c0?: Tensor;
}

/** A float64 tensor: the norms, row-major. */
export interface Float64Tensor {
  /** [T, B], or [T] for an unbatched input. */
  shape: number[];
  /** The values, row-major. */
  data: Float64Array;
}

// Rows of one batched one-step call: bounds the training workspace (rows x gates x 4 bytes).
const ROWS_PER_CALL = 2048;

/**
 * ‖∂s_t/∂s_{t-1}‖₂, the largest singular value of each step's Jacobian, for every step t and
 * sequence b of `x` ([T, B, I], [B, T, I] with batchFirst, or unbatched [T, I]): a Float64Array
 * [T, B] ([T] unbatched) as a Tensor. The state s is h, or [h; c] for an LSTM. Single-layer,
 * unidirectional models only. The model's accumulated gradients are kept; a pending
 * `forwardTrain` is replaced (its `backward` is no longer possible).
 */
export function stepJacobianNorms(model: RecurrentModel, x: Tensor, options: StepJacobianOptions = {}): Float64Tensor {
  const cfg = model.config;
  if (cfg.numLayers !== 1 || cfg.bidirectional) fail("E_UNSUPPORTED", `stepJacobianNorms: single-layer unidirectional models only, got numLayers = ${cfg.numLayers}, bidirectional = ${cfg.bidirectional}`);
  checkTensor(x, "stepJacobianNorms: x");
  const unbatched = x.shape.length === 2;
  if ((x.shape.length !== 3 && !unbatched) || x.shape[x.shape.length - 1] !== cfg.inputSize) {
    fail("E_SHAPE", `stepJacobianNorms: x must be [${cfg.batchFirst ? "B, T" : "T, B"}, ${cfg.inputSize}] or [T, ${cfg.inputSize}], got [${x.shape.join(", ")}]`);
  }
  const I = cfg.inputSize;
  const [T, B] = unbatched ? [x.shape[0], 1] : cfg.batchFirst ? [x.shape[1], x.shape[0]] : [x.shape[0], x.shape[1]];
  const lstm = cfg.mode === "LSTM";
  const P = model.outputSize;
  const H = cfg.hiddenSize;
  const S = P + (lstm ? H : 0);
  const xAt = (t: number, b: number): Float32Array => {
    const row = unbatched ? t : cfg.batchFirst ? b * T + t : t * B + b;
    return x.data.subarray(row * I, row * I + I);
  };

  // The trajectory: the state before every step, by streaming the sequence.
  const state = model.initialState(B);
  const stateShape = (n: number): number[] => (unbatched ? [1, n] : [1, B, n]);
  if (options.h0) state.h.data.set(checkTensor(options.h0, "stepJacobianNorms: h0", stateShape(P)).data);
  if (options.c0) {
    if (!lstm) fail("E_VALUE", `stepJacobianNorms: c0 is only for LSTM, this is ${cfg.mode}`);
    state.c!.data.set(checkTensor(options.c0, "stepJacobianNorms: c0", stateShape(H)).data);
  }
  const hBefore = new Float32Array(T * B * P);
  const cBefore = new Float32Array(lstm ? T * B * H : 0);
  const xt = new Float32Array(B * I);
  for (let t = 0; t < T; t++) {
    hBefore.set(state.h.data, t * B * P);
    if (lstm) cBefore.set(state.c!.data, t * B * H);
    for (let b = 0; b < B; b++) xt.set(xAt(t, b), b * I);
    model.step({ shape: [1, B, I], data: xt }, state);
  }

  // The gradients accumulated so far survive the backward passes below.
  const heap = runtime().heap;
  const regions = model.parameterRegions();
  const saved = regions.map((r) => heap.f32(r.grads, r.floats).slice());
  const norms = new Float64Array(T * B);
  try {
    const J = new Float64Array(S * S);
    const steps = T * B; // (t, b) pairs, S rows each
    const perCall = Math.max(1, Math.floor(ROWS_PER_CALL / S));
    for (let first = 0; first < steps; first += perCall) {
      const count = Math.min(perCall, steps - first);
      const R = count * S;
      const x1 = new Float32Array(R * I);
      const h0 = new Float32Array(R * P);
      const c0 = new Float32Array(lstm ? R * H : 0);
      const dh = new Float32Array(R * P);
      const dc = new Float32Array(lstm ? R * H : 0);
      for (let k = 0; k < count; k++) {
        const tb = first + k;
        const [t, b] = [Math.floor(tb / B), tb % B];
        for (let i = 0; i < S; i++) {
          const r = k * S + i;
          x1.set(xAt(t, b), r * I);
          h0.set(hBefore.subarray(tb * P, tb * P + P), r * P);
          if (lstm) c0.set(cBefore.subarray(tb * H, tb * H + H), r * H);
          if (i < P) dh[r * P + i] = 1;
          else dc[r * H + i - P] = 1;
        }
      }
      const batch = cfg.batchFirst ? [R, 1, I] : [1, R, I];
      model.forwardTrain({ shape: batch, data: x1 }, { h0: { shape: [1, R, P], data: h0 }, ...(lstm ? { c0: { shape: [1, R, H], data: c0 } } : {}), output: false });
      const g = model.backward({ hN: { shape: [1, R, P], data: dh }, ...(lstm ? { cN: { shape: [1, R, H], data: dc } } : {}) }, { inputGrad: false });
      for (let k = 0; k < count; k++) {
        for (let i = 0; i < S; i++) {
          const r = k * S + i;
          for (let j = 0; j < P; j++) J[i * S + j] = g.h0.data[r * P + j];
          if (lstm) for (let j = 0; j < H; j++) J[i * S + P + j] = g.c0!.data[r * H + j];
        }
        norms[first + k] = spectralNorm(J, S);
      }
    }
  } finally {
    regions.forEach((r, i) => heap.f32(r.grads, r.floats).set(saved[i]));
  }
  return { shape: unbatched ? [T] : [T, B], data: norms };
}

// Largest singular value of the n x n matrix J: power iteration on JᵀJ in float64, the estimate
// being the Rayleigh quotient vᵀJᵀJv (its error falls twice as fast as the vector's), until it
// settles to 1e-12 relative (or 1000 iterations).
function spectralNorm(J: Float64Array, n: number): number {
  // A fixed start with no special direction (all ones could be orthogonal to the answer).
  const v = Float64Array.from({ length: n }, (_, j) => 1 + 0.5 * Math.sin(1.7 * j + 0.3));
  const Jv = new Float64Array(n);
  const w = new Float64Array(n);
  let vNorm = Math.hypot(...v);
  for (let j = 0; j < n; j++) v[j] /= vNorm;
  let lambda = 0;
  for (let it = 0; it < 1000; it++) {
    // w = Jᵀ (J v); vᵀ w = ‖J v‖².
    let rayleigh = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += J[i * n + j] * v[j];
      Jv[i] = s;
      rayleigh += s * s;
    }
    w.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[j] += J[i * n + j] * Jv[i];
    vNorm = Math.hypot(...w);
    if (vNorm === 0) return 0;
    for (let j = 0; j < n; j++) v[j] = w[j] / vNorm;
    const done = Math.abs(rayleigh - lambda) <= 1e-12 * rayleigh;
    lambda = rayleigh;
    if (done) break;
  }
  return Math.sqrt(lambda);
}
