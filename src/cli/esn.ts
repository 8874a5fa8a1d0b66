import { column, frequencyToSine, lorenz, mackeyGlass, narma10, nrmse } from "../datasets/index.js";
import { ESN, type ESNOptions } from "../esn/index.js";
import { init } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import { parseArgs, UsageError } from "./args.js";
import { writeOutput } from "./files.js";
import { linePlot } from "./svg.js";

const HELP = `Usage: recur esn <task> [options]

Trains an echo state network (ridge readout) on a generated benchmark series, prints the
normalised RMSE on held-out data (1 = no better than the mean) and writes an SVG of the
prediction against the truth.

Tasks:
  mackey-glass   chaotic Mackey-Glass series (tau 17): one-step prediction, then a free run
                 of 300 steps with each output fed back as the next input
  narma10        10th-order NARMA system: predict y[t+1] from the input u[0..t]
  lorenz         Lorenz-63 attractor: one-step prediction of (x, y, z)
  sine           frequency to sine: a sine whose frequency follows the input, generated with
                 output feedback

Options:
  --units <n>    reservoir size (default: per task, 400 to 600)
  --seed <n>     seed of the reservoir and the data (default 1)
  --out <path>   the SVG (default esn-<task>.svg)
  -h, --help     show this help`;

const SPEC = {
  units: { type: "int", min: 1 },
  seed: { type: "int", min: 0, default: 1 },
  out: { type: "string" },
} as const;

export const ESN_TASKS = ["mackey-glass", "narma10", "lorenz", "sine"] as const;
export type EsnTask = (typeof ESN_TASKS)[number];

export interface EsnTaskResult {
  /** Metric name -> NRMSE on held-out data. */
  nrmse: Record<string, number>;
  /** Steps plotted: the truth and the prediction. */
  truth: Float64Array;
  prediction: Float64Array;
  title: string;
}

const f32 = (a: ArrayLike<number>, cols = 1): Tensor => ({ shape: [a.length / cols, cols], data: Float32Array.from(a) });
const f64 = (t: Tensor, col = 0, cols = 1): Float64Array => Float64Array.from({ length: t.data.length / cols }, (_, i) => t.data[i * cols + col]);

