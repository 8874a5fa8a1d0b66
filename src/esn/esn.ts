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
import type { Tensor } from "../tensor.js";
import { boolean, integer, number, oneOf, optionsObject, show } from "../validate.js";
import { registerModelType } from "../io/registry.js";
import { checkElements } from "../memory.js";
import { ESNCore } from "./core.js";
import { Field, Flag } from "./layout.js";
import { checkSequence, checkWeightTensor } from "./options.js";
import { readWeights } from "./reservoir.js";
import { featureName, solveRidge } from "./ridge.js";
import type { ESNOptions, FitOptions, GenerateOptions, LayerInfo, OnlineFitOptions, PredictOptions, SolveOptions, SparseMatrix } from "./types.js";

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
export class ESN extends ESNCore {
  constructor(options: ESNOptions) {
    super(options, !restoring);
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
    const o = optionsObject(fn, options, ["washout", "reset", "ridge"]);
    const ridge = number(fn, "ridge", o.ridge, { min: 0 }, this.ridge);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    const b = this.built!;
    this.transaction(() => {
      const g = this.newStats(seqs);
      try {
        this.accumulate(fn, seqs, g, o);
        solveRidge(fn, this.arena, b, g, this.es, ridge, this.readout!.wout, (i) => featureName(this.built!, this.rin, i));
      } catch (e) {
        this.arena.blocks.release(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.arena.blocks.release(this.gram.block);
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
    const o = optionsObject(fn, options, ["washout", "reset"]);
    const seqs = this.prepareTraining(fn, inputs, targets, o);
    this.transaction(() => {
      const g = this.newStats(seqs, this.gram);
      try {
        if (g.kind === "primal" && this.gram?.kind === "primal") this.rt.heap.f64(g.gram, g.G * g.G).set(this.rt.heap.f64(this.gram.gram, g.G * g.G));
        this.accumulate(fn, seqs, g, o);
      } catch (e) {
        this.arena.blocks.release(g.block);
        throw e;
      }
      if (this.gram !== undefined) this.arena.blocks.release(this.gram.block);
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
    const o = optionsObject(fn, options, ["ridge"]);
    const ridge = number(fn, "ridge", o.ridge, { min: 0 }, this.ridge);
    if (this.gram === undefined) fail("E_STATE", `${fn}: nothing accumulated; call partialFit (or fit) first`);
    const wout = this.readout === undefined ? undefined : this.rt.heap.f64(this.readout.wout, this.built!.O * this.built!.D).slice();
    try {
      solveRidge(fn, this.arena, this.built!, this.gram, this.es, ridge, this.readout!.wout, (i) => featureName(this.built!, this.rin, i));
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
    const o = optionsObject(fn, options, ["washout", "reset", "alpha", "forgetting", "feedbackFrom", "restart"]);
    const alpha = number(fn, "alpha", o.alpha, { min: 0, open: true }, 1e-6);
    const forgetting = number(fn, "forgetting", o.forgetting, { min: 0, max: 1, open: true }, 1);
    const from = o.feedbackFrom ?? "teacher";
    oneOf(fn, "feedbackFrom", from, ["teacher", "output"]);
    const restart = boolean(fn, "restart", o.restart, false);
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
          created = this.arena.blocks.alloc(b.D * b.D * 8);
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
          this.arena.blocks.release(created);
          this.rls = oldRls;
        } else if (oldP !== undefined && this.rls !== undefined) heap.f64(this.rls.block, oldP.length).set(oldP);
        this.fitted = wasFitted;
      },
    );
    if (created !== 0 && oldRls !== undefined) this.arena.blocks.release(oldRls.block);
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
    const o = optionsObject(fn, options, ["teacher", "reset"]);
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
    const o = optionsObject(fn, options, ["warmup", "reset"]);
    integer(fn, "steps", steps, { min: 0 });
    if (!this.fitted) fail("E_STATE", `${fn}: the readout is not trained; call fit (or fitOnline / setReadout) first`);
    const b = this.built!;
    if (b.I !== 0 && b.I !== b.O) fail("E_SHAPE", `${fn}: closed-loop generation feeds outputs back as inputs, so inputDim (${b.I}) must equal outputDim (${b.O}) (or be 0)`);
    const warm = o.warmup === undefined ? undefined : checkSequence(fn, "warmup", o.warmup, b.O);
    const outputs = new Float32Array(checkElements(fn, "the generated sequence", steps * b.O));
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
    const o = optionsObject(fn, options, ["teacher", "reset"]);
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
    this.arena.blocks.dispose();
    this.built = undefined;
    this.readout = undefined;
    this.gram = undefined;
    this.rls = undefined;
  }
}

// loadModel rebuilds ESNs through this registration. Marked pure, so a bundle that never uses
// the ESN drops it with the class; modelSpec reads ESN_TYPE, so a bundle that does keeps it.
const ESN_TYPE = /* @__PURE__ */ registerModelType("ESN", restoreESN, { keepTypes: true });
