/**
 * Hessian-free optimisation (Martens, ICML 2010; Martens and Sutskever, ICML 2011): each update
 * minimises the damped Gauss-Newton model q(p) = gᵀp + ½ pᵀ(G + λI)p of the loss with
 * preconditioned conjugate gradient, G v computed exactly (gaussNewtonProduct).
 *
 *   1. g on the batch, one sequence at a time: the per-example gradients g_i, weighted by their
 *      share of the loss's terms, sum to g and their squares give the diagonal preconditioner
 *      M = (diag(Σ_i g_i²) + λ)^ξ (Martens 2010; `preconditionerGroups` < B takes groups of
 *      sequences instead, cheaper and coarser);
 *   2. CG from the previous solution times `decay`, on a curvature mini-batch (a slice of the
 *      batch, smaller than it), stopped by Martens' relative-progress test; iterates kept at
 *      i = ⌈γ^j⌉ for backtracking;
 *   3. CG-iterate backtracking: from the last kept iterate back while the loss on the batch falls;
 *   4. Levenberg-Marquardt: λ ×3/2 when ρ = (f(θ+p) − f(θ)) / q(p) < 1/4, ×2/3 when ρ > 3/4;
 *   5. a backtracking line search (Armijo, c = 0.01, α ×0.8) on the chosen step.
 * Structural damping adds μλ J_hᵀJ_h (the last layer's hidden states) to the damped curvature.
 * Negative curvature or a NaN in CG throws E_NUMERIC with the parameters unchanged.
 */
import { fail, RecurError } from "../errors.js";
import { untrainable } from "../models/cell.js";
import { runtime } from "../runtime.js";
import { sliceBatch } from "./batch-slice.js";
import { conjugateGradient } from "./cg.js";
import { gaussNewtonProduct } from "./gauss-newton.js";
import type { BatchOptimizer } from "./fit.js";
import { SequenceModel, type SequenceBatch } from "./sequence-model.js";

/** Options of `HessianFree`; defaults follow Martens (2010). */
export interface HessianFreeOptions {
  /** Initial Levenberg-Marquardt damping λ. Default 1. */
  damping?: number;
  /** CG iterations per update, at most. Default 250. */
  maxCgIterations?: number;
  /** CG's relative-progress tolerance ε (stop when (φ_i − φ_{i−k})/φ_i < kε, k = max(10, i/10)). Default 5e-4. */
  cgTolerance?: number;
  /** The previous update's CG solution, times this, starts the next CG. Default 0.95. */
  decay?: number;
  /** Iterates kept for backtracking: i = ⌈γ^j⌉. Default 1.3. */
  backtrackGamma?: number;
  /** The diagonal preconditioner. Default true. */
  preconditioner?: boolean;
  /** Its exponent ξ. Default 0.75. */
  preconditionerExponent?: number;
  /**
   * Groups of sequences whose gradients give the preconditioner's diagonal. Default B: one per
   * sequence, Martens' per-example diag(Σ_i g_i²). Fewer groups cost less (one backward each).
   */
  preconditionerGroups?: number;
  /** Structural damping μ (Martens and Sutskever 2011): 0 turns it off. Default 0. */
  structuralDamping?: number;
  /** Sequences of the curvature mini-batch, a slice of the batch that moves on every update. Default ⌈B/4⌉. */
  curvatureBatchSize?: number;
  /** A line search on the final step. Default true. */
  lineSearch?: boolean;
}

/** What an update did. */
export interface HessianFreeStep {
  /** The batch's loss before the update. */
  loss: number;
  /** The batch's loss after it. */
  newLoss: number;
  /** CG iterations run. */
  cgIterations: number;
  /** The CG iterate taken (after backtracking). */
  chosenIteration: number;
  /** Reduction ratio ρ: actual / predicted loss change. */
  rho: number;
  /** λ after the update. */
  damping: number;
  /** The line search's step size (0: no step). */
  stepSize: number;
  /** Forward+backward passes of the update, in whole batches (gradients, G v products, losses). */
  gradientEvaluations: number;
}