/** Runs one task end to end (exported for the tests). */
export function runEsnTask(task: EsnTask, options: { units?: number; seed?: number } = {}): EsnTaskResult {
  const seed = options.seed ?? 1;
  const make = (defaults: ESNOptions): ESN => new ESN({ ...defaults, units: options.units ?? defaults.units, seed });
  if (task === "mackey-glass") {
    const s = mackeyGlass({ length: 3000 });
    const esn = make({ units: 500, leakRate: 0.3, spectralRadius: 1.25, inputScaling: 0.5, biasScaling: 0.5, connectivity: 0.1, ridge: 1e-8, readoutInput: true });
    try {
      esn.fit(f32(s.subarray(0, 2000)), f32(s.subarray(1, 2001)), { washout: 100 });
      const trained = esn.state;
      const free = f64(esn.generate(300));
      esn.setState(trained);
      const oneStep = f64(esn.predict(f32(s.subarray(2000, 2999))));
      const truthFree = s.slice(2001, 2301);
      return {
        nrmse: { "one-step": nrmse(oneStep, s.subarray(2001, 3000)), "free run, 100 steps": nrmse(free.subarray(0, 100), truthFree.subarray(0, 100)), "free run, 300 steps": nrmse(free, truthFree) },
        truth: truthFree,
        prediction: free,
        title: "Mackey-Glass: 300-step free run",
      };
    } finally {
      esn.dispose();
    }
  }
  if (task === "narma10") {
    const { u, y } = narma10({ length: 4000, seed });
    const esn = make({ units: 400, leakRate: 1, spectralRadius: 0.9, inputScaling: 1, biasScaling: 0.2, connectivity: 0.1, inputConnectivity: 1, ridge: 1e-7, readoutInput: true });
    try {
      // u[t] -> y[t+1]
      esn.fit(f32(u.subarray(0, 2999)), f32(y.subarray(1, 3000)), { washout: 200 });
      const p = f64(esn.predict(f32(u.subarray(2999, 3999))));
      const truth = y.slice(3000, 4000);
      return { nrmse: { "one-step": nrmse(p, truth) }, truth: truth.slice(0, 200), prediction: p.slice(0, 200), title: "NARMA10: prediction on held-out input" };
    } finally {
      esn.dispose();
    }
  }
  if (task === "lorenz") {
    const raw = lorenz({ length: 4001, dt: 0.01, subsample: 5, discard: 200 });
    // Scale each coordinate to unit range so one input scaling fits all three.
    const scaled = Float64Array.from(raw, (v, i) => v / [20, 25, 45][i % 3]);
    const esn = make({ units: 400, leakRate: 0.5, spectralRadius: 0.9, inputScaling: 0.5, biasScaling: 0.5, connectivity: 0.1, inputConnectivity: 1, ridge: 1e-7, readoutInput: true });
    try {
      esn.fit(f32(scaled.subarray(0, 3000 * 3), 3), f32(scaled.subarray(3, 3001 * 3), 3), { washout: 100 });
      const p = esn.predict(f32(scaled.subarray(3000 * 3, 4000 * 3), 3));
      const truth = scaled.subarray(3001 * 3, 4001 * 3);
      const x = column(truth, 3, 0);
      return { nrmse: { "one-step (x, y, z)": nrmse(p.data, truth), "one-step x": nrmse(f64(p, 0, 3), x) }, truth: x.slice(0, 400), prediction: f64(p, 0, 3).slice(0, 400), title: "Lorenz-63: one-step prediction of x (scaled)" };
    } finally {
      esn.dispose();
    }
  }
  if (task === "sine") {
    const { input, target } = frequencyToSine({ length: 6000, seed });
    // Frequencies in [0.05, 0.2) cycles per sample, centred and scaled to about [-1, 1].
    const fin = Float64Array.from(input, (f) => (f - 0.125) / 0.075);
    // Small state noise during the teacher-forced fit keeps the closed loop stable.
    const esn = make({ units: 600, leakRate: 0.5, spectralRadius: 0.8, inputScaling: 0.5, biasScaling: 0.2, connectivity: 0.1, inputConnectivity: 1, feedbackScaling: 1, outputDim: 1, noise: 1e-4, ridge: 1e-6, readoutInput: true });
    try {
      esn.fit(f32(fin.subarray(0, 5000)), f32(target.subarray(0, 5000)), { washout: 100 });
      const p = f64(esn.predict(f32(fin.subarray(5000, 6000))));
      const truth = target.slice(5000, 6000);
      return { nrmse: { "generated, 1000 steps": nrmse(p, truth) }, truth: truth.slice(0, 300), prediction: p.slice(0, 300), title: "Frequency to sine: generated with output feedback" };
    } finally {
      esn.dispose();
    }
  }
  throw new Error(`unknown task ${JSON.stringify(task)}`);
}

export async function esnCommand(args: string[]): Promise<number> {
  const { options: o, positionals, help } = parseArgs(args, SPEC, { min: 1, max: 1, names: ["task (mackey-glass, narma10, lorenz or sine)"] });
  if (help) {
    console.log(HELP);
    return 0;
  }
  const task = ESN_TASKS.find((t) => t === positionals[0].toLowerCase());
  if (!task) {
    throw new UsageError(`unknown task ${JSON.stringify(positionals[0])} (tasks: ${ESN_TASKS.join(", ")})`);
  }
  await init();
  const t0 = performance.now();
  const r = runEsnTask(task, { ...(o.units !== undefined ? { units: o.units } : {}), seed: o.seed });
  const ms = performance.now() - t0;
  for (const [k, v] of Object.entries(r.nrmse)) console.log(`NRMSE ${k}: ${v < 1e-3 ? v.toExponential(2) : v.toFixed(4)}`);
  const out = o.out ?? `esn-${task}.svg`;
  await writeOutput(
    out,
    linePlot(
      [
        { label: "truth", y: r.truth, color: "#444" },
        { label: "ESN", y: r.prediction, color: "#d62728", dashed: true },
      ],
      { title: r.title, xLabel: "step", yLabel: "value" },
    ),
  );
  console.log(`${task} in ${(ms / 1000).toFixed(1)} s; wrote ${out}`);
  return 0;
}
