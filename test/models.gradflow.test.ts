// Per-step gradient norms ‖∂L/∂h_t‖ recorded by the backward kernels (backward's hiddenGradNorms),
// against the float64 reference's BPTT and against central finite differences of the float64
// forward.
import { beforeAll, describe, expect, it } from "vitest";
import { GRU, init, LSTM, RNN, type RecurrentModel } from "../src/index.js";
import { stepJacobianNorms } from "../src/diagnostics/index.js";
import { echoStateInit } from "../src/esn/index.js";
import { denseEigenvalues } from "../src/spectral/index.js";
import { backward64, forward64, type RefConfig } from "./reference/rnn64.js";
import { variantCases } from "./helpers/variant-cases.js";
import { randn } from "./helpers/random.js";

beforeAll(async () => {
  await init();
});

// Relative agreement of two norms (float32 kernels vs float64 reference).
function expectClose(got: number, want: number, what: string, rel = 2e-4): void {
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(rel * Math.max(want, 1e-6));
}

describe("hiddenGradNorms against the float64 reference", () => {
  for (const c of variantCases) {
    it(c.name, () => {
      const model = c.make();
      try {
        const sd = model.stateDict();
        const D = c.ref.bidirectional ? 2 : 1;
        const LD = c.ref.numLayers * D;
        const x = randn(c.ref.batchFirst ? [c.B, c.T, c.ref.inputSize] : [c.T, c.B, c.ref.inputSize], 300);
        const lstm = c.ref.mode === "LSTM";
        const r = model.forwardTrain(x, { lengths: c.lengths });
        const dout = randn(r.output.shape, 301);
        const dhN = randn(r.hN.shape, 302);
        const dcN = lstm ? randn(r.cN!.shape, 303) : undefined;
        const result = model.backward({ output: dout, hN: dhN, cN: dcN }, { inputGrad: false, hiddenGradNorms: true });
        const got = result.hiddenGradNorms!;
        expect(got.shape).toEqual([LD, c.T, c.B]);
        expect(result.cellGradNorms?.shape).toEqual(lstm ? [LD, c.T, c.B] : undefined);
        const want = new Float64Array(LD * c.T * c.B); // zero past a row's length, as recur's
        const wantC = new Float64Array(LD * c.T * c.B);
        const ref = forward64(c.ref, sd, x, undefined, undefined, c.lengths);
        backward64(c.ref, sd, ref.cache, dout, dhN, dcN, (ld, t, b, dh, dc) => {
          want[(ld * c.T + t) * c.B + b] = Math.hypot(...dh);
          if (dc) wantC[(ld * c.T + t) * c.B + b] = Math.hypot(...dc);
        });
        for (let i = 0; i < want.length; i++) expectClose(got.data[i], want[i], `h, index ${i}`);
        if (lstm) for (let i = 0; i < want.length; i++) expectClose(result.cellGradNorms!.data[i], wantC[i], `c, index ${i}`);
      } finally {
        model.dispose();
      }
    });
  }
});

// The loss of a suffix run: L(h_k) = Σ_{t>k} dout_t·out_t + dhN·h_T + dout_k·h_k, all in float64,
// where the run restarts at step k+1 from (h_k, c_k). Its derivative in h_k is ∂L/∂h_k, the total
// gradient reaching h_k with c_k held (the quantity BPTT carries).
function suffixLoss(ref: RefConfig, sd: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>, x: Float64Array, T: number, I: number, k: number, hk: Float64Array, ck: Float64Array | undefined, dout: Float64Array, dhN: Float64Array): number {
  const H = hk.length;
  let loss = 0;
  for (let j = 0; j < H; j++) loss += dout[k * H + j] * hk[j];
  if (k === T - 1) {
    for (let j = 0; j < H; j++) loss += dhN[j] * hk[j];
    return loss;
  }
  const rest = { shape: [T - k - 1, 1, I], data: x.subarray((k + 1) * I) };
  const r = forward64(ref, sd, rest, { shape: [1, 1, H], data: hk }, ck ? { shape: [1, 1, ck.length], data: ck } : undefined);
  for (let i = 0; i < r.output.length; i++) loss += dout[(k + 1) * H + i] * r.output[i];
  for (let j = 0; j < H; j++) loss += dhN[j] * r.hN[j];
  return loss;
}

