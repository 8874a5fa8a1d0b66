import { nrmse } from "../datasets.js";
import { ESN, type ESNOptions } from "../esn/index.js";
import { ESN_TASKS, esnTask, type EsnTaskName } from "../esn/tasks.js";
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

export type EsnTask = EsnTaskName;

export interface EsnTaskResult {
  /** Metric name -> NRMSE on held-out data. */
  nrmse: Record<string, number>;
  /** Steps plotted: the truth and the prediction. */
  truth: Float64Array;
  prediction: Float64Array;
  title: string;
}

const f64 = (t: Tensor, col = 0, cols = 1): Float64Array => Float64Array.from({ length: t.data.length / cols }, (_, i) => t.data[i * cols + col]);

/** Runs one task end to end (exported for the tests). */
export function runEsnTask(name: EsnTask, options: { units?: number; seed?: number; overrides?: ESNOptions } = {}): EsnTaskResult {
  const seed = options.seed ?? 1;
  const task = esnTask(name, { seed });
  const esn = new ESN({ ...task.options, ...options.overrides, ...(options.units !== undefined ? { units: options.units } : {}), seed });
  try {
    esn.fit(task.train.inputs, task.train.targets, { washout: task.washout });
    const truth = f64(task.test.targets);
    if (name === "mackey-glass") {
      const trained = esn.state;
      const free = f64(esn.generate(300));
      esn.setState(trained);
      const oneStep = f64(esn.predict(task.test.inputs));
      const truthFree = truth.slice(0, 300);
      return {
        nrmse: { "one-step": nrmse(oneStep, truth), "free run, 100 steps": nrmse(free.subarray(0, 100), truthFree.subarray(0, 100)), "free run, 300 steps": nrmse(free, truthFree) },
        truth: truthFree,
        prediction: free,
        title: "Mackey-Glass: 300-step free run",
      };
    }
    const p = esn.predict(task.test.inputs);
    if (name === "lorenz") {
      const x = f64(task.test.targets, 0, 3);
      return { nrmse: { "one-step (x, y, z)": nrmse(p.data, task.test.targets.data), "one-step x": nrmse(f64(p, 0, 3), x) }, truth: x.slice(0, 400), prediction: f64(p, 0, 3).slice(0, 400), title: "Lorenz-63: one-step prediction of x (scaled)" };
    }
    const predicted = f64(p);
    if (name === "narma10") return { nrmse: { "one-step": nrmse(predicted, truth) }, truth: truth.slice(0, 200), prediction: predicted.slice(0, 200), title: "NARMA10: prediction on held-out input" };
    return { nrmse: { "generated, 1000 steps": nrmse(predicted, truth) }, truth: truth.slice(0, 300), prediction: predicted.slice(0, 300), title: "Frequency to sine: generated with output feedback" };
  } finally {
    esn.dispose();
  }
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
