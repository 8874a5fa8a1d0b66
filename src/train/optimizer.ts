/**
 * What every optimizer shares (the algorithms are in optimizers.ts): hyper-parameters under
 * PyTorch's names, the step count, and the state (momentum, moments, sums) in Wasm blocks laid out
 * exactly like the parameter regions of its modules, so one kernel call updates a whole region.
 * All parameters form one group sharing the hyper-parameters; `lr` is settable for schedules.
 */
import { fail } from "../errors.js";
import { align64, WasmBlocks } from "../memory.js";
import { runtime, type Runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import { number, show } from "../validate.js";
import type { ParameterRegion, Trainable } from "./module.js";
import { collectRegions, toModules } from "./util.js";

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
  private readonly blocks: WasmBlocks;
  /** Per parameter region, the block of its state buffers (0: none), each buffer align64(floats * 4) bytes. */
  private state: number[];
  private names: string[] = [];
  private steps = 0;
  private disposed = false;

  protected constructor(modules: Trainable | Trainable[], where: string) {
    this.rt = runtime();
    this.modules = toModules(modules, where);
    this.sizes = collectRegions(this.modules, where).map((r) => r.floats);
    this.state = this.sizes.map(() => 0);
    this.blocks = WasmBlocks.of(this.rt.heap, this);
  }

  /** The current learning rate. Setting it (e.g. from a schedule) takes effect at the next step. */
  get lr(): number {
    return this.h.lr;
  }

  /** Sets the learning rate for the next steps (>= 0). */
  set lr(value: number) {
    this.h.lr = number(this.type, "lr", value, { min: 0 });
  }

  /** Completed steps. */
  get stepCount(): number {
    return this.steps;
  }

  /** A copy of the hyper-parameters under their PyTorch names. */
  get hyperParameters(): Record<string, HyperValue> {
    return copyHyper(this.h);
  }

  /**
   * Updates every parameter region (one Wasm call each), then tells each module its parameters
   * changed. All or nothing: a NaN or infinite gradient, or an update that makes a parameter or a
   * state buffer NaN or infinite (a learning rate too large, an overflow), throws RecurError
   * E_NUMERIC and leaves the parameters, the state buffers and the step count exactly as they were.
   */
  step(): void {
    this.checkAlive();
    const where = `${this.type}.step`;
    const regions = this.currentRegions();
    const k = this.rt.kernels;
    // An update that reports its own check (true / false) has seen every value it stored, and a
    // non-finite gradient always reaches its state: the gradients are then checked only on failure.
    const checkGrads = (): void => {
      const bad = regions.findIndex((r) => !Number.isFinite(k.sumSquaresF64(r.grads, r.floats)));
      if (bad >= 0) fail("E_NUMERIC", `${where}: the gradients of parameter region ${bad} hold NaN or Infinity; the parameters and the optimizer state were not changed`);
    };
    if (!this.selfChecks) checkGrads();
    // A self-checking update also writes the backup itself, from the values it loads anyway.
    const saved = this.selfChecks ? this.backupBlock(regions) : this.save(regions);
    const t = this.steps + 1;
    let broken = -1;
    let at = saved;
    regions.forEach((r, i) => {
      const bk = at;
      at += this.backupBytes(r);
      if (r.floats === 0) return;
      if (this.update(r, this.buffers(i, r.floats), t, bk) === false && broken < 0) broken = i;
    });
    if (!this.selfChecks) broken = regions.findIndex((r, i) => r.floats > 0 && !this.finite(r.params, this.state[i], r.floats));
    if (broken >= 0) {
      this.restore(regions, saved);
      if (this.selfChecks) checkGrads();
      fail("E_NUMERIC", `${where}: the update made parameter region ${broken} or its optimizer state NaN or infinite (learning rate ${this.h.lr} too large, or a gradient too large to square in float32?); the parameters and the optimizer state were restored`);
    }
    this.steps = t;
    for (const m of this.modules) m.parametersChanged();
  }

  /**
   * @internal Whether this optimizer updates any parameter of `module` (an optimizer built over
   * another model would make training a silent no-op).
   */
  updatesAnyOf(module: Trainable): boolean {
    this.checkAlive();
    const mine = new Set(collectRegions(this.modules, this.type).map((r) => r.params));
    return module.parameterRegions().some((r) => mine.has(r.params));
  }

  // Addresses of region i's state buffers.
  private buffers(i: number, floats: number): number[] {
    const stride = align64(floats * 4);
    return this.names.map((_, k) => this.state[i] + k * stride);
  }

  // A float64 sum of squares is finite exactly when every float32 summed is (a float32 squared
  // cannot overflow float64). It runs at memory speed; maxAbsF32 would do too in principle, but
  // V8 lowers f32x4.max to a NaN-propagating sequence ~13x slower (measured, 2.1M floats).
  private finite(params: number, state: number, floats: number): boolean {
    const k = this.rt.kernels;
    if (!Number.isFinite(k.sumSquaresF64(params, floats))) return false;
    return state === 0 || Number.isFinite(k.sumSquaresF64(state, (this.names.length * align64(floats * 4)) / 4));
  }

  // The backup block (kept for the next steps): per region, its parameters, then its state
  // buffers, each align64(floats * 4) bytes apart.
  private backupBlock(regions: ParameterRegion[]): number {
    return this.blocks.ensure("backup", regions.reduce((a, r) => a + this.backupBytes(r), 0));
  }

  // One region's part of the backup block: its parameters and each state buffer, 64-byte aligned.
  private backupBytes(r: ParameterRegion): number {
    return align64(r.floats * 4) * (1 + this.names.length);
  }

  // Copies every region's parameters and state into the backup block.
  private save(regions: ParameterRegion[]): number {
    const backup = this.backupBlock(regions);
    const bytes = new Uint8Array(this.rt.heap.memory.buffer);
    let at = backup;
    regions.forEach((r, i) => {
      const n = align64(r.floats * 4);
      bytes.copyWithin(at, r.params, r.params + r.floats * 4);
      if (this.state[i] !== 0) bytes.copyWithin(at + n, this.state[i], this.state[i] + n * this.names.length);
      at += this.backupBytes(r);
    });
    return backup;
  }

  private restore(regions: ParameterRegion[], backup: number): void {
    const bytes = new Uint8Array(this.rt.heap.memory.buffer);
    let at = backup;
    regions.forEach((r, i) => {
      const n = align64(r.floats * 4);
      // Only the floats of each buffer: no update writes the padding (nor does a self-checking
      // update's backup).
      bytes.copyWithin(r.params, at, at + r.floats * 4);
      if (this.state[i] !== 0) for (let k = 0; k < this.names.length; k++) bytes.copyWithin(this.state[i] + k * n, at + (k + 1) * n, at + (k + 1) * n + r.floats * 4);
      at += this.backupBytes(r);
    });
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
      const block = this.state[i];
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
    if (sd.type !== this.type) fail("E_VALUE", `${where}: the state is of a ${typeof sd.type === "string" ? sd.type : show(sd.type)} optimizer, this is ${this.type}`);
    if (typeof sd.step !== "number" || !Number.isInteger(sd.step) || sd.step < 0) fail("E_VALUE", `${where}: step must be an integer >= 0, got ${show(sd.step)}`);
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
        const missing = names.filter((n) => !Object.hasOwn(entry, n));
        const unexpected = Object.keys(entry).filter((k) => !names.includes(k));
        if (missing.length) problems.push(`state[${i}]: missing keys: ${missing.join(", ")}`);
        if (unexpected.length) problems.push(`state[${i}]: unexpected keys: ${unexpected.join(", ")}`);
        for (const n of names) {
          const t = (Object.hasOwn(entry, n) ? entry[n] : undefined) as Tensor | undefined;
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
      const block = this.state[i];
      names.forEach((n, k) => heap.f32(block + k * align64(floats * 4), floats).set(sd.state[i][n].data));
    });
    this.h = h;
    this.steps = sd.step;
  }

  /** Returns the optimizer state's Wasm memory; using the optimizer afterwards throws. The modules are untouched. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.blocks.dispose();
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
  /**
   * Updates one region. Optimizers whose `selfChecks` is true return whether every parameter and
   * state value stored is finite (their kernel checks as it stores); the others return nothing.
   * `backup`: the region's part of the backup block, where self-checking updates copy its
   * parameters and state buffers as they were (the others find it filled by `save`).
   */
  protected abstract update(r: ParameterRegion, bufs: number[], t: number, backup: number): boolean | void;

  /** Whether `update` reports finiteness itself (see there): saves two passes over the memory. */
  protected readonly selfChecks: boolean = false;
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
      const fresh: number[] = [];
      try {
        for (const floats of this.sizes) fresh.push(names.length > 0 && floats > 0 ? this.blocks.alloc(names.length * align64(floats * 4)) : 0);
      } catch (e) {
        for (const p of fresh) if (p !== 0) this.blocks.release(p);
        throw e;
      }
      for (const p of this.state) if (p !== 0) this.blocks.release(p);
      this.state = fresh;
      this.names = names;
      fill = true;
    }
    if (!fill) return;
    const heap = this.rt.heap;
    this.sizes.forEach((floats, i) => {
      const block = this.state[i];
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

export function copyHyper(h: HyperParameters): Record<string, HyperValue> {
  const out: Record<string, HyperValue> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? [...v] : v;
  return out;
}

/**
 * The optimizer of a training call: an Optimizer (E_TYPE otherwise) that updates some parameter
 * of `model` (E_VALUE otherwise: one built over another model would train nothing, silently).
 */
export function checkOptimizerFor(where: string, optimizer: unknown, model: Trainable): Optimizer {
  if (!(optimizer instanceof Optimizer)) fail("E_TYPE", `${where}: optimizer must be an optimizer (SGD, Adam, ...) built over the model, got ${optimizer === null ? "null" : typeof optimizer}`);
  if (optimizer.isDisposed) fail("E_STATE", `${where}: the optimizer was disposed`);
  if (!optimizer.updatesAnyOf(model)) fail("E_VALUE", `${where}: the optimizer updates none of this model's parameters (it was built over another model); build it over this one`);
  return optimizer;
}
