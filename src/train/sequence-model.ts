import { fail, RecurError } from "../errors.js";
import { Embedding } from "../layers/embedding.js";
import { Linear } from "../layers/linear.js";
import { GRU } from "../models/gru.js";
import { LSTM } from "../models/lstm.js";
import { MRNN } from "../models/mrnn.js";
import type { RecurrentModel } from "../models/recurrent.js";
import { RNN } from "../models/rnn.js";
import { createRng } from "../random.js";
import { InitialState } from "./initial-state.js";
import { sampleLogits } from "./sampling.js";
import type { StreamState } from "../models/stream-state.js";
import { checkTensor, type Tensor } from "../tensor.js";
import { checkElements } from "../memory.js";
import { integer, objectArgument, show } from "../validate.js";
import { clipGradNorm, clipGradValue } from "./clip.js";
import type { ParameterRegion, Trainable } from "./module.js";
import { checkOptimizerFor, type Optimizer } from "./optimizer.js";
import type { IndexTensor, SequenceModelOptions, SequenceBatch, TrainStepOptions, TrainStepResult } from "./sequence-types.js";
import { checkLossUnits, describeShape, headInput, headLoss, lastToHN, type GaussNewtonParts, type MaskedTargets } from "./sequence-targets.js";

export type { IndexTensor, SequenceModelOptions, SequenceBatch, TrainStepOptions, TrainStepResult } from "./sequence-types.js";

const IGNORE = -100;

/**
 * A trainable sequence model: optional Embedding -> RNN/LSTM/GRU/MRNN -> Linear head, with a loss.
 * Parameter names follow a PyTorch module with submodules `embedding`, `lstm` (or `gru`, `rnn`, `mrnn`),
 * `head` and `initial`, so PyTorch state dicts of the same architecture load directly.
 */
export class SequenceModel implements Trainable {
  /** The options, every default filled in. */
  readonly options: Readonly<
    Required<Omit<SequenceModelOptions, "inputSize" | "vocabSize" | "lossUnits" | "init" | "activations" | "clip" | "inputForget">> &
    Pick<SequenceModelOptions, "activations" | "clip" | "inputForget"> & {
      /** Features per step (real-valued input). */
      inputSize?: number;
      /** Token ids per step (embedded input). */
      vocabSize?: number;
      /** The output units with targets (MSE), when not all. */
      lossUnits?: readonly number[];
    }
  >;
  /** The token embedding (`embedding.*` weights), for a vocabSize model. */
  readonly embedding: Embedding | undefined;
  /** The recurrent layers (`lstm.*`, `gru.*` or `rnn.*` weights). */
  readonly rnn: RecurrentModel;
  /** The output layer (`head.*` weights). */
  readonly head: Linear;
  private readonly initial: InitialState | undefined;
  private readonly prefix: string;
  private disposed = false;

