/**
 * esnSearch: every fold's loss against the public ESN API (fit on the earlier blocks, predict the
 * next, nrmse), random draws on their scales, grids, reproducibility, failed trials, stopping, and
 * bad input. (threads.test.ts checks the same trials on 2 threads.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { nrmse } from "../src/datasets/index.js";
import { ESN, esnSearch, type SearchData } from "../src/esn/index.js";
import { RecurError } from "../src/errors.js";
import { init } from "../src/runtime.js";
import type { Tensor } from "../src/tensor.js";

beforeAll(async () => {
  await init();
});

// A small task: predict a two-tone signal one step ahead, plus a nonlinear second channel.
const T = 700;
const wave = Float32Array.from({ length: T + 1 }, (_, t) => Math.sin(t * 0.21) + 0.5 * Math.sin(t * 0.063 + 1));
const data: SearchData = {
  inputs: { shape: [T, 1], data: wave.subarray(0, T) },
  targets: { shape: [T, 2], data: Float32Array.from({ length: 2 * T }, (_, i) => (i % 2 === 0 ? wave[(i >> 1) + 1] : Math.tanh(2 * wave[i >> 1]))) },
  washout: 40,
};
const slice = (t: Tensor, a: number, b: number): Tensor => {
  const c = t.shape[1];
  return { shape: [b - a, c], data: t.data.slice(a * c, b * c) };
};

async function expectRejects(p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, "a RecurError").toBeInstanceOf(RecurError);
  expect((e as RecurError).code).toBe(code);
  expect((e as Error).message).toMatch(pattern);
}

describe("esnSearch", () => {
  it("each fold's loss is what fit on blocks 0..k and predict on block k + 1 give, bit for bit", async () => {
    const reservoir = { units: 60, readoutInput: true, biasScaling: 0.3 };
    const r = await esnSearch(data, { spectralRadius: [0.3, 1.3], leakRate: [0.2, 1], inputScaling: [0.2, 1.5], connectivity: [0.05, 0.5], ridge: [1e-9, 1e-3] }, { trials: 4, folds: 3, seed: 7, reservoir });
    expect(r.trials).toHaveLength(4);
    // Blocks: the washout, then 660 rows in 4 blocks of 165.
    const bounds = [0, 205, 370, 535, 700];
    for (const trial of r.trials) {
      expect(trial.status).toBe("ok");
      for (let k = 0; k < 3; k++) {
        const esn = new ESN({ ...reservoir, ...trial.params, seed: 7 });
        esn.fit(slice(data.inputs, 0, bounds[k + 1]), slice(data.targets, 0, bounds[k + 1]), { washout: 40 });
        const p = esn.predict(slice(data.inputs, bounds[k + 1], bounds[k + 2]));
        expect(trial.foldLosses[k], `trial ${trial.index}, fold ${k}`).toBe(nrmse(p, slice(data.targets, bounds[k + 1], bounds[k + 2])));
        esn.dispose();
      }
      expect(trial.loss).toBe((trial.foldLosses[0] + trial.foldLosses[1] + trial.foldLosses[2]) / 3);
    }
    expect(r.best.loss).toBe(Math.min(...r.trials.map((t) => t.loss)));
    // bestOptions rebuilds the best trial's reservoir.
    const best = new ESN(r.bestOptions);
    best.fit(slice(data.inputs, 0, 205), slice(data.targets, 0, 205), { washout: 40 });
    expect(nrmse(best.predict(slice(data.inputs, 205, 370)), slice(data.targets, 205, 370))).toBe(r.best.foldLosses[0]);
    best.dispose();
  });

  it("trials that share W (connectivity not searched) measure its spectral radius once and still match a fresh ESN", async () => {
    const reservoir = { units: 80, readoutInput: true };
    const r = await esnSearch(data, { spectralRadius: [0.3, 1.3], leakRate: [0.2, 1] }, { trials: 3, folds: 1, seed: 5, reservoir });
    const half = 40 + 330; // washout + half of the rows
    for (const trial of r.trials) {
      const esn = new ESN({ ...reservoir, ...trial.params, seed: 5 });
      esn.fit(slice(data.inputs, 0, half), slice(data.targets, 0, half), { washout: 40 });
      expect(trial.foldLosses[0]).toBe(nrmse(esn.predict(slice(data.inputs, half, T)), slice(data.targets, half, T)));
      esn.dispose();
    }
  });

  it("draws each parameter on its scale within its range, reproducibly; instances average seeds", async () => {
    const space = { ridge: [1e-8, 1] as const, leakRate: { min: 0.2, max: 0.8, scale: "linear" as const }, spectralRadius: { values: [0.5, 0.9] } };
    const opts = { trials: 60, folds: 1, seed: 3, reservoir: { units: 8 } };
    const a = await esnSearch(data, space, opts);
    const b = await esnSearch(data, space, opts);
    expect(b.trials).toEqual(a.trials);
    const ridge = a.trials.map((t) => Math.log10(t.params.ridge));
    expect(Math.min(...ridge)).toBeGreaterThanOrEqual(-8);
    expect(Math.max(...ridge)).toBeLessThanOrEqual(0);
    // Log-uniform: about as many below 1e-4 as above (uniform on [1e-8, 1] would put none below).
    const low = ridge.filter((v) => v < -4).length;
    expect(low).toBeGreaterThan(15);
    expect(low).toBeLessThan(45);
    const leak = a.trials.map((t) => t.params.leakRate);
    expect(leak.filter((v) => v < 0.5).length).toBeGreaterThan(15); // linear: half below the middle
    expect(leak.every((v) => v >= 0.2 && v <= 0.8)).toBe(true);
    expect(new Set(a.trials.map((t) => t.params.spectralRadius))).toEqual(new Set([0.5, 0.9]));
    expect(a.trials.every((t) => t.params.connectivity === 0.1 && t.params.inputScaling === 1)).toBe(true); // ESN defaults
    const other = await esnSearch(data, space, { ...opts, seed: 4 });
    expect(other.trials[0].params).not.toEqual(a.trials[0].params);
    // Two instances: the mean of seeds 3 and 4's reservoirs.
    const two = await esnSearch(data, { ridge: 1e-6 }, { trials: 1, folds: 2, seed: 3, instances: 2, reservoir: { units: 8 } });
    const each = await Promise.all([3, 4].map((seed) => esnSearch(data, { ridge: 1e-6 }, { trials: 1, folds: 2, seed, reservoir: { units: 8 } })));
    expect(two.trials[0].foldLosses).toEqual([0, 1].map((k) => (each[0].trials[0].foldLosses[k] + each[1].trials[0].foldLosses[k]) / 2));
  });

  it("grid search: every combination, ranges spread on their scale with both ends", async () => {
    const r = await esnSearch(data, { ridge: [1e-6, 1e-2], connectivity: [0.1, 0.3], leakRate: { values: [0.5, 1] } }, { method: "grid", gridPoints: 3, folds: 1, reservoir: { units: 10 } });
    expect(r.total).toBe(18);
    expect(r.trials).toHaveLength(18);
    const ridges = [...new Set(r.trials.map((t) => t.params.ridge))];
    expect(ridges).toHaveLength(3);
    expect(ridges[0]).toBe(1e-6);
    expect(ridges[1]).toBeCloseTo(1e-4, 18);
    expect(ridges[2]).toBe(1e-2);
    expect([...new Set(r.trials.map((t) => t.params.connectivity))]).toEqual([0.1, 0.2, 0.3]);
    const keys = new Set(r.trials.map((t) => JSON.stringify(t.params)));
    expect(keys.size).toBe(18);
  });

  it("a diverging trial scores Infinity with its reason; the search goes on and picks a good one", async () => {
    const r = await esnSearch(data, { spectralRadius: { values: [0.5, 40] } }, { method: "grid", folds: 1, reservoir: { units: 20, activation: "relu", connectivity: 0.5 } });
    const bad = r.trials.find((t) => t.params.spectralRadius === 40)!;
    expect(bad.status).toBe("diverged");
    expect(bad.loss).toBe(Infinity);
    expect(bad.reason).toMatch(/non-finite at step \d+/);
    expect(r.best.params.spectralRadius).toBe(0.5);
    expect(Number.isFinite(r.best.loss)).toBe(true);
  });

  it("stops when onTrial returns false or the signal aborts", async () => {
    const seen: number[] = [];
    const r = await esnSearch(data, { ridge: [1e-8, 1] }, { trials: 10, batch: 2, folds: 1, reservoir: { units: 8 }, onTrial: (t, done, total) => (seen.push(done), expect(total).toBe(10), done < 3) });
    expect(r.trials).toHaveLength(3);
    expect(r.stopped).toBe("callback");
    expect(seen).toEqual([1, 2, 3]);
    const ac = new AbortController();
    const s = await esnSearch(data, { ridge: [1e-8, 1] }, { trials: 10, batch: 2, folds: 1, reservoir: { units: 8 }, onTrial: (t) => void (t.index === 1 && ac.abort()), signal: ac.signal });
    expect(s.stopped).toBe("aborted");
    expect(s.trials.length).toBeGreaterThanOrEqual(2);
    expect(s.trials.length).toBeLessThan(10);
  });

  it("a named task searches its training span with the command line's reservoir", async () => {
    const r = await esnSearch("narma10", { ridge: [1e-9, 1e-3], spectralRadius: [0.5, 1.1] }, { trials: 2, folds: 2, reservoir: { units: 30 } });
    expect(r.trials.every((t) => t.status === "ok" && t.loss > 0 && t.loss < 2)).toBe(true);
    expect(r.bestOptions).toMatchObject({ units: 30, leakRate: 1, inputConnectivity: 1, readoutInput: true, seed: 0 });
  });

  it("bad input is a RecurError naming the problem", async () => {
    const small = { reservoir: { units: 5 }, trials: 1 };
    await expectRejects(esnSearch(data, { spectralRadius: [1.5, 0.5] }, small), "E_VALUE", /spectralRadius range \[1\.5, 0\.5\] is inverted/);
    await expectRejects(esnSearch(data, { leakRate: { values: [] } }, small), "E_VALUE", /leakRate has an empty list of values/);
    await expectRejects(esnSearch(data, { leakRate: [0.5, 1.5] }, small), "E_VALUE", /leakRate max 1\.5 is outside leakRate's domain \(0, 1\]/);
    await expectRejects(esnSearch(data, { ridge: [0, 1] }, small), "E_VALUE", /ridge range \[0, 1\] is on a log scale and must be above 0/);
    await expectRejects(esnSearch(data, { connectivity: { values: [0.1, -1] } }, small), "E_VALUE", /connectivity values\[1\] -1 is outside/);
    await expectRejects(esnSearch(data, { spectralradius: [0.1, 1] } as never, small), "E_VALUE", /unknown search parameter "spectralradius"/);
    await expectRejects(esnSearch(data, { ridge: [1e-8] as never }, small), "E_VALUE", /ridge range must be \[min, max\]/);
    await expectRejects(esnSearch("mackey-glas", { ridge: [1e-8, 1] }, small), "E_VALUE", /unknown ESN task "mackey-glas" \(tasks: mackey-glass, narma10, lorenz, sine\)/);
    await expectRejects(esnSearch(data, {}, { ...small, method: "bayes" as never }), "E_VALUE", /method must be "random" or "grid"/);
    await expectRejects(esnSearch(data, {}, { ...small, folds: 0 }), "E_VALUE", /folds must be an integer >= 1/);
    await expectRejects(esnSearch(data, {}, { ...small, folds: 400 }), "E_VALUE", /too few for 400 folds/);
    await expectRejects(esnSearch(data, {}, { ...small, reservoir: { units: 5, seed: 3 } }), "E_VALUE", /reservoir\.seed cannot be set here/);
    await expectRejects(esnSearch({ inputs: data.inputs, targets: slice(data.targets, 0, 10) }, {}, small), "E_SHAPE", /700 steps but task\.targets has 10/);
  });
});
