/**
 * Echo state networks (reservoir computing): leaky reservoirs (dense or sparse, stacked), ridge
 * and online (RLS / FORCE) readouts, teacher forcing, closed-loop generation.
 *
 *   x(t) = (1 − a) x(t−1) + a (f(W_in u(t) + bias + W x(t−1) [+ W_fb y(t−1)]) [+ noise])
 *   y(t) = W_out [1; u(t); x(t)]        (or [1; x(t)] with readoutInput: false)
 *
 * Every sequence run is one Wasm call (assembly/reservoir/run.ts: `esnRun`) over all its steps.
 * The ridge readout is solved in float64 by Cholesky, in primal form (the Gram matrix streamed
 * while the reservoir runs) or dual form (wide reservoirs, few training rows): src/esn/ridge.ts.
 * Names follow ReservoirPy where it has one (units, leak rate, spectral radius, input/bias
 * scaling, connectivity, ridge, warmup...).
 *
 * This file is the public class; its parts: types.ts (options), options.ts (validation),
 * reservoir.ts + weights.ts (construction, deep layers), run.ts (driven runs), ridge.ts (ridge
 * readout). The online readout (fitOnline) and generation run through the same `esnRun`.
 */
import { fail } from "../errors.js";
import { runtime, type Runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import { align, Arena, bytes, Field, Flag, vec, type Built, type Readout } from "./layout.js";
import { bool, checkKeys, checkSequence, checkWeightTensor, ESN_KEYS, int, isSparse, num, RESERVOIR_KEYS, resolveLayer, show, type LayerSpec } from "./options.js";
import { registerModelType } from "../io/registry.js";
import type { StoredTensor } from "../io/safetensors.js";
import { buildReservoir, readWeights, readWeights64, type StoredLayer } from "./reservoir.js";
import { allocDual, allocPrimal, bindStats, solveRidge, syncStats, type RidgeStats } from "./ridge.js";
import { runModel, type RunRequest } from "./run.js";
import type { Csr } from "./weights.js";
import type { ESNOptions, FitOptions, GenerateOptions, LayerInfo, OnlineFitOptions, PredictOptions, ReservoirWeights, SolveOptions, SparseMatrix } from "./types.js";

/** Version of the ESN's state-dict layout in weight files (saveModel / loadModel). */
export const ESN_FILE_VERSION = 1;

// Set while restoreESN constructs a model: the reservoir is then built from the file's weights
// by loadStateDict, not drawn from the seed first.
let restoring = false;

/** An ESN from the config of a weight file, to be filled by loadStateDict (loadModel's factory). */
export function restoreESN(config: Record<string, unknown>): ESN {
  const { version, ...options } = config;
  if (version !== ESN_FILE_VERSION) {
    fail("E_FORMAT", `loadModel: the file holds an ESN of file version ${show(version)}; this version of recur reads ESN version ${ESN_FILE_VERSION}`);
  }
  restoring = true;
  try {
    return new ESN(options as unknown as ESNOptions);
  } finally {
    restoring = false;
  }
}

/**
 * An echo state network. `await init()` first; call `dispose()` when done (a finalizer frees the
 * Wasm memory of a model that is garbage-collected without it, eventually).
 *
 * ```ts
 * const esn = new ESN({ units: 500, leakRate: 0.3, spectralRadius: 1.25, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, seed: 1 });
 * esn.fit(inputs, targets, { washout: 100 });
 * const y = esn.predict(test);
 * const g = esn.generate(200, { warmup });
 * ```
 *
 * Failed calls (bad arguments, non-finite states, singular systems) throw a RecurError and leave
 * the model as it was: state, readout and accumulated statistics are restored.
 */
export class ESN {
  /** Total reservoir units (all layers). */
  readonly units: number;
  private readonly rt: Runtime;
  private readonly specs: LayerSpec[];
  private readonly seed: number;
  private readonly rin: boolean;
  private ridge: number;
  private readonly noiseAlways: boolean;
  /** Bytes per state element: 4 (float32) or 8 (float64). */
  private readonly es: number;
  private readonly fixedInputDim: number | undefined;
  private fixedOutputDim: number | undefined;
  private built: Built | undefined;
  private readout: Readout | undefined;
  private fitted = false;
  private readonly ridgeSolver: "auto" | "primal" | "dual";
  private gram: RidgeStats | undefined;
  private rls: { block: number; alpha: number } | undefined;
  private isDisposed = false;
  private readonly arena: Arena;

  constructor(options: ESNOptions) {
    const fn = "ESN";
    if (options === undefined) fail("E_VALUE", `${fn}: options are required (at least { units })`);
    const o = checkKeys(fn, options, ESN_KEYS);
    this.rt = runtime();
    const layerOpts = o.layers === undefined ? [{}] : o.layers;
    if (!Array.isArray(layerOpts) || layerOpts.length === 0) fail("E_VALUE", `${fn}: layers must be a non-empty array of layer options`);
    const weightList = o.weights === undefined ? [] : Array.isArray(o.weights) ? (o.weights as ReservoirWeights[]) : [o.weights as ReservoirWeights];
    if (weightList.length > layerOpts.length) fail("E_VALUE", `${fn}: weights has ${weightList.length} entries for ${layerOpts.length} layer(s)`);
    this.specs = layerOpts.map((lo, l) => {
      const own = { ...checkKeys(`${fn}: layers[${l}]`, lo, RESERVOIR_KEYS) };
      const w = weightList[l] ?? {};
      checkKeys(`${fn}: weights${weightList.length > 1 ? `[${l}]` : ""}`, w, ["Win", "bias", "W", "Wfb"]);
      if (l > 0 && w.Wfb !== undefined) fail("E_VALUE", `${fn}: weights[${l}].Wfb: output feedback enters the first layer only`);
      const top = { ...o };
      // An explicit W's size decides units when none is given.
      if (top.units === undefined && own.units === undefined && w.W !== undefined) own.units = (w.W as { shape: number[] }).shape?.[0];
      return resolveLayer(fn, top, own, w, l);
    });
    for (let l = 1; l < this.specs.length; l++) {
      if (this.specs[l].feedbackScaling > 0) fail("E_VALUE", `${fn}: layer ${l} feedbackScaling: output feedback enters the first layer only`);
    }
    this.units = this.specs.reduce((a, s) => a + s.units, 0);
    this.ridge = num(fn, "ridge", o.ridge, 1e-8, 0);
    this.rin = bool(fn, "readoutInput", o.readoutInput, false);
    this.seed = o.seed === undefined ? 0 : (o.seed as number);
    if (typeof this.seed !== "number" || !Number.isSafeInteger(this.seed)) fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(o.seed)}`);
    const nw = o.noiseWhen ?? "fit";
    if (nw !== "fit" && nw !== "always") fail("E_VALUE", `${fn}: noiseWhen must be "fit" or "always", got ${show(nw)}`);
    this.noiseAlways = nw === "always";
    const prec = o.precision ?? "float32";
    if (prec !== "float32" && prec !== "float64") fail("E_VALUE", `${fn}: precision must be "float32" or "float64", got ${show(prec)}`);
    this.es = prec === "float64" ? 8 : 4;
    const w0 = this.specs[0].weights;
    let inDim = o.inputDim === undefined ? undefined : int(fn, "inputDim", o.inputDim, undefined, 0);
    const winShape = (w0.Win as Tensor | undefined)?.shape;
    if (inDim === undefined && Array.isArray(winShape)) inDim = winShape.length === 2 ? winShape[1] : 1;
    this.fixedInputDim = inDim;
    let outDim = o.outputDim === undefined ? undefined : int(fn, "outputDim", o.outputDim, undefined, 1);
    const wfbShape = (w0.Wfb as Tensor | undefined)?.shape;
    if (outDim === undefined && Array.isArray(wfbShape)) outDim = wfbShape.length === 2 ? wfbShape[1] : 1;
    this.fixedOutputDim = outDim;
    const solver = o.ridgeSolver ?? "auto";
    if (solver !== "auto" && solver !== "primal" && solver !== "dual") fail("E_VALUE", `${fn}: ridgeSolver must be "auto", "primal" or "dual", got ${show(solver)}`);
    this.ridgeSolver = solver;
    this.arena = new Arena(this.rt, this);
    if (!restoring && inDim !== undefined && (!this.hasFeedback || outDim !== undefined)) this.build(inDim, outDim);
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** Input channels (undefined until known). */
  get inputDim(): number | undefined {
    return this.built?.I ?? this.fixedInputDim;
  }

  /** Output channels (undefined until known). */
  get outputDim(): number | undefined {
    return this.built !== undefined && this.built.O > 0 ? this.built.O : this.fixedOutputDim;
  }

  /** Length of the readout's feature vector: 1 + (readoutInput ? inputDim : 0) + units. */
  get featureDim(): number | undefined {
    return this.built?.D;
  }

  /** Per-layer description of the built reservoir (undefined before the first data call). */
  get layers(): LayerInfo[] | undefined {
    return this.built?.info.map((i) => ({ ...i, eigen: i.eigen && { ...i.eigen } }));
  }

  /** True once a readout exists (fit, solveReadout, fitOnline or setReadout). */
  get isFitted(): boolean {
    return this.fitted;
  }

  /** Whether `dispose` was called (same as `isDisposed`). */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** The current reservoir state, all layers concatenated: { shape: [units], data } (a copy). */
  get state(): Tensor {
    this.alive("state");
    const data = new Float32Array(this.units);
    const b = this.built;
    if (b !== undefined) data.set(this.vec(b.F + this.es * (b.D - this.units), this.units));
    return { shape: [this.units], data };
  }

  /** Sets the reservoir state ([units], finite). */
  setState(state: Tensor): void {
    this.alive("setState");
    const data = checkWeightTensor("ESN.setState", "state", state, [this.units]);
    const b = this.requireBuilt("ESN.setState");
    this.vec(b.F + this.es * (b.D - this.units), this.units).set(data);
  }

  /** Zeroes the state and the remembered previous output (the feedback / closed-loop input). */
  resetState(): void {
    this.alive("resetState");
    if (this.built !== undefined) this.zeroState();
  }

  /**
   * Trains the ridge readout: runs the reservoir over each sequence (teacher-forcing the output
   * feedback with `targets`), accumulates [Z Y]ᵀ[Z Y] in float64 from step `washout` on, and
   * solves (ZᵀZ + ridge·I) W_outᵀ = ZᵀY by Cholesky (or the same problem in dual form, see
   * ESNOptions.ridgeSolver). Continues from the current state unless
   * `reset`; afterwards the state is the one after the last step and the previous output is the
   * last target, so `generate` continues the series.
   */
  fit(inputs: Tensor | Tensor[], targets: Tensor | Tensor[], options: FitOptions = {}): this {
    const fn = "ESN.fit";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset", "ridge"]);
    const ridge = num(fn, "ridge", o.ridge, this.ridge, 0);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    this.transaction(() => {
      const g = this.newStats(seqs);
      try {
        this.accumulate(fn, seqs, g, o);
        solveRidge(fn, this.arena, b, g, this.es, ridge, this.readout!.wout, (i) => this.featureName(i));
      } catch (e) {
        this.arena.release(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.arena.release(this.gram.block);
      this.gram = g;
    });
    this.dropRls();
    this.fitted = true;
    return this;
  }

  /**
   * Adds sequences to the accumulated ridge statistics without solving (ReservoirPy's
   * `partial_fit`); call `solveReadout()` when done. Memory stays O(featureDim²) however long
   * the data (with the primal solver; see ESNOptions.ridgeSolver).
   */
  partialFit(inputs: Tensor | Tensor[], targets: Tensor | Tensor[], options: Omit<FitOptions, "ridge"> = {}): this {
    const fn = "ESN.partialFit";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset"]);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    this.transaction(() => {
      const g = this.newStats(seqs, this.gram);
      try {
        if (g.kind === "primal" && this.gram?.kind === "primal") this.rt.heap.f64(g.gram, g.G * g.G).set(this.rt.heap.f64(this.gram.gram, g.G * g.G));
        this.accumulate(fn, seqs, g, o);
      } catch (e) {
        this.arena.release(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.arena.release(this.gram.block);
      this.gram = g;
    });
    return this;
  }

  /**
   * Solves the ridge readout from the statistics accumulated by `fit`/`partialFit` (it may be
   * called again with another ridge: the statistics are kept).
   */
  solveReadout(options: SolveOptions = {}): this {
    const fn = "ESN.solveReadout";
    this.alive(fn);
    const o = checkKeys(fn, options, ["ridge"]);
    const ridge = num(fn, "ridge", o.ridge, this.ridge, 0);
    if (this.gram === undefined) fail("E_STATE", `${fn}: nothing accumulated; call partialFit (or fit) first`);
    const wout = this.readout === undefined ? undefined : this.rt.heap.f64(this.readout.wout, this.built!.O * this.built!.D).slice();
    try {
      solveRidge(fn, this.arena, this.built!, this.gram, this.es, ridge, this.readout!.wout, (i) => this.featureName(i));
    } catch (e) {
      if (wout !== undefined) this.rt.heap.f64(this.readout!.wout, wout.length).set(wout);
      throw e;
    }
    this.dropRls();
    this.fitted = true;
    return this;
  }

  /**
   * Online readout training by recursive least squares (RLS; with `feedbackFrom: "output"`,
   * FORCE learning): at every step after the washout, W_out moves towards the target with the
   * gain P z, P ≈ (Σ λ^age z zᵀ)⁻¹. Continues an earlier online (or ridge) readout unless
   * `restart`. Returns the outputs produced while learning (before each step's update), [T, outDim].
   * Cost O(featureDim²) per step.
   */
  fitOnline(inputs: Tensor, targets: Tensor, options: OnlineFitOptions = {}): Tensor {
    const fn = "ESN.fitOnline";
    this.alive(fn);
    const o = checkKeys(fn, options, ["washout", "reset", "alpha", "forgetting", "feedbackFrom", "restart"]);
    const alpha = num(fn, "alpha", o.alpha, 1e-6, 0, Infinity, true);
    const forgetting = num(fn, "forgetting", o.forgetting, 1, 0, 1, true);
    const from = o.feedbackFrom ?? "teacher";
    if (from !== "teacher" && from !== "output") fail("E_VALUE", `${fn}: feedbackFrom must be "teacher" or "output", got ${show(from)}`);
    const restart = bool(fn, "restart", o.restart, false);
    const [seq] = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    const heap = this.rt.heap;
    const r = this.readout!;
    const outputs = new Float32Array(seq.T * b.O);
    const oldW = heap.f64(r.wout, b.O * b.D).slice();
    const oldP = this.rls === undefined || restart ? undefined : heap.f64(this.rls.block, b.D * b.D).slice();
    const oldRls = this.rls;
    const wasFitted = this.fitted;
    let created = 0;
    this.transaction(
      () => {
        if (this.rls === undefined || restart || this.rls.alpha !== alpha) {
          // A new P: the old one (if any) is released only on success.
          created = this.arena.alloc(b.D * b.D * 8);
          this.rt.kernels.rlsInit(created, b.D, alpha);
          if (restart || !this.fitted) heap.f64(r.wout, b.O * b.D).fill(0);
          this.rls = { block: created, alpha };
        }
        const desc = heap.i32(b.desc, 32);
        desc[Field.P] = this.rls.block;
        heap.f64(b.desc + Field.Forget * 4, 1)[0] = forgetting;
        if (o.reset === true) this.zeroState();
        this.run({
          label: fn,
          steps: seq.T,
          inputs: seq.inputs,
          teacher: seq.targets,
          outputs,
          washout: seq.washout,
          flags: Flag.Rls | Flag.Output | (from === "teacher" ? Flag.Teacher : 0) | this.noiseFlag(true),
        });
      },
      () => {
        heap.f64(r.wout, oldW.length).set(oldW);
        if (created !== 0) {
          this.arena.release(created);
          this.rls = oldRls;
        } else if (oldP !== undefined && this.rls !== undefined) heap.f64(this.rls.block, oldP.length).set(oldP);
        this.fitted = wasFitted;
      },
    );
    if (created !== 0 && oldRls !== undefined) this.arena.release(oldRls.block);
    this.fitted = true;
    return { shape: [seq.T, b.O], data: outputs };
  }

  /**
   * Driven run: the readout's output for every step of `inputs` ([T, inDim]), continuing from
   * the current state. With feedback, y(t−1) is the model's own previous output unless a
   * `teacher` is given.
   */
  predict(inputs: Tensor, options: PredictOptions = {}): Tensor {
    const fn = "ESN.predict";
    this.alive(fn);
    const o = checkKeys(fn, options, ["teacher", "reset"]);
    if (!this.fitted) fail("E_STATE", `${fn}: the readout is not trained; call fit (or fitOnline / setReadout) first`);
    const b = this.built!;
    const seq = checkSequence(fn, "inputs", inputs, b.I);
    const teacher = o.teacher === undefined ? undefined : checkSequence(fn, "teacher", o.teacher, b.O);
    if (teacher !== undefined && teacher.T !== seq.T) fail("E_SHAPE", `${fn}: teacher has ${teacher.T} steps, inputs ${seq.T}`);
    const outputs = new Float32Array(seq.T * b.O);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      this.run({ label: fn, steps: seq.T, inputs: seq.data, teacher: teacher?.data, outputs, washout: 0, flags: Flag.Output | (teacher ? Flag.Teacher : 0) | this.noiseFlag(false) });
    });
    return { shape: [seq.T, b.O], data: outputs };
  }

  /**
   * Closed-loop generation of `steps` outputs ([steps, outDim]): each output is fed back as the
   * next input (inDim must equal outDim, or be 0 for a feedback-only model). With `warmup`, the
   * model is first driven by that series (feedback teacher-forced with it) and the prediction
   * made at its last step is the first generated value; without, generation continues from the
   * current state and the last output (after `fit`, the last target).
   */
  generate(steps: number, options: GenerateOptions = {}): Tensor {
    const fn = "ESN.generate";
    this.alive(fn);
    const o = checkKeys(fn, options, ["warmup", "reset"]);
    int(fn, "steps", steps, undefined, 0);
    if (!this.fitted) fail("E_STATE", `${fn}: the readout is not trained; call fit (or fitOnline / setReadout) first`);
    const b = this.built!;
    if (b.I !== 0 && b.I !== b.O) fail("E_SHAPE", `${fn}: closed-loop generation feeds outputs back as inputs, so inputDim (${b.I}) must equal outputDim (${b.O}) (or be 0)`);
    const warm = o.warmup === undefined ? undefined : checkSequence(fn, "warmup", o.warmup, b.O);
    const outputs = new Float32Array(steps * b.O);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      if (warm !== undefined && warm.T > 0) {
        if (b.I > 0) {
          // Steps 0..Tw-2 driven with the feedback equal to the input (the teacher of step t−1 is
          // the input of step t); the last warm-up value becomes the first closed-loop input.
          this.run({ label: `${fn} (warmup)`, steps: warm.T - 1, inputs: warm.data, washout: 0, flags: Flag.FbIsInput | this.noiseFlag(false) });
          this.vec(this.readout!.yPrev, b.O).set(warm.data.subarray((warm.T - 1) * b.O, warm.T * b.O));
        } else {
          this.run({ label: `${fn} (warmup)`, steps: warm.T, inputs: new Float32Array(0), teacher: warm.data, washout: 0, flags: Flag.Teacher | this.noiseFlag(false) });
        }
      }
      this.run({ label: fn, steps, outputs, washout: 0, flags: Flag.Closed | Flag.Output | this.noiseFlag(false) });
    });
    return { shape: [steps, b.O], data: outputs };
  }

  /**
   * The reservoir states of a driven run, [T, units] (all layers concatenated), continuing from
   * the current state. With feedback: teacher-forced when `teacher` is given, else fed back from
   * the readout (which must then exist).
   */
  collectStates(inputs: Tensor, options: PredictOptions = {}): Tensor {
    const fn = "ESN.collectStates";
    this.alive(fn);
    const o = checkKeys(fn, options, ["teacher", "reset"]);
    const seq0 = checkSequence(fn, "inputs", inputs, this.built?.I ?? this.fixedInputDim);
    const tdim = o.teacher === undefined ? undefined : checkSequence(fn, "teacher", o.teacher, this.built?.O || this.fixedOutputDim);
    this.ensureBuilt(fn, seq0.cols, tdim?.cols);
    const b = this.built!;
    if (tdim !== undefined && tdim.T !== seq0.T) fail("E_SHAPE", `${fn}: teacher has ${tdim.T} steps, inputs ${seq0.T}`);
    if (b.fb > 0 && tdim === undefined && !this.fitted) fail("E_STATE", `${fn}: the model has output feedback: pass a teacher, or train the readout first`);
    const states = new Float32Array(seq0.T * this.units);
    this.transaction(() => {
      if (o.reset === true) this.zeroState();
      const flags = tdim !== undefined ? Flag.Teacher : this.fitted ? Flag.Output : 0;
      this.run({ label: fn, steps: seq0.T, inputs: seq0.data, teacher: tdim?.data, states, washout: 0, flags: flags | this.noiseFlag(false) });
    });
    return { shape: [seq0.T, this.units], data: states };
  }

  /** The readout W_out, [outDim, featureDim] in float64 (a copy; columns: 1, inputs if readoutInput, units). */
  getReadout(): {
    /** [outDim, featureDim]. */
    shape: [number, number];
    /** The weights, row-major, float64. */
    data: Float64Array;
  } {
    this.alive("ESN.getReadout");
    if (!this.fitted) fail("E_STATE", "ESN.getReadout: the readout is not trained");
    const b = this.built!;
    return { shape: [b.O, b.D], data: this.rt.heap.f64(this.readout!.wout, b.O * b.D).slice() };
  }

  /** Sets W_out ([outDim, featureDim], float32 or float64 data, finite). Needs the input size known. */
  setReadout(readout: { shape: number[]; data: Float32Array | Float64Array }): void {
    const fn = "ESN.setReadout";
    this.alive(fn);
    const shape = readout?.shape;
    const data = readout?.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array) || !Array.isArray(shape) || shape.length !== 2) {
      fail("E_TYPE", `${fn}: readout must be { shape: [outDim, featureDim], data: Float32Array | Float64Array }`);
    }
    const I = this.built?.I ?? this.fixedInputDim;
    if (I === undefined) fail("E_STATE", `${fn}: the input size is unknown; pass inputDim to the constructor`);
    this.ensureBuilt(fn, I, shape[0]);
    const b = this.built!;
    if (shape[0] !== b.O || shape[1] !== b.D || data.length !== b.O * b.D) fail("E_SHAPE", `${fn}: readout must have shape [${b.O}, ${b.D}], got [${shape.join(", ")}]`);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) fail("E_VALUE", `${fn}: readout holds a non-finite value at index ${i}`);
    this.rt.heap.f64(this.readout!.wout, data.length).set(data);
    this.dropRls();
    this.fitted = true;
  }

  /**
   * Type and config for a weight file (saveModel): the options of every layer as resolved (the
   * storage chosen for W included), the readout and run options, the seed and the sizes.
   */
  modelSpec(): {
    /** "ESN". */
    type: string;
    /** The options the model is rebuilt from, with the file version. */
    config: Record<string, unknown>;
  } {
    this.alive("ESN.modelSpec");
    const b = this.built;
    const layers = this.specs.map((s, l) => ({
      units: s.units,
      leakRate: s.leakRate,
      spectralRadius: s.spectralRadius,
      inputScaling: s.inputScaling,
      biasScaling: s.biasScaling,
      connectivity: s.connectivity,
      inputConnectivity: s.inputConnectivity,
      activation: s.activation,
      sparse: b !== undefined ? b.layers[l].mode === "sparse" : s.sparse,
      feedbackScaling: s.feedbackScaling,
      feedbackConnectivity: s.feedbackConnectivity,
      noise: s.noise,
    }));
    const config: Record<string, unknown> = {
      version: ESN_FILE_VERSION,
      layers,
      ridge: this.ridge,
      readoutInput: this.rin,
      seed: this.seed,
      noiseWhen: this.noiseAlways ? "always" : "fit",
      precision: this.es === 8 ? "float64" : "float32",
      ridgeSolver: this.ridgeSolver,
    };
    if (this.inputDim !== undefined) config.inputDim = this.inputDim;
    if (this.outputDim !== undefined) config.outputDim = this.outputDim;
    return { type: ESN_TYPE, config };
  }

  /**
   * Everything a weight file needs to continue exactly where this model is: per layer
   * `reservoir.{l}.W` (dense [n, n], or CSR as `W.crow_indices`, `W.col_indices`, `W.values`),
   * `Win` [n, inDim], `bias` [n] and `Wfb` [n, outDim] (first layer, with feedback), in the
   * model's precision; `readout.Wout` [outDim, featureDim] (float64) once trained; the state
   * `state.x` [units], the previous output `state.y` [outDim] and the noise generator
   * `state.rng` (4 uint32). The ridge statistics of `partialFit` and the RLS matrix of
   * `fitOnline` are not included. Empty before the reservoir is built.
   */
  stateDict(): Record<string, StoredTensor> {
    this.alive("ESN.stateDict");
    const b = this.built;
    const sd: Record<string, StoredTensor> = {};
    if (b === undefined) return sd;
    const float = (a: Float64Array | Float32Array): Float32Array | Float64Array => (this.es === 8 ? Float64Array.from(a) : Float32Array.from(a));
    const layers = this.es === 8 ? readWeights64(this.arena, b) : readWeights(this.arena, b, 4).map((w) => ({
      Win: w.Win.data,
      bias: w.bias.data,
      W: isSparse(w.W) ? { rowPtr: w.W.rowPtr, col: w.W.colIdx, val: w.W.values } : w.W.data,
      Wfb: w.Wfb?.data,
    }));
    layers.forEach((w, l) => {
      const n = b.layers[l].n;
      const p = `reservoir.${l}.`;
      if (w.W instanceof Float32Array || w.W instanceof Float64Array) sd[`${p}W`] = { shape: [n, n], data: float(w.W) };
      else {
        sd[`${p}W.crow_indices`] = { shape: [n + 1], data: Int32Array.from(w.W.rowPtr) };
        sd[`${p}W.col_indices`] = { shape: [w.W.col.length], data: Int32Array.from(w.W.col) };
        sd[`${p}W.values`] = { shape: [w.W.val.length], data: float(w.W.val) };
      }
      sd[`${p}Win`] = { shape: [n, w.Win.length / n], data: float(w.Win) };
      sd[`${p}bias`] = { shape: [n], data: float(w.bias) };
      if (w.Wfb !== undefined) sd[`${p}Wfb`] = { shape: [n, b.fb], data: float(w.Wfb) };
    });
    if (this.fitted) sd["readout.Wout"] = { shape: [b.O, b.D], data: this.rt.heap.f64(this.readout!.wout, b.O * b.D).slice() };
    sd["state.x"] = { shape: [this.units], data: float(this.vec(b.F + this.es * (b.D - this.units), this.units)) };
    if (this.readout !== undefined) sd["state.y"] = { shape: [b.O], data: float(this.vec(this.readout.yPrev, b.O)) };
    sd["state.rng"] = { shape: [4], data: new Uint32Array(this.rt.heap.memory.buffer, b.rng, 4).slice() };
    return sd;
  }

  /**
   * Loads a state dict of `stateDict()`'s form: the reservoir is rebuilt from the given weights
   * (used exactly, never rescaled), and the readout and the state are set, so the model computes
   * bit for bit what the saved one would. Float values may come as float32 or float64 data (a
   * float32 model rounds float64 ones), indices as int32. Every missing, unexpected, misshaped
   * or non-finite entry is listed in one RecurError and the model is left unchanged.
   */
  loadStateDict(sd: Record<string, StoredTensor>): void {
    const fn = "ESN.loadStateDict";
    this.alive(fn);
    if (typeof sd !== "object" || sd === null) fail("E_TYPE", `${fn}: expected an object of tensors`);
    if (Object.keys(sd).length === 0) {
      if (this.built !== undefined) fail("E_KEY", `${fn}: the state dict is empty but the model's reservoir is built; expected reservoir.*, state.*`);
      return;
    }
    const parsed = this.parseStateDict(fn, sd);
    const old = { built: this.built, readout: this.readout, gram: this.gram, rls: this.rls, fitted: this.fitted };
    this.built = this.readout = this.gram = this.rls = undefined;
    try {
      const cfg = { specs: this.specs, seed: this.seed, rin: this.rin, es: this.es, units: this.units, stored: { layers: parsed.layers, noiseSeed: parsed.rng } };
      this.built = buildReservoir(this.arena, cfg, parsed.I, parsed.fb);
      const b = this.built;
      if (parsed.O > 0) this.setOutputDim(parsed.O);
      this.vec(b.F + this.es * (b.D - this.units), this.units).set(parsed.x);
      if (parsed.y !== undefined) this.vec(this.readout!.yPrev, b.O).set(parsed.y);
      if (parsed.wout !== undefined) this.rt.heap.f64(this.readout!.wout, parsed.wout.length).set(parsed.wout);
      this.fitted = parsed.wout !== undefined;
    } catch (e) {
      const made = this as unknown as { built?: Built; readout?: Readout };
      if (made.readout !== undefined) this.arena.release(made.readout.block);
      if (made.built !== undefined) this.arena.release(made.built.block);
      Object.assign(this, old);
      throw e;
    }
    for (const block of [old.built?.block, old.readout?.block, old.gram?.block, old.rls?.block]) if (block !== undefined) this.arena.release(block);
  }

  // Validates a state dict against this model's config and returns it in build form.
  private parseStateDict(fn: string, sd: Record<string, StoredTensor>): { layers: StoredLayer[]; I: number; O: number; fb: number; x: Float64Array; y?: Float64Array; wout?: Float64Array; rng: Uint32Array } {
    const problems: string[] = [];
    const used = new Set<string>();
    const isArray = (d: unknown): d is ArrayLike<number> => ArrayBuffer.isView(d) && !(d instanceof DataView) && !(d instanceof BigInt64Array) && !(d instanceof BigUint64Array);
    // A float tensor of the given shape (-1: any size), finite, as float64 (rounded to float32 first in a float32 model).
    const floats = (key: string, shape: number[], float32 = this.es === 4): Float64Array | undefined => {
      const t = sd[key];
      if (t === undefined) {
        problems.push(`missing key ${key}`);
        return undefined;
      }
      used.add(key);
      if (typeof t !== "object" || t === null || !isArray(t.data) || !Array.isArray(t.shape)) {
        problems.push(`${key} is not a tensor { shape, data }`);
        return undefined;
      }
      const n = t.shape.reduce((a, d) => a * d, 1);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] !== -1 && d !== shape[i]) || n !== t.data.length) {
        problems.push(`${key} has shape [${t.shape.join(", ")}] (${t.data.length} values), expected [${shape.map((d) => (d === -1 ? "*" : d)).join(", ")}]`);
        return undefined;
      }
      const out = Float64Array.from(t.data as ArrayLike<number>, (v) => (float32 ? Math.fround(v) : v));
      const bad = out.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) {
        problems.push(`${key} holds a non-finite value at index ${bad}`);
        return undefined;
      }
      return out;
    };
    const ints = (key: string, shape: number[], lo: number, hi: number): Float64Array | undefined => {
      const v = floats(key, shape, false);
      if (v === undefined) return undefined;
      const bad = v.findIndex((x) => !Number.isInteger(x) || x < lo || x > hi);
      if (bad >= 0) {
        problems.push(`${key}[${bad}] = ${v[bad]} is not an integer in [${lo}, ${hi}]`);
        return undefined;
      }
      return v;
    };
    const L = this.specs.length;
    const win0 = sd["reservoir.0.Win"];
    const I = Array.isArray(win0?.shape) && win0.shape.length === 2 ? win0.shape[1] : this.inputDim ?? 0;
    if (this.inputDim !== undefined && I !== this.inputDim) problems.push(`reservoir.0.Win has ${I} input column(s), the model has inputDim ${this.inputDim}`);
    const wfb = sd["reservoir.0.Wfb"];
    const fb = Array.isArray(wfb?.shape) && wfb.shape.length === 2 ? wfb.shape[1] : 0;
    if (this.hasFeedback && fb === 0) problems.push("missing key reservoir.0.Wfb (the model has output feedback)");
    if (!this.hasFeedback && wfb !== undefined) problems.push("unexpected key reservoir.0.Wfb (the model has no output feedback: feedbackScaling 0)");
    const wout = sd["readout.Wout"];
    const O = Array.isArray(wout?.shape) && wout.shape.length === 2 ? wout.shape[0] : fb > 0 ? fb : this.outputDim ?? 0;
    if (fb > 0 && O !== fb) problems.push(`readout.Wout has ${O} output row(s) but reservoir.0.Wfb feeds back ${fb}`);
    if (this.outputDim !== undefined && O !== 0 && O !== this.outputDim) problems.push(`the state dict has ${O} output(s), the model has outputDim ${this.outputDim}`);
    const layers: StoredLayer[] = [];
    for (let l = 0; l < L; l++) {
      const n = this.specs[l].units;
      const kin = l === 0 ? I : this.specs[l - 1].units;
      const p = `reservoir.${l}.`;
      const dense = sd[`${p}W`] !== undefined;
      const wantSparse = this.specs[l].sparse;
      if (wantSparse !== "auto" && wantSparse === dense) problems.push(`layer ${l} stores W ${wantSparse ? "sparse" : "dense"}: expected ${wantSparse ? `${p}W.crow_indices, ${p}W.col_indices, ${p}W.values` : `${p}W`}`);
      let W: Float64Array | Csr | undefined;
      if (dense) W = floats(`${p}W`, [n, n]);
      else {
        const rowPtr = ints(`${p}W.crow_indices`, [n + 1], 0, 2 ** 31 - 1);
        const col = ints(`${p}W.col_indices`, [-1], 0, n - 1);
        const val = floats(`${p}W.values`, [-1]);
        if (rowPtr && col && val) {
          let ok = rowPtr[0] === 0 && rowPtr[n] === val.length && col.length === val.length;
          for (let i = 0; i < n && ok; i++) ok = rowPtr[i + 1] >= rowPtr[i];
          if (ok) W = { rowPtr: Int32Array.from(rowPtr), col: Int32Array.from(col), val };
          else problems.push(`${p}W: crow_indices must rise from 0 to the number of values (${val.length}), col_indices as many as values`);
        }
      }
      const Win = floats(`${p}Win`, [n, kin]);
      const bias = floats(`${p}bias`, [n]);
      const Wfb = l === 0 && fb > 0 ? floats(`${p}Wfb`, [n, fb]) : undefined;
      if (W && Win && bias) layers.push({ W, Win, bias, ...(Wfb ? { Wfb } : {}) });
    }
    const D = 1 + (this.rin ? I : 0) + this.units;
    const out = wout === undefined ? undefined : floats("readout.Wout", [O, D], false);
    const x = floats("state.x", [this.units]);
    const y = O > 0 ? floats("state.y", [O]) : undefined;
    const rng = ints("state.rng", [4], 0, 2 ** 32 - 1);
    for (const k of Object.keys(sd)) if (!used.has(k)) problems.push(`unexpected key ${k}`);
    if (problems.length) fail("E_KEY", `${fn}: ${problems.join("; ")}`);
    return { layers, I, O, fb, x: x!, ...(y ? { y } : {}), ...(out ? { wout: out } : {}), rng: Uint32Array.from(rng!) };
  }

  /**
   * @internal For esnSearch (src/esn/search.ts): builds the reservoir for `inputDim` inputs and
   * `outputDim` outputs, binds fresh primal ridge statistics to it, and returns the descriptor,
   * the feature count and the esnRun flag for state noise in training runs. The model owns
   * everything (dispose frees it).
   */
  prepareTrial(inputDim: number, outputDim: number): { desc: number; D: number; noiseFlag: number } {
    const fn = "esnSearch";
    this.alive(fn);
    this.ensureBuilt(fn, inputDim, outputDim);
    const b = this.built!;
    if (this.gram !== undefined) this.arena.release(this.gram.block);
    this.gram = allocPrimal(this.arena, b, b.O);
    bindStats(this.rt.heap, b, this.gram);
    return { desc: b.desc, D: b.D, noiseFlag: this.noiseFlag(true) };
  }

  /**
   * The reservoir weights as stored (after rescaling; rounded to float32 for a float64 model): per layer W_in [units, inDim],
   * bias [units], W (dense tensor, or CSR when stored sparse) and W_fb [units, outDim] if any.
   */
  getWeights(): {
    /** Input weights, [units, inDim]. */
    Win: Tensor;
    /** Biases, [units]. */
    bias: Tensor;
    /** Recurrent weights, [units, units]. */
    W: Tensor | SparseMatrix;
    /** Feedback weights, [units, outDim], if the layer has feedback. */
    Wfb?: Tensor;
  }[] {
    this.alive("ESN.getWeights");
    return readWeights(this.arena, this.requireBuilt("ESN.getWeights"), this.es);
  }

  /** Frees the model's Wasm memory. Later calls throw E_STATE; calling dispose again is a no-op. */
  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.arena.dispose(this);
    this.built = undefined;
    this.readout = undefined;
    this.gram = undefined;
    this.rls = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private get hasFeedback(): boolean {
    return this.specs[0].feedbackScaling > 0 || this.specs[0].weights.Wfb !== undefined;
  }

  private alive(fn: string): void {
    if (this.isDisposed) fail("E_STATE", `${fn}: the ESN was disposed`);
  }

  private requireBuilt(fn: string): Built {
    if (this.built === undefined) fail("E_STATE", `${fn}: the reservoir is not built yet (its input size is unknown until the first data or inputDim)`);
    return this.built;
  }

  private noiseFlag(training: boolean): number {
    return (training || this.noiseAlways) && this.specs.some((s) => s.noise > 0) ? Flag.Noise : 0;
  }

  private zeroState(): void {
    const b = this.built!;
    this.vec(b.F, b.D).fill(0);
    if (this.readout !== undefined) this.vec(this.readout.yPrev, b.O).fill(0);
  }

  /** A fresh view of n state elements (float32 or float64 by precision). */
  private vec(ptr: number, n: number): Float32Array | Float64Array {
    return vec(this.rt.heap, this.es, ptr, n);
  }

  private bytes(ptr: number, n: number): Uint8Array {
    return bytes(this.rt.heap, ptr, n);
  }

  private dropRls(): void {
    if (this.rls !== undefined) {
      this.arena.release(this.rls.block);
      this.rls = undefined;
    }
  }

  // Runs fn; on a throw restores the state, the previous output and the noise generator (and
  // whatever `undo` restores) before rethrowing, so a failed call leaves the model as it was.
  private transaction(fn: () => void, undo?: () => void): void {
    const b = this.built!;
    const F = this.bytes(b.F, b.D * this.es).slice();
    const rng = this.bytes(b.rng, 32).slice();
    const yPrev = this.readout === undefined ? undefined : this.bytes(this.readout.yPrev, b.O * this.es).slice();
    try {
      fn();
    } catch (e) {
      this.bytes(b.F, F.length).set(F);
      this.bytes(b.rng, 32).set(rng);
      if (yPrev !== undefined && this.readout !== undefined) this.bytes(this.readout.yPrev, yPrev.length).set(yPrev);
      undo?.();
      throw e;
    }
  }

  private ensureBuilt(fn: string, inDim: number, outDim: number | undefined): void {
    if (this.built === undefined) {
      if (this.fixedInputDim !== undefined && inDim !== this.fixedInputDim) fail("E_SHAPE", `${fn}: inputs have ${inDim} channel(s), the model expects ${this.fixedInputDim}`);
      const O = outDim ?? this.fixedOutputDim;
      if (this.hasFeedback && O === undefined) fail("E_STATE", `${fn}: the model has output feedback; its output size is unknown (pass outputDim, or fit first)`);
      this.build(inDim, O);
    } else if (inDim !== this.built.I) fail("E_SHAPE", `${fn}: inputs have ${inDim} channel(s), the model expects ${this.built.I}`);
    const b = this.built!;
    if (outDim !== undefined && outDim !== b.O) {
      if (b.fb > 0 || (b.O > 0 && this.fitted)) fail("E_SHAPE", `${fn}: targets have ${outDim} channel(s), the model outputs ${b.O}`);
      this.setOutputDim(outDim);
    } else if (b.O > 0 && this.readout === undefined) this.setOutputDim(b.O);
  }

  private prepareTraining(fn: string, inputs: Tensor | Tensor[], targets: Tensor | Tensor[], o: Record<string, unknown>): { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[] {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const tgs = Array.isArray(targets) ? targets : [targets];
    if (ins.length !== tgs.length) fail("E_SHAPE", `${fn}: ${ins.length} input sequence(s) but ${tgs.length} target sequence(s)`);
    if (ins.length === 0) fail("E_VALUE", `${fn}: no sequences given`);
    const washout = int(fn, "washout", o.washout, 0, 0);
    bool(fn, "reset", o.reset, false);
    const multi = ins.length > 1;
    const seqs = ins.map((x, s) => {
      const name = multi ? `inputs[${s}]` : "inputs";
      const seq = checkSequence(fn, name, x, this.built?.I ?? this.fixedInputDim);
      const tg = checkSequence(fn, multi ? `targets[${s}]` : "targets", tgs[s], this.built !== undefined && this.built.O > 0 ? this.built.O : this.fixedOutputDim);
      if (tg.T !== seq.T) fail("E_SHAPE", `${fn}: ${name} has ${seq.T} steps but its targets have ${tg.T}`);
      if (washout >= seq.T) fail("E_VALUE", `${fn}: washout (${washout}) must be smaller than the sequence length (${seq.T}${multi ? `, sequence ${s}` : ""}): nothing would be left to fit`);
      return { T: seq.T, cols: seq.cols, outCols: tg.cols, inputs: seq.data, targets: tg.data, washout };
    });
    for (const s of seqs) {
      if (s.cols !== seqs[0].cols || s.outCols !== seqs[0].outCols) fail("E_SHAPE", `${fn}: all sequences must have the same numbers of channels`);
    }
    this.ensureBuilt(fn, seqs[0].cols, seqs[0].outCols);
    return seqs;
  }

  // Statistics for the rows of `seqs` (added to `prev`'s when given: the same form).
  private newStats(seqs: { T: number; washout: number }[], prev?: RidgeStats): RidgeStats {
    const b = this.built!;
    const rows = seqs.reduce((a, s) => a + s.T - s.washout, 0);
    const kind = prev?.kind ?? (this.ridgeSolver === "auto" ? (rows < b.D ? "dual" : "primal") : this.ridgeSolver);
    return kind === "dual" ? allocDual(this.arena, b, b.O, this.es, rows, prev) : allocPrimal(this.arena, b, b.O);
  }

  private accumulate(fn: string, seqs: { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[], g: RidgeStats, o: Record<string, unknown>): void {
    const b = this.built!;
    bindStats(this.rt.heap, b, g);
    seqs.forEach((s, i) => {
      if (o.reset === true) this.zeroState();
      this.run({
        label: seqs.length > 1 ? `${fn} (sequence ${i})` : fn,
        steps: s.T,
        inputs: s.inputs,
        teacher: s.targets,
        washout: s.washout,
        flags: Flag.Teacher | Flag.Gram | this.noiseFlag(true),
      });
    });
    syncStats(this.rt.heap, b, g);
  }

  private run(req: RunRequest): void {
    runModel(this.arena, this.built!, this.readout, this.units, this.specs.some((s) => s.activation === "identity" || s.activation === "relu"), req);
  }

  private featureName(i: number): string {
    const b = this.built!;
    if (i === 0) return "the constant/bias";
    let j = i - 1;
    if (this.rin) {
      if (j < b.I) return `input channel ${j}`;
      j -= b.I;
    }
    for (let l = 0; l < b.layers.length; l++) {
      if (j < b.layers[l].n) return `unit ${j}${b.layers.length > 1 ? ` of layer ${l}` : ""}`;
      j -= b.layers[l].n;
    }
    return `output column ${j}`;
  }

  private setOutputDim(O: number): void {
    const b = this.built!;
    if (this.readout !== undefined) {
      if (this.readout.wout !== 0 && b.O === O) return;
      this.arena.release(this.readout.block);
      this.readout = undefined;
    }
    const D = b.D;
    const yPrevB = align(O * this.es);
    const yB = align(O * 8);
    const zB = align(D * 8);
    const block = this.arena.alloc(yPrevB + yB + 2 * zB + O * D * 8);
    const r: Readout = { block, yPrev: block, y: block + yPrevB, z: block + yPrevB + yB, k: block + yPrevB + yB + zB, wout: block + yPrevB + yB + 2 * zB };
    const heap = this.rt.heap;
    this.vec(r.yPrev, O).fill(0);
    heap.f64(r.wout, O * D).fill(0);
    this.readout = r;
    b.O = O;
    const desc = heap.i32(b.desc, 32);
    desc[Field.Out] = O;
    desc[Field.YPrev] = r.yPrev;
    desc[Field.Y] = r.y;
    desc[Field.Z] = r.z;
    desc[Field.K] = r.k;
    desc[Field.Wout] = r.wout;
    if (this.gram !== undefined && this.gram.O !== O) {
      this.arena.release(this.gram.block);
      this.gram = undefined;
    }
    this.dropRls();
    this.fitted = false;
  }

  private build(I: number, O: number | undefined): void {
    const cfg = { specs: this.specs, seed: this.seed, rin: this.rin, es: this.es, units: this.units };
    this.built = buildReservoir(this.arena, cfg, I, this.hasFeedback ? O! : 0);
    if (O !== undefined) this.setOutputDim(O);
  }
}

// loadModel rebuilds ESNs through this registration. Marked pure, so a bundle that never uses
// the ESN drops it with the class; modelSpec reads ESN_TYPE, so a bundle that does keeps it.
const ESN_TYPE = /* @__PURE__ */ registerModelType("ESN", restoreESN, { keepTypes: true });
