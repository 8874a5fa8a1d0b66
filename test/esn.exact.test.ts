/**
 * test/fixtures/esn/esn_exact_small.json (scripts/fixtures.py, described in test/fixtures/README.md): a 50-unit leaky ESN with given weights,
 * reproduced with float32 states and the float64 ridge solve, at the tolerances the fixture README suggests.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ESN } from "../src/esn/index.js";
import { init } from "../src/runtime.js";
import { loadJson, maxAbsDiff } from "./helpers/fixtures.js";

const fx = loadJson("esn/esn_exact_small.json");
const N = fx.model.N as number;
const u = Float64Array.from(fx.input.data as number[]);

beforeAll(async () => {
  await init();
});

function model(precision: "float32" | "float64" = "float32"): ESN {
  // W_in column 0 multiplies the constant 1: it is the bias; column 1 is the input weight.
  const win = fx.W_in.data as number[];
  const Win = new Float32Array(N);
  const bias = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    bias[i] = win[2 * i];
    Win[i] = win[2 * i + 1];
  }
  return new ESN({
    units: N,
    leakRate: fx.model.leak_rate_a,
    readoutInput: true,
    sparse: false,
    precision,
    weights: { Win: { shape: [N, 1], data: Win }, bias: { shape: [N], data: bias }, W: { shape: [N, N], data: Float32Array.from(fx.W.data) } },
  });
}

const T = fx.model.train_len as number; // 300
const washout = fx.model.washout as number; // 50
const inputs = { shape: [T, 1], data: Float32Array.from(u.subarray(0, T)) };
const targets = { shape: [T, 1], data: Float32Array.from(u.subarray(1, T + 1)) };

describe("ESN exact fixture (esn_exact_small.json)", () => {
  it("states match the float64 reference", () => {
    const esn = model();
    expect(esn.layers![0].storage).toBe("dense");
    // The given W was scaled to rho = 1.25; explicit weights are used as given.
    expect(esn.layers![0].spectralRadius).toBeCloseTo(fx.model.spectral_radius, 5);
    const states = esn.collectStates(inputs);
    let worst = 0;
    for (const [t, ref] of Object.entries(fx.states_at as Record<string, number[]>)) {
      const row = states.data.subarray(Number(t) * N, (Number(t) + 1) * N);
      worst = Math.max(worst, maxAbsDiff(row, ref));
    }
    let sumAbs = 0;
    for (let i = 0; i < states.data.length; i++) sumAbs += Math.abs(states.data[i]);
    console.log(`exact fixture: max |state error| ${worst.toExponential(2)}, sum|x| rel error ${(Math.abs(sumAbs - fx.states_sum_abs) / fx.states_sum_abs).toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(Math.abs(sumAbs - fx.states_sum_abs) / fx.states_sum_abs).toBeLessThan(1e-6);
    // The state getter is the last row.
    expect(maxAbsDiff(esn.state.data, states.data.subarray((T - 1) * N))).toBe(0);
    esn.dispose();
  });

  // Tolerances for float32 states: weights and predictions as test/fixtures/README.md suggests;
  // the 50-step free run amplifies float32 rounding by how chaotic the reservoir is, so its bound
  // is 10x what NumPy with float32 states reached on this reservoir (recorded in the fixture as
  // float32_states_deviation), and at least 1e-4. Float64 states are held to 1e-6, except the
  // ridge-1e-8 free run (5e-5): inputs, weights and outputs are float32 tensors here, and the
  // chaotic free run amplifies their rounding.
  const ridge4 = (fx.readouts as any[]).find((r) => r.ridge === 1e-4);
  const tolerances = {
    float32: { w4: 1e-4, p4: 1e-5, f4: Math.max(1e-4, 10 * ridge4.float32_states_deviation.free_run), p8: 1e-4, f8: 5e-3 },
    float64: { w4: 1e-6, p4: 1e-6, f4: 1e-6, p8: 1e-6, f8: 5e-5 },
  };
  for (const precision of ["float32", "float64"] as const) {
    for (const r of fx.readouts as any[]) {
      it(`${precision} states, ridge ${r.ridge}: readout, train predictions, free run`, () => {
        const tol = tolerances[precision];
        const esn = model(precision);
        esn.fit(inputs, targets, { washout, ridge: r.ridge });
        const W = esn.getReadout();
        expect(W.shape).toEqual([1, N + 2]);
        const ref = r.W_out.data as number[];
        const maxW = Math.max(...ref.map(Math.abs));
        const wErr = maxAbsDiff(W.data, ref) / maxW;
        // Train predictions: rerun from the zero state over the training inputs.
        const pred = esn.predict(inputs, { reset: true });
        const predErr = maxAbsDiff(pred.data.subarray(washout, T), r.train_predictions.data);
        // Free run: from x(299), input u(300), outputs fed back: a warm-up with u[0..300] from zero.
        const gen = esn.generate(50, { warmup: { shape: [T + 1, 1], data: Float32Array.from(u.subarray(0, T + 1)) }, reset: true });
        const freeErr = maxAbsDiff(gen.data, r.free_run.data);
        // The same free run continuing from the fitted state (after fit the previous output is u(300)).
        const esn2 = model(precision);
        esn2.fit(inputs, targets, { washout, ridge: r.ridge });
        const contErr = maxAbsDiff(esn2.generate(50).data, r.free_run.data);
        console.log(
          `${precision}, ridge ${r.ridge}: W_out rel err ${wErr.toExponential(2)}, train predictions ${predErr.toExponential(2)}, ` +
            `free run ${freeErr.toExponential(2)} (continuing after fit: ${contErr.toExponential(2)})`,
        );
        if (r.ridge >= 1e-4) {
          expect(wErr).toBeLessThan(tol.w4);
          expect(predErr).toBeLessThan(tol.p4);
          expect(freeErr).toBeLessThan(tol.f4);
          expect(contErr).toBeLessThan(tol.f4);
        } else {
          // W_out is not compared at ridge 1e-8 (ill-conditioned, cond 3.4e11).
          expect(predErr).toBeLessThan(tol.p8);
          if (precision === "float64") {
            expect(freeErr).toBeLessThan(tol.f8);
            expect(contErr).toBeLessThan(tol.f8);
          } else {
            // Float32 states: the 50-step chaotic free run through the ill-conditioned W_out (cond
            // 3.4e11) turns float32 rounding into errors of a few 1e-4 to a few 1e-3 depending on
            // the summation order of the kernels (FMA or not, how the product's columns are
            // blocked), so the float32 bound is 1e-2; precision "float64" gives ~1e-7.
            expect(freeErr).toBeLessThan(1e-2);
            expect(contErr).toBeLessThan(1e-2);
          }
        }
        esn.dispose();
        esn2.dispose();
      });
    }
  }

  it("float64 states match the reference to float32 output rounding", () => {
    const esn = model("float64");
    const states = esn.collectStates(inputs);
    let worst = 0;
    for (const [t, ref] of Object.entries(fx.states_at as Record<string, number[]>)) {
      worst = Math.max(worst, maxAbsDiff(states.data.subarray(Number(t) * N, (Number(t) + 1) * N), ref));
    }
    console.log(`float64 states: max |error| ${worst.toExponential(2)} (returned as float32)`);
    expect(worst).toBeLessThan(1e-7);
    esn.dispose();
  });
});
