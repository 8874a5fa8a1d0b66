/**
 * RecurrentModel, the public class behind RNN, LSTM and GRU. The pieces live beside it:
 * config.ts (options and sizes), params.ts (the parameter block and its packed copies),
 * workspace.ts (the call workspace and the one forward driver), bptt.ts (gradients and the
 * backward driver), stream-state.ts (StreamState), descriptor.ts (the block the kernels read).
 */
import { fail } from "../errors.js";
import { WasmBlocks } from "../memory.js";
import { readStateDict, writeStateDict } from "../io/state-dict.js";
import { runtime, type Runtime } from "../runtime.js";
import { checkTensor, uninitializedF32, type Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { boolean, integer, show, objectArgument } from "../validate.js";
import { Bptt } from "./bptt.js";
import { untrainable } from "./cell.js";
import { dimsOf, initOptions, modelSpecOf, type Dims, type RecurrentConfig, type RecurrentOptions } from "./config.js";
import { Kind } from "./descriptor.js";
import { RecurrentParams } from "./params.js";
import { Stepper } from "./step.js";
import { StreamState } from "./stream-state.js";
import type { TangentContext } from "./tangent-context.js";
import { checkLengths, gradData, checkFiniteState, checkOut, type ForwardOptions, type ForwardOut } from "./call-checks.js";
import { copySequence, readPadded, reserveWorkspace, runForward, writePadded, WorkspaceViews, type Workspace } from "./workspace.js";

export { baseConfig, type RecurrentConfig, type RecurrentOptions, type IdentityInit, type Initializer, type InitTarget } from "./config.js";
export { StreamState } from "./stream-state.js";
export type { ForwardOptions, ForwardOut } from "./call-checks.js";

/** forwardTrain only. */
export interface TrainForwardOptions {
  /**
   * false: do not copy the output sequence out of Wasm memory (the result then has no `output`),
   * for callers that read only the final states. Default true.
   */
  output?: boolean;
}

/** What forwardTrain returns: `output` is absent when it was called with `output: false`. */
export type TrainForwardResult = Omit<ForwardResult, "output"> & {
  /** As in ForwardResult; absent with `output: false`. */
  output?: Tensor;
};

/** What `forward` returns. H_out is projSize for a projecting LSTM, else hiddenSize; D is 2 when bidirectional. */
export interface ForwardResult {
  /** [T, B, D*H_out] ([B, T, D*H_out] with batchFirst; [T, D*H_out] for an unbatched input). */
  output: Tensor;
  /** [numLayers*D, B, H_out] ([numLayers*D, H_out] for an unbatched input). */
  hN: Tensor;
  /** LSTM only: [numLayers*D, B, hiddenSize]. */
  cN?: Tensor;
}

/** Options of `backward`. */
export interface BackwardOptions {
  /** false: skip the input gradient (saves the first layer's largest product). Default true. */
  inputGrad?: boolean;
  /**
   * Also return ‖∂L/∂h_t‖ for every layer, direction, step t and batch row: the norm of the total
   * gradient reaching the hidden state h_t (from later steps and from h_t's own output), recorded
   * by the backward kernels as they pass each step, summed in float64. With only hN's gradient
   * given, row t is ‖∂L_T/∂h_t‖, the gradient flow over T - t steps. An LSTM also returns
   * ‖∂L/∂c_t‖ for its cell state (`cellGradNorms`). Default false.
   */
  hiddenGradNorms?: boolean;
}

/** The checked shape of a forward call. */
interface Call {
  T: number;
  B: number;
  unbatched: boolean;
  lengths: Int32Array | undefined;
  h0?: Tensor;
  c0?: Tensor;
}

/**
 * The machinery of RNN, LSTM and GRU: parameters in PyTorch layout in one Wasm block (followed by
 * their gate-interleaved packed copies), a workspace sized for the largest call so far, and the
 * forward/step/backward calls, each one Wasm call per layer and direction.
 */
export abstract class RecurrentModel implements Trainable {
  /** The model's configuration, every default filled in. */
  readonly config: Readonly<RecurrentConfig>;
  protected readonly rt: Runtime;
  private readonly d: Dims;
  private readonly blocks: WasmBlocks;
  private readonly params: RecurrentParams;
  private bptt: Bptt | undefined;
  private trained: (Call & { ws: Workspace }) | undefined;
  // The last layout of the inference and the training workspace (reused while it fits).
  private readonly layouts: { workspace?: Workspace; train?: Workspace } = {};
  private disposed = false;
  private stepper: Stepper | undefined;
  private stepResult: { output: Tensor; state: StreamState } | undefined;
  // Views of each workspace slot's regions, kept while the layout and the memory's buffer last.
  private readonly views = { workspace: new WorkspaceViews(), train: new WorkspaceViews() };

  protected constructor(config: RecurrentConfig, options: RecurrentOptions) {
    const { seed, init, then } = initOptions(config.mode, options);
    this.config = Object.freeze({ ...config });
    this.rt = runtime();
    this.d = dimsOf(config);
    this.blocks = WasmBlocks.of(this.rt.heap, this);
    try {
      this.params = new RecurrentParams(this.rt, this.d, this.blocks);
      this.params.initialise(seed, init);
      then?.apply(this);
    } catch (err) {
      this.blocks.dispose();
      throw err;
    }
  }

  /** 2 for a bidirectional model, else 1 (D). */
  get directions(): number {
    return this.d.D;
  }

  /** Size of h: projSize when projecting, hiddenSize otherwise. */
  get outputSize(): number {
    return this.d.P;
  }

  /** What a weight file stores to rebuild this model (see saveModel/loadModel). */
  modelSpec(): {
    /** The class name ("LSTM", "GRU" or "RNN"). */
    type: string;
    /** The constructor options that rebuild it. */
    config: Record<string, unknown>;
  } {
    return modelSpecOf(this.config);
  }

  /** Parameter names and shapes in state-dict order. */
  parameterShapes(): Record<string, number[]> {
    return Object.fromEntries(this.params.specs.map((s) => [s.name, [...s.shape]]));
  }

  /** A copy of every parameter under its PyTorch state_dict name. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.params.block, this.params.specs);
  }

  /**
   * Replaces every parameter. The dict must hold exactly this model's keys with their shapes and
   * finite values; otherwise a RecurError lists every problem and the model is left unchanged.
   */
  loadStateDict(sd: Record<string, Tensor>): void {
    this.checkAlive();
    writeStateDict("loadStateDict", this.rt.heap, this.params.block, this.params.specs, sd);
    this.repack();
  }

  /** Runs the whole sequence: one Wasm call per layer and direction. */
  forward(x: Tensor, options: ForwardOptions = {}): ForwardResult {
    objectArgument("forward", options);
    this.checkAlive();
    const call = this.checkCall(x, options, "forward");
    const out = options.out === undefined ? undefined : checkOut(options.out, "forward", this.d, call);
    const v = this.run(x, call, false);
    return { output: this.readOutput(v, call, out?.output), ...this.readStates(v, call, out) };
  }

  /**
   * A zeroed streaming state for `batch` independent streams. It also reserves the workspace for
   * steps of that batch size, so `step` then allocates nothing.
   */
  initialState(batch = 1): StreamState {
    this.checkAlive();
    integer("initialState", "batch", batch, { min: 1 });
    this.reserve(1, batch, false);
    const L = this.config.numLayers;
    return new StreamState(
      { shape: [L, batch, this.d.P], data: new Float32Array(L * batch * this.d.P) },
      this.d.kind === Kind.Lstm ? { shape: [L, batch, this.d.H], data: new Float32Array(L * batch * this.d.H) } : undefined,
    );
  }

  /**
   * Advances every stream in `state` by one step. `xt` is [1, B, I] (or [B, I]). The state is
   * updated in place and returned; `output` is [1, B, H_out] (pass `out` to reuse a buffer).
   */
  step(
    xt: Tensor,
    state: StreamState,
    out?: Float32Array,
  ): {
    /** The last layer's new hidden state, [1, B, H_out]. */
    output: Tensor;
    /** `state`, advanced. */
    state: StreamState;
  } {
    this.checkAlive();
    const cfg = this.config;
    if (cfg.bidirectional) fail("E_UNSUPPORTED", "step: a bidirectional model needs the whole sequence; use forward()");
    if (!(state instanceof StreamState)) fail("E_TYPE", "step: state must come from initialState() (or StreamState.concat)");
    const B = state.batch;
    const lstm = this.d.kind === Kind.Lstm;
    if (lstm !== (state.c !== undefined)) {
      fail("E_VALUE", `step: ${lstm ? "an LSTM needs a state with a cell state (c); this one has none (from a GRU or RNN?)" : `a ${cfg.mode} state has no cell state; this one has one (from an LSTM?)`}: use this model's initialState()`);
    }
    const I = cfg.inputSize;
    // The usual case checked without allocating; anything else gets the full checks' messages.
    const s = xt?.shape;
    const fits = xt?.data instanceof Float32Array && xt.data.length === B * I && (s.length === 3 ? s[0] === 1 && s[1] === B && s[2] === I : s.length === 2 && s[0] === B && s[1] === I);
    if (!fits) {
      checkTensor(xt, "step: xt");
      checkTensor(xt, "step: xt", xt.shape.length === 3 ? [1, B, I] : [B, I]);
    }
    // Shapes only: the values are this model's own results (or zeros) unless the caller wrote them.
    const { L, P, H } = this.d;
    const statesFit = state.h.data instanceof Float32Array && state.h.data.length === L * B * P && (this.d.kind !== Kind.Lstm || (state.c?.data instanceof Float32Array && state.c.data.length === L * B * H));
    if (!statesFit) this.checkStates(state.h, state.c, B, false, "step", false);
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== B * P)) {
      fail("E_SHAPE", `step: out must be a Float32Array of ${B * P} values (B * H_out)`);
    }
    const ws = this.reserve(1, B, false);
    this.stepper ??= new Stepper(this.rt, this.d, this.params.packs, this.views.workspace);
    const output = out ?? new Float32Array(B * P);
    this.stepper.step(ws, B, xt.data, state.h.data, state.c?.data, output);
    // With the caller's `out`, the result object is reused too: its parts are the caller's arrays.
    if (out === undefined) return { output: { shape: [1, B, P], data: output }, state };
    const r = (this.stepResult ??= { output: { shape: [1, B, P], data: output }, state });
    r.output.shape[1] = B;
    r.output.shape[2] = P;
    r.output.data = output;
    r.state = state;
    return r;
  }

  /** Returns this model's Wasm memory (parameters, gradients, workspaces). Using the model afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.blocks.dispose();
    this.bptt = undefined;
    this.trained = undefined;
  }

  /** Whether `dispose` was called (the model can no longer compute). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- training ----

  /**
   * forward() that records what backward() needs (every layer's outputs and gate activations).
   * Same inputs and results as forward().
   */
  forwardTrain(x: Tensor, options?: ForwardOptions & { output?: true }): ForwardResult;
  forwardTrain(x: Tensor, options: ForwardOptions & TrainForwardOptions): TrainForwardResult;
  forwardTrain(x: Tensor, options: ForwardOptions & TrainForwardOptions = {}): TrainForwardResult {
    objectArgument("forwardTrain", options);
    this.checkAlive();
    const call = this.checkCall(x, options, "forwardTrain");
    const why = untrainable(this.config.cell);
    if (why !== undefined) fail("E_UNSUPPORTED", `forwardTrain: this ${this.config.mode} cannot be trained: ${why}`);
    const out = options.out === undefined ? undefined : checkOut(options.out, "forwardTrain", this.d, call);
    this.trainer(); // the gradient block exists before the workspace (allocation order as before)
    const v = this.run(x, call, true);
    this.trained = { ...call, ws: this.layouts.train as Workspace };
    const result: TrainForwardResult = this.readStates(v, call, out);
    if (options.output !== false) result.output = this.readOutput(v, call, out?.output);
    return result;
  }

  /**
   * Backpropagates through the last forwardTrain(), given the gradients of the loss with respect
   * to its results (each optional, shaped like the result). Parameter gradients are added to
   * gradients(); the gradients of the input (unless `inputGrad` is false, which saves one large
   * product) and of the initial states are returned.
   */
  backward(
    grads: { output?: Tensor; hN?: Tensor; cN?: Tensor },
    options: BackwardOptions = {},
  ): {
    /** Gradient of the input sequence, shaped like it (absent with `inputGrad: false`). */
    input?: Tensor;
    /** Gradient of the initial hidden state, [numLayers*D, B, H_out]. */
    h0: Tensor;
    /** LSTM only: gradient of the initial cell state. */
    c0?: Tensor;
    /** With `hiddenGradNorms: true`: ‖∂L/∂h_t‖ per layer-direction, step and row, [numLayers*D, T, B] ([numLayers*D, T] unbatched). */
    hiddenGradNorms?: Tensor;
    /** LSTM with `hiddenGradNorms: true`: ‖∂L/∂c_t‖, the total gradient reaching the cell state c_t, shaped likewise. */
    cellGradNorms?: Tensor;
  } {
    this.checkAlive();
    const run = this.trained;
    if (!run || !this.bptt) fail("E_STATE", "backward: call forwardTrain() first (each forwardTrain allows one backward)");
    const { T, B, ws } = run;
    const d = this.d;
    const LD = d.L * d.D;
    const heap = this.rt.heap;
    const dOut = gradData(grads.output, "backward: output gradient", this.outputShape(run, d.width));
    const dhN = gradData(grads.hN, "backward: hN gradient", this.stateShape(run, d.P));
    if (grads.cN !== undefined && d.kind !== Kind.Lstm) fail("E_VALUE", "backward: cN gradient given, but only LSTMs have a cell state");
    const dcN = gradData(grads.cN, "backward: cN gradient", this.stateShape(run, d.H));
    // Upstream gradients into the workspace (none for the output: the kernel takes it as zeros).
    if (dOut) copySequence(dOut, heap.f32(ws.dA, T * B * d.width), B, T, d.width, this.batchFirst(run));
    writePadded(heap.f32(ws.dh, LD * B * d.Ps), dhN, LD * B, d.P, d.Ps);
    writePadded(heap.f32(ws.dc, LD * B * d.Hp), dcN, LD * B, d.H, d.Hp);
    const inputGrad = options.inputGrad ?? true;
    const norms = boolean("backward", "hiddenGradNorms", options.hiddenGradNorms, false);
    const dx = this.bptt.backward(ws, run.lengths !== undefined, dOut !== undefined, inputGrad, norms);
    // The caches now hold gradients: a second backward needs a new forward.
    this.trained = undefined;
    const out: { input?: Tensor; h0: Tensor; c0?: Tensor; hiddenGradNorms?: Tensor; cellGradNorms?: Tensor } = {
      h0: { shape: this.stateShape(run, d.P), data: readPadded(heap.f32(ws.dh, LD * B * d.Ps), LD * B, d.P, d.Ps) },
    };
    if (dx !== 0) {
      const I = d.inputSize;
      const data = new Float32Array(T * B * I);
      copySequence(heap.f32(dx, T * B * I), data, T, B, I, this.batchFirst(run));
      out.input = { shape: this.outputShape(run, I), data };
    }
    if (d.kind === Kind.Lstm) out.c0 = { shape: this.stateShape(run, d.H), data: readPadded(heap.f32(ws.dc, LD * B * d.Hp), LD * B, d.H, d.Hp) };
    if (norms) {
      const shape = run.unbatched ? [LD, T] : [LD, T, B];
      out.hiddenGradNorms = { shape, data: heap.f32(ws.gnorm, LD * T * B).slice() };
      if (d.kind === Kind.Lstm) out.cellGradNorms = { shape: [...shape], data: heap.f32(ws.gnormc, LD * T * B).slice() };
    }
    return out;
  }

  /**
   * What forward mode (recur-nn/hessian-free's forwardTangent) needs of the last forwardTrain().
   * @internal
   */
  tangentContext(): TangentContext {
    this.checkAlive();
    const run = this.trained;
    if (!run) fail("E_STATE", "forwardTangent: call forwardTrain() first (and backward() after)");
    return {
      rt: this.rt,
      d: this.d,
      params: this.params,
      blocks: this.blocks,
      ws: run.ws,
      T: run.T,
      B: run.B,
      hasLengths: run.lengths !== undefined,
      batchFirst: this.batchFirst(run),
      outputShape: (n) => this.outputShape(run, n),
      stateShape: (n) => this.stateShape(run, n),
    };
  }

  /** A copy of every parameter's accumulated gradient, under its state-dict name. */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.trainer().grads, this.params.specs);
  }

  parameterRegions(): ParameterRegion[] {
    this.checkAlive();
    return [{ params: this.params.block, grads: this.trainer().grads, floats: this.params.bytes / 4 }];
  }

  zeroGrad(): void {
    this.checkAlive();
    this.bptt?.zeroGrad();
  }

  parametersChanged(): void {
    this.checkAlive();
    this.repack();
  }

  // ---- internals ----

  // Rebuilds the packed copies the kernels read; called after every parameter change.
  private repack(): void {
    this.params.repack();
    this.bptt?.repack();
  }

  private reserve(T: number, B: number, training: boolean): Workspace {
    const slot = training ? "train" : "workspace";
    return (this.layouts[slot] = reserveWorkspace(this.blocks, slot, this.d, T, B, training, this.layouts[slot]));
  }

  // The gradient block and the backward's packed weights, made on first use.
  private trainer(): Bptt {
    this.bptt ??= new Bptt(this.rt, this.d, this.params, this.blocks);
    return this.bptt;
  }

  // Copies the input and initial states in and runs every layer (the one forward driver):
  // returns the workspace's views, the last layer's output rows among them.
  private run(x: Tensor, call: Call, training: boolean, batchFirst = this.batchFirst(call)): WorkspaceViews {
    const { T, B } = call;
    const d = this.d;
    const heap = this.rt.heap;
    const LD = d.L * d.D;
    const ws = this.reserve(T, B, training);
    const v = this.views[training ? "train" : "workspace"].of(this.rt, d, ws);
    copySequence(x.data, v.x, B, T, d.inputSize, batchFirst);
    if (call.lengths) heap.i32(ws.lengths, B).set(call.lengths);
    if (training) {
      // The initial states are kept for the backward; the running states start as their copies.
      const h0 = heap.f32(ws.h0, LD * B * d.Ps);
      const c0 = heap.f32(ws.c0, LD * B * d.Hp);
      writePadded(h0, call.h0?.data, LD * B, d.P, d.Ps);
      writePadded(c0, call.c0?.data, LD * B, d.H, d.Hp);
      v.h.set(h0);
      v.c.set(c0);
    } else {
      writePadded(v.h, call.h0?.data, LD * B, d.P, d.Ps);
      writePadded(v.c, call.c0?.data, LD * B, d.H, d.Hp);
    }
    runForward(this.rt, d, this.params.packs, ws, call.lengths !== undefined, v.desc);
    return v;
  }

  // The last layer's output rows out of Wasm memory, in the caller's layout (into `into` when given).
  private readOutput(v: WorkspaceViews, call: Call, into?: Float32Array): Tensor {
    const { T, B } = call;
    const width = this.d.width;
    const data = into ?? uninitializedF32(T * B * width); // every element is written below
    copySequence(v.last, data, T, B, width, this.batchFirst(call));
    return { shape: this.outputShape(call, width), data };
  }

  // Final states out of the padded workspace rows, into `into` when given (streaming reuses the
  // state's own arrays) or into new arrays.
  private readStates(v: WorkspaceViews, call: Call, into?: ForwardOut): { hN: Tensor; cN?: Tensor } {
    const d = this.d;
    const rows = d.L * d.D * call.B;
    const hN = readPadded(v.h, rows, d.P, d.Ps, into?.hN);
    const result: { hN: Tensor; cN?: Tensor } = { hN: { shape: this.stateShape(call, d.P), data: hN } };
    if (d.kind === Kind.Lstm) {
      const cN = readPadded(v.c, rows, d.H, d.Hp, into?.cN);
      result.cN = { shape: this.stateShape(call, d.H), data: cN };
    }
    return result;
  }

  private batchFirst(call: Call): boolean {
    return this.config.batchFirst && !call.unbatched;
  }

  // Shape of a sequence of n features: [T, B, n], [B, T, n] batch-first, [T, n] unbatched.
  private outputShape(call: Call, n: number): number[] {
    const { T, B } = call;
    return call.unbatched ? [T, n] : this.config.batchFirst ? [B, T, n] : [T, B, n];
  }

  // Shape of a state of n features: [L*D, B, n], [L*D, n] unbatched.
  private stateShape(call: Call, n: number): number[] {
    const LD = this.d.L * this.d.D;
    return call.unbatched ? [LD, n] : [LD, call.B, n];
  }

  private checkCall(x: Tensor, options: ForwardOptions, where: string): Call {
    const cfg = this.config;
    checkTensor(x, `${where}: x`);
    const unbatched = x.shape.length === 2;
    if (x.shape.length !== 3 && !unbatched) {
      fail("E_SHAPE", `${where}: x must be [${cfg.batchFirst ? "B, T" : "T, B"}, ${cfg.inputSize}] or unbatched [T, ${cfg.inputSize}], got [${x.shape.join(", ")}]`);
    }
    const [T, B] = unbatched ? [x.shape[0], 1] : cfg.batchFirst ? [x.shape[1], x.shape[0]] : [x.shape[0], x.shape[1]];
    if (x.shape[x.shape.length - 1] !== cfg.inputSize) {
      fail("E_SHAPE", `${where}: x has ${x.shape[x.shape.length - 1]} features per step, the model expects inputSize = ${cfg.inputSize}`);
    }
    if (T < 1 || B < 1) fail("E_SHAPE", `${where}: x must have at least one step and one batch element, got [${x.shape.join(", ")}]`);
    const lengths = options.lengths === undefined ? undefined : checkLengths(options.lengths, T, B, where);
    const { h0, c0 } = this.checkStates(options.h0, options.c0, B, unbatched, where);
    return { T, B, unbatched, lengths, h0, c0 };
  }

  private checkStates(h0: Tensor | undefined, c0: Tensor | undefined, B: number, unbatched: boolean, where: string, finite = true): { h0?: Tensor; c0?: Tensor } {
    const call = { T: 1, B, unbatched, lengths: undefined };
    if (h0 !== undefined) checkTensor(h0, `${where}: h0`, this.stateShape(call, this.d.P));
    if (c0 !== undefined) {
      if (this.d.kind !== Kind.Lstm) fail("E_VALUE", `${where}: c0 is only for LSTM, this is ${this.config.mode}`);
      checkTensor(c0, `${where}: c0`, this.stateShape(call, this.d.H));
    }
    if (finite) for (const [name, t] of [["h0", h0], ["c0", c0]] as const) if (t !== undefined) checkFiniteState(t, `${where}: ${name}`);
    return { h0, c0 };
  }

  private checkAlive(): void {
    if (this.disposed) fail("E_STATE", `${this.config.mode}: the model was disposed`);
  }
}
