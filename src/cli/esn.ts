import { nrmse } from "../datasets/index.js";
import { ESN, esnSearch, SEARCH_PARAMETERS, type ESNOptions, type SearchResult, type SearchSpace } from "../esn/index.js";
import { ESN_TASKS, esnTask, type EsnTaskName } from "../esn/tasks.js";
import { init } from "../runtime.js";
import { checkThreads } from "../threads.js";
import type { Tensor } from "../tensor.js";
import { parseArgs, UsageError } from "./args.js";
import { writeOutput } from "./files.js";
import { linePlot, scatterGrid } from "./svg.js";

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

With --search N (or --grid P), searches the reservoir's hyperparameters first: N random
trials (or every combination of P values per parameter) over spectral radius 0.1-2, leak rate
0.05-1, input scaling 0.05-2 (log-uniform), connectivity 0.02-0.5 and ridge 1e-10-0.1 (log),
each scored by cross-validation on the training span only; prints the best, fits it on the
whole training span, compares its held-out NRMSE with the task's default reservoir, and writes
an SVG of the loss against each hyperparameter.

Options:
  --units <n>      reservoir size (default: per task, 400 to 600)
  --seed <n>       seed of the reservoir and the data (default 1)
  --out <path>     the SVG (default esn-<task>.svg, or esn-<task>-search.svg)
  --search <n>     random search of n trials
  --grid <p>       grid search, p values per parameter (p^5 trials)
  --folds <k>      cross-validation folds (default 3)
  --threads <n>    threads for the search: a number or "auto" (default auto)
  -h, --help       show this help`;

const SPEC = {
  units: { type: "int", min: 1 },
  seed: { type: "int", min: 0, default: 1 },
  out: { type: "string" },
  search: { type: "int", min: 1 },
  grid: { type: "int", min: 2 },
  folds: { type: "int", min: 1, default: 3 },
  threads: { type: "string", default: "auto" },
} as const;

/** What `recur esn <task> --search` varies. */
export const CLI_SEARCH_SPACE: SearchSpace = {
  spectralRadius: [0.1, 2],
  leakRate: [0.05, 1],
  inputScaling: [0.05, 2],
  connectivity: [0.02, 0.5],
  ridge: [1e-10, 1e-1],
};

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
  if (o.search !== undefined && o.grid !== undefined) throw new UsageError("give --search or --grid, not both");
  const searching = o.search !== undefined || o.grid !== undefined;
  const units = o.units !== undefined ? { units: o.units } : {};
  if (searching) {
    const threads = o.threads === "auto" ? "auto" : Number(o.threads);
    try {
      checkThreads(threads, "--threads");
    } catch {
      throw new UsageError(`--threads must be a positive integer or "auto", got ${JSON.stringify(o.threads)}`);
    }
    const info = await init({ threads });
    return searchCommand(task, { ...units, seed: o.seed, folds: o.folds, out: o.out ?? `esn-${task}-search.svg`, threads: info.threads, ...(o.grid !== undefined ? { grid: o.grid } : { trials: o.search! }) });
  }
  await init();
  const t0 = performance.now();
  const r = runEsnTask(task, { ...units, seed: o.seed });
  const ms = performance.now() - t0;
  for (const [k, v] of Object.entries(r.nrmse)) console.log(`NRMSE ${k}: ${fmt(v)}`);
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

const fmt = (v: number): string => (v < 1e-3 ? v.toExponential(2) : v.toFixed(4));

async function searchCommand(task: EsnTask, o: { units?: number; seed: number; folds: number; out: string; threads: number; trials?: number; grid?: number }): Promise<number> {
  const t0 = performance.now();
  const total = o.grid !== undefined ? o.grid ** SEARCH_PARAMETERS.length : o.trials!;
  const step = total >= 20 ? Math.ceil(total / 10) : Infinity; // progress in tenths of a long search
  const r = await esnSearch(task, CLI_SEARCH_SPACE, {
    ...(o.grid !== undefined ? { method: "grid" as const, gridPoints: o.grid } : { trials: o.trials }),
    folds: o.folds,
    seed: o.seed,
    ...(o.units !== undefined ? { reservoir: { units: o.units } } : {}),
    onTrial: (_, done) => void (done % step === 0 && done < total && console.log(`  ${done}/${total} trials`)),
  });
  const seconds = (performance.now() - t0) / 1000;
  const failed = r.trials.filter((t) => t.status !== "ok").length;
  console.log(`${r.method} search of ${r.trials.length} trials, ${r.folds}-fold cross-validation on the training span, ${o.threads} thread${o.threads > 1 ? "s" : ""}: ${seconds.toFixed(1)} s${failed ? ` (${failed} trials failed)` : ""}`);
  const b = r.best;
  console.log(`best (trial ${b.index}): ${SEARCH_PARAMETERS.map((p) => `${p} ${Number(b.params[p].toPrecision(3))}`).join(", ")}`);
  console.log(`  cross-validated NRMSE ${fmt(b.loss)} (folds ${b.foldLosses.map(fmt).join(", ")})`);
  const units = o.units !== undefined ? { units: o.units } : {};
  const tuned = runEsnTask(task, { ...units, seed: o.seed, overrides: b.params });
  const plain = runEsnTask(task, { ...units, seed: o.seed });
  for (const k of Object.keys(tuned.nrmse)) console.log(`held-out NRMSE ${k}: best ${fmt(tuned.nrmse[k])}, default reservoir ${fmt(plain.nrmse[k])}`);
  await writeOutput(o.out, searchPlot(r, `${task}: ${r.method} search, ${r.trials.length} trials`));
  console.log(`wrote ${o.out}`);
  return 0;
}

/** Cross-validated loss against each searched hyperparameter, the best trial in red. */
export function searchPlot(r: SearchResult, title: string): string {
  const varied = SEARCH_PARAMETERS.filter((p) => r.space[p].kind !== "fixed");
  const loss = r.trials.map((t) => t.loss);
  return scatterGrid(
    varied.map((p) => ({ label: p, x: r.trials.map((t) => t.params[p]), y: loss, logX: r.space[p].scale === "log" })),
    { title, yLabel: "cross-validated NRMSE", logY: true, highlight: r.trials.indexOf(r.best) },
  );
}