describe("hiddenGradNorms against finite differences", () => {
  const T = 12;
  const I = 3;
  const H = 4;
  const cases: [string, () => RecurrentModel, RefConfig][] = [
    ["RNN tanh", () => new RNN({ inputSize: I, hiddenSize: H, seed: 11 }), { mode: "RNN_TANH", inputSize: I, hiddenSize: H, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false }],
    ["LSTM", () => new LSTM({ inputSize: I, hiddenSize: H, seed: 12 }), { mode: "LSTM", inputSize: I, hiddenSize: H, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false }],
    ["GRU", () => new GRU({ inputSize: I, hiddenSize: H, seed: 13 }), { mode: "GRU", inputSize: I, hiddenSize: H, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false }],
  ];
  for (const [name, make, ref] of cases) {
    it(`${name}: ‖∂L/∂h_k‖ for every k, outputs and final state in the loss`, () => {
      const model = make();
      try {
        const sd = model.stateDict();
        const x = randn([T, 1, I], 400);
        const dout = randn([T, 1, H], 401);
        const dhN = randn([1, 1, H], 402);
        model.forwardTrain(x);
        const got = model.backward({ output: dout, hN: dhN }, { hiddenGradNorms: true }).hiddenGradNorms!;
        const xs = Float64Array.from(x.data);
        const full = forward64(ref, sd, x);
        const steps = full.cache.steps[0][0][0] as unknown as { h: Float64Array; c?: Float64Array }[];
        const eps = 1e-6;
        for (let k = 0; k < T; k++) {
          const hk = Float64Array.from(steps[k].h);
          const ck = steps[k].c ? Float64Array.from(steps[k].c!) : undefined;
          let sq = 0;
          for (let j = 0; j < H; j++) {
            const plus = hk.slice();
            const minus = hk.slice();
            plus[j] += eps;
            minus[j] -= eps;
            const dL = (suffixLoss(ref, sd, xs, T, I, k, plus, ck, Float64Array.from(dout.data), Float64Array.from(dhN.data)) - suffixLoss(ref, sd, xs, T, I, k, minus, ck, Float64Array.from(dout.data), Float64Array.from(dhN.data))) / (2 * eps);
            sq += dL * dL;
          }
          expectClose(got.data[k], Math.sqrt(sq), `step ${k}`, 1e-3);
        }
      } finally {
        model.dispose();
      }
    });
  }

  it("only hN's gradient: the last step's norm is ‖dhN‖ and an unbatched call returns [L*D, T]", () => {
    const model = new RNN({ inputSize: 2, hiddenSize: 5, seed: 3 });
    const r = model.forwardTrain(randn([6, 2], 1));
    const dhN = randn(r.hN.shape, 2);
    const got = model.backward({ hN: dhN }, { hiddenGradNorms: true }).hiddenGradNorms!;
    expect(got.shape).toEqual([1, 6]);
    expectClose(got.data[5], Math.hypot(...dhN.data), "last step", 1e-6);
    expect(() => {
      model.forwardTrain(randn([6, 2], 1));
      model.backward({ hN: dhN }, { hiddenGradNorms: 1 as unknown as boolean });
    }).toThrow(/hiddenGradNorms must be a boolean/);
    model.dispose();
  });
});

// σ_max(J) from every eigenvalue of JᵀJ (Francis QR): an algorithm independent of the power
// iteration stepJacobianNorms uses.
function sigmaMax(J: Float64Array, n: number): number {
  const JtJ = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += J[k * n + i] * J[k * n + j];
    JtJ[i * n + j] = s;
  }
  return Math.sqrt(Math.max(...denseEigenvalues(n, JtJ).re));
}

