/**
 * Validates the float64 reference implementation (test/reference/rnn64.ts) that other tests use as
 * an oracle: against every PyTorch forward/backward fixture, and — for the variants PyTorch does
 * not have (LSTM peepholes, GRU with reset before the matmul) and for packed bidirectional
 * sequences, which no fixture covers — against central finite differences in float64.
 */
import { describe, expect, it } from "vitest";
import { listTorchCases, loadTorchCase, maxAbsDiff, toleranceFor, type TorchCase } from "./helpers/fixtures.js";
import {
  backward64,
  configFromTorch,
  forward64,
  paramShapes,
  type RefConfig,
  type RefTensor,
  type StateDict,
} from "./reference/rnn64.js";
import { rng } from "./helpers/random.js";

// ---------------------------------------------------------------------------------------------
// Helpers

function uniform(rand: () => number, n: number, scale: number): Float64Array {
  return Float64Array.from({ length: n }, () => (2 * rand() - 1) * scale);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function expectWithinTolerance(label: string, actual: ArrayLike<number>, ref: ArrayLike<number>): number {
  const diff = maxAbsDiff(actual, ref);
  const tol = toleranceFor(ref);
  expect(diff, `${label}: max|Δ| = ${diff}, tolerance ${tol}`).toBeLessThanOrEqual(tol);
  return diff / (tol / 1e-5); // = max|Δ| / max(1, max|ref|), for the summary below
}

// ---------------------------------------------------------------------------------------------
// 1. PyTorch fixtures

describe("rnn64 reproduces the PyTorch fixtures", () => {
  const names = listTorchCases();

  it("finds all forward/backward cases", () => {
    expect(names.length).toBeGreaterThanOrEqual(32);
    expect(names.some((n) => n.startsWith("traj_"))).toBe(false);
  });

  for (const name of names) {
    it(name, () => {
      const tc: TorchCase = loadTorchCase(name);
      const cfg = configFromTorch(tc.module, tc.config);
      const fw = forward64(cfg, tc.params, tc.input, tc.h0, tc.c0, tc.lengths);

      expect(fw.outputShape).toEqual(tc.output.shape);
      let worst = 0;
      worst = Math.max(worst, expectWithinTolerance(`${name} output`, fw.output, tc.output.data));
      worst = Math.max(worst, expectWithinTolerance(`${name} h_n`, fw.hN, tc.h_n.data));
      if (tc.module === "LSTM") {
        expect(fw.cN).toBeDefined();
        worst = Math.max(worst, expectWithinTolerance(`${name} c_n`, fw.cN!, tc.c_n!.data));
      } else {
        expect(fw.cN).toBeUndefined();
      }

      let loss = dot(fw.output, tc.dout.data) + dot(fw.hN, tc.dh_n.data);
      if (fw.cN) loss += dot(fw.cN, tc.dc_n!.data);
      expect(Math.abs(loss - tc.loss_value)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(tc.loss_value)));

      const grads = backward64(cfg, tc.params, fw.cache, tc.dout, tc.dh_n, tc.dc_n);
      expect(Object.keys(grads).sort()).toEqual(Object.keys(tc.grads).sort());
      for (const [key, ref] of Object.entries(tc.grads)) {
        worst = Math.max(worst, expectWithinTolerance(`${name} grad ${key}`, grads[key]!, ref.data));
      }
      // A float64 implementation should sit at the float32 rounding of the reference (docs/parity.md),
      // far inside the float32 tolerance; checking this too keeps the oracle honest.
      expect(worst, `${name}: worst max|Δ|/max(1,max|ref|)`).toBeLessThanOrEqual(1e-6);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Finite differences for the variants the fixtures do not cover

interface RandomProblem {
  cfg: RefConfig;
  params: Record<string, { shape: number[]; data: Float64Array }>;
  input: { shape: number[]; data: Float64Array };
  h0: Float64Array;
  c0: Float64Array | null;
  lengths: number[] | null;
  dout: Float64Array;
  dhN: Float64Array;
  dcN: Float64Array | null;
}

function randomProblem(cfg: RefConfig, T: number, B: number, lengths: number[] | null, seed: number): RandomProblem {
  const rand = rng(seed);
  const D = cfg.bidirectional ? 2 : 1;
  const Hout = cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize;
  const isLstm = cfg.mode === "LSTM";
  const params: RandomProblem["params"] = {};
  for (const [name, shape] of Object.entries(paramShapes(cfg))) {
    // Larger than PyTorch's init so gates leave the linear region and every term matters.
    params[name] = { shape, data: uniform(rand, shape.reduce((a, b) => a * b, 1), 0.8) };
  }
  const inShape = cfg.batchFirst ? [B, T, cfg.inputSize] : [T, B, cfg.inputSize];
  const nState = cfg.numLayers * D * B;
  return {
    cfg,
    params,
    input: { shape: inShape, data: uniform(rand, T * B * cfg.inputSize, 1) },
    h0: uniform(rand, nState * Hout, 0.5),
    c0: isLstm ? uniform(rand, nState * cfg.hiddenSize, 0.5) : null,
    lengths,
    dout: uniform(rand, T * B * D * Hout, 1),
    dhN: uniform(rand, nState * Hout, 1),
    dcN: isLstm ? uniform(rand, nState * cfg.hiddenSize, 1) : null,
  };
}

function lossOf(p: RandomProblem): number {
  const fw = forward64(p.cfg, p.params, p.input, p.h0, p.c0, p.lengths);
  let loss = dot(fw.output, p.dout) + dot(fw.hN, p.dhN);
  if (fw.cN) loss += dot(fw.cN, p.dcN!);
  return loss;
}

/**
 * Compares every analytic gradient entry with (L(v+ε) − L(v−ε)) / 2ε. In float64 with ε = 1e-6
 * the truncation error is ~1e-12 and the cancellation error ~1e-16·|L|/ε ≈ 1e-10·|L|, so
 * 1e-6 relative plus a 1e-8·max(1,|L|) floor has a wide margin yet flags any wrong term.
 */
function checkFiniteDifferences(p: RandomProblem): void {
  const fw = forward64(p.cfg, p.params, p.input, p.h0, p.c0, p.lengths);
  const grads = backward64(p.cfg, p.params, fw.cache, p.dout, p.dhN, p.dcN);
  const L0 = lossOf(p);
  const floor = 1e-8 * Math.max(1, Math.abs(L0));
  const eps = 1e-6;

  const targets: Array<[string, Float64Array]> = Object.entries(p.params).map(([k, v]) => [k, v.data]);
  targets.push(["input", p.input.data], ["h0", p.h0]);
  if (p.c0) targets.push(["c0", p.c0]);
  expect(Object.keys(grads).sort()).toEqual(targets.map(([k]) => k).sort());

  for (const [name, arr] of targets) {
    const g = grads[name]!;
    expect(g.length, name).toBe(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i]!;
      arr[i] = v + eps;
      const lp = lossOf(p);
      arr[i] = v - eps;
      const lm = lossOf(p);
      arr[i] = v;
      const fd = (lp - lm) / (2 * eps);
      const err = Math.abs(fd - g[i]!);
      const tol = 1e-6 * Math.max(Math.abs(fd), Math.abs(g[i]!)) + floor;
      if (!(err <= tol)) {
        expect.fail(`${name}[${i}]: analytic ${g[i]} vs finite difference ${fd} (|Δ| ${err} > ${tol})`);
      }
    }
  }
}

function cfgOf(over: Partial<RefConfig> & Pick<RefConfig, "mode">): RefConfig {
  return {
    inputSize: 3,
    hiddenSize: 4,
    numLayers: 1,
    bias: true,
    batchFirst: false,
    bidirectional: false,
    projSize: 0,
    ...over,
  };
}

describe("rnn64 backward matches finite differences", () => {
  // Unsorted lengths, one full-length and one length-1 sequence, so packed edge cases are hit.
  const lengths = [5, 2, 1, 4];
  const cases: Array<[string, RefConfig, number[] | null]> = [
    ["LSTM peepholes, bidirectional, 2 layers, lengths", cfgOf({ mode: "LSTM", peepholes: true, bidirectional: true, numLayers: 2 }), lengths],
    [
      "LSTM peepholes + projection, bidirectional, 2 layers, batch_first, lengths",
      cfgOf({ mode: "LSTM", peepholes: true, projSize: 2, bidirectional: true, numLayers: 2, batchFirst: true }),
      lengths,
    ],
    ["LSTM peepholes + projection, no bias, full length", cfgOf({ mode: "LSTM", peepholes: true, projSize: 3, bias: false }), null],
    ["GRU resetAfter=false, bidirectional, 2 layers, lengths", cfgOf({ mode: "GRU", resetAfter: false, bidirectional: true, numLayers: 2 }), lengths],
    ["GRU resetAfter=false, no bias, batch_first", cfgOf({ mode: "GRU", resetAfter: false, bias: false, batchFirst: true }), null],
    // Packed + bidirectional is not among the PyTorch fixtures; cover the standard cells here.
    ["GRU resetAfter=true, bidirectional, 2 layers, lengths", cfgOf({ mode: "GRU", bidirectional: true, numLayers: 2 }), lengths],
    ["LSTM plain, bidirectional, 2 layers, lengths", cfgOf({ mode: "LSTM", bidirectional: true, numLayers: 2 }), lengths],
    ["RNN tanh, bidirectional, 2 layers, lengths", cfgOf({ mode: "RNN_TANH", bidirectional: true, numLayers: 2 }), lengths],
  ];
  cases.forEach(([label, cfg, lens], idx) => {
    it(label, () => {
      checkFiniteDifferences(randomProblem(cfg, 5, 4, lens, 1234 + idx));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Forward semantics of the non-PyTorch variants

/** Scalar (I = H = 1, T = B = 1) parameters for a hand-written check of the cell equations. */
function scalarParams(entries: Record<string, number[]>): StateDict {
  const out: StateDict = {};
  for (const [k, v] of Object.entries(entries)) {
    out[k] = { shape: k.startsWith("weight_peephole") || k.startsWith("bias") ? [v.length] : [v.length, 1], data: v };
  }
  return out;
}

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const one = (v: number): RefTensor => ({ shape: [1, 1, 1], data: [v] });

describe("rnn64 variant semantics", () => {
  it("GRU resetAfter=false follows n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) on a scalar step", () => {
    const [wr, wz, wn, ur, uz, un] = [0.3, -0.7, 0.9, 0.4, 0.2, -1.1];
    const [bir, biz, bin, bhr, bhz, bhn] = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6];
    const x = 0.8;
    const h = -0.6;
    const params = scalarParams({
      weight_ih_l0: [wr, wz, wn],
      weight_hh_l0: [ur, uz, un],
      bias_ih_l0: [bir, biz, bin],
      bias_hh_l0: [bhr, bhz, bhn],
    });
    const r = sig(wr * x + bir + ur * h + bhr);
    const z = sig(wz * x + biz + uz * h + bhz);
    const nBefore = Math.tanh(wn * x + bin + un * (r * h) + bhn);
    const nAfter = Math.tanh(wn * x + bin + r * (un * h + bhn));
    const base = { mode: "GRU" as const, inputSize: 1, hiddenSize: 1, numLayers: 1, bias: true, batchFirst: false, bidirectional: false, projSize: 0 };
    const before = forward64({ ...base, resetAfter: false }, params, one(x), [h]);
    const after = forward64({ ...base, resetAfter: true }, params, one(x), [h]);
    expect(before.hN[0]).toBeCloseTo((1 - z) * nBefore + z * h, 14);
    expect(after.hN[0]).toBeCloseTo((1 - z) * nAfter + z * h, 14);
  });

  it("GRU resetAfter=false differs from resetAfter=true on the same weights", () => {
    const p = randomProblem(cfgOf({ mode: "GRU", bidirectional: true, numLayers: 2 }), 6, 3, null, 99);
    const a = forward64(p.cfg, p.params, p.input, p.h0);
    const b = forward64({ ...p.cfg, resetAfter: false }, p.params, p.input, p.h0);
    expect(maxAbsDiff(a.output, b.output)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(a.hN, b.hN)).toBeGreaterThan(1e-2);
  });

  it("LSTM peepholes use (i, o, f) order, old c for i/f and new c for o, on a scalar step", () => {
    const [wi, wf, wg, wo, ui, uf, ug, uo] = [0.3, -0.7, 0.9, 0.4, 0.2, -1.1, 0.5, -0.3];
    const [pi, po, pf] = [0.7, -0.9, 1.3];
    const b = [0.1, -0.2, 0.3, -0.4];
    const x = 0.8;
    const h = -0.6;
    const c = 0.9;
    const params = scalarParams({
      weight_ih_l0: [wi, wf, wg, wo],
      weight_hh_l0: [ui, uf, ug, uo],
      bias_ih_l0: b,
      bias_hh_l0: [0, 0, 0, 0],
      weight_peephole_l0: [pi, po, pf],
    });
    const i = sig(wi * x + ui * h + b[0]! + pi * c);
    const f = sig(wf * x + uf * h + b[1]! + pf * c);
    const g = Math.tanh(wg * x + ug * h + b[2]!);
    const cNew = f * c + i * g;
    const o = sig(wo * x + uo * h + b[3]! + po * cNew);
    const cfg: RefConfig = {
      mode: "LSTM", inputSize: 1, hiddenSize: 1, numLayers: 1, bias: true, batchFirst: false,
      bidirectional: false, projSize: 0, peepholes: true,
    };
    const fw = forward64(cfg, params, one(x), [h], [c]);
    expect(fw.cN![0]).toBeCloseTo(cNew, 14);
    expect(fw.hN[0]).toBeCloseTo(o * Math.tanh(cNew), 14);
  });

  // Packed semantics defined independently of the implementation: each sequence must behave as if
  // it were run alone on its valid prefix (this pins the reverse direction's start at L_b − 1).
  const packedCfgs: Array<[string, RefConfig]> = [
    ["RNN relu", cfgOf({ mode: "RNN_RELU", bidirectional: true, numLayers: 2 })],
    ["GRU resetAfter=false", cfgOf({ mode: "GRU", resetAfter: false, bidirectional: true, numLayers: 2 })],
    ["LSTM peepholes + projection, batch_first", cfgOf({ mode: "LSTM", peepholes: true, projSize: 2, bidirectional: true, numLayers: 2, batchFirst: true })],
  ];
  packedCfgs.forEach(([label, cfg], idx) => {
    it(`packed bidirectional ${label} equals each sequence run alone`, () => {
      const T = 5;
      const B = 4;
      const lengths = [5, 2, 1, 4];
      const p = randomProblem(cfg, T, B, lengths, 777 + idx);
      const D = cfg.bidirectional ? 2 : 1;
      const F = D * (cfg.projSize > 0 ? cfg.projSize : cfg.hiddenSize);
      const I = cfg.inputSize;
      const full = forward64(cfg, p.params, p.input, p.h0, p.c0, lengths);
      const gFull = backward64(cfg, p.params, full.cache, p.dout, p.dhN, p.dcN);
      // Index of element (t, b, j) of a (T,B,n) tensor in the caller's layout.
      const at = (t: number, b: number, j: number, n: number) => (cfg.batchFirst ? (b * T + t) * n + j : (t * B + b) * n + j);
      /** Rows b of a (S, B, n) state tensor. */
      const stateRows = (a: Float64Array, b: number): Float64Array => {
        const n = a.length / (cfg.numLayers * D * B);
        const out = new Float64Array(cfg.numLayers * D * n);
        for (let s = 0; s < cfg.numLayers * D; s++) out.set(a.subarray((s * B + b) * n, (s * B + b + 1) * n), s * n);
        return out;
      };
      const paramSum: Record<string, Float64Array> = {};
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        const x = new Float64Array(L * I);
        const dout = new Float64Array(L * F);
        for (let t = 0; t < L; t++) {
          for (let j = 0; j < I; j++) x[t * I + j] = p.input.data[at(t, b, j, I)]!;
          for (let j = 0; j < F; j++) dout[t * F + j] = p.dout[at(t, b, j, F)]!;
        }
        const input = { shape: cfg.batchFirst ? [1, L, I] : [L, 1, I], data: x };
        const c0 = p.c0 ? stateRows(p.c0, b) : null;
        const dcN = p.dcN ? stateRows(p.dcN, b) : null;
        const alone = forward64(cfg, p.params, input, stateRows(p.h0, b), c0);
        const gAlone = backward64(cfg, p.params, alone.cache, dout, stateRows(p.dhN, b), dcN);
        for (let t = 0; t < T; t++) {
          for (let j = 0; j < F; j++) {
            expect(full.output[at(t, b, j, F)]).toBe(t < L ? alone.output[t * F + j] : 0);
          }
          for (let j = 0; j < I; j++) {
            expect(gFull.input![at(t, b, j, I)]).toBe(t < L ? gAlone.input![t * I + j] : 0);
          }
        }
        expect(maxAbsDiff(stateRows(full.hN, b), alone.hN)).toBe(0);
        if (full.cN) expect(maxAbsDiff(stateRows(full.cN, b), alone.cN!)).toBe(0);
        expect(maxAbsDiff(stateRows(gFull.h0!, b), gAlone.h0!)).toBe(0);
        if (gFull.c0) expect(maxAbsDiff(stateRows(gFull.c0, b), gAlone.c0!)).toBe(0);
        for (const k of Object.keys(p.params)) {
          const acc = (paramSum[k] ??= new Float64Array(gAlone[k]!.length));
          for (let i = 0; i < acc.length; i++) acc[i]! += gAlone[k]![i]!;
        }
      }
      // Parameter gradients are sums over the batch; only the summation order differs.
      for (const k of Object.keys(p.params)) expect(maxAbsDiff(gFull[k]!, paramSum[k]!), k).toBeLessThan(1e-12);
    });
  });

  for (const name of ["lstm_bidir_i5_h16_t7_b4", "lstm_proj_l2_batchfirst_i5_h16_p8_t7_b4", "lstm_packed_i5_h16_t7_b4"]) {
    it(`LSTM with all-zero peepholes equals the plain LSTM (${name})`, () => {
      const tc = loadTorchCase(name);
      const cfg = configFromTorch(tc.module, tc.config);
      const peepCfg: RefConfig = { ...cfg, peepholes: true };
      const peepParams: StateDict = { ...tc.params };
      for (const [k, shape] of Object.entries(paramShapes(peepCfg))) {
        if (k.startsWith("weight_peephole")) peepParams[k] = { shape, data: new Float64Array(shape[0]!) };
      }
      const plain = forward64(cfg, tc.params, tc.input, tc.h0, tc.c0, tc.lengths);
      const peep = forward64(peepCfg, peepParams, tc.input, tc.h0, tc.c0, tc.lengths);
      expect(maxAbsDiff(peep.output, plain.output)).toBe(0);
      expect(maxAbsDiff(peep.hN, plain.hN)).toBe(0);
      expect(maxAbsDiff(peep.cN!, plain.cN!)).toBe(0);

      const gPlain = backward64(cfg, tc.params, plain.cache, tc.dout, tc.dh_n, tc.dc_n);
      const gPeep = backward64(peepCfg, peepParams, peep.cache, tc.dout, tc.dh_n, tc.dc_n);
      for (const [k, g] of Object.entries(gPlain)) expect(maxAbsDiff(gPeep[k]!, g), k).toBe(0);
      // The peephole gradients themselves are nonzero (they see the cell state), proving the path is live.
      const peepGrads = Object.keys(gPeep).filter((k) => k.startsWith("weight_peephole"));
      expect(peepGrads.length).toBe(cfg.numLayers * (cfg.bidirectional ? 2 : 1));
      for (const k of peepGrads) expect(maxAbsDiff(gPeep[k]!, new Float64Array(gPeep[k]!.length))).toBeGreaterThan(1e-3);
    });
  }
});
