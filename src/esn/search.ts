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
import { fullRuntime } from "../full-core.js";
import { ESN } from "./esn.js";
import { align64 } from "../memory.js";
import { radiusMemo } from "./reservoir.js";
import { optionsObject, show } from "../validate.js";
import type { ESNOptions } from "./types.js";
import { resolveTask, resolveSpace, sample, gridOf } from "./search-space.js";
import type { SearchParameter, SearchSpace, SearchData, EsnSearchOptions, SearchTrial, SearchResult } from "./search-types.js";

export { SEARCH_PARAMETERS, type SearchParameter, type SearchRange, type SearchSpace, type SearchData, type EsnSearchOptions, type SearchTrial, type ResolvedRange, type SearchResult } from "./search-types.js";

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
  const o = optionsObject(fn, options, ["method", "trials", "gridPoints", "folds", "instances", "seed", "reservoir", "batch", "onTrial", "signal"]);
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

  const rt = fullRuntime(fn);
  const threads = rt.pool?.active ?? 1;
  const batch = count("batch", o.batch, 2 * threads);
  const rng = createRng(seed);
  const drawn: Record<SearchParameter, number>[] = [];
  const paramsOf = (i: number): Record<SearchParameter, number> => {
    if (points) return points[i];
    while (drawn.length <= i) drawn.push(sample(resolved, rng));
    return drawn[i];
  };

  const dataBytes = align64(T * I * 4) + align64(T * O * 4);
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
    rt.heap.f32(dataBlock + align64(T * I * 4), T * O).set(targets.data);
    const sumsOff = (R_BOUNDS + 4 * (folds + 2) + 7) & ~7;
    const setup: BatchSetup = { reservoir, seed, I, O, washout, folds, bounds, longest, recBytes: align64(sumsOff + 16 * folds), sumsOff, inputs: dataBlock, teacher: dataBlock + align64(T * I * 4) };
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
      const aBytes = align64(D * D * 8);
      const rhsBytes = align64(s.O * D * 8);
      const scratch = heap.alloc(aBytes + rhsBytes + align64(s.longest * s.O * 4));
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
  if (b.live.length > 0) b.background = fullRuntime("esnSearch").kernels.esnTrialsStart(b.blocks[0], b.live.length, s.recBytes);
}

// Waits for the batch's trials, reads their scores (unless `s` is undefined: cleanup only) and
// frees the batch.
function finishBatch(b: Batch, s: BatchSetup | undefined): Score[] {
  const rt = fullRuntime("esnSearch");
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
