/**
 * The optimizers, with the update rules, defaults and state of PyTorch 1.13 (`torch.optim`, the
 * single-tensor code path); the machinery they share is Optimizer (optimizer.ts).
 */
import { fail } from "../errors.js";
import { align64 } from "../memory.js";
import { boolean, exactKeys, number, show } from "../validate.js";
import type { ParameterRegion, Trainable } from "./module.js";
import { Optimizer, type HyperParameters } from "./optimizer.js";

export { Optimizer, type HyperParameters, type HyperValue, type OptimizerStateDict, type OptimizerType } from "./optimizer.js";

function checkBetas(where: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) fail("E_VALUE", `${where}: betas must be a pair [beta1, beta2], got ${show(v)}`);
  const [b1, b2] = v as unknown[];
  for (const [i, b] of [b1, b2].entries()) {
    if (typeof b !== "number" || !(b >= 0 && b < 1)) fail("E_VALUE", `${where}: betas[${i}] must be in [0, 1), got ${show(b)}`);
  }
  return [b1 as number, b2 as number];
}

const sign = (maximize: boolean): number => (maximize ? -1 : 1);

// ---------------------------------------------------------------------------------------------

/** Options of `SGD` (torch.optim.SGD's, in camelCase). */
export interface SGDOptions {
  /** Learning rate. Required (as in PyTorch 1.13). */
  lr: number;
  /** Momentum factor; 0 disables the momentum buffer. Default 0. */
  momentum?: number;
  /** Dampening of the momentum: buf = momentum buf + (1 - dampening) g. Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient (g + weightDecay p). Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening = 0). Default false. */
  nesterov?: boolean;
  /** Maximises the objective instead of minimising it. Default false. */
  maximize?: boolean;
}

interface SGDHyper extends HyperParameters {
  momentum: number;
  dampening: number;
  weight_decay: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent (torch.optim.SGD): d = g + wd p; with momentum, buf = d at the
 * first step and momentum buf + (1 - dampening) d after; d = d + momentum buf (nesterov) or buf;
 * p -= lr d.
 */
export class SGD extends Optimizer<SGDHyper> {
  readonly type = "SGD";

  constructor(modules: Trainable | Trainable[], options: SGDOptions) {
    super(modules, "SGD");
    if (typeof options !== "object" || options === null) fail("E_TYPE", "SGD: options must be an object with at least lr");
    if (options.lr === undefined) fail("E_VALUE", "SGD: lr is required");
    this.init(
      this.parse(
        {
          lr: options.lr,
          momentum: options.momentum ?? 0,
          dampening: options.dampening ?? 0,
          weight_decay: options.weightDecay ?? 0,
          nesterov: options.nesterov ?? false,
          maximize: options.maximize ?? false,
        },
        "SGD",
      ),
    );
  }

  protected parse(rec: Record<string, unknown>, where: string): SGDHyper {
    exactKeys(where, rec, ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"], "hyper-parameters");
    const h: SGDHyper = {
      lr: number(where, "lr", rec.lr, { min: 0 }),
      momentum: number(where, "momentum", rec.momentum, { min: 0 }),
      dampening: number(where, "dampening", rec.dampening),
      weight_decay: number(where, "weight_decay", rec.weight_decay, { min: 0 }),
      nesterov: boolean(where, "nesterov", rec.nesterov),
      maximize: boolean(where, "maximize", rec.maximize),
    };
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      fail("E_VALUE", `${where}: nesterov needs momentum > 0 and dampening = 0, got momentum ${h.momentum}, dampening ${h.dampening}`);
    }
    return h;
  }

  protected bufferNames(h: SGDHyper): string[] {
    return h.momentum !== 0 ? ["momentum_buffer"] : [];
  }

  protected update(r: ParameterRegion, bufs: number[], t: number): void {
    const h = this.h;
    this.rt.kernels.sgdStep(r.params, r.grads, bufs[0] ?? 0, r.floats, h.lr, h.weight_decay, h.momentum, 1 - h.dampening, h.nesterov ? 1 : 0, t === 1 ? 1 : 0, sign(h.maximize));
  }
}

// ---------------------------------------------------------------------------------------------

/** Options of `RMSprop` (torch.optim.RMSprop's, in camelCase). */
export interface RMSpropOptions {
  /** Learning rate. Default 1e-2. */
  lr?: number;
  /** Smoothing constant of the squared-gradient average. Default 0.99. */
  alpha?: number;
  /** Added to the root of the average (outside the square root). Default 1e-8. */
  eps?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Momentum factor; 0 disables the momentum buffer. Default 0. */
  momentum?: number;
  /** Normalises by the estimated variance (average of g^2 minus squared average of g). Default false. */
  centered?: boolean;
  /** Maximises the objective instead of minimising it. Default false. */
  maximize?: boolean;
}

interface RMSpropHyper extends HyperParameters {
  alpha: number;
  eps: number;
  weight_decay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

/**
 * RMSprop (torch.optim.RMSprop): v = alpha v + (1 - alpha) g^2; avg = sqrt(v - gavg^2) + eps when
 * centered, sqrt(v) + eps otherwise; p -= lr g / avg, or through a momentum buffer
 * buf = momentum buf + g / avg, p -= lr buf.
 */
export class RMSprop extends Optimizer<RMSpropHyper> {
  readonly type = "RMSprop";

