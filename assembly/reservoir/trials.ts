// Cross-validation trials of a hyperparameter search (src/esn/search.ts), one trial per chunk of
// a forked task so that trials spread over the pool's threads. A trial is one reservoir (already
// built by TypeScript, with its readout and primal ridge statistics bound to the descriptor) run
// once over the training span, cut into blocks 0..K: forward chaining, so fold k fits the ridge
// readout on blocks 0..k (after the washout) and scores it on block k + 1, then adds block k + 1
// to the statistics for fold k + 1. Every step goes through esnRun, the Gram through syrkUpper
// and the solve through ridgeSystem + cholSolve: fold k's readout and predictions are bit for bit
// what ESN.fit on blocks 0..k and ESN.predict on block k + 1 compute, on any thread. Inside a
// chunk nothing forks again (threadsAvailable() is 1 there).
import { argI32, finishBackground, forkBackground, taskArg, threadsAvailable } from "../threads";
import { cholSolve, ridgeSystem } from "./linalg";
import { FLAG_GRAM, FLAG_OUTPUT, FLAG_TEACHER, M_FEAT, M_G, M_GRAM, M_IN, M_OUT, M_WOUT, field, ptr } from "./layout";
import { esnRun } from "./run";

// Trial record (byte offsets; keep in sync with src/esn/search.ts).
const R_DESC = 0; // model descriptor
const R_INPUTS = 4; // f32 [T][I], shared by every trial
const R_TEACHER = 8; // f32 [T][O], shared
const R_OUTPUTS = 12; // f32 scratch [longest block][O]
const R_WASHOUT = 16;
const R_FOLDS = 20; // K
const R_A = 24; // f64 scratch [D][D]
const R_RHS = 28; // f64 scratch [O][D]
const R_FLAGS = 32; // extra esnRun flags (state noise)
const R_STATUS = 36; // out: -1 ok, -2 - k: singular system at fold k, else the step that diverged
const R_RIDGE = 40; // f64
const R_BOUNDS = 48; // i32 [K + 2]: block starts, then T
// then, 8-byte aligned, f64 [K][2] per fold: sum of squared errors, sum of squared deviations of the targets

const EPS: f64 = 2.220446049250313e-16;

/**
 * Starts `count` trial records of `recBytes` bytes each. With a thread pool the workers take them
 * (one trial per chunk) while this call returns at once (1), and esnTrialsFinish completes them
 * (this thread runs those still unclaimed); without one they run here before it returns (0).
 */
export function esnTrialsStart(records: usize, count: i32, recBytes: i32): i32 {
  if (ASC_FEATURE_THREADS) {
    if (threadsAvailable() > 1 && count > 0) {
      store<u32>(taskArg(0), <u32>records);
      store<i32>(taskArg(1), recBytes);
      forkBackground(esnTrialChunk, count);
      return 1;
    }
  }
  for (let i = 0; i < count; i++) esnTrial(records + <usize>i * <usize>recBytes);
  return 0;
}

/** Completes the trials an esnTrialsStart of `count` records started in the background. */
export function esnTrialsFinish(count: i32): void {
  finishBackground(count);
}

/** One chunk of a forked esnTrials: trial `chunk`. */
function esnTrialChunk(control: usize, chunk: i32, chunks: i32): void {
  esnTrial(<usize><u32>argI32(control, 0) + <usize>chunk * <usize>argI32(control, 1));
}

function esnTrial(r: usize): void {
  const m = <usize>load<u32>(r + R_DESC);
  const inputs = <usize>load<u32>(r + R_INPUTS);
  const teacher = <usize>load<u32>(r + R_TEACHER);
  const outputs = <usize>load<u32>(r + R_OUTPUTS);
  const K = load<i32>(r + R_FOLDS);
  const a = <usize>load<u32>(r + R_A);
  const rhs = <usize>load<u32>(r + R_RHS);
  const extra = load<i32>(r + R_FLAGS);
  const ridge = load<f64>(r + R_RIDGE);
  const bounds = r + R_BOUNDS;
  const sums = r + <usize>((R_BOUNDS + ((K + 2) << 2) + 7) & ~7);
  const I = field(m, M_IN);
  const O = field(m, M_OUT);
  const D = field(m, M_FEAT);
  const G = field(m, M_G);
  const gram = ptr(m, M_GRAM);
  const wout = ptr(m, M_WOUT);
  store<i32>(r + R_STATUS, -1);
  // Block 0: statistics only.
  const b1 = load<i32>(bounds + 4);
  let failed = esnRun(m, b1, inputs, teacher, 0, 0, load<i32>(r + R_WASHOUT), FLAG_TEACHER | FLAG_GRAM | extra);
  if (failed >= 0) {
    store<i32>(r + R_STATUS, failed);
    return;
  }
  for (let k = 0; k < K; k++) {
    // The readout of blocks 0..k, exactly as ESN.fit solves it.
    ridgeSystem(gram, G, D, O, ridge, a, rhs);
    let tol: f64 = 0;
    if (ridge == 0) {
      let top: f64 = 0;
      for (let i = 0; i < D; i++) top = max(top, load<f64>(a + (<usize>(i * D + i) << 3)));
      tol = <f64>D * EPS * top;
    }
    if (cholSolve(a, D, rhs, O, tol) >= 0) {
      store<i32>(r + R_STATUS, -2 - k);
      return;
    }
    memory.copy(wout, rhs, <usize>(O * D) << 3);
    // Block k + 1: predictions scored, then (except after the last fold) its rows added.
    const t0 = load<i32>(bounds + (<usize>(k + 1) << 2));
    const t1 = load<i32>(bounds + (<usize>(k + 2) << 2));
    const len = t1 - t0;
    const tb = teacher + (<usize>t0 * <usize>O << 2);
    const flags = FLAG_TEACHER | FLAG_OUTPUT | (k + 1 < K ? FLAG_GRAM : 0) | extra;
    failed = esnRun(m, len, inputs + (<usize>t0 * <usize>I << 2), tb, outputs, 0, 0, flags);
    if (failed >= 0) {
      store<i32>(r + R_STATUS, t0 + failed);
      return;
    }
    // As nrmse() in src/datasets.ts: the mean first, then both sums in one pass, all in order.
    const n = len * O;
    let mean: f64 = 0;
    for (let i = 0; i < n; i++) mean += <f64>load<f32>(tb + (<usize>i << 2));
    mean /= <f64>n;
    let varSum: f64 = 0;
    let errSum: f64 = 0;
    for (let i = 0; i < n; i++) {
      const t = <f64>load<f32>(tb + (<usize>i << 2));
      const c = t - mean;
      varSum += c * c;
      const d = <f64>load<f32>(outputs + (<usize>i << 2)) - t;
      errSum += d * d;
    }
    store<f64>(sums + (<usize>k << 4), errSum);
    store<f64>(sums + (<usize>k << 4) + 8, varSum);
  }
}
