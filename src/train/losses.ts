/**
 * Losses that return their value and write their gradient in one Wasm call. Values are float64
 * sums; gradients are float32 and already carry the reduction (1/count for "mean").
 */
import { fail } from "../errors.js";
import { runtime } from "../runtime.js";
import { checkTensor, type Tensor } from "../tensor.js";
import { align64 } from "../memory.js";
import { checkPtr } from "./util.js";
import { oneOf, show, objectArgument } from "../validate.js";

/** How a loss combines its rows or elements: their mean or their sum. */
export type Reduction = "mean" | "sum";

/** Options of `crossEntropy` (PyTorch's, in camelCase). */
export interface CrossEntropyOptions {
  /** Rows whose target equals this contribute neither loss nor gradient (PyTorch ignore_index). Default -100. */
  ignoreIndex?: number;
  /**
   * Per-row weights, length N, finite and >= 0 (e.g. 0 for padded positions). A row's loss and
   * gradient are multiplied by its weight; "mean" divides by the sum of the weights of the rows
   * that are not ignored (PyTorch's rule for weighted cross-entropy). Default: all 1.
   */
  mask?: ArrayLike<number>;
  /** "mean" (default): over the counted rows; "sum": plain sum. */
  reduction?: Reduction;
}

/** Options of `mse`. */
export interface MSEOptions {
  /** "mean" (default): over all elements; "sum": plain sum. */
  reduction?: Reduction;
}

/** A loss and its gradient. */
export interface LossResult {
  /** The loss (float64). */
  loss: number;
  /** d loss / d input, same shape as the input. */
  grad: Tensor;
}

interface PreparedTargets {
  targets: Int32Array;
  weights: Float32Array | undefined;
  /** Sum of the weights of the counted rows (float64), the "mean" divisor. */
  total: number;
  reduction: Reduction;
  ignoreIndex: number;
}

// Validates everything before any work: targets in [0, C) or ignoreIndex, weights finite >= 0.
function prepareTargets(where: string, targets: ArrayLike<number>, rows: number, classes: number, options: CrossEntropyOptions): PreparedTargets {
  if (typeof options !== "object" || options === null) fail("E_TYPE", `${where}: options must be an object`);
  const reduction = checkReduction(where, options.reduction);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    fail("E_VALUE", `${where}: ignoreIndex must be a 32-bit integer, got ${show(ignoreIndex)}`);
  }
  if (targets === null || typeof targets !== "object" || typeof targets.length !== "number") {
    fail("E_TYPE", `${where}: targets must be an Int32Array (or array) of class indices`);
  }
  if (targets.length !== rows) fail("E_SHAPE", `${where}: ${targets.length} targets for ${rows} rows of logits`);
  const t = targets instanceof Int32Array ? targets : Int32Array.from(targets, (v) => v);
  for (let r = 0; r < rows; r++) {
    const v = targets[r];
    if (v === ignoreIndex) continue;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      fail("E_VALUE", `${where}: target of row ${r} is ${show(v)}, expected a class in [0, ${classes}) or ignoreIndex ${ignoreIndex}`);
    }
  }
  let weights: Float32Array | undefined;
  if (options.mask !== undefined) {
    const m = options.mask;
    if (m === null || typeof m !== "object" || typeof m.length !== "number") fail("E_TYPE", `${where}: mask must be an array of per-row weights`);
    if (m.length !== rows) fail("E_SHAPE", `${where}: mask has ${m.length} entries for ${rows} rows`);
    weights = Float32Array.from(m as ArrayLike<number>);
    const bad = weights.findIndex((w) => !(w >= 0 && w < Infinity));
    if (bad >= 0) fail("E_VALUE", `${where}: mask[${bad}] is ${show(m[bad])}, weights must be finite and >= 0`);
  }
  let total = 0;
  for (let r = 0; r < rows; r++) if (t[r] !== ignoreIndex) total += weights ? weights[r] : 1;
  return { targets: t, weights, total, reduction, ignoreIndex };
}

function checkReduction(where: string, r: unknown): Reduction {
  return oneOf(where, "reduction", r, ["mean", "sum"] as const, "mean");
}

// Runs the kernel on logits already in Wasm memory; targets and weights go through a scratch block.
function crossEntropyAt(logits: number, rows: number, classes: number, p: PreparedTargets, dlogits: number): number {
  const { kernels: k, heap } = runtime();
  const tBytes = align64(rows * 4);
  const scratch = heap.alloc(tBytes + (p.weights ? rows * 4 : 0));
  try {
    heap.i32(scratch, rows).set(p.targets);
    if (p.weights) heap.f32(scratch + tBytes, rows).set(p.weights);
    // "mean" over zero counted rows is 0/0 = NaN as in PyTorch; the gradient is then all zeros.
    const mean = p.reduction === "mean";
    const gradScale = mean ? (p.total > 0 ? 1 / p.total : 0) : 1;
    const sum = k.crossEntropyRows(logits, scratch, p.weights ? scratch + tBytes : 0, rows, classes, p.ignoreIndex, dlogits, gradScale);
    return mean ? sum / p.total : sum;
  } finally {
    heap.release(scratch);
  }
}

