/**
 * Learning-rate schedules with PyTorch 1.13 semantics (torch.optim.lr_scheduler). Construction
 * performs PyTorch's initial step (epoch 0, learning rate unchanged); call `step()` once per epoch
 * after `optimizer.step()`. Like PyTorch's `step()` without an epoch argument, the chainable forms
 * are used (the new rate derives from the optimizer's current one), so several schedulers on one
 * optimizer compose as in PyTorch and the values match PyTorch to the last bit of float64
 * arithmetic (up to Math.cos).
 */
import { fail } from "../errors.js";
import type { Optimizer } from "./optimizers.js";
import { integer, number, objectArgument, show } from "../validate.js";

/** A scheduler's state, to resume a schedule with `loadStateDict`. */
export interface SchedulerStateDict {
  /** The scheduler's class name. */
  type: string;
  /** Epochs stepped so far (PyTorch last_epoch; 0 right after construction). */
  lastEpoch: number;
  /** PyTorch _step_count: step() calls including the one made at construction. */
  stepCount: number;
  /** The learning rate the schedule started from (PyTorch base_lrs[0]). */
  baseLr: number;
  /** The rate set by the last step (PyTorch get_last_lr()[0]). */
  lastLr: number;
  /** The scheduler's own settings (stepSize, gamma, tMax, etaMin), for checking on load. */
  settings: Record<string, number>;
}

/** The base of every schedule; subclasses give the chainable rule. */
export abstract class LRScheduler {
  /** The scheduler's class name. */
  abstract readonly type: string;
  /** The optimizer whose learning rate it sets. */
  readonly optimizer: Optimizer;
  /** The learning rate the schedule started from (the optimizer's initialLr). */
  baseLr: number;
  /** Epochs stepped so far; 0 right after construction. */
  lastEpoch = -1;
  protected stepCount = 0;
  private lastLr: number;

  protected constructor(optimizer: Optimizer) {
    if (typeof optimizer !== "object" || optimizer === null || typeof optimizer.lr !== "number") {
      fail("E_TYPE", "LRScheduler: optimizer must be an optimizer (SGD, Adam, ...)");
    }
    this.optimizer = optimizer;
    // PyTorch: group.setdefault('initial_lr', group['lr']): the first scheduler fixes the base.
    if (optimizer.initialLr === undefined) optimizer.initialLr = optimizer.lr;
    this.baseLr = optimizer.initialLr;
    this.lastLr = optimizer.lr;
  }

  /** Advances one epoch and sets the optimizer's learning rate. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lr = this.computeLr();
    if (!Number.isFinite(lr) || lr < 0) fail("E_VALUE", `${this.type}: the schedule produced learning rate ${lr} at epoch ${this.lastEpoch}`);
    this.optimizer.lr = lr;
    this.lastLr = lr;
  }

  /** The learning rate set by the last step (PyTorch get_last_lr()). */
  getLastLr(): number {
    return this.lastLr;
  }

  /** The epoch count and the last learning rate: `loadStateDict` resumes the schedule. */
  stateDict(): SchedulerStateDict {
    return { type: this.type, lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLr: this.baseLr, lastLr: this.lastLr, settings: this.settings() };
  }

  /**
   * Resumes a schedule saved by stateDict() (the optimizer's own lr comes from its state dict).
   * The type and settings must match this scheduler's.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.type}.loadStateDict`;
    if (typeof sd !== "object" || sd === null) fail("E_TYPE", `${where}: expected a state dict object`);
    if (sd.type !== this.type) fail("E_VALUE", `${where}: the state is of a ${typeof sd.type === "string" ? sd.type : show(sd.type)}, this is ${this.type}`);
    integer(where, "lastEpoch", sd.lastEpoch, { min: 0 });
    integer(where, "stepCount", sd.stepCount, { min: 1 });
    number(where, "baseLr", sd.baseLr, { min: 0 });
    number(where, "lastLr", sd.lastLr, { min: 0 });
    const mine = this.settings();
    const theirs = sd.settings ?? {};
    const differ = Object.keys({ ...mine, ...theirs }).filter((k) => mine[k] !== theirs[k]);
    if (differ.length) fail("E_VALUE", `${where}: settings differ: ${differ.map((k) => `${k} ${show(theirs[k])} vs ${show(mine[k])}`).join(", ")}`);
    this.lastEpoch = sd.lastEpoch;
    this.stepCount = sd.stepCount;
    this.baseLr = sd.baseLr;
    this.lastLr = sd.lastLr;
  }

  /** The rate for `lastEpoch` (already advanced), in PyTorch's chainable form. */
  protected abstract computeLr(): number;

