/**
 * The machinery behind ESN (esn.ts, the public API): the resolved options, the built reservoir
 * and readout in the model's Wasm blocks, and what every call shares (building on first data,
 * running the reservoir, transactions that leave a failed call's model as it was).
 */
import { fail } from "../errors.js";
import { WasmBlocks } from "../memory.js";
import { fullRuntime, type FullRuntime } from "../full-core.js";
import type { Tensor } from "../tensor.js";
import { boolean, integer } from "../validate.js";
import { allocReadout, bytes, Field, Flag, vec, type Arena, type Built, type Readout } from "./layout.js";
import { checkSequence, resolveESNOptions, type LayerSpec } from "./options.js";
import { buildReservoir } from "./reservoir.js";
import { allocDual, allocPrimal, bindStats, syncStats, type RidgeStats } from "./ridge.js";
import { runModel, type RunRequest } from "./run.js";
import type { StoredTensor } from "../io/safetensors.js";
import type { ESNOptions } from "./types.js";
import { isSparse } from "./options.js";
import { parseStateDict } from "./persist.js";
import { readWeights, readWeights64 } from "./reservoir.js";

export abstract class ESNCore {
  /** Total reservoir units (all layers). */
  readonly units: number;
  protected readonly rt: FullRuntime;
  protected readonly specs: LayerSpec[];
  protected readonly seed: number;
  protected readonly rin: boolean;
  protected ridge: number;
  protected readonly noiseAlways: boolean;
  /** Bytes per state element: 4 (float32) or 8 (float64). */
  protected readonly es: number;
  protected readonly fixedInputDim: number | undefined;
  protected fixedOutputDim: number | undefined;
  protected built: Built | undefined;
  protected readout: Readout | undefined;
  protected fitted = false;
  protected readonly ridgeSolver: "auto" | "primal" | "dual";
  protected gram: RidgeStats | undefined;
  protected rls: { block: number; alpha: number } | undefined;
  protected isDisposed = false;
  protected readonly arena: Arena;

  /** `build`: build the reservoir now when the options give its sizes (false: loadStateDict will). */
  protected constructor(options: ESNOptions, build = true) {
    const fn = "ESN";
    const c = resolveESNOptions(fn, options);
    this.rt = fullRuntime(fn);
    this.specs = c.specs;
    this.units = c.units;
    this.ridge = c.ridge;
    this.rin = c.rin;
    this.seed = c.seed;
    this.noiseAlways = c.noiseAlways;
    this.es = c.es;
    this.fixedInputDim = c.inputDim;
    this.fixedOutputDim = c.outputDim;
    this.ridgeSolver = c.ridgeSolver;
    const inDim = c.inputDim;
    const outDim = c.outputDim;
    this.arena = { rt: this.rt, blocks: WasmBlocks.of(this.rt.heap, this) };
    try {
      if (build && inDim !== undefined && (!this.hasFeedback || outDim !== undefined)) this.build(inDim, outDim);
    } catch (err) {
      this.arena.blocks.dispose(); // a constructor that fails keeps no Wasm memory
      throw err;
    }
  }

  /** Input channels (undefined until known). */
  get inputDim(): number | undefined {
    return this.built?.I ?? this.fixedInputDim;
  }

  /** Output channels (undefined until known). */
  get outputDim(): number | undefined {
    return this.built !== undefined && this.built.O > 0 ? this.built.O : this.fixedOutputDim;
  }

  protected get hasFeedback(): boolean {
    return this.specs[0].feedbackScaling > 0 || this.specs[0].weights.Wfb !== undefined;
  }

  protected alive(fn: string): void {
    if (this.isDisposed) fail("E_STATE", `${fn}: the ESN was disposed`);
  }

  protected requireBuilt(fn: string): Built {
    if (this.built === undefined) fail("E_STATE", `${fn}: the reservoir is not built yet (its input size is unknown until the first data or inputDim)`);
    return this.built;
  }

  protected noiseFlag(training: boolean): number {
    return (training || this.noiseAlways) && this.specs.some((s) => s.noise > 0) ? Flag.Noise : 0;
  }

  protected zeroState(): void {
    const b = this.built!;
    this.vec(b.F, b.D).fill(0);
    if (this.readout !== undefined) this.vec(this.readout.yPrev, b.O).fill(0);
  }