/** Hessian-free optimisation of a SequenceModel; `update(batch)` or `fit(model, { optimizer: hf, ... })`. */
export class HessianFree implements BatchOptimizer {
  /** The options, every default filled in but the batch-dependent ones. */
  readonly options: Readonly<Required<Omit<HessianFreeOptions, "preconditionerGroups" | "curvatureBatchSize">> & Pick<HessianFreeOptions, "preconditionerGroups" | "curvatureBatchSize">>;
  /** The current damping λ. */
  damping: number;
  /** The last update's report. */
  last: HessianFreeStep | undefined;
  private previous: Float32Array | undefined;
  private curvatureStart = 0;

  constructor(
    /** The model it updates. */
    readonly model: SequenceModel,
    options: HessianFreeOptions = {},
  ) {
    if (!(model instanceof SequenceModel)) fail("E_UNSUPPORTED", "HessianFree: the model must be a SequenceModel (a recurrent model with a softmax cross-entropy or MSE head)");
    const why = untrainable(model.rnn.config.cell);
    if (why !== undefined) fail("E_UNSUPPORTED", `HessianFree: the ${model.rnn.config.mode} cannot be trained: ${why}`);
    const o = {
      damping: options.damping ?? 1,
      maxCgIterations: options.maxCgIterations ?? 250,
      cgTolerance: options.cgTolerance ?? 5e-4,
      decay: options.decay ?? 0.95,
      backtrackGamma: options.backtrackGamma ?? 1.3,
      preconditioner: options.preconditioner ?? true,
      preconditionerExponent: options.preconditionerExponent ?? 0.75,
      preconditionerGroups: options.preconditionerGroups,
      structuralDamping: options.structuralDamping ?? 0,
      curvatureBatchSize: options.curvatureBatchSize,
      lineSearch: options.lineSearch ?? true,
    };
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "number" && !(Number.isFinite(v) && v >= 0)) fail("E_VALUE", `HessianFree: ${k} must be a finite number >= 0, got ${v}`);
    }
    if (!(o.damping > 0)) fail("E_VALUE", `HessianFree: damping must be > 0, got ${o.damping}`);
    if (!Number.isInteger(o.maxCgIterations) || o.maxCgIterations < 1) fail("E_VALUE", `HessianFree: maxCgIterations must be an integer >= 1, got ${o.maxCgIterations}`);
    if (!(o.backtrackGamma > 1)) fail("E_VALUE", `HessianFree: backtrackGamma must be > 1, got ${o.backtrackGamma}`);
    this.options = Object.freeze(o);
    this.damping = o.damping;
  }

  /** The parameters, flat over the model's parameter regions. */
  private read(kind: "params" | "grads"): Float32Array {
    const { heap } = runtime();
    const regions = this.model.parameterRegions();
    const out = new Float32Array(regions.reduce((s, r) => s + r.floats, 0));
    let at = 0;
    for (const r of regions) {
      out.set(heap.f32(r[kind], r.floats), at);
      at += r.floats;
    }
    return out;
  }

  private write(theta: Float32Array): void {
    const { heap } = runtime();
    let at = 0;
    for (const r of this.model.parameterRegions()) {
      heap.f32(r.params, r.floats).set(theta.subarray(at, at + r.floats));
      at += r.floats;
    }
    this.model.parametersChanged();
  }

  /** One update on `batch`; curvature on `curvatureBatch` (default: a slice of `batch`). */
  update(batch: SequenceBatch, curvatureBatch?: SequenceBatch): HessianFreeStep {
    const model = this.model, o = this.options;
    const B = batch.input.shape[1];
    const outputs = model.options.outputs;
    let evaluations = 0;
    // 1. The gradient and the preconditioner's diagonal, by sequences (or groups of them), each
    //    weighted by its share of the loss's terms (the loss is their mean over the batch).
    const groups = o.preconditioner ? Math.max(1, Math.min(B, o.preconditionerGroups ?? B)) : 1;
    const theta = this.read("params");
    const g = new Float32Array(theta.length);
    const diag = new Float32Array(theta.length);
    let loss = 0;
    const slices = Array.from({ length: groups }, (_, k) => {
      const b0 = Math.floor((k * B) / groups), b1 = Math.floor(((k + 1) * B) / groups);
      return groups === 1 ? batch : sliceBatch(batch, b0, b1, outputs);
    });
    const terms = groups === 1 ? [1] : slices.map((s) => lossTerms(model, s));
    const total = terms.reduce((a, n) => a + n, 0);
    for (let k = 0; k < groups; k++) {
      const w = total > 0 ? terms[k] / total : 0;
      if (w === 0) continue; // no loss terms: no gradient
      model.zeroGrad();
      loss += w * model.lossAndGrad(slices[k]).loss;
      const gk = this.read("grads");
      for (let i = 0; i < g.length; i++) {
        g[i] += w * gk[i];
        diag[i] += (w * gk[i]) ** 2;
      }
    }
    evaluations += 1;
    if (!Number.isFinite(loss)) throw new RecurError("E_NUMERIC", `HessianFree: the loss is ${loss}; parameters were not updated`);
    const lambda = this.damping;
    const precond = new Float32Array(theta.length);
    for (let i = 0; i < precond.length; i++) precond[i] = o.preconditioner ? (diag[i] + lambda) ** o.preconditionerExponent : 1;
    // 2. CG on the curvature mini-batch.
    let curvature = curvatureBatch;
    let cFraction = 1;
    if (!curvature) {
      const size = Math.max(1, Math.min(B, o.curvatureBatchSize ?? Math.ceil(B / 4)));
      const b0 = this.curvatureStart % B;
      const b1 = Math.min(B, b0 + size);
      curvature = b0 === 0 && b1 === B ? batch : sliceBatch(batch, b0, b1, outputs);
      this.curvatureStart = b1 % B;
      cFraction = (b1 - b0) / B;
    }
    const Gv = new Float32Array(theta.length);
    const mu = o.structuralDamping * lambda;
    const apply = (v: Float32Array, out: Float32Array): void => {
      gaussNewtonProduct(model, curvature!, v, { out: Gv, hiddenDamping: mu });
      evaluations += cFraction;
      for (let i = 0; i < out.length; i++) out[i] = Gv[i] + lambda * v[i];
    };
    const x0 = this.previous && this.previous.length === g.length ? this.previous.map((w) => o.decay * w) : undefined;
    const cg = conjugateGradient(apply, g, { precond, x0, maxIterations: o.maxCgIterations, tolerance: o.cgTolerance, keepGamma: o.backtrackGamma });
    // 3. Backtracking over the kept iterates, on the batch's loss.
    const lossAt = (p: Float32Array, alpha = 1): number => {
      const t = theta.map((w, i) => w + alpha * p[i]);
      this.write(t);
      evaluations += 1;
      return model.loss(batch);
    };
    let best = cg.kept.length - 1;
    let bestLoss = lossAt(cg.kept[best].x);
    while (best > 0) {
      const l = lossAt(cg.kept[best - 1].x);
      if (!(l < bestLoss)) break;
      best--;
      bestLoss = l;
    }
    const chosen = cg.kept[best];
    // 4. Levenberg-Marquardt.
    const rho = Number.isFinite(bestLoss) && chosen.phi < 0 ? (bestLoss - loss) / chosen.phi : -Infinity;
    if (rho < 0.25) this.damping *= 1.5;
    else if (rho > 0.75) this.damping *= 2 / 3;
    // 5. Line search (Armijo) on the chosen step.
    let slope = 0;
    for (let i = 0; i < g.length; i++) slope += g[i] * chosen.x[i];
    let alpha = 1;
    let newLoss = bestLoss;
    if (o.lineSearch) {
      while (!(newLoss <= loss + 0.01 * alpha * slope) && alpha > 1e-6) {
        alpha *= 0.8;
        newLoss = lossAt(chosen.x, alpha);
      }
    }
    if (!(newLoss <= loss) || !Number.isFinite(newLoss)) {
      alpha = 0;
      newLoss = loss;
      this.write(theta);
    } else {
      this.write(theta.map((w, i) => w + alpha * chosen.x[i]));
    }
    this.previous = cg.x;
    this.last = { loss, newLoss, cgIterations: cg.iterations, chosenIteration: chosen.i, rho, damping: this.damping, stepSize: alpha, gradientEvaluations: evaluations };
    return this.last;
  }
}

// The terms a batch's loss averages over: targets counted by cross-entropy (not ignored, within
// the lengths), or the entries MSE counts.
function lossTerms(model: SequenceModel, batch: SequenceBatch): number {
  const t = model.curvatureParts(batch).targets;
  if (t instanceof Int32Array) return t.reduce((n, id) => n + (id !== -100 ? 1 : 0), 0);
  if (t instanceof Float32Array) return t.length;
  return t.mask.reduce((n: number, m: number) => n + (m ? 1 : 0), 0);
}