  constructor(modules: Trainable | Trainable[], options: RMSpropOptions = {}) {
    super(modules, "RMSprop");
    if (typeof options !== "object" || options === null) fail("E_TYPE", "RMSprop: options must be an object");
    this.init(
      this.parse(
        {
          lr: options.lr ?? 1e-2,
          alpha: options.alpha ?? 0.99,
          eps: options.eps ?? 1e-8,
          weight_decay: options.weightDecay ?? 0,
          momentum: options.momentum ?? 0,
          centered: options.centered ?? false,
          maximize: options.maximize ?? false,
        },
        "RMSprop",
      ),
    );
  }

  protected parse(rec: Record<string, unknown>, where: string): RMSpropHyper {
    exactKeys(where, rec, ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"], "hyper-parameters");
    return {
      lr: number(where, "lr", rec.lr, { min: 0 }),
      alpha: number(where, "alpha", rec.alpha, { min: 0 }),
      eps: number(where, "eps", rec.eps, { min: 0 }),
      weight_decay: number(where, "weight_decay", rec.weight_decay, { min: 0 }),
      momentum: number(where, "momentum", rec.momentum, { min: 0 }),
      centered: boolean(where, "centered", rec.centered),
      maximize: boolean(where, "maximize", rec.maximize),
    };
  }

  protected bufferNames(h: RMSpropHyper): string[] {
    const names = ["square_avg"];
    if (h.momentum > 0) names.push("momentum_buffer");
    if (h.centered) names.push("grad_avg");
    return names;
  }

  protected update(r: ParameterRegion, bufs: number[], _t: number): void {
    const h = this.h;
    const names = this.bufferNames(h);
    const at = (n: string): number => (names.includes(n) ? bufs[names.indexOf(n)] : 0);
    this.rt.kernels.rmspropStep(r.params, r.grads, at("square_avg"), at("grad_avg"), at("momentum_buffer"), r.floats, h.lr, h.alpha, 1 - h.alpha, h.eps, h.weight_decay, h.momentum, sign(h.maximize));
  }
}

// ---------------------------------------------------------------------------------------------

/** Options of `Adagrad` (torch.optim.Adagrad's, in camelCase). */
export interface AdagradOptions {
  /** Learning rate. Default 1e-2. */
  lr?: number;
  /** Learning-rate decay: step t uses lr / (1 + (t - 1) lrDecay). Default 0. */
  lrDecay?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Starting value of the sum of squared gradients. Default 0. */
  initialAccumulatorValue?: number;
  /** Added to the root of the sum. Default 1e-10. */
  eps?: number;
  /** Maximises the objective instead of minimising it. Default false. */
  maximize?: boolean;
}

interface AdagradHyper extends HyperParameters {
  lr_decay: number;
  weight_decay: number;
  initial_accumulator_value: number;
  eps: number;
  maximize: boolean;
}

/** Adagrad (torch.optim.Adagrad): s = s + g^2; p -= lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps). */
export class Adagrad extends Optimizer<AdagradHyper> {
  readonly type = "Adagrad";

  constructor(modules: Trainable | Trainable[], options: AdagradOptions = {}) {
    super(modules, "Adagrad");
    if (typeof options !== "object" || options === null) fail("E_TYPE", "Adagrad: options must be an object");
    this.init(
      this.parse(
        {
          lr: options.lr ?? 1e-2,
          lr_decay: options.lrDecay ?? 0,
          weight_decay: options.weightDecay ?? 0,
          initial_accumulator_value: options.initialAccumulatorValue ?? 0,
          eps: options.eps ?? 1e-10,
          maximize: options.maximize ?? false,
        },
        "Adagrad",
      ),
    );
  }

