/**
 * Hyperparameter search for echo state networks, in the manner of ReservoirPy's `hyper` tools:
 * random or grid search over spectral radius, leak rate, input scaling, connectivity and ridge
 * (log-uniform by default for all but connectivity), each trial scored by cross-validation on the
 * training span alone (nothing after it is read).
 *
 * Cross-validation is forward chaining, as time series need: the training span after the washout
 * is cut into folds + 1 consecutive blocks, and fold k fits the readout on blocks 0..k and scores
 * it (NRMSE, all outputs pooled) on block k + 1. Each reservoir runs once over the span: the
 * ridge statistics grow block by block (assembly/reservoir/trials.ts), so a trial costs one fit
 * plus one solve per fold. A fold's score is exactly nrmse(ESN.predict(block k + 1), targets)
 * after ESN.fit on blocks 0..k with the same washout; with output feedback the validation blocks
 * are teacher-forced, and state noise (if any) applies as in training runs.
 *
 * Trials run in batches. TypeScript builds a batch's reservoirs (weights, spectral radius), then
 * one Wasm call starts them, one trial per chunk of the thread pool (init({ threads })): the
 * workers run them while the calling thread builds the next batch, then takes whatever trials of
 * the started batch are still waiting. Everything is seeded: the same task, space and options
 * give the same trials and losses on any thread count.
 */
