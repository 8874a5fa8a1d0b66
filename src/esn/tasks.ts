/**
 * The benchmark tasks of `recur esn` and `esnSearch`: generated series split into a training
 * span and a held-out span that continues it, with the reservoir the command line uses for each.
 */
import { frequencyToSine, lorenz, mackeyGlass, narma10 } from "../datasets/index.js";
import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { ESNOptions } from "./types.js";

/** The names `esnTask` (and `esnSearch`, `recur esn`) know. */
export const ESN_TASKS = ["mackey-glass", "narma10", "lorenz", "sine"] as const;
/** One of ESN_TASKS. */
export type EsnTaskName = (typeof ESN_TASKS)[number];

/** A benchmark task's data, split, and the reservoir `recur esn` fits to it. */
export interface EsnTask {
  /** Which task. */
  name: EsnTaskName;
  /** The training span. */
  train: {
    /** [T, inDim] */
    inputs: Tensor;
    /** [T, outDim] */
    targets: Tensor;
  };
  /** The held-out span right after it (the state at the end of training carries over). */
  test: {
    /** [T, inDim] */
    inputs: Tensor;
    /** [T, outDim] */
    targets: Tensor;
  };
  /** Steps at the start of the training span left out of the regression. */
  washout: number;
  /** The reservoir `recur esn` fits for this task (its seed not included). */
  options: ESNOptions;
  /** How the held-out span is predicted: "one-step" (driven by the true inputs) or "generated" (from the model's own feedback). */
  testMode: "one-step" | "generated";
}

const rows = (a: ArrayLike<number>, cols = 1): Tensor => ({ shape: [a.length / cols, cols], data: Float32Array.from(a) });

/**
 * A task by name: "mackey-glass" (one-step prediction of the chaotic series, tau 17),
 * "narma10" (the 10th-order NARMA system: y[t+1] from u[0..t]), "lorenz" (one-step prediction
 * of the three coordinates, scaled) or "sine" (a sine whose frequency follows the input,
 * generated with output feedback). `seed` draws NARMA10's and the sine task's random inputs.
 * Another name is RecurError E_VALUE listing the tasks.
 */
export function esnTask(name: string, options: { seed?: number } = {}): EsnTask {
  const seed = options.seed ?? 1;
  if (name === "mackey-glass") {
    const s = mackeyGlass({ length: 3000 });
    return {
      name,
      train: { inputs: rows(s.subarray(0, 2000)), targets: rows(s.subarray(1, 2001)) },
      test: { inputs: rows(s.subarray(2000, 2999)), targets: rows(s.subarray(2001, 3000)) },
      washout: 100,
      options: { units: 500, leakRate: 0.3, spectralRadius: 1.25, inputScaling: 0.5, biasScaling: 0.5, connectivity: 0.1, ridge: 1e-8, readoutInput: true },
      testMode: "one-step",
    };
  }
  if (name === "narma10") {
    const { u, y } = narma10({ length: 4000, seed });
    return {
      name,
      train: { inputs: rows(u.subarray(0, 2999)), targets: rows(y.subarray(1, 3000)) },
      test: { inputs: rows(u.subarray(2999, 3999)), targets: rows(y.subarray(3000, 4000)) },
      washout: 200,
      options: { units: 400, leakRate: 1, spectralRadius: 0.9, inputScaling: 1, biasScaling: 0.2, connectivity: 0.1, inputConnectivity: 1, ridge: 1e-7, readoutInput: true },
      testMode: "one-step",
    };
  }
  if (name === "lorenz") {
    const raw = lorenz({ length: 4001, dt: 0.01, subsample: 5, discard: 200 });
    // Each coordinate scaled to about unit range, so one input scaling fits all three.
    const s = Float64Array.from(raw, (v, i) => v / [20, 25, 45][i % 3]);
    return {
      name,
      train: { inputs: rows(s.subarray(0, 3000 * 3), 3), targets: rows(s.subarray(3, 3001 * 3), 3) },
      test: { inputs: rows(s.subarray(3000 * 3, 4000 * 3), 3), targets: rows(s.subarray(3001 * 3, 4001 * 3), 3) },
      washout: 100,
      options: { units: 400, leakRate: 0.5, spectralRadius: 0.9, inputScaling: 0.5, biasScaling: 0.5, connectivity: 0.1, inputConnectivity: 1, ridge: 1e-7, readoutInput: true },
      testMode: "one-step",
    };
  }
  if (name === "sine") {
    const { input, target } = frequencyToSine({ length: 6000, seed });
    // Frequencies in [0.05, 0.2) cycles per sample, centred and scaled to about [-1, 1].
    const f = Float64Array.from(input, (v) => (v - 0.125) / 0.075);
    return {
      name,
      train: { inputs: rows(f.subarray(0, 5000)), targets: rows(target.subarray(0, 5000)) },
      test: { inputs: rows(f.subarray(5000, 6000)), targets: rows(target.subarray(5000, 6000)) },
      washout: 100,
      // Small state noise during the teacher-forced fit keeps the closed loop stable.
      options: { units: 600, leakRate: 0.5, spectralRadius: 0.8, inputScaling: 0.5, biasScaling: 0.2, connectivity: 0.1, inputConnectivity: 1, feedbackScaling: 1, outputDim: 1, noise: 1e-4, ridge: 1e-6, readoutInput: true },
      testMode: "generated",
    };
  }
  fail("E_VALUE", `unknown ESN task ${JSON.stringify(name)} (tasks: ${ESN_TASKS.join(", ")})`);
}