/**
 * Softmax cross-entropy (torch.nn.functional.cross_entropy) of logits [N, C] against integer
 * class targets (length N). Returns the loss and d loss / d logits. A target outside [0, C) that
 * is not `ignoreIndex` is RecurError E_VALUE naming the row, raised before any work.
 */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>, options: CrossEntropyOptions = {}): LossResult {
  objectArgument("crossEntropy", options);
  const where = "crossEntropy";
  checkTensor(logits, `${where}: logits`);
  if (logits.shape.length !== 2) fail("E_SHAPE", `${where}: logits must be [N, C], got [${logits.shape.join(", ")}]`);
  const [rows, classes] = logits.shape;
  if (classes < 1) fail("E_SHAPE", `${where}: logits need at least one class, got [${logits.shape.join(", ")}]`);
  const p = prepareTargets(where, targets, rows, classes, options);
  const n = rows * classes;
  const grad = new Float32Array(n);
  const { heap } = runtime();
  const block = heap.alloc(n * 4);
  try {
    heap.f32(block, n).set(logits.data);
    const loss = crossEntropyAt(block, rows, classes, p, block); // gradient overwrites the logits copy
    grad.set(heap.f32(block, n));
    return { loss, grad: { shape: [rows, classes], data: grad } };
  } finally {
    heap.release(block);
  }
}

/**
 * Pointer-level cross-entropy for logits already in Wasm memory (e.g. written by
 * Linear.forwardPtr): `logits` is the byte address of [rows, classes] floats, `dlogits` of the
 * gradient (0 = loss only; it may equal `logits`). Returns the loss.
 */
export function crossEntropyPtr(logits: number, rows: number, classes: number, targets: ArrayLike<number>, dlogits: number, options: CrossEntropyOptions = {}): number {
  const where = "crossEntropyPtr";
  const rt = runtime();
  if (!Number.isInteger(rows) || rows < 0) fail("E_VALUE", `${where}: rows must be an integer >= 0, got ${show(rows)}`);
  if (!Number.isInteger(classes) || classes < 1) fail("E_VALUE", `${where}: classes must be an integer >= 1, got ${show(classes)}`);
  const bytes = rows * classes * 4;
  checkPtr(rt, where, "logits", logits, bytes);
  if (dlogits !== 0) checkPtr(rt, where, "dlogits", dlogits, bytes);
  const p = prepareTargets(where, targets, rows, classes, options);
  return crossEntropyAt(logits, rows, classes, p, dlogits);
}

/** Mean (or summed) squared error between two tensors of the same shape, with d loss / d input. */
export function mse(input: Tensor, target: Tensor, options: MSEOptions = {}): LossResult {
  objectArgument("mse", options);
  const where = "mse";
  checkTensor(input, `${where}: input`);
  checkTensor(target, `${where}: target`);
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    fail("E_SHAPE", `${where}: input [${input.shape.join(", ")}] and target [${target.shape.join(", ")}] differ in shape`);
  }
  const reduction = checkReduction(where, options?.reduction);
  const n = input.data.length;
  const { kernels: k, heap } = runtime();
  const block = heap.alloc(2 * align64(n * 4));
  try {
    const tPtr = block + align64(n * 4);
    heap.f32(block, n).set(input.data);
    heap.f32(tPtr, n).set(target.data);
    const sum = k.mseLoss(block, tPtr, n, block, reduction === "mean" ? 1 / n : 1);
    const grad = heap.f32(block, n).slice();
    return { loss: reduction === "mean" ? sum / n : sum, grad: { shape: [...input.shape], data: grad } };
  } finally {
    heap.release(block);
  }
}

/**
 * Pointer-level squared error over `n` floats at byte addresses `input` and `target`; writes
 * d loss / d input to `dinput` (0 = loss only; may equal `input`). Returns the loss.
 */
export function msePtr(input: number, target: number, n: number, dinput: number, options: MSEOptions = {}): number {
  const where = "msePtr";
  const rt = runtime();
  if (!Number.isInteger(n) || n < 0) fail("E_VALUE", `${where}: n must be an integer >= 0, got ${show(n)}`);
  checkPtr(rt, where, "input", input, n * 4);
  checkPtr(rt, where, "target", target, n * 4);
  if (dinput !== 0) checkPtr(rt, where, "dinput", dinput, n * 4);
  const reduction = checkReduction(where, options?.reduction);
  const sum = rt.kernels.mseLoss(input, target, n, dinput, reduction === "mean" ? 1 / n : 1);
  return reduction === "mean" ? sum / n : sum;
}

/**
 * Returns `loss` when it is finite; otherwise throws RecurError E_NUMERIC naming `what` (e.g.
 * "step 12 loss"), so a training loop stops at the first NaN/inf instead of corrupting its weights.
 */
export function assertFiniteLoss(loss: number, what = "loss"): number {
  if (typeof loss !== "number" || !Number.isFinite(loss)) fail("E_NUMERIC", `${what} is ${show(loss)} (not finite): the model diverged or the inputs hold NaN/inf`);
  return loss;
}