import { fail, RecurError } from "../errors.js";
import { createRng } from "../random.js";
import { runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import { ESN } from "./esn.js";
import { align } from "./layout.js";
import { radiusMemo } from "./reservoir.js";
import { checkKeys, checkSequence, show } from "./options.js";
import { esnTask } from "./tasks.js";
import type { ESNOptions } from "./types.js";

/** The hyperparameters a search can vary. */
export type SearchParameter = "spectralRadius" | "leakRate" | "inputScaling" | "connectivity" | "ridge";

/** Every parameter a search can vary, in the order random draws take them. */
export const SEARCH_PARAMETERS: readonly SearchParameter[] = ["spectralRadius", "leakRate", "inputScaling", "connectivity", "ridge"];

/**
 * How one hyperparameter varies: a fixed number; `[min, max]` on the parameter's default scale
 * (log for all but connectivity); `{ min, max, scale }`; or `{ values }` to choose from. In a
 * grid search a range contributes `gridPoints` values, evenly spaced on its scale, ends included.
 */
export type SearchRange =
  | number
  | readonly [number, number]
  | {
      /** Lower end. */
      min: number;
      /** Upper end (>= min). */
      max: number;
      /** Draws uniform in log(value) ("log") or in value ("linear"). Default: the parameter's. */
      scale?: "log" | "linear";
    }
  | {
      /** The values to choose from (random search: uniformly; grid search: each). */
      values: readonly number[];
    };

/** The parameters to vary; the others keep the reservoir's value. */
export type SearchSpace = Partial<Record<SearchParameter, SearchRange>>;

/** Training data of a search: every step of it is the training span. */
export interface SearchData {
  /** [T, inDim] */
  inputs: Tensor;
  /** [T, outDim] */
  targets: Tensor;
  /** Steps at the start left out of the regression. Default 0. */
  washout?: number;
}

/** Options of `esnSearch`. */
export interface EsnSearchOptions {
  /** "random" (default) or "grid" (every combination). */
  method?: "random" | "grid";
  /** Random search: the number of trials. Default 50. */
  trials?: number;
  /** Grid search: values per ranged parameter. Default 5. */
  gridPoints?: number;
  /** Cross-validation folds (forward chaining over folds + 1 blocks). Default 3. */
  folds?: number;
  /** Reservoirs per trial, seeds seed, seed + 1, ...: the trial's loss is their mean. Default 1. */
  instances?: number;
  /** Seed of the parameter draws and of the reservoirs. Default 0. */
  seed?: number;
  /**
   * The options every reservoir shares (units, bias scaling, readoutInput, feedback, ...); a
   * searched parameter overrides its entry. Default: a named task's reservoir, else { units: 100 }.
   */
  reservoir?: ESNOptions;
  /** Trials built and run together. Default 2 x the runtime's threads. */
  batch?: number;
  /** After each trial; return false to stop the search there. */
  onTrial?: (trial: SearchTrial, done: number, total: number) => void | boolean;
  /** Stops the search between batches. */
  signal?: AbortSignal;
}

/** One trial of a search. */
export interface SearchTrial {
  /** Its place in the search, from 0. */
  index: number;
  /** The hyperparameters it tried (fixed ones included). */
  params: Record<SearchParameter, number>;
  /** Mean validation NRMSE over folds (and instances); Infinity when the trial failed. */
  loss: number;
  /** Validation NRMSE of each fold (mean over instances). */
  foldLosses: number[];
  /** "diverged": a state became non-finite; "singular": a ridge system was not positive definite; "invalid": the reservoir could not be built. */
  status: "ok" | "diverged" | "singular" | "invalid";
  /** Why the trial failed. */
  reason?: string;
}

/** One parameter's variation as resolved: fixed, a range, or a list. */
export interface ResolvedRange {
  /** "fixed": one value; "range": drawn from [min, max]; "values": chosen from `values`. */
  kind: "fixed" | "range" | "values";
  /** The smallest value. */
  min: number;
  /** The largest value. */
  max: number;
  /** How values are spread (and how a plot should draw the axis). */
  scale: "log" | "linear";
  /** The list, for kind "values". */
  values?: number[];
}

/** What `esnSearch` returns. */
export interface SearchResult {
  /** Every trial run, in order. */
  trials: SearchTrial[];
  /** The trial with the lowest loss (the first of equals). */
  best: SearchTrial;
  /** Options for `new ESN(...)` with the best trial's parameters (seed: the search's). */
  bestOptions: ESNOptions;
  /** How each parameter varied. */
  space: Record<SearchParameter, ResolvedRange>;
  /** The search method used. */
  method: "random" | "grid";
  /** Cross-validation folds. */
  folds: number;
  /** Trials the search was to run (stopped early when `trials.length` is smaller). */
  total: number;
  /** Why the search stopped early (the signal, or onTrial returning false). */
  stopped?: "aborted" | "callback";
}

// Default scale of each parameter when a range gives none.
const LOG_BY_DEFAULT: Record<SearchParameter, boolean> = { spectralRadius: true, leakRate: true, inputScaling: true, connectivity: false, ridge: true };
// Valid values: [lo, hi], lo excluded when open.
const DOMAIN: Record<SearchParameter, { lo: number; hi: number; open: boolean }> = {
  spectralRadius: { lo: 0, hi: Infinity, open: false },
  leakRate: { lo: 0, hi: 1, open: true },
  inputScaling: { lo: 0, hi: Infinity, open: false },
  connectivity: { lo: 0, hi: 1, open: true },
  ridge: { lo: 0, hi: Infinity, open: false },
};
// ESN defaults of the parameters (src/esn/types.ts).
const ESN_DEFAULTS: Record<SearchParameter, number> = { spectralRadius: 0.9, leakRate: 1, inputScaling: 1, connectivity: 0.1, ridge: 1e-8 };

// Trial record (keep in sync with assembly/reservoir/trials.ts).
const R_DESC = 0, R_INPUTS = 4, R_TEACHER = 8, R_OUTPUTS = 12, R_WASHOUT = 16, R_FOLDS = 20, R_A = 24, R_RHS = 28, R_FLAGS = 32, R_STATUS = 36, R_RIDGE = 40, R_BOUNDS = 48;

/**
 * Searches an echo state network's hyperparameters on a task: a name ("mackey-glass",
 * "narma10", "lorenz", "sine": the training span of `recur esn`'s split) or your own training
 * data. Returns every trial and the best. Bad ranges (empty, inverted, outside a parameter's
 * domain, log scale through 0), unknown parameters or task names are RecurError E_VALUE naming
 * the problem, before anything runs.
 *
 * ```ts
 * const r = await esnSearch("mackey-glass", { spectralRadius: [0.1, 2], leakRate: [0.05, 1], ridge: [1e-10, 1e-2] }, { trials: 100, seed: 1 });
 * const esn = new ESN(r.bestOptions);
 * ```
 */
export async function esnSearch(task: string | SearchData, space: SearchSpace, options: EsnSearchOptions = {}): Promise<SearchResult> {
  const fn = "esnSearch";
  const o = checkKeys(fn, options, ["method", "trials", "gridPoints", "folds", "instances", "seed", "reservoir", "batch", "onTrial", "signal"]);
  const data = resolveTask(fn, task);
  const method = o.method ?? "random";
  if (method !== "random" && method !== "grid") fail("E_VALUE", `${fn}: method must be "random" or "grid", got ${show(method)}`);
  const count = (name: string, v: unknown, def: number, lo = 1): number => {
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo) fail("E_VALUE", `${fn}: ${name} must be an integer >= ${lo}, got ${show(v)}`);
    return v;
  };
  const folds = count("folds", o.folds, 3);
  const instances = count("instances", o.instances, 1);
  const gridPoints = count("gridPoints", o.gridPoints, 5, 2);
  const seed = o.seed ?? 0;
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(seed)}`);
  const reservoir: ESNOptions = { ...(data.reservoir ?? { units: 100 }), ...((o.reservoir as ESNOptions | undefined) ?? {}) };
  for (const key of ["layers", "weights", "seed", "inputDim"] as const) {
    if (o.reservoir !== undefined && (o.reservoir as ESNOptions)[key] !== undefined) fail("E_VALUE", `${fn}: reservoir.${key} cannot be set here (${key === "seed" ? "use the search's seed" : key === "inputDim" ? "the data decide it" : "the search varies one reservoir layer"})`);
  }
  const resolved = resolveSpace(fn, space, reservoir);
  const points = method === "grid" ? gridOf(resolved, gridPoints) : undefined;
  const total = points ? points.length : count("trials", o.trials, 50);
  const onTrial = o.onTrial as EsnSearchOptions["onTrial"];
  if (onTrial !== undefined && typeof onTrial !== "function") fail("E_TYPE", `${fn}: onTrial must be a function`);
  const signal = o.signal as AbortSignal | undefined;

  // Data in Wasm once, for every trial.
  const { inputs, targets, washout } = data;
  const T = inputs.T;
  const I = inputs.cols;
  const O = targets.cols;
  const bounds = [0];
  const rows = T - washout;
  for (let j = 1; j <= folds; j++) bounds.push(washout + Math.round((j * rows) / (folds + 1)));
  bounds.push(T);
  for (let j = 0; j <= folds; j++) {
    if (bounds[j + 1] - bounds[j] - (j === 0 ? washout : 0) < 2) fail("E_VALUE", `${fn}: ${T} steps (washout ${washout}) are too few for ${folds} folds: every one of the ${folds + 1} blocks needs at least 2 steps after the washout`);
  }
  for (let k = 1; k <= folds; k++) {
    const block = targets.data.subarray(bounds[k] * O, bounds[k + 1] * O);
    if (block.every((v) => v === block[0])) fail("E_VALUE", `${fn}: the targets of validation block ${k} (steps ${bounds[k]}..${bounds[k + 1] - 1}) are constant; NRMSE needs them to vary`);
  }
  const longest = Math.max(...bounds.slice(1).map((b, j) => b - bounds[j]));

  const rt = runtime();
  const threads = rt.pool?.active ?? 1;
  const batch = count("batch", o.batch, 2 * threads);
  const rng = createRng(seed);
  const drawn: Record<SearchParameter, number>[] = [];
  const paramsOf = (i: number): Record<SearchParameter, number> => {
    if (points) return points[i];
    while (drawn.length <= i) drawn.push(sample(resolved, rng));
    return drawn[i];
  };

  const dataBytes = align(T * I * 4) + align(T * O * 4);
  const dataBlock = rt.heap.alloc(dataBytes);
  const trials: SearchTrial[] = [];
  // Trials that share W (same seed, units and connectivity) measure its spectral radius once.
  const outerMemo = radiusMemo.map;
  radiusMemo.map = outerMemo ?? new Map();
  let stopped: SearchResult["stopped"];
  // Batch n runs on the pool's workers while this thread builds batch n + 1.
  let running: Batch | undefined;
  let next: Batch | undefined;
  try {
    rt.heap.f32(dataBlock, T * I).set(inputs.data);
    rt.heap.f32(dataBlock + align(T * I * 4), T * O).set(targets.data);
    const sumsOff = (R_BOUNDS + 4 * (folds + 2) + 7) & ~7;
    const setup: BatchSetup = { reservoir, seed, I, O, washout, folds, bounds, longest, recBytes: align(sumsOff + 16 * folds), sumsOff, inputs: dataBlock, teacher: dataBlock + align(T * I * 4) };
    // Emits the finished batch's trials; false when the callback stops the search.
    const report = (b: Batch): boolean => {
      const scores = finishBatch(b, setup);
      for (const index of b.trials) {
        const mine = scores.filter((sc) => sc.index === index);
        const failedRun = mine.find((sc) => sc.status !== "ok");
        const foldLosses = Array.from({ length: folds }, (_, k) => mine.reduce((a, sc) => a + sc.folds[k], 0) / mine.length);
        const trial: SearchTrial = {
          index,
          params: paramsOf(index),
          loss: failedRun ? Infinity : foldLosses.reduce((a, v) => a + v, 0) / folds,
          foldLosses: failedRun ? foldLosses.map(() => Infinity) : foldLosses,
          status: failedRun ? failedRun.status : "ok",
          ...(failedRun?.reason ? { reason: failedRun.reason } : {}),
        };
        trials.push(trial);
        if (onTrial && onTrial(trial, trials.length, total) === false) return false;
      }
      return true;
    };
    for (let first = 0; first < total || running !== undefined; first += batch) {
      if (signal?.aborted) {
        stopped = "aborted";
        break;
      }
      if (first < total) {
        const indices = Array.from({ length: Math.min(batch, total - first) }, (_, j) => first + j);
        next = prepareBatch(indices, indices.flatMap((index) => Array.from({ length: instances }, (_, instance) => ({ index, instance, params: paramsOf(index) }))), setup);
      }
      if (running !== undefined) {
        const done = running;
        running = undefined;
        if (!report(done)) {
          stopped = "callback";
          break;
        }
      }
      if (next !== undefined) {
        startBatch(next, setup);
        [running, next] = [next, undefined];
      }
      // Let the event loop (a page, an abort) run between batches.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    // A started batch must be joined before its memory goes.
    for (const b of [running, next]) if (b !== undefined) finishBatch(b, undefined);
    rt.heap.release(dataBlock);
    radiusMemo.map = outerMemo;
  }
  if (trials.length === 0) fail("E_STATE", `${fn}: stopped before the first trial`);
  const best = trials.reduce((a, t) => (t.loss < a.loss ? t : a), trials[0]);
  if (!Number.isFinite(best.loss)) fail("E_NUMERIC", `${fn}: every trial failed (the first: ${trials[0].status}${trials[0].reason ? `, ${trials[0].reason}` : ""})`);
  const bestOptions: ESNOptions = { ...reservoir, ...best.params, seed, ...(O > 0 && reservoir.feedbackScaling ? { outputDim: O } : {}) };
  return { trials, best, bestOptions, space: resolved, method, folds, total, ...(stopped ? { stopped } : {}) };
}

interface Run {
  index: number;
  instance: number;
  params: Record<SearchParameter, number>;
}

interface Score {
  index: number;
  status: SearchTrial["status"];
  reason?: string;
  folds: number[];
}

interface BatchSetup {
  reservoir: ESNOptions;
  seed: number;
  I: number;
  O: number;
  washout: number;
  folds: number;
  bounds: number[];
  longest: number;
  recBytes: number;
  sumsOff: number;
  inputs: number;
  teacher: number;
}

/** A batch of trial runs: their reservoirs and Wasm records, built, started, then finished. */
interface Batch {
  trials: number[];
  runs: Run[];
  scores: Score[];
  esns: ESN[];
  /** The record block first, then the scratch blocks. */
  blocks: number[];
  /** Indices into `runs` of the runs that have a record, in record order. */
  live: number[];
  /** 1: running on the workers (esnTrialsFinish pending); 0: done or not started. */
  background: number;
  started: boolean;
}

// Builds the batch's reservoirs and trial records (JavaScript; while another batch runs on the
// workers, every kernel here runs single-threaded).
function prepareBatch(trials: number[], runs: Run[], s: BatchSetup): Batch {
  const { heap } = runtime();
  const b: Batch = { trials, runs, scores: runs.map((r) => ({ index: r.index, status: "ok", folds: [] })), esns: [], blocks: [], live: [], background: 0, started: false };
  try {
    const made: { desc: number; D: number; noiseFlag: number }[] = [];
    runs.forEach((r, i) => {
      let esn: ESN;
      try {
        esn = new ESN({ ...s.reservoir, ...r.params, seed: s.seed + r.instance, inputDim: s.I, ...(s.reservoir.feedbackScaling ? { outputDim: s.O } : {}) });
      } catch (e) {
        if (!(e instanceof RecurError) || e.code !== "E_VALUE") throw e;
        b.scores[i] = { index: r.index, status: "invalid", reason: e.message, folds: [] };
        return;
      }
      b.esns.push(esn);
      made.push(esn.prepareTrial(s.I, s.O));
      b.live.push(i);
    });
    if (made.length === 0) return b;
    const records = heap.alloc(made.length * s.recBytes);
    b.blocks.push(records);
    made.forEach(({ D, desc, noiseFlag }, j) => {
      const aBytes = align(D * D * 8);
      const rhsBytes = align(s.O * D * 8);
      const scratch = heap.alloc(aBytes + rhsBytes + align(s.longest * s.O * 4));
      b.blocks.push(scratch);
      const r = records + j * s.recBytes;
      const w = heap.i32(r, s.recBytes / 4);
      w.fill(0);
      w[R_DESC / 4] = desc;
      w[R_INPUTS / 4] = s.inputs;
      w[R_TEACHER / 4] = s.teacher;
      w[R_OUTPUTS / 4] = scratch + aBytes + rhsBytes;
      w[R_WASHOUT / 4] = s.washout;
      w[R_FOLDS / 4] = s.folds;
      w[R_A / 4] = scratch;
      w[R_RHS / 4] = scratch + aBytes;
      w[R_FLAGS / 4] = noiseFlag;
      w.set(s.bounds, R_BOUNDS / 4);
      heap.f64(r + R_RIDGE, 1)[0] = runs[b.live[j]].params.ridge;
    });
    return b;
  } catch (e) {
    finishBatch(b, undefined);
    throw e;
  }
}

function startBatch(b: Batch, s: BatchSetup): void {
  b.started = true;
  if (b.live.length > 0) b.background = runtime().kernels.esnTrialsStart(b.blocks[0], b.live.length, s.recBytes);
}

// Waits for the batch's trials, reads their scores (unless `s` is undefined: cleanup only) and
// frees the batch.
function finishBatch(b: Batch, s: BatchSetup | undefined): Score[] {
  const rt = runtime();
  const { heap } = rt;
  try {
    if (b.background) {
      b.background = 0;
      rt.kernels.esnTrialsFinish(b.live.length);
    }
    if (s === undefined || !b.started) return b.scores;
    b.live.forEach((run, j) => {
      const r = b.blocks[0] + j * s.recBytes;
      const status = heap.i32(r + R_STATUS, 1)[0];
      const score = b.scores[run];
      if (status <= -2) {
        score.status = "singular";
        score.reason = `the ridge system of fold ${-2 - status} is not positive definite (ridge ${b.runs[run].params.ridge})`;
      } else if (status >= 0) {
        score.status = "diverged";
        score.reason = `the reservoir state became non-finite at step ${status}`;
      } else {
        const sums = heap.f64(r + s.sumsOff, 2 * s.folds);
        score.folds = Array.from({ length: s.folds }, (_, k) => Math.sqrt(sums[2 * k] / sums[2 * k + 1]));
      }
    });
    return b.scores;
  } finally {
    for (const block of b.blocks) heap.release(block);
    for (const e of b.esns) e.dispose();
    b.blocks = [];
    b.esns = [];
  }
}

function resolveTask(fn: string, task: string | SearchData): { inputs: { T: number; cols: number; data: Float32Array }; targets: { T: number; cols: number; data: Float32Array }; washout: number; reservoir?: ESNOptions } {
  if (typeof task === "string") {
    let t;
    try {
      t = esnTask(task);
    } catch (e) {
      if (e instanceof RecurError) fail(e.code, `${fn}: ${e.message}`);
      throw e;
    }
    return { inputs: checkSequence(fn, "inputs", t.train.inputs, undefined), targets: checkSequence(fn, "targets", t.train.targets, undefined), washout: t.washout, reservoir: t.options };
  }
  if (typeof task !== "object" || task === null) fail("E_TYPE", `${fn}: task must be a task name or { inputs, targets, washout }, got ${show(task)}`);
  checkKeys(`${fn}: task`, task, ["inputs", "targets", "washout"]);
  const inputs = checkSequence(fn, "task.inputs", task.inputs, undefined);
  const targets = checkSequence(fn, "task.targets", task.targets, undefined);
  if (targets.T !== inputs.T) fail("E_SHAPE", `${fn}: task.inputs has ${inputs.T} steps but task.targets has ${targets.T}`);
  const washout = task.washout ?? 0;
  if (!Number.isInteger(washout) || washout < 0) fail("E_VALUE", `${fn}: task.washout must be an integer >= 0, got ${show(washout)}`);
  return { inputs, targets, washout };
}

function resolveSpace(fn: string, space: SearchSpace, reservoir: ESNOptions): Record<SearchParameter, ResolvedRange> {
  if (typeof space !== "object" || space === null || Array.isArray(space)) fail("E_VALUE", `${fn}: space must be an object of parameter ranges, got ${show(space)}`);
  for (const key of Object.keys(space)) {
    if (!(SEARCH_PARAMETERS as readonly string[]).includes(key)) fail("E_VALUE", `${fn}: unknown search parameter "${key}" (parameters: ${SEARCH_PARAMETERS.join(", ")})`);
  }
  const out = {} as Record<SearchParameter, ResolvedRange>;
  for (const p of SEARCH_PARAMETERS) {
    const d = DOMAIN[p];
    const inDomain = (v: number): boolean => Number.isFinite(v) && (d.open ? v > d.lo : v >= d.lo) && v <= d.hi;
    const domainText = `${d.open ? "(" : "["}${d.lo}, ${d.hi === Infinity ? "inf)" : `${d.hi}]`}`;
    const check = (v: unknown, what: string): number => {
      if (typeof v !== "number" || !inDomain(v)) fail("E_VALUE", `${fn}: ${p} ${what} ${show(v)} is outside ${p}'s domain ${domainText}`);
      return v;
    };
    const r = space[p];
    if (r === undefined) {
      const fixed = reservoir[p];
      const v = typeof fixed === "number" ? fixed : ESN_DEFAULTS[p];
      out[p] = { kind: "fixed", min: v, max: v, scale: "linear" };
      continue;
    }
    if (typeof r === "number") {
      check(r, "value");
      out[p] = { kind: "fixed", min: r, max: r, scale: "linear" };
      continue;
    }
    if (typeof r === "object" && r !== null && !Array.isArray(r) && "values" in r) {
      const values = r.values;
      if (!Array.isArray(values)) fail("E_VALUE", `${fn}: ${p} values must be an array of numbers, got ${show(values)}`);
      if (values.length === 0) fail("E_VALUE", `${fn}: ${p} has an empty list of values`);
      values.forEach((v, i) => check(v, `values[${i}]`));
      out[p] = { kind: "values", min: Math.min(...values), max: Math.max(...values), scale: LOG_BY_DEFAULT[p] && values.every((v) => v > 0) ? "log" : "linear", values: [...values] };
      continue;
    }
    let min: unknown, max: unknown, scale: unknown;
    if (Array.isArray(r)) {
      if (r.length !== 2) fail("E_VALUE", `${fn}: ${p} range must be [min, max], got ${show(r)}`);
      [min, max] = r;
    } else if (typeof r === "object" && r !== null) {
      checkKeys(`${fn}: ${p}`, r, ["min", "max", "scale"]);
      ({ min, max, scale } = r as { min: unknown; max: unknown; scale?: unknown });
    } else fail("E_VALUE", `${fn}: ${p} must be a number, [min, max], { min, max, scale } or { values }, got ${show(r)}`);
    const lo = check(min, "min");
    const hi = check(max, "max");
    if (lo > hi) fail("E_VALUE", `${fn}: ${p} range [${lo}, ${hi}] is inverted (min > max)`);
    const s = scale ?? (LOG_BY_DEFAULT[p] ? "log" : "linear");
    if (s !== "log" && s !== "linear") fail("E_VALUE", `${fn}: ${p} scale must be "log" or "linear", got ${show(s)}`);
    if (s === "log" && lo <= 0) fail("E_VALUE", `${fn}: ${p} range [${lo}, ${hi}] is on a log scale and must be above 0 (give scale: "linear" to include 0)`);
    out[p] = { kind: "range", min: lo, max: hi, scale: s };
  }
  return out;
}