  constructor(options: SequenceModelOptions) {
    if (typeof options !== "object" || options === null) fail("E_TYPE", "SequenceModel: options must be an object");
    const cell = options.cell ?? "LSTM";
    if (!["LSTM", "GRU", "RNN", "MRNN"].includes(cell)) fail("E_VALUE", `SequenceModel: cell must be "LSTM", "GRU", "RNN" or "MRNN", got ${show(cell)}`);
    if ((options.inputSize === undefined) === (options.vocabSize === undefined)) {
      fail("E_VALUE", "SequenceModel: give exactly one of inputSize (real-valued input) and vocabSize (token input)");
    }
    const outputs = options.outputs ?? "sequence";
    if (outputs !== "sequence" && outputs !== "last") fail("E_VALUE", `SequenceModel: outputs must be "sequence" or "last", got ${show(outputs)}`);
    const loss = options.loss ?? "crossEntropy";
    if (loss !== "crossEntropy" && loss !== "mse") fail("E_VALUE", `SequenceModel: loss must be "crossEntropy" or "mse", got ${show(loss)}`);
    const lossLastSteps = options.lossLastSteps ?? 0;
    if (!Number.isInteger(lossLastSteps) || lossLastSteps < 0) fail("E_VALUE", `SequenceModel: lossLastSteps must be an integer >= 0, got ${show(lossLastSteps)}`);
    if (lossLastSteps > 0 && outputs !== "sequence") fail("E_VALUE", `SequenceModel: lossLastSteps needs outputs "sequence" (outputs "last" already has one target per sequence)`);
    // The sizes are checked here, under this class's option names: the parts built below would
    // otherwise report them under their own (a Linear's outFeatures for outputSize).
    const where = "SequenceModel";
    if (options.inputSize !== undefined) integer(where, "inputSize", options.inputSize, { min: 1 });
    if (options.vocabSize !== undefined) integer(where, "vocabSize", options.vocabSize, { min: 1 });
    integer(where, "hiddenSize", options.hiddenSize, { min: 1 });
    integer(where, "outputSize", options.outputSize, { min: 1 });
    if (options.embeddingDim !== undefined) integer(where, "embeddingDim", options.embeddingDim, { min: 1 });
    if (options.numLayers !== undefined) integer(where, "numLayers", options.numLayers, { min: 1 });
    const lossUnits = options.lossUnits === undefined ? undefined : checkLossUnits(options.lossUnits, options.outputSize, loss);
    if (options.inputForget !== undefined && cell !== "LSTM") fail("E_VALUE", `SequenceModel: inputForget is an LSTM option (cell is ${cell})`);
    const conditionSize = options.conditionSize ?? 0;
    if (!Number.isInteger(conditionSize) || conditionSize < 0) fail("E_VALUE", `SequenceModel: conditionSize must be an integer >= 0, got ${show(conditionSize)}`);
    const seed = options.seed ?? 0;
    const embeddingDim = options.embeddingDim ?? options.hiddenSize;
    this.options = Object.freeze({
      cell,
      inputSize: options.inputSize,
      vocabSize: options.vocabSize,
      embeddingDim,
      conditionSize,
      hiddenSize: options.hiddenSize,
      numLayers: options.numLayers ?? 1,
      bidirectional: options.bidirectional ?? false,
      projSize: options.projSize ?? 0,
      peepholes: options.peepholes ?? false,
      resetAfter: options.resetAfter ?? true,
      nonlinearity: options.nonlinearity ?? "tanh",
      factorSize: options.factorSize ?? 0,
      activations: options.activations,
      clip: options.clip,
      inputForget: options.inputForget,
      outputSize: options.outputSize,
      outputs,
      loss,
      lossLastSteps,
      ...(lossUnits ? { lossUnits } : {}),
      trainableInitialState: options.trainableInitialState ?? false,
      seed,
    });
    const o = this.options;
    const stepFeatures = (o.vocabSize !== undefined ? embeddingDim : o.inputSize!) + conditionSize;
    const common = { inputSize: stepFeatures, hiddenSize: o.hiddenSize, numLayers: o.numLayers, bidirectional: o.bidirectional, seed: seed + 1, activations: o.activations, clip: o.clip, init: options.init };
    const built: { dispose(): void }[] = [];
    try {
      this.embedding = o.vocabSize !== undefined ? new Embedding({ numEmbeddings: o.vocabSize, embeddingDim, seed }) : undefined;
      if (this.embedding) built.push(this.embedding);
      this.rnn =
        cell === "LSTM"
          ? new LSTM({ ...common, projSize: o.projSize, peepholes: o.peepholes, inputForget: o.inputForget })
          : cell === "GRU"
            ? new GRU({ ...common, resetAfter: o.resetAfter })
            : cell === "MRNN"
              ? new MRNN({ ...common, factorSize: o.factorSize })
              : new RNN({ ...common, nonlinearity: o.activations === undefined ? o.nonlinearity : undefined });
      built.push(this.rnn);
      const features = this.rnn.directions * this.rnn.outputSize;
      this.head = new Linear({ inFeatures: features, outFeatures: o.outputSize, seed: seed + 2 });
      built.push(this.head);
      this.initial = o.trainableInitialState ? new InitialState(this.rnn, seed + 3) : undefined;
    } catch (err) {
      for (const m of built) m.dispose();
      throw err;
    }
    this.prefix = cell.toLowerCase();
  }

  private get modules(): Trainable[] {
    return [this.embedding, this.rnn, this.head, this.initial].filter((m): m is NonNullable<typeof m> => m !== undefined);
  }

  // ---- Trainable ----

  parameterRegions(): ParameterRegion[] {
    this.checkAlive();
    return this.modules.flatMap((m) => m.parameterRegions());
  }

  zeroGrad(): void {
    this.checkAlive();
    for (const m of this.modules) m.zeroGrad();
  }

  parametersChanged(): void {
    this.checkAlive();
    for (const m of this.modules) m.parametersChanged();
  }

