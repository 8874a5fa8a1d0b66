/**
 * Optimizers with the update rules, defaults and state of PyTorch 1.13 (`torch.optim`, the
 * single-tensor code path). Each keeps its state (momentum, moments, sums) in Wasm regions laid out
 * exactly like the parameter regions of its modules, so one kernel call updates a whole region.
 * All parameters form one group sharing the hyper-parameters; `lr` is settable for schedules.
 */
import { fail } from "../errors.js";
import { runtime, type Runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "./module.js";
import { align64, blockFinalizer, checkBool, checkNumber, collectRegions, OwnedBlocks, toModules } from "./util.js";

/** The optimizer classes by name. */
export type OptimizerType = "SGD" | "RMSprop" | "Adagrad" | "Adam" | "AdamW";

/** A hyper-parameter value: a number, a flag, or a pair (`betas`). */
export type HyperValue = number | boolean | number[];

/**
 * Everything needed to resume training exactly: load it into a fresh optimizer over the same
 * modules and the next `step()` is bit-identical to an uninterrupted run.
 */
export interface OptimizerStateDict {
  /** The optimizer's class. */
  type: OptimizerType;
  /** Completed steps (PyTorch's per-parameter `step`; here shared by all parameters). */
  step: number;
  /** Hyper-parameters under their PyTorch `param_groups` names (lr, betas, weight_decay, ...). */
  hyperParameters: Record<string, HyperValue>;
  /**
   * One entry per parameter region (modules in order, each module's regions in order), holding
   * the state buffers under their PyTorch names (momentum_buffer, exp_avg, ...) as flat tensors of
   * the region's float count.
   */
  state: Record<string, Tensor>[];
}

/** An optimizer's hyper-parameters under their PyTorch names: `lr` and the type's own. */
export interface HyperParameters {
  /** The learning rate. */
  lr: number;
  [key: string]: HyperValue;
}

/** The shared machinery; use SGD, RMSprop, Adagrad, Adam or AdamW. */
export abstract class Optimizer<H extends HyperParameters = HyperParameters> {
  /** The optimizer's class name. */
  abstract readonly type: OptimizerType;
  /**
   * The learning rate the first scheduler found (PyTorch's `initial_lr`); schedulers created
   * later on the same optimizer start from it too.
   */
  initialLr: number | undefined;
  protected readonly rt: Runtime;
  protected h!: H;
  private readonly modules: Trainable[];
  private readonly sizes: number[];
  private readonly owned: OwnedBlocks;
  private names: string[] = [];
  private steps = 0;
  private disposed = false;

  protected constructor(modules: Trainable | Trainable[], where: string) {
    this.rt = runtime();
    this.modules = toModules(modules, where);
    this.sizes = collectRegions(this.modules, where).map((r) => r.floats);
    this.owned = new OwnedBlocks(this.rt.heap);
    blockFinalizer.register(this, this.owned, this);
  }

  /** The current learning rate. Setting it (e.g. from a schedule) takes effect at the next step. */
  get lr(): number {
    return this.h.lr;
  }

  /** Sets the learning rate for the next steps (>= 0). */
  set lr(value: number) {
    this.h.lr = checkNumber(this.type, "lr", value, 0);
  }

  /** Completed steps. */
  get stepCount(): number {
    return this.steps;
  }

  /** A copy of the hyper-parameters under their PyTorch names. */
  get hyperParameters(): Record<string, HyperValue> {
    return copyHyper(this.h);
  }

  /** Updates every parameter region (one Wasm call each), then tells each module its parameters changed. */
  step(): void {
    this.checkAlive();
    const regions = this.currentRegions();
    const t = this.steps + 1;
    regions.forEach((r, i) => {
      if (r.floats === 0) return;
      const block = this.owned.get(`r${i}`);
      const stride = align64(r.floats * 4);
      const bufs = this.names.map((_, k) => block + k * stride);
      this.update(r, bufs, t);
    });
    this.steps = t;
    for (const m of this.modules) m.parametersChanged();
  }

  /** Zeroes the gradients of every module. */
  zeroGrad(): void {
    this.checkAlive();
    for (const m of this.modules) m.zeroGrad();
  }

  /** The step count, hyper-parameters and every state buffer: `loadStateDict` resumes exactly. */
  stateDict(): OptimizerStateDict {
    this.checkAlive();
    const heap = this.rt.heap;
    const state = this.sizes.map((floats, i) => {
      const block = this.owned.get(`r${i}`);
      const entry: Record<string, Tensor> = {};
      this.names.forEach((name, k) => {
        entry[name] = { shape: [floats], data: heap.f32(block + k * align64(floats * 4), floats).slice() };
      });
      return entry;
    });
    return { type: this.type, step: this.steps, hyperParameters: copyHyper(this.h), state };
  }

  /**
   * Restores step count, hyper-parameters and state (PyTorch's load_state_dict: the saved
   * hyper-parameters replace the current ones). Everything is checked first: a wrong type or step
   * is E_VALUE, missing/unexpected/misshaped keys or non-finite state are listed in one E_KEY, and
   * the optimizer is unchanged on failure.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    this.checkAlive();
    const where = `${this.type}.loadStateDict`;
    if (typeof sd !== "object" || sd === null) fail("E_TYPE", `${where}: expected a state dict object, got ${sd === null ? "null" : typeof sd}`);
    if (sd.type !== this.type) fail("E_VALUE", `${where}: the state is of a ${String(sd.type)} optimizer, this is ${this.type}`);
    if (typeof sd.step !== "number" || !Number.isInteger(sd.step) || sd.step < 0) fail("E_VALUE", `${where}: step must be an integer >= 0, got ${String(sd.step)}`);
    if (typeof sd.hyperParameters !== "object" || sd.hyperParameters === null) fail("E_TYPE", `${where}: hyperParameters must be an object`);
    const h = this.parse(sd.hyperParameters, where);
    const names = this.bufferNames(h);
    if (!Array.isArray(sd.state)) fail("E_TYPE", `${where}: state must be an array (one entry per parameter region)`);
    const problems: string[] = [];
    if (sd.state.length !== this.sizes.length) {
      problems.push(`state has ${sd.state.length} regions, the modules have ${this.sizes.length}`);
    } else {
      sd.state.forEach((entry, i) => {
        if (typeof entry !== "object" || entry === null) {
          problems.push(`state[${i}]: not an object`);
          return;
        }
        const missing = names.filter((n) => !(n in entry));
        const unexpected = Object.keys(entry).filter((k) => !names.includes(k));
        if (missing.length) problems.push(`state[${i}]: missing keys: ${missing.join(", ")}`);
        if (unexpected.length) problems.push(`state[${i}]: unexpected keys: ${unexpected.join(", ")}`);
        for (const n of names) {
          const t = entry[n] as Tensor | undefined;
          if (t === undefined) continue;
          if (typeof t !== "object" || t === null || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
            problems.push(`state[${i}].${n}: not a tensor { shape, data: Float32Array }`);
          } else if (t.shape.length !== 1 || t.shape[0] !== this.sizes[i] || t.data.length !== this.sizes[i]) {
            problems.push(`state[${i}].${n}: expected shape [${this.sizes[i]}], got [${t.shape.join(", ")}] with ${t.data.length} values`);
          } else {
            const bad = t.data.findIndex((v) => !Number.isFinite(v));
            if (bad >= 0) problems.push(`state[${i}].${n}: non-finite value ${t.data[bad]} at index ${bad}`);
          }
        }
      });
    }
    if (problems.length) fail("E_KEY", `${where}: ${problems.join("; ")}`);
    this.allocate(names, false);
    const heap = this.rt.heap;
    this.sizes.forEach((floats, i) => {
      const block = this.owned.get(`r${i}`);
      names.forEach((n, k) => heap.f32(block + k * align64(floats * 4), floats).set(sd.state[i][n].data));
    });
    this.h = h;
    this.steps = sd.step;
  }

  /** Returns the optimizer state's Wasm memory; using the optimizer afterwards throws. The modules are untouched. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    blockFinalizer.unregister(this);
    this.owned.releaseAll();
  }

  /** Whether `dispose` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- for subclasses ----

  /** Validates hyper-parameters given under PyTorch names (constructor options are converted first). */
  protected abstract parse(rec: Record<string, unknown>, where: string): H;
  /** State buffers for these hyper-parameters, in layout order. */
  protected abstract bufferNames(h: H): string[];
  /** One update of region `r`; `bufs` are the addresses of the buffers named by bufferNames. */
  protected abstract update(r: ParameterRegion, bufs: number[], t: number): void;
  /** The value a buffer starts from (PyTorch: zeros, Adagrad's sum: initial_accumulator_value). */
  protected initialValue(_name: string): number {
    return 0;
  }

  protected init(h: H): void {
    this.h = h;
    this.allocate(this.bufferNames(h), true);
  }

  // Makes the state blocks fit `names`; `fill` initialises them. A layout change allocates every
  // new block before releasing the old ones, so running out of memory leaves the state intact.
  private allocate(names: string[], fill: boolean): void {
    const same = names.length === this.names.length && names.every((n, k) => n === this.names[k]);
    if (!same) {
      const fresh = new OwnedBlocks(this.rt.heap);
      try {
        this.sizes.forEach((floats, i) => {
          if (names.length > 0 && floats > 0) fresh.ensure(`r${i}`, names.length * align64(floats * 4));
        });
      } catch (e) {
        fresh.releaseAll();
        throw e;
      }
      this.owned.releaseAll();
      this.sizes.forEach((_, i) => {
        const p = fresh.get(`r${i}`);
        if (p !== 0) this.owned.adopt(`r${i}`, p, names.length * align64(this.sizes[i] * 4));
      });
      this.names = names;
      fill = true;
    }
    if (!fill) return;
    const heap = this.rt.heap;
    this.sizes.forEach((floats, i) => {
      const block = this.owned.get(`r${i}`);
      if (block === 0) return;
      names.forEach((n, k) => heap.f32(block + k * align64(floats * 4), floats).fill(this.initialValue(n)));
    });
  }

  private currentRegions(): ParameterRegion[] {
    const regions = collectRegions(this.modules, `${this.type}.step`);
    if (regions.length !== this.sizes.length || regions.some((r, i) => r.floats !== this.sizes[i])) {
      fail("E_STATE", `${this.type}.step: the modules' parameter regions changed since the optimizer was built (${this.sizes.length} regions of [${this.sizes.join(", ")}] floats, now ${regions.length} of [${regions.map((r) => r.floats).join(", ")}])`);
    }
    return regions;
  }

  private checkAlive(): void {
    if (this.disposed) fail("E_STATE", `${this.type}: the optimizer was disposed`);
  }
}

function copyHyper(h: HyperParameters): Record<string, HyperValue> {
  const out: Record<string, HyperValue> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? [...v] : v;
  return out;
}

// Checks that `rec` has exactly `keys` (E_KEY lists the differences).
function checkKeys(rec: Record<string, unknown>, keys: string[], where: string): void {
  const missing = keys.filter((k) => rec[k] === undefined);
  const unexpected = Object.keys(rec).filter((k) => !keys.includes(k));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing hyper-parameters: ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected hyper-parameters: ${unexpected.join(", ")}`);
  if (problems.length) fail("E_KEY", `${where}: ${problems.join("; ")}`);
}

function checkBetas(where: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2) fail("E_VALUE", `${where}: betas must be a pair [beta1, beta2], got ${JSON.stringify(v)}`);
  const [b1, b2] = v as unknown[];
  for (const [i, b] of [b1, b2].entries()) {
    if (typeof b !== "number" || !(b >= 0 && b < 1)) fail("E_VALUE", `${where}: betas[${i}] must be in [0, 1), got ${String(b)}`);
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
    checkKeys(rec, ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"], where);
    const h: SGDHyper = {
      lr: checkNumber(where, "lr", rec.lr, 0),
      momentum: checkNumber(where, "momentum", rec.momentum, 0),
      dampening: checkNumber(where, "dampening", rec.dampening),
      weight_decay: checkNumber(where, "weight_decay", rec.weight_decay, 0),
      nesterov: checkBool(where, "nesterov", rec.nesterov),
      maximize: checkBool(where, "maximize", rec.maximize),
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
    checkKeys(rec, ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"], where);
    return {
      lr: checkNumber(where, "lr", rec.lr, 0),
      alpha: checkNumber(where, "alpha", rec.alpha, 0),
      eps: checkNumber(where, "eps", rec.eps, 0),
      weight_decay: checkNumber(where, "weight_decay", rec.weight_decay, 0),
      momentum: checkNumber(where, "momentum", rec.momentum, 0),
      centered: checkBool(where, "centered", rec.centered),
      maximize: checkBool(where, "maximize", rec.maximize),
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
    checkKeys(rec, ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"], where);
    return {
      lr: checkNumber(where, "lr", rec.lr, 0),
      lr_decay: checkNumber(where, "lr_decay", rec.lr_decay, 0),
      weight_decay: checkNumber(where, "weight_decay", rec.weight_decay, 0),
      initial_accumulator_value: checkNumber(where, "initial_accumulator_value", rec.initial_accumulator_value, 0),
      eps: checkNumber(where, "eps", rec.eps, 0),
      maximize: checkBool(where, "maximize", rec.maximize),
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
    checkKeys(rec, ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"], where);
    return {
      lr: checkNumber(where, "lr", rec.lr, 0),
      betas: checkBetas(where, rec.betas),
      eps: checkNumber(where, "eps", rec.eps, 0),
      weight_decay: checkNumber(where, "weight_decay", rec.weight_decay, 0),
      amsgrad: checkBool(where, "amsgrad", rec.amsgrad),
      maximize: checkBool(where, "maximize", rec.maximize),
    };
  }

  protected bufferNames(h: AdamHyper): string[] {
    return h.amsgrad ? ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"] : ["exp_avg", "exp_avg_sq"];
  }

  protected run(r: ParameterRegion, bufs: number[], t: number, l2: number, decay: number): void {
    const h = this.h;
    const [b1, b2] = h.betas;
    // Bias corrections in float64 as PyTorch computes them in Python.
    const stepSize = h.lr / (1 - b1 ** t);
    const bc2Sqrt = Math.sqrt(1 - b2 ** t);
    this.rt.kernels.adamStep(r.params, r.grads, bufs[0], bufs[1], bufs[2] ?? 0, r.floats, stepSize, b1, 1 - b1, b2, 1 - b2, bc2Sqrt, h.eps, l2, decay, sign(h.maximize));
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

  protected update(r: ParameterRegion, bufs: number[], t: number): void {
    this.run(r, bufs, t, this.h.weight_decay, 1);
  }
}

/** AdamW (torch.optim.AdamW): p *= 1 - lr wd, then Adam's update without the L2 term. */
export class AdamW extends AdamBase {
  readonly type = "AdamW";

  constructor(modules: Trainable | Trainable[], options: AdamOptions = {}) {
    super(modules, options, "AdamW", 1e-2);
  }

  protected update(r: ParameterRegion, bufs: number[], t: number): void {
    this.run(r, bufs, t, 0, 1 - this.h.lr * this.h.weight_decay);
  }
}