  protected parse(rec: Record<string, unknown>, where: string): AdagradHyper {
    exactKeys(where, rec, ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"], "hyper-parameters");
    return {
      lr: number(where, "lr", rec.lr, { min: 0 }),
      lr_decay: number(where, "lr_decay", rec.lr_decay, { min: 0 }),
      weight_decay: number(where, "weight_decay", rec.weight_decay, { min: 0 }),
      initial_accumulator_value: number(where, "initial_accumulator_value", rec.initial_accumulator_value, { min: 0 }),
      eps: number(where, "eps", rec.eps, { min: 0 }),
      maximize: boolean(where, "maximize", rec.maximize),
    };
  }

  protected bufferNames(): string[] {
    return ["sum"];
  }

  protected override initialValue(): number {
    return this.h.initial_accumulator_value;
  }

  protected update(r: ParameterRegion, bufs: number[], t: number): void {
    const h = this.h;
    const clr = h.lr / (1 + (t - 1) * h.lr_decay);
    this.rt.kernels.adagradStep(r.params, r.grads, bufs[0], r.floats, clr, h.eps, h.weight_decay, sign(h.maximize));
  }
}

// ---------------------------------------------------------------------------------------------

/** Options of `Adam` and `AdamW` (torch.optim's, in camelCase). */
export interface AdamOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the bias-corrected root of the second moment. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay p *= 1 - lr wd (default 1e-2). */
  weightDecay?: number;
  /** Uses the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad?: boolean;
  /** Maximises the objective instead of minimising it. Default false. */
  maximize?: boolean;
}

interface AdamHyper extends HyperParameters {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected constructor(modules: Trainable | Trainable[], options: AdamOptions, where: string, defaultDecay: number) {
    super(modules, where);
    if (typeof options !== "object" || options === null) fail("E_TYPE", `${where}: options must be an object`);
    this.init(
      this.parse(
        {
          lr: options.lr ?? 1e-3,
          betas: options.betas ?? [0.9, 0.999],
          eps: options.eps ?? 1e-8,
          weight_decay: options.weightDecay ?? defaultDecay,
          amsgrad: options.amsgrad ?? false,
          maximize: options.maximize ?? false,
        },
        where,
      ),
    );
  }

  protected parse(rec: Record<string, unknown>, where: string): AdamHyper {
    exactKeys(where, rec, ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"], "hyper-parameters");
    return {
      lr: number(where, "lr", rec.lr, { min: 0 }),
      betas: checkBetas(where, rec.betas),
      eps: number(where, "eps", rec.eps, { min: 0 }),
      weight_decay: number(where, "weight_decay", rec.weight_decay, { min: 0 }),
      amsgrad: boolean(where, "amsgrad", rec.amsgrad),
      maximize: boolean(where, "maximize", rec.maximize),
    };
  }

  protected bufferNames(h: AdamHyper): string[] {
    return h.amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];
  }

  protected override readonly selfChecks = true;

  protected run(r: ParameterRegion, bufs: number[], t: number, l2: number, decay: number, backup: number): boolean {
    const h = this.h;
    const [b1, b2] = h.betas;
    // Bias corrections in float64 as PyTorch computes them in Python.
    const stepSize = h.lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    return 0 === this.rt.kernels.adamStep(r.params, r.grads, bufs[0], bufs[1], bufs[2] ?? 0, r.floats, stepSize, b1, 1 - b1, b2, 1 - b2, bc2Sqrt, h.eps, l2, decay, sign(h.maximize), backup, align64(r.floats * 4));
  }
}

/**
 * Adam (torch.optim.Adam): d = g + wd p; m = b1 m + (1 - b1) d; v = b2 v + (1 - b2) d^2
 * (amsgrad: vmax = max(vmax, v)); p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
export class Adam extends AdamBase {
  readonly type = "Adam";

  constructor(modules: Trainable | Trainable[], options: AdamOptions = {}) {
    super(modules, options, "Adam", 0);
  }

  protected update(r: ParameterRegion, bufs: number[], t: number, backup: number): boolean {
    return this.run(r, bufs, t, this.h.weight_decay, 1, backup);
  }
}

/** AdamW (torch.optim.AdamW): p *= 1 - lr wd, then Adam's update without the L2 term. */
export class AdamW extends AdamBase {
  readonly type = "AdamW";

  constructor(modules: Trainable | Trainable[], options: AdamOptions = {}) {
    super(modules, options, "AdamW", 1e-2);
  }

  protected update(r: ParameterRegion, bufs: number[], t: number, backup: number): boolean {
    return this.run(r, bufs, t, 0, 1 - this.h.lr * this.h.weight_decay, backup);
  }
}