  /** A fresh view of n state elements (float32 or float64 by precision). */
  protected vec(ptr: number, n: number): Float32Array | Float64Array {
    return vec(this.rt.heap, this.es, ptr, n);
  }

  protected bytes(ptr: number, n: number): Uint8Array {
    return bytes(this.rt.heap, ptr, n);
  }

  protected dropRls(): void {
    if (this.rls !== undefined) {
      this.arena.blocks.release(this.rls.block);
      this.rls = undefined;
    }
  }

  // Runs fn; on a throw restores the state, the previous output and the noise generator (and
  // whatever `undo` restores) before rethrowing, so a failed call leaves the model as it was.
  protected transaction(fn: () => void, undo?: () => void): void {
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

  protected ensureBuilt(fn: string, inDim: number, outDim: number | undefined): void {
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

  protected prepareTraining(fn: string, inputs: Tensor | Tensor[], targets: Tensor | Tensor[], o: Record<string, unknown>): { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[] {
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    const tgs = Array.isArray(targets) ? targets : [targets];
    if (ins.length !== tgs.length) fail("E_SHAPE", `${fn}: ${ins.length} input sequence(s) but ${tgs.length} target sequence(s)`);
    if (ins.length === 0) fail("E_VALUE", `${fn}: no sequences given`);
    const washout = integer(fn, "washout", o.washout, { min: 0 }, 0);
    boolean(fn, "reset", o.reset, false);
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
  protected newStats(seqs: { T: number; washout: number }[], prev?: RidgeStats): RidgeStats {
    const b = this.built!;
    const rows = seqs.reduce((a, s) => a + s.T - s.washout, 0);
    const kind = prev?.kind ?? (this.ridgeSolver === "auto" ? (rows < b.D ? "dual" : "primal") : this.ridgeSolver);
    return kind === "dual" ? allocDual(this.arena, b, b.O, this.es, rows, prev) : allocPrimal(this.arena, b, b.O);
  }

  protected accumulate(fn: string, seqs: { T: number; inputs: Float32Array; targets: Float32Array; washout: number }[], g: RidgeStats, o: Record<string, unknown>): void {
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

  protected run(req: RunRequest): void {
    runModel(this.arena, this.built!, this.readout, this.units, this.specs.some((s) => s.activation === "identity" || s.activation === "relu"), req);
  }

  protected setOutputDim(O: number): void {
    const b = this.built!;
    if (this.readout !== undefined) {
      if (this.readout.wout !== 0 && b.O === O) return;
      this.arena.blocks.release(this.readout.block);
      this.readout = undefined;
    }
    const D = b.D;
    const r = allocReadout(this.arena, O, D, this.es);
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
      this.arena.blocks.release(this.gram.block);
      this.gram = undefined;
    }
    this.dropRls();
    this.fitted = false;
  }

  protected build(I: number, O: number | undefined): void {
    const cfg = { specs: this.specs, seed: this.seed, rin: this.rin, es: this.es, units: this.units };
    this.built = buildReservoir(this.arena, cfg, I, this.hasFeedback ? O! : 0);
    if (O !== undefined) this.setOutputDim(O);
  }

  // ---- weight files (saveModel / loadModel) and searches ----

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
    const parsed = parseStateDict(fn, sd, { specs: this.specs, inputDim: this.inputDim, outputDim: this.outputDim, hasFeedback: this.hasFeedback, rin: this.rin, units: this.units, es: this.es });
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
      if (made.readout !== undefined) this.arena.blocks.release(made.readout.block);
      if (made.built !== undefined) this.arena.blocks.release(made.built.block);
      Object.assign(this, old);
      throw e;
    }
    for (const block of [old.built?.block, old.readout?.block, old.gram?.block, old.rls?.block]) if (block !== undefined) this.arena.blocks.release(block);
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
    if (this.gram !== undefined) this.arena.blocks.release(this.gram.block);
    this.gram = allocPrimal(this.arena, b, b.O);
    bindStats(this.rt.heap, b, this.gram);
    return { desc: b.desc, D: b.D, noiseFlag: this.noiseFlag(true) };
  }
}