describe("stepJacobianNorms", () => {
  it("tanh RNN: ‖diag(1 - h_t²) W_hh‖₂ at every step, in float64", () => {
    const T = 7;
    const H = 6;
    const model = echoStateInit(new RNN({ inputSize: 3, hiddenSize: H, seed: 21 }), { spectralRadius: 1.3, connections: 3 });
    const x = randn([T, 2, 3], 22);
    const got = stepJacobianNorms(model, x);
    expect(got.shape).toEqual([T, 2]);
    const sd = model.stateDict();
    const ref: RefConfig = { mode: "RNN_TANH", inputSize: 3, hiddenSize: H, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false };
    const steps = forward64(ref, sd, x).cache.steps[0][0];
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < T; t++) {
        const h = (steps[b][t] as unknown as { h: Float64Array }).h;
        const J = Float64Array.from({ length: H * H }, (_, k) => (1 - h[Math.floor(k / H)] ** 2) * sd.weight_hh_l0.data[k]);
        expectClose(got.data[t * 2 + b], sigmaMax(J, H), `t ${t}, b ${b}`, 1e-4);
      }
    }
    model.dispose();
  });

  const fdCases: [string, () => RecurrentModel, RefConfig][] = [
    ["LSTM, state [h; c]", () => new LSTM({ inputSize: 2, hiddenSize: 3, seed: 31 }), { mode: "LSTM", inputSize: 2, hiddenSize: 3, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false }],
    ["GRU", () => new GRU({ inputSize: 2, hiddenSize: 4, seed: 32, batchFirst: true }), { mode: "GRU", inputSize: 2, hiddenSize: 4, projSize: 0, numLayers: 1, bias: true, batchFirst: false, bidirectional: false }],
  ];
  for (const [name, make, ref] of fdCases) {
    it(`${name}: against finite differences of the float64 step`, () => {
      const model = make();
      const T = 5;
      const H = ref.hiddenSize;
      const lstm = ref.mode === "LSTM";
      const S = lstm ? 2 * H : H;
      const x = randn([T, 2], 33); // unbatched
      const got = stepJacobianNorms(model, x, { h0: randn([1, H], 34, 0.5) });
      expect(got.shape).toEqual([T]);
      const sd = model.stateDict();
      const one = (s: Float64Array, t: number): Float64Array => {
        const r = forward64(ref, sd, { shape: [1, 1, 2], data: x.data.subarray(t * 2, t * 2 + 2) }, { shape: [1, 1, H], data: s.subarray(0, H) }, lstm ? { shape: [1, 1, H], data: s.subarray(H) } : undefined);
        return Float64Array.from([...r.hN, ...(r.cN ?? [])]);
      };
      let s = Float64Array.from([...randn([1, H], 34, 0.5).data, ...(lstm ? new Array<number>(H).fill(0) : [])]);
      for (let t = 0; t < T; t++) {
        const J = new Float64Array(S * S);
        for (let j = 0; j < S; j++) {
          const plus = s.slice();
          const minus = s.slice();
          plus[j] += 1e-6;
          minus[j] -= 1e-6;
          const [a, c] = [one(plus, t), one(minus, t)];
          for (let i = 0; i < S; i++) J[i * S + j] = (a[i] - c[i]) / 2e-6;
        }
        expectClose(got.data[t], sigmaMax(J, S), `step ${t}`, 1e-3);
        s = one(s, t);
      }
      model.dispose();
    });
  }

  it("keeps the accumulated gradients; multi-layer and bidirectional models are refused", () => {
    const model = new LSTM({ inputSize: 2, hiddenSize: 3, seed: 5 });
    const r = model.forwardTrain(randn([4, 2, 2], 1));
    model.backward({ hN: randn(r.hN.shape, 2) });
    const before = model.gradients();
    stepJacobianNorms(model, randn([4, 2, 2], 3));
    const after = model.gradients();
    for (const k of Object.keys(before)) expect(Array.from(after[k].data), k).toEqual(Array.from(before[k].data));
    model.dispose();
    const bi = new GRU({ inputSize: 2, hiddenSize: 3, bidirectional: true });
    expect(() => stepJacobianNorms(bi, randn([4, 1, 2], 1))).toThrow(/single-layer unidirectional/);
    bi.dispose();
  });
});