// One random draw of every parameter, in SEARCH_PARAMETERS order (fixed ones draw nothing).
function sample(space: Record<SearchParameter, ResolvedRange>, rng: ReturnType<typeof createRng>): Record<SearchParameter, number> {
  const out = {} as Record<SearchParameter, number>;
  for (const p of SEARCH_PARAMETERS) {
    const r = space[p];
    if (r.kind === "fixed") out[p] = r.min;
    else if (r.kind === "values") out[p] = r.values![rng.int(r.values!.length)];
    else {
      const u = rng.next();
      out[p] = r.scale === "log" ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
    }
  }
  return out;
}

// Every combination, the last parameter varying fastest.
function gridOf(space: Record<SearchParameter, ResolvedRange>, points: number): Record<SearchParameter, number>[] {
  const axes = SEARCH_PARAMETERS.map((p) => {
    const r = space[p];
    if (r.kind === "fixed") return [r.min];
    if (r.kind === "values") return r.values!;
    if (r.min === r.max) return [r.min];
    return Array.from({ length: points }, (_, i) => {
      if (i === 0 || i === points - 1) return i === 0 ? r.min : r.max;
      const u = i / (points - 1);
      return r.scale === "log" ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
    });
  });
  let combos: number[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.map((v) => [...c, v]));
  return combos.map((c) => Object.fromEntries(SEARCH_PARAMETERS.map((p, i) => [p, c[i]])) as Record<SearchParameter, number>);
}
