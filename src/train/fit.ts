import { fail, RecurError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { clipGradNorm, clipGradValue } from "./clip.js";
import { checkOptimizerFor, Optimizer } from "./optimizer.js";
import { objectArgument, show } from "../validate.js";
import type { LRScheduler } from "./schedulers.js";
import type { IndexTensor, SequenceBatch, SequenceModel } from "./sequence-model.js";

/**
 * An optimiser that makes each update itself from the batch (HessianFree, from
 * recur-nn/hessian-free): fit hands it the batch instead of gradients.
 */
export interface BatchOptimizer {
  /** The model it updates. */
  readonly model: SequenceModel;
  /** One update on the batch; returns the batch's loss before it. */
  update(batch: SequenceBatch): {
    /** The batch's loss before the update. */
    loss: number;
  };
}

/** What `fit` reports to `onProgress`. */
export interface SequenceFitProgress {
  /** Optimizer updates done so far. */
  step: number;
  /** Total updates planned. */
  steps: number;
  /** Mean loss of the updates since the last report. */
  loss: number;
  /** Global gradient norm of the last update (when clipping by norm). */
  gradNorm?: number;
  /** Sequence steps processed per second so far (T * B per batch). */
  stepsPerSecond: number;
  /** Time since training started. */
  elapsedMs: number;
  /** Estimated time to finish. */
  remainingMs: number;
}

/** Options of `fit`. */
export interface SequenceFitOptions {
  /**
   * Updates the model's parameters (created over the model). Required. A BatchOptimizer
   * (HessianFree) makes each update itself from the batch (no clipping, no tbptt).
   */
  optimizer: Optimizer | BatchOptimizer;
  /** The batches: an array (cycled in order) or a function giving the batch of each update. */
  data: SequenceBatch[] | ((step: number) => SequenceBatch);
  /** Optimizer updates to run (with tbptt: chunks). Required. */
  steps: number;
  /** Clip the global gradient norm before each update. Default: no clipping. */
  clipGradNorm?: number;
  /** Clip each gradient to [-v, v] before each update. Default: no clipping. */
  clipGradValue?: number;
  /** Stepped after every update. */
  scheduler?: LRScheduler;
  /**
   * Truncated BPTT for long sequences: the state is carried across chunks of k1 steps with one
   * update per chunk; inside a chunk, gradients flow back at most k2 steps (windows of k2 steps
   * whose gradients add up). k2 <= k1, default k2 = k1. Needs outputs "sequence", no lengths.
   */
  tbptt?: {
    /** Steps per chunk (one update each). */
    k1: number;
    /** Steps a gradient flows back, at most k1. Default k1. */
    k2?: number;
  };
  /** Called every `progressEvery` updates and after the last; return false to stop early. */
  onProgress?: (p: SequenceFitProgress) => void | boolean;
  /** Default 10. */
  progressEvery?: number;
  /** Stops training between updates when aborted. */
  signal?: AbortSignal;
}

/** What `fit` returns. */
export interface SequenceFitResult {
  /** Loss of every update. */
  losses: number[];
  /** Updates made. */
  steps: number;
  /** "done", or why training stopped early. */
  stopped: "done" | "aborted" | "callback";
}

/**
 * Trains a SequenceModel. Async so that it yields to the event loop every ~50 ms, letting an
 * AbortSignal or a UI interrupt it. Deterministic: same model seed, data and options, same
 * result. A NaN or infinite loss or gradient throws RecurError E_NUMERIC naming the update; the
 * parameters keep their values from before that update.
 */
export async function fit(model: SequenceModel, options: SequenceFitOptions): Promise<SequenceFitResult> {
  objectArgument("fit", options);
  if (typeof model !== "object" || model === null || typeof model.lossAndGrad !== "function") fail("E_TYPE", "fit: model must be a SequenceModel");
  const { optimizer, data, steps } = options;
  if (!Number.isInteger(steps) || steps < 0) fail("E_VALUE", `fit: steps must be an integer >= 0, got ${show(steps)}`);
  if (!Array.isArray(data) && typeof data !== "function") fail("E_TYPE", "fit: data must be an array of batches or a function step => batch");
  if (Array.isArray(data) && data.length === 0) fail("E_VALUE", "fit: data has no batches");
  const every = options.progressEvery ?? 10;
  if (!Number.isInteger(every) || every < 1) fail("E_VALUE", `fit: progressEvery must be an integer >= 1, got ${show(every)}`);
  const tb = options.tbptt;
  if (tb) {
    const k2 = tb.k2 ?? tb.k1;
    if (!Number.isInteger(tb.k1) || tb.k1 < 1 || !Number.isInteger(k2) || k2 < 1 || k2 > tb.k1) {
      fail("E_VALUE", `fit: tbptt needs integers 1 <= k2 <= k1, got k1 = ${tb.k1}, k2 = ${tb.k2}`);
    }
    if (model.options.outputs !== "sequence") fail("E_UNSUPPORTED", "fit: truncated BPTT needs a model with outputs \"sequence\"");
  }
  const hf = optimizer instanceof Optimizer ? undefined : optimizer;
  if (hf === undefined) checkOptimizerFor("fit", optimizer, model);
  else if (typeof hf !== "object" || hf === null || typeof hf.update !== "function") {
    fail("E_TYPE", "fit: optimizer must be an optimizer (SGD, Adam, HessianFree, ...) built over the model");
  }
  if (hf && (tb || options.clipGradNorm !== undefined || options.clipGradValue !== undefined || options.scheduler)) {
    fail("E_UNSUPPORTED", "fit: an optimiser that updates from the batch (HessianFree) takes no tbptt, clipping or scheduler");
  }
  if (hf && hf.model !== model) fail("E_VALUE", "fit: the optimiser was built over another model");
  const batchAt = (i: number): SequenceBatch => (Array.isArray(data) ? data[i % data.length] : data(i));
  const losses: number[] = [];
  const start = performance.now();
  let lastYield = start;
  let processed = 0;
  let windowLoss = 0;
  let windowCount = 0;
  let gradNorm: number | undefined;

  // With tbptt, the stream of chunks walks through each batch, carrying the state.
  let chunkSource: { batch: SequenceBatch; t0: number; h?: Tensor; c?: Tensor; index: number } | undefined;

  for (let step = 0; step < steps; step++) {
    if (options.signal?.aborted) return { losses, steps: step, stopped: "aborted" };
    model.zeroGrad();
    let loss: number;
    if (hf) {
      const batch = batchAt(step);
      loss = hf.update(batch).loss;
      processed += batch.input.shape[0] * batch.input.shape[1];
    } else if (!tb) {
      const batch = batchAt(step);
      loss = model.lossAndGrad(batch).loss;
      processed += batch.input.shape[0] * batch.input.shape[1];
    } else {
      const k2 = tb.k2 ?? tb.k1;
      if (!chunkSource || chunkSource.t0 >= chunkSource.batch.input.shape[0]) {
        const index = chunkSource ? chunkSource.index + 1 : 0;
        const batch = batchAt(index);
        if (batch.lengths !== undefined) fail("E_UNSUPPORTED", "fit: truncated BPTT does not take lengths; split sequences to equal length");
        if (model.options.lossLastSteps > 0) fail("E_UNSUPPORTED", "fit: truncated BPTT cuts sequences into windows, so lossLastSteps would count the last steps of every window; train on whole sequences");
        chunkSource = { batch, t0: 0, index };
      }
      const src = chunkSource;
      const T = src.batch.input.shape[0];
      const t1 = Math.min(T, src.t0 + tb.k1);
      loss = 0;
      for (let w0 = src.t0; w0 < t1; w0 += k2) {
        const w1 = Math.min(t1, w0 + k2);
        const window: SequenceBatch = {
          input: sliceTime(src.batch.input, w0, w1),
          target: src.batch.target && sliceTime(src.batch.target, w0, w1),
          condition: src.batch.condition,
          h0: src.h,
          c0: src.c,
        };
        const share = (w1 - w0) / (t1 - src.t0);
        const r = model.lossAndGrad(window, { gradScale: share });
        loss += share * r.loss;
        src.h = r.hN;
        src.c = r.cN;
      }
      processed += (t1 - src.t0) * src.batch.input.shape[1];
      src.t0 = t1;
    }
    const unchanged = "the parameters and the optimizer state (its step count included) keep their values from before it";
    if (!Number.isFinite(loss)) throw new RecurError("E_NUMERIC", `fit: the loss at update ${step + 1} is ${loss}; ${unchanged}`);
    if (options.clipGradNorm !== undefined) {
      gradNorm = clipGradNorm(model, options.clipGradNorm);
      if (!Number.isFinite(gradNorm)) throw new RecurError("E_NUMERIC", `fit: the gradient norm at update ${step + 1} is ${gradNorm}; ${unchanged}`);
    }
    if (options.clipGradValue !== undefined) clipGradValue(model, options.clipGradValue);
    if (!hf) {
      try {
        (optimizer as Optimizer).step();
      } catch (err) {
        // The optimizer's own check (a non-finite gradient under a finite loss, or an update that
        // overflows) rolled everything back; say which update it was.
        if (err instanceof RecurError && err.code === "E_NUMERIC") throw new RecurError("E_NUMERIC", `fit: update ${step + 1}: ${err.message}`);
        throw err;
      }
    }
    options.scheduler?.step();
    losses.push(loss);
    windowLoss += loss;
    windowCount++;
    const now = performance.now();
    if (options.onProgress && ((step + 1) % every === 0 || step + 1 === steps)) {
      const elapsedMs = now - start;
      const p: SequenceFitProgress = {
        step: step + 1,
        steps,
        loss: windowLoss / windowCount,
        ...(gradNorm !== undefined ? { gradNorm } : {}),
        stepsPerSecond: processed / (elapsedMs / 1000),
        elapsedMs,
        remainingMs: (elapsedMs / (step + 1)) * (steps - step - 1),
      };
      windowLoss = 0;
      windowCount = 0;
      if (options.onProgress(p) === false) return { losses, steps: step + 1, stopped: "callback" };
    }
    if (now - lastYield > 50) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
  }
  return { losses, steps, stopped: "done" };
}

// Rows t0..t1 of a time-major tensor (the leading axis is time).
function sliceTime<T extends Tensor | IndexTensor>(t: T, t0: number, t1: number): T {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = (t.data as Float32Array).subarray ? (t.data as Float32Array).subarray(t0 * per, t1 * per) : Array.prototype.slice.call(t.data, t0 * per, t1 * per);
  return { shape: [t1 - t0, ...t.shape.slice(1)], data } as T;
}
