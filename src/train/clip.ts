/**
 * Gradient clipping over every parameter region of a set of modules, as torch.nn.utils.
 */
import { fail } from "../errors.js";
import { runtime } from "../runtime.js";
import type { Trainable } from "./module.js";
import { number, show, objectArgument } from "../validate.js";
import { collectRegions, toModules } from "./util.js";

/** Options of `clipGradNorm`. */
export interface ClipGradNormOptions {
  /** Throw RecurError E_NUMERIC (and leave the gradients alone) when the total norm is NaN or infinite. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * torch.nn.utils.clip_grad_norm_: the norm of order `normType` of all gradients together
 * (2: sqrt of the sum of squares, accumulated in float64; Infinity: the largest |g|; any other
 * p > 0: (sum |g|^p)^(1/p)); if coef = maxNorm / (total + 1e-6) is below 1 every gradient is
 * multiplied by coef. Returns the total norm from before clipping.
 *
 * As in PyTorch, a NaN norm gives a NaN coefficient that is applied (the gradients become NaN);
 * pass `errorIfNonfinite` to throw instead, or check the returned norm.
 */
export function clipGradNorm(modules: Trainable | Trainable[], maxNorm: number, normType = 2, options: ClipGradNormOptions = {}): number {
  objectArgument("clipGradNorm", options);
  const where = "clipGradNorm";
  const list = toModules(modules, where);
  number(where, "maxNorm", maxNorm, { min: 0, infinite: true });
  if (typeof normType !== "number" || !(normType > 0)) fail("E_VALUE", `${where}: normType must be a number > 0 or Infinity, got ${show(normType)}`);
  const { kernels: k, heap } = runtime();
  const regions = collectRegions(list, where);
  let total = 0;
  if (normType === Infinity) {
    for (const r of regions) total = Math.max(total, k.maxAbsF32(r.grads, r.floats));
    // Math.max already propagates NaN.
  } else if (normType === 2) {
    for (const r of regions) total += k.sumSquaresF64(r.grads, r.floats);
    total = Math.sqrt(total);
  } else {
    // Rare orders: a plain loop over the views keeps pow out of the Wasm binaries.
    for (const r of regions) for (const g of heap.f32(r.grads, r.floats)) total += Math.abs(g) ** normType;
    total = total ** (1 / normType);
  }
  if (options.errorIfNonfinite === true && !Number.isFinite(total)) {
    fail("E_NUMERIC", `${where}: the total norm of order ${normType} of the gradients is ${total}; refusing to clip (errorIfNonfinite)`);
  }
  const coef = maxNorm / (total + 1e-6);
  // !(coef >= 1) rather than coef < 1: torch clamps coef to at most 1 and multiplies, so NaN applies.
  if (!(coef >= 1)) for (const r of regions) k.scaleInPlace(r.grads, r.floats, coef);
  return total;
}

/** torch.nn.utils.clip_grad_value_: clamps every gradient to [-clipValue, clipValue] (NaN stays NaN). */
export function clipGradValue(modules: Trainable | Trainable[], clipValue: number): void {
  const where = "clipGradValue";
  const list = toModules(modules, where);
  number(where, "clipValue", clipValue, { min: 0, infinite: true });
  const { kernels: k } = runtime();
  for (const r of collectRegions(list, where)) k.clampInPlace(r.grads, r.floats, -clipValue, clipValue);
}

/**
 * True when every gradient of `modules` is finite (one float64 sum of squares per region; a
 * float32 squared can not overflow float64, so the sum is finite exactly when all values are).
 * Training loops use it to skip a step after a NaN/inf backward.
 */
export function gradientsFinite(modules: Trainable | Trainable[]): boolean {
  const list = toModules(modules, "gradientsFinite");
  const { kernels: k } = runtime();
  for (const r of collectRegions(list, "gradientsFinite")) {
    if (!Number.isFinite(k.sumSquaresF64(r.grads, r.floats))) return false;
  }
  return true;
}