  protected settings(): Record<string, number> {
    return {};
  }
}

/** Multiplies the learning rate by `gamma` every `stepSize` epochs (torch StepLR). */
export class StepLR extends LRScheduler {
  readonly type = "StepLR";
  /** Epochs between decays. */
  readonly stepSize: number;
  /** Factor of each decay. */
  readonly gamma: number;

  /** `stepSize`: epochs between decays (integer >= 1). `gamma`: the factor, default 0.1. */
  constructor(optimizer: Optimizer, options: { stepSize: number; gamma?: number }) {
    super(optimizer);
    objectArgument("StepLR", options);
    integer("StepLR", "stepSize", options.stepSize, { min: 1 });
    this.stepSize = options.stepSize;
    this.gamma = number("StepLR", "gamma", options.gamma ?? 0.1, { min: 0 });
    this.step();
  }

  protected computeLr(): number {
    const lr = this.optimizer.lr;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lr;
    return lr * this.gamma;
  }

  protected override settings(): Record<string, number> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }
}

/** Multiplies the learning rate by `gamma` every epoch (torch ExponentialLR). */
export class ExponentialLR extends LRScheduler {
  readonly type = "ExponentialLR";
  /** Factor of each epoch. */
  readonly gamma: number;

  /** `gamma`: the factor per epoch. Required. */
  constructor(optimizer: Optimizer, options: { gamma: number }) {
    super(optimizer);
    objectArgument("ExponentialLR", options);
    this.gamma = number("ExponentialLR", "gamma", options.gamma, { min: 0 });
    this.step();
  }

  protected computeLr(): number {
    const lr = this.optimizer.lr;
    return this.lastEpoch === 0 ? lr : lr * this.gamma;
  }

  protected override settings(): Record<string, number> {
    return { gamma: this.gamma };
  }
}

/**
 * Cosine annealing from the base rate to `etaMin` over `tMax` epochs, then back up (torch
 * CosineAnnealingLR, SGDR without restarts), in PyTorch's recursive form.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly type = "CosineAnnealingLR";
  /** Epochs of a half cosine period. */
  readonly tMax: number;
  /** The lowest learning rate. */
  readonly etaMin: number;

  /** `tMax`: epochs of a half period (integer >= 1). `etaMin`: the lowest rate, default 0. */
  constructor(optimizer: Optimizer, options: { tMax: number; etaMin?: number }) {
    super(optimizer);
    objectArgument("CosineAnnealingLR", options);
    integer("CosineAnnealingLR", "tMax", options.tMax, { min: 1 });
    this.tMax = options.tMax;
    this.etaMin = number("CosineAnnealingLR", "etaMin", options.etaMin ?? 0, { min: 0 });
    this.step();
  }

  protected computeLr(): number {
    const { lastEpoch: e, tMax: T, etaMin, baseLr } = this;
    const lr = this.optimizer.lr;
    if (e === 0) return lr;
    if ((e - 1 - T) % (2 * T) === 0) return lr + ((baseLr - etaMin) * (1 - Math.cos(Math.PI / T))) / 2;
    return ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (lr - etaMin) + etaMin;
  }

  protected override settings(): Record<string, number> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }
}

/** lr = baseLr * lrLambda(epoch) (torch LambdaLR); the callback is not part of the state dict. */
export class LambdaLR extends LRScheduler {
  readonly type = "LambdaLR";
  private readonly lrLambda: (epoch: number) => number;

  constructor(optimizer: Optimizer, lrLambda: (epoch: number) => number) {
    super(optimizer);
    if (typeof lrLambda !== "function") fail("E_TYPE", "LambdaLR: lrLambda must be a function (epoch) => factor");
    this.lrLambda = lrLambda;
    this.step();
  }

  protected computeLr(): number {
    return this.baseLr * this.lrLambda(this.lastEpoch);
  }
}