  // ---- parameters ----

  /** Every parameter under the name of the equivalent PyTorch module's (`lstm.weight_ih_l0`, `head.bias`, ...). */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    return Object.fromEntries(this.named().flatMap(([p, m]) => Object.entries(m.stateDict()).map(([k, v]) => [`${p}.${k}`, v])));
  }

  /** Loads a state dict with prefixed names; every problem is listed in one error, nothing changes on failure. */
  loadStateDict(sd: Record<string, Tensor>): void {
    this.checkAlive();
    if (typeof sd !== "object" || sd === null) fail("E_TYPE", "SequenceModel.loadStateDict: expected an object of tensors");
    const parts = this.named();
    const known = new Set(parts.map(([p]) => p));
    const unexpected = Object.keys(sd).filter((k) => !known.has(k.split(".")[0]));
    const problems: string[] = unexpected.length ? [`unexpected keys: ${unexpected.join(", ")}`] : [];
    // Validate every part by loading into a scratch copy first, so a failure changes nothing.
    const before = this.stateDict();
    for (const [p, m] of parts) {
      const sub: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(sd)) if (k.startsWith(`${p}.`)) sub[k.slice(p.length + 1)] = v;
      try {
        m.loadStateDict(sub);
      } catch (err) {
        problems.push(`${p}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (problems.length) {
      for (const [p, m] of parts) {
        const sub: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(before)) if (k.startsWith(`${p}.`)) sub[k.slice(p.length + 1)] = v;
        m.loadStateDict(sub);
      }
      fail("E_KEY", `SequenceModel.loadStateDict: ${problems.join("; ")}`);
    }
  }

  /** The accumulated gradients, by the names of `stateDict`. */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    return Object.fromEntries(this.named().flatMap(([p, m]) => Object.entries(m.gradients()).map(([k, v]) => [`${p}.${k}`, v])));
  }

  /** What a weight file stores to rebuild this model (see saveModel/loadModel). */
  modelSpec(): {
    /** "SequenceModel". */
    type: string;
    /** The options that rebuild it. */
    config: Record<string, unknown>;
  } {
    const config: Record<string, unknown> = { ...this.options };
    for (const k of Object.keys(config)) if (config[k] === undefined) delete config[k];
    return { type: "SequenceModel", config };
  }

  private named(): [string, { stateDict(): Record<string, Tensor>; loadStateDict(sd: Record<string, Tensor>): void; gradients(): Record<string, Tensor> }][] {
    const out: [string, { stateDict(): Record<string, Tensor>; loadStateDict(sd: Record<string, Tensor>): void; gradients(): Record<string, Tensor> }][] = [];
    if (this.embedding) out.push(["embedding", this.embedding]);
    out.push([this.prefix, this.rnn], ["head", this.head]);
    if (this.initial) out.push(["initial", this.initial]);
    return out;
  }

  // ---- computation ----

  /** Outputs of the head (logits or regression values): [T, B, outputSize] or [B, outputSize] for "last". */
  predict(batch: Omit<SequenceBatch, "target">): Tensor {
    this.checkAlive();
    const { x, T, B } = this.stepInputs(batch, false);
    const states = this.initialStates(batch, B);
    const r = this.rnn.forward(x, { h0: states.h0, c0: states.c0, lengths: batch.lengths });
    return this.head.forward(this.headInput(r, T, B));
  }

  /**
   * Forward and backward on one batch: accumulates gradients (zero them first, or let trainStep
   * do it) and returns the loss and the final states.
   */
  lossAndGrad(
    batch: SequenceBatch,
    options: { gradScale?: number } = {},
  ): {
    /** The batch's loss. */
    loss: number;
    /** The final hidden states. */
    hN: Tensor;
    /** LSTM only: the final cell states. */
    cN?: Tensor;
  } {
    this.checkAlive();
    const { x, T, B } = this.stepInputs(batch, true);
    const o = this.options;
    if (batch.target === undefined) fail("E_VALUE", "SequenceModel: the batch has no target");
    const targetsChecked = this.checkTarget(batch.target, T, B, batch.lengths);
    const states = this.initialStates(batch, B);
    // With outputs "last" the head reads only the final states.
    const r = this.rnn.forwardTrain(x, { h0: states.h0, c0: states.c0, lengths: batch.lengths, output: o.outputs !== "last" });
    const feats = this.headInput(r, T, B);
    const y = this.head.forward(feats);
    const rows = o.outputs === "last" ? B : T * B;
    const { loss, grad } = headLoss(o.loss, { shape: [rows, o.outputSize], data: y.data }, targetsChecked);
    // Several windows of one truncated-BPTT chunk each weigh their mean loss by their share.
    if (options.gradScale !== undefined && options.gradScale !== 1) for (let i = 0; i < grad.data.length; i++) grad.data[i] *= options.gradScale;
    const dFeats = this.head.backward({ shape: [rows, o.outputSize], data: grad.data });
    const grads: { output?: Tensor; hN?: Tensor } = {};
    if (o.outputs === "last") grads.hN = this.lastToHN(dFeats, B);
    else grads.output = { shape: r.output!.shape, data: dFeats.data };
    const d = this.rnn.backward(grads, { inputGrad: this.embedding !== undefined });
    if (this.embedding && d.input) {
      const E = o.embeddingDim;
      const I = E + o.conditionSize;
      const dEmb = new Float32Array(T * B * E);
      for (let r2 = 0; r2 < T * B; r2++) dEmb.set(d.input.data.subarray(r2 * I, r2 * I + E), r2 * E);
      this.embedding.backward({ shape: [T * B, E], data: dEmb });
    }
    if (this.initial) this.initial.accumulate(d.h0, d.c0, B);
    return { loss, hN: r.hN, cN: r.cN };
  }

  /** The batch's loss from a forward pass alone (no gradients). */
  loss(batch: SequenceBatch): number {
    this.checkAlive();
    const { x, T, B } = this.stepInputs(batch, false);
    if (batch.target === undefined) fail("E_VALUE", "SequenceModel: the batch has no target");
    const targets = this.checkTarget(batch.target, T, B, batch.lengths);
    const states = this.initialStates(batch, B);
    const r = this.rnn.forward(x, { h0: states.h0, c0: states.c0, lengths: batch.lengths });
    const y = this.head.forward(this.headInput(r, T, B));
    return headLoss(this.options.loss, { shape: [y.data.length / this.options.outputSize, this.options.outputSize], data: y.data }, targets).loss;
  }

  /**
   * The checked inputs of a batch and views of the internals, for curvature products
   * (recur-nn/hessian-free's gaussNewtonProduct).
   * @internal
   */
  curvatureParts(batch: SequenceBatch): GaussNewtonParts {
    this.checkAlive();
    if (this.initial) fail("E_UNSUPPORTED", "gaussNewtonProduct: a trainable initial state is not supported");
    const { x, T, B } = this.stepInputs(batch, true);
    if (batch.target === undefined) fail("E_VALUE", "SequenceModel: the batch has no target");
    const targets = this.checkTarget(batch.target, T, B, batch.lengths);
    const states = this.initialStates(batch, B);
    return { model: this, x, T, B, states, targets, headInput: (r: { output?: Tensor; hN: Tensor }) => this.headInput(r, T, B), lastToHN: (d: Tensor) => this.lastToHN(d, B) };
  }

  /**
   * One optimisation step: zero gradients, forward, backward, optional clipping, update. A NaN or
   * infinite loss or gradient throws RecurError E_NUMERIC before the update, so the parameters
   * stay at their last good values.
   */
  trainStep(batch: SequenceBatch, optimizer: Optimizer, options: TrainStepOptions = {}): TrainStepResult {
    objectArgument("trainStep", options);
    checkOptimizerFor("trainStep", optimizer, this);
    this.zeroGrad();
    const r = this.lossAndGrad(batch);
    if (!Number.isFinite(r.loss)) throw new RecurError("E_NUMERIC", `trainStep: the loss is ${r.loss}; parameters were not updated`);
    const out: TrainStepResult = { loss: r.loss, hN: r.hN, ...(r.cN ? { cN: r.cN } : {}) };
    if (options.clipGradNorm !== undefined) {
      out.gradNorm = clipGradNorm(this, options.clipGradNorm);
      if (!Number.isFinite(out.gradNorm)) throw new RecurError("E_NUMERIC", `trainStep: the gradient norm is ${out.gradNorm}; parameters were not updated`);
    }
    if (options.clipGradValue !== undefined) clipGradValue(this, options.clipGradValue);
    optimizer.step();
    return out;
  }

  /**
   * Streaming generation for token models with outputs "sequence": feeds `prime`, then samples
   * `length` tokens, each fed back as the next input. Temperature scales the logits; topK keeps
   * only the k most likely tokens. Deterministic for a given seed.
   */
  sample(options: { prime: ArrayLike<number>; length: number; temperature?: number; topK?: number; seed?: number; condition?: Tensor }): number[] {
    this.checkAlive();
    const o = this.options;
    if (o.vocabSize === undefined || !this.embedding) fail("E_UNSUPPORTED", "sample: needs a token model (vocabSize)");
    if (o.outputs !== "sequence") fail("E_UNSUPPORTED", "sample: needs outputs \"sequence\"");
    if (o.bidirectional) fail("E_UNSUPPORTED", "sample: a bidirectional model cannot generate step by step");
    objectArgument("sample", options);
    const temperature = options.temperature ?? 1;
    if (!(temperature > 0)) fail("E_VALUE", `sample: temperature must be > 0, got ${show(temperature)}`);
    const topK = options.topK ?? 0;
    if (!Number.isInteger(topK) || topK < 0) fail("E_VALUE", `sample: topK must be an integer >= 0, got ${show(topK)}`);
    if (!Number.isInteger(options.length) || options.length < 0) fail("E_VALUE", `sample: length must be an integer >= 0, got ${show(options.length)}`);
    checkElements("sample", "the sampled tokens", options.length);
    const prime: unknown = options.prime;
    if (typeof prime !== "object" || prime === null || typeof (prime as ArrayLike<number>).length !== "number") fail("E_TYPE", `sample: prime must be an array of token ids, got ${prime === null ? "null" : typeof prime}`);
    if (options.prime.length === 0) fail("E_VALUE", "sample: prime must hold at least one token");
    const rng = createRng(options.seed ?? 0);
    const state = this.rnn.initialState(1);
    if (this.initial) this.initial.fill(state);
    const E = o.embeddingDim;
    const xt = new Float32Array(E + o.conditionSize);
    if (o.conditionSize > 0) {
      if (!options.condition) fail("E_VALUE", "sample: this model needs a condition vector");
      checkTensor(options.condition, "sample: condition", [1, o.conditionSize]);
      xt.set(options.condition.data, E);
    }
    const feed = (token: number): Float32Array => {
      xt.set(this.embedding!.forward([token], [1]).data, 0);
      const { output } = this.rnn.step({ shape: [1, xt.length], data: xt }, state);
      return this.head.forward({ shape: [1, output.data.length], data: output.data }).data;
    };
    let logits: Float32Array = new Float32Array(0);
    for (let i = 0; i < options.prime.length; i++) logits = feed(options.prime[i]);
    const out: number[] = [];
    for (let i = 0; i < options.length; i++) {
      const token = sampleLogits(logits, temperature, topK, rng.next());
      out.push(token);
      if (i + 1 < options.length) logits = feed(token);
    }
    return out;
  }

  /** Writes the learned initial state, if any, into `state` (recur-nn/beam-search). @internal */
  fillInitialState(state: StreamState): void {
    this.checkAlive();
    this.initial?.fill(state);
  }

  /** Frees the Wasm memory of every part. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of [this.embedding, this.rnn, this.head, this.initial]) m?.dispose();
  }

  /** Whether `dispose` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- internals ----

  private checkAlive(): void {
    if (this.disposed) fail("E_STATE", "SequenceModel: the model was disposed");
  }

  // The recurrent input [T, B, features + conditionSize] for the batch.
  private stepInputs(batch: SequenceBatch | Omit<SequenceBatch, "target">, train: boolean): { x: Tensor; T: number; B: number } {
    if (typeof batch !== "object" || batch === null) fail("E_TYPE", "SequenceModel: batch must be an object");
    const o = this.options;
    const input = batch.input;
    let T: number, B: number;
    let features: Float32Array;
    let F: number;
    if (o.vocabSize !== undefined) {
      if (!input || !Array.isArray(input.shape) || input.shape.length !== 2) fail("E_SHAPE", `SequenceModel: token input must have shape [T, B], got ${describeShape(input)}`);
      [T, B] = input.shape;
      F = o.embeddingDim;
      features = this.embedding!.forward(input.data, [T * B]).data;
      void train; // the embedding keeps its ids for backward itself
    } else {
      checkTensor(input, "SequenceModel: input", [-1, -1, o.inputSize!]);
      [T, B] = input.shape;
      F = o.inputSize!;
      features = (input as Tensor).data;
    }
    if (T < 1 || B < 1) fail("E_SHAPE", `SequenceModel: input must have at least one step and one sequence, got [${input.shape.join(", ")}]`);
    if (o.conditionSize === 0) {
      if (batch.condition !== undefined) fail("E_VALUE", "SequenceModel: a condition was given but the model has conditionSize 0");
      return { x: { shape: [T, B, F], data: features }, T, B };
    }
    if (batch.condition === undefined) fail("E_VALUE", `SequenceModel: this model needs batch.condition [${B}, ${o.conditionSize}]`);
    checkTensor(batch.condition, "SequenceModel: condition", [B, o.conditionSize]);
    const C = o.conditionSize;
    const I = F + C;
    const x = new Float32Array(T * B * I);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        const r = t * B + b;
        x.set(features.subarray(r * F, r * F + F), r * I);
        x.set(batch.condition.data.subarray(b * C, b * C + C), r * I + F);
      }
    }
    return { x: { shape: [T, B, I], data: x }, T, B };
  }

  private initialStates(batch: { h0?: Tensor; c0?: Tensor }, B: number): { h0?: Tensor; c0?: Tensor } {
    if (batch.h0 !== undefined || batch.c0 !== undefined || !this.initial) return { h0: batch.h0, c0: batch.c0 };
    return this.initial.expand(B);
  }

  private headInput(r: { output?: Tensor; hN: Tensor }, T: number, B: number): Tensor {
    return headInput(this.rnn, this.options.outputs, r, T, B);
  }

  private lastToHN(dFeats: Tensor, B: number): Tensor {
    return lastToHN(this.rnn, dFeats, B);
  }

  // Targets as the loss functions take them; positions past a sequence's length, before the last
  // lossLastSteps steps, or outside lossUnits are ignored.
  private checkTarget(target: Tensor | IndexTensor, T: number, B: number, lengths: ArrayLike<number> | undefined): Int32Array | Float32Array | MaskedTargets {
    const o = this.options;
    const rows = o.outputs === "last" ? B : T * B;
    // counted(t, b): does step t of sequence b carry a target?
    const last = o.lossLastSteps;
    const len = (b: number): number => (lengths ? lengths[b] : T);
    const counted = (t: number, b: number): boolean => t < len(b) && (last === 0 || t >= len(b) - last);
    const stepMasked = o.outputs === "sequence" && (lengths !== undefined || last > 0);
    if (o.loss === "crossEntropy") {
      const want = o.outputs === "last" ? [B] : [T, B];
      if (!target || !Array.isArray(target.shape) || target.shape.length !== want.length || target.shape.some((d, i) => d !== want[i]) || target.data?.length !== rows) {
        fail("E_SHAPE", `SequenceModel: target must be class ids of shape [${want.join(", ")}], got ${describeShape(target)}`);
      }
      // Int32Array.from would truncate 2.5 to class 2 and NaN to class 0: only integers are class ids.
      const src = target.data as ArrayLike<unknown>;
      for (let i = 0; i < rows; i++) {
        const v = src[i];
        if (typeof v !== "number" || (v | 0) !== v) fail("E_VALUE", `SequenceModel: target must hold integer class ids, got ${show(v)} at index ${i}`);
      }
      const ids = Int32Array.from(src as ArrayLike<number>);
      if (stepMasked) {
        for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (!counted(t, b)) ids[t * B + b] = IGNORE;
      }
      return ids;
    }
    const units = o.lossUnits;
    const U = units ? units.length : o.outputSize;
    const want = o.outputs === "last" ? [B, U] : [T, B, U];
    checkTensor(target, "SequenceModel: target", want);
    const data = (target as Tensor).data;
    if (!stepMasked && !units) return data;
    // Full-width targets plus a 0/1 mask over [rows, outputSize].
    const O = o.outputSize;
    const full = new Float32Array(rows * O);
    const mask = new Uint8Array(rows * O);
    for (let r = 0; r < rows; r++) {
      if (stepMasked && !counted(Math.floor(r / B), r % B)) continue;
      for (let j = 0; j < U; j++) {
        const col = units ? units[j] : j;
        full[r * O + col] = data[r * U + j];
        mask[r * O + col] = 1;
      }
    }
    return { target: full, mask };
  }
}

export { sampleLogits } from "./sampling.js";
