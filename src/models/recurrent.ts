import { fail } from "../errors.js";
import { heapFinalizer, type Heap } from "../memory.js";
import { createRng } from "../random.js";
import { runtime, type Runtime } from "../runtime.js";
import { readStateDict, writeStateDict, type ParamSpec } from "../io/state-dict.js";
import { checkTensor, numel, uninitializedF32, type Tensor } from "../tensor.js";
import { fillOrthogonal, fillUniform } from "./init.js";
import { Bptt, checkGrad } from "./bptt.js";
import { DESC_BYTES, Field, Kind, gateCount, round8 } from "./layer-desc.js";
import type { ParameterRegion, Trainable } from "../train/module.js";

/** Options shared by RNN, LSTM and GRU; names and defaults follow torch.nn. */
export interface RecurrentOptions {
  /** Features per input step. Required. */
  inputSize: number;
  /** Features of the hidden state. Required. */
  hiddenSize: number;
  /** Stacked layers; layer k > 0 reads the (concatenated) output of layer k-1. Default 1. */
  numLayers?: number;
  /** Adds bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** Input and output are [B, T, features] instead of [T, B, features]. States never are. Default false. */
  batchFirst?: boolean;
  /** Runs a second, reversed direction per layer; outputs are concatenated [forward; reverse]. Default false. */
  bidirectional?: boolean;
  /** Seed of the initial weights (same seed, same weights, everywhere). Default 0. */
  seed?: number;
  /**
   * "uniform": PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every parameter. "orthogonal": the same, but
   * each gate block of weight_hh is a random orthogonal matrix. Default "uniform".
   */
  init?: "uniform" | "orthogonal";
}

/** Everything that defines a model's structure; saved in weight files to rebuild it. */
/** A recurrent model's complete configuration: its options with every default filled in. */
export interface RecurrentConfig {
  /** Which cell. */
  mode: "RNN" | "LSTM" | "GRU";
  /** Features of each input step (I). */
  inputSize: number;
  /** Hidden units per layer and direction (H). */
  hiddenSize: number;
  /** Stacked layers; layer k > 0 reads the outputs of layer k - 1. */
  numLayers: number;
  /** Whether the layers have the biases `bias_ih` and `bias_hh`. */
  bias: boolean;
  /** Inputs and outputs are [B, T, ...] instead of [T, B, ...] (states never are). */
  batchFirst: boolean;
  /** A second direction reads each sequence backwards; outputs concatenate both (D = 2). */
  bidirectional: boolean;
  /** RNN only: the activation. */
  nonlinearity: "tanh" | "relu";
  /** LSTM only: size of the projected hidden state (0 = no projection). */
  projSize: number;
  /** LSTM only: peephole connections from the cell state to the gates. */
  peepholes: boolean;
  /** GRU only: the reset gate applies after the recurrent product (PyTorch) or before it (Keras reset_after=False). */
  resetAfter: boolean;
}

/** Options of `forward` and `forwardTrain`. */
export interface ForwardOptions {
  /** Initial hidden state [numLayers*D, B, H_out]. Default zeros. */
  h0?: Tensor;
  /** Initial cell state [numLayers*D, B, hiddenSize] (LSTM only). Default zeros. */
  c0?: Tensor;
  /**
   * Valid steps of each batch element (PyTorch packed-sequence semantics): outputs are 0 past a
   * sequence's end, hN is taken at its last valid step, and the reverse direction starts there.
   * Each length in 1..T. Default: every sequence has T steps.
   */
  lengths?: ArrayLike<number>;
}

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


interface LayerPack {
  wih: number;
  whh: number;
  whn: number;
  whr: number;
  peep: number;
}


const align = (n: number): number => Math.ceil(n / 64) * 64;

/**
 * The machinery of RNN, LSTM and GRU: parameters in PyTorch layout in one Wasm block (followed by
 * their gate-interleaved packed copies, which the kernels read), a workspace block sized for the
 * largest call so far, and the forward/step drivers that make one Wasm call per layer and
 * direction.
 */
export abstract class RecurrentModel implements Trainable {
  /** The model's configuration, every default filled in. */
  readonly config: Readonly<RecurrentConfig>;
  protected readonly rt: Runtime;
  private readonly kind: Kind;
  private readonly specs: ParamSpec[];
  private readonly specByName: Map<string, ParamSpec>;
  private readonly packs: LayerPack[];
  private readonly paramBytes: number;
  private block: number; // parameters, then packed weights
  private workspace = 0;
  private workspaceBytes = 0;
  private disposed = false;
  private bptt: Bptt | undefined;
  private readonly owned: { heap: Heap; ptrs: number[] };

  protected constructor(config: RecurrentConfig, options: RecurrentOptions) {
    this.config = Object.freeze({ ...config });
    this.rt = runtime();
    this.kind = kindOf(config);
    const { specs, bytes } = layoutParams(config);
    this.specs = specs;
    this.specByName = new Map(specs.map((s) => [s.name, s]));
    this.paramBytes = bytes;
    let packedBytes = 0;
    this.packs = [];
    for (let l = 0; l < config.numLayers; l++) {
      for (let d = 0; d < this.directions; d++) {
        const sizes = this.packSizes(l);
        const pack = { wih: 0, whh: 0, whn: 0, whr: 0, peep: 0 };
        for (const key of ["wih", "whh", "whn", "whr", "peep"] as const) {
          if (sizes[key] > 0) {
            pack[key] = bytes + packedBytes; // relative until the block exists
            packedBytes += align(sizes[key] * 4);
          }
        }
        this.packs.push(pack);
      }
    }
    const heap = this.rt.heap;
    this.block = heap.alloc(bytes + packedBytes);
    for (const p of this.packs) {
      for (const key of ["wih", "whh", "whn", "whr", "peep"] as const) if (p[key] !== 0) p[key] += this.block;
    }
    this.owned = { heap, ptrs: [this.block] };
    heapFinalizer.register(this, this.owned, this);
    this.initialise(options.seed ?? 0, options.init ?? "uniform");
    this.repack();
  }

  /** 2 for a bidirectional model, else 1 (D). */
  get directions(): number {
    return this.config.bidirectional ? 2 : 1;
  }

  /** Size of h: projSize when projecting, hiddenSize otherwise. */
  get outputSize(): number {
    return this.config.projSize > 0 ? this.config.projSize : this.config.hiddenSize;
  }

  /** What a weight file stores to rebuild this model (see saveModel/loadModel). */
  modelSpec(): {
    /** The class name ("LSTM", "GRU" or "RNN"). */
    type: string;
    /** The constructor options that rebuild it. */
    config: Record<string, unknown>;
  } {
    const c = this.config;
    const config: Record<string, unknown> = {
      inputSize: c.inputSize,
      hiddenSize: c.hiddenSize,
      numLayers: c.numLayers,
      bias: c.bias,
      batchFirst: c.batchFirst,
      bidirectional: c.bidirectional,
    };
    if (c.mode === "RNN") config.nonlinearity = c.nonlinearity;
    if (c.mode === "LSTM") Object.assign(config, { projSize: c.projSize, peepholes: c.peepholes });
    if (c.mode === "GRU") config.resetAfter = c.resetAfter;
    return { type: c.mode, config };
  }

  /** Parameter names and shapes in state-dict order. */
  parameterShapes(): Record<string, number[]> {
    return Object.fromEntries(this.specs.map((s) => [s.name, [...s.shape]]));
  }

  /** A copy of every parameter under its PyTorch state_dict name. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.block, this.specs);
  }

  /**
   * Replaces every parameter. The dict must hold exactly this model's keys with their shapes and
   * finite values; otherwise a RecurError lists every problem and the model is left unchanged.
   */
  loadStateDict(sd: Record<string, Tensor>): void {
    this.checkAlive();
    writeStateDict("loadStateDict", this.rt.heap, this.block, this.specs, sd);
    this.repack();
  }

  /** Runs the whole sequence: one Wasm call per layer and direction. */
  forward(x: Tensor, options: ForwardOptions = {}): ForwardResult {
    this.checkAlive();
    const cfg = this.config;
    const { T, B, unbatched, lengths, states } = this.checkForwardInputs(x, options, "forward");
    const ws = this.reserve(T, B);
    const heap = this.rt.heap;
    // Input to time-major rows [T*B][I].
    const xin = heap.f32(ws.x, T * B * cfg.inputSize);
    if (cfg.batchFirst && !unbatched) transposeTB(x.data, xin, B, T, cfg.inputSize);
    else xin.set(x.data);
    if (lengths) heap.i32(ws.lengths, B).set(lengths);
    this.loadStates(ws, states.h0, states.c0, B);
    const last = this.run(ws, T, B, lengths !== undefined);

    const D = this.directions;
    const width = D * this.outputSize;
    const outData = uninitializedF32(T * B * width); // every element is written below
    const produced = heap.f32(last, T * B * width);
    if (cfg.batchFirst && !unbatched) transposeTB(produced, outData, T, B, width);
    else outData.set(produced);
    const result: ForwardResult = {
      output: { shape: unbatched ? [T, width] : cfg.batchFirst ? [B, T, width] : [T, B, width], data: outData },
      ...this.readStates(ws, B, unbatched),
    };
    return result;
  }

  /**
   * A zeroed streaming state for `batch` independent streams. It also reserves the workspace for
   * steps of that batch size, so `step` then allocates nothing.
   */
  initialState(batch = 1): StreamState {
    this.checkAlive();
    if (!Number.isInteger(batch) || batch < 1) fail("E_VALUE", `initialState: batch must be an integer >= 1, got ${batch}`);
    this.reserve(1, batch);
    const L = this.config.numLayers;
    return new StreamState(
      { shape: [L, batch, this.outputSize], data: new Float32Array(L * batch * this.outputSize) },
      this.kind === Kind.Lstm ? { shape: [L, batch, this.config.hiddenSize], data: new Float32Array(L * batch * this.config.hiddenSize) } : undefined,
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
    checkTensor(xt, "step: xt");
    if (!(state instanceof StreamState)) fail("E_TYPE", "step: state must come from initialState() (or StreamState.concat)");
    const B = state.batch;
    const expected = xt.shape.length === 3 ? [1, B, cfg.inputSize] : [B, cfg.inputSize];
    checkTensor(xt, "step: xt", expected);
    // Shapes only: the values are this model's own results (or zeros) unless the caller wrote them.
    this.checkStates(state.h, state.c, B, false, "step", false);
    const P = this.outputSize;
    if (out !== undefined && (!(out instanceof Float32Array) || out.length !== B * P)) {
      fail("E_SHAPE", `step: out must be a Float32Array of ${B * P} values (B * H_out)`);
    }
    const ws = this.reserve(1, B);
    const heap = this.rt.heap;
    heap.f32(ws.x, B * cfg.inputSize).set(xt.data);
    this.loadStates(ws, state.h, state.c, B);
    const last = this.run(ws, 1, B, false);
    const output = out ?? new Float32Array(B * P);
    output.set(heap.f32(last, B * P));
    this.readStates(ws, B, false, { h: state.h.data, c: state.c?.data });
    return { output: { shape: [1, B, P], data: output }, state };
  }

  /** Returns this model's Wasm memory. Using the model afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    heapFinalizer.unregister(this);
    for (const p of this.owned.ptrs) this.rt.heap.release(p);
    this.owned.ptrs.length = 0;
    this.bptt?.dispose();
    this.bptt = undefined;
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
    this.checkAlive();
    const cfg = this.config;
    const { T, B, unbatched, lengths, states } = this.checkForwardInputs(x, options, "forwardTrain");
    let xin = x.data;
    if (cfg.batchFirst && !unbatched) {
      xin = new Float32Array(T * B * cfg.inputSize);
      transposeTB(x.data, xin, B, T, cfg.inputSize);
    }
    const r = this.trainer().forward(xin, T, B, states.h0?.data, states.c0?.data, lengths, options.output !== false);
    this.trained = { T, B, unbatched };
    const width = this.directions * this.outputSize;
    const LD = cfg.numLayers * this.directions;
    const sh = (n: number): number[] => (unbatched ? [LD, n] : [LD, B, n]);
    const result: TrainForwardResult = { hN: { shape: sh(this.outputSize), data: r.hN } };
    if (r.output) {
      let output = r.output;
      if (cfg.batchFirst && !unbatched) {
        output = new Float32Array(r.output.length);
        transposeTB(r.output, output, T, B, width);
      }
      result.output = { shape: unbatched ? [T, width] : cfg.batchFirst ? [B, T, width] : [T, B, width], data: output };
    }
    if (r.cN) result.cN = { shape: sh(cfg.hiddenSize), data: r.cN };
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
    options: { inputGrad?: boolean } = {},
  ): {
    /** Gradient of the input sequence, shaped like it (absent with `inputGrad: false`). */
    input?: Tensor;
    /** Gradient of the initial hidden state, [numLayers*D, B, H_out]. */
    h0: Tensor;
    /** LSTM only: gradient of the initial cell state. */
    c0?: Tensor;
  } {
    this.checkAlive();
    const run = this.trained;
    if (!run || !this.bptt) fail("E_STATE", "backward: call forwardTrain() first (each forwardTrain allows one backward)");
    const cfg = this.config;
    const { T, B, unbatched } = run;
    const width = this.directions * this.outputSize;
    const LD = cfg.numLayers * this.directions;
    const outShape = unbatched ? [T, width] : cfg.batchFirst ? [B, T, width] : [T, B, width];
    const sh = (n: number): number[] => (unbatched ? [LD, n] : [LD, B, n]);
    let dOut = checkGrad(grads.output, "backward: output gradient", outShape);
    const dhN = checkGrad(grads.hN, "backward: hN gradient", sh(this.outputSize));
    if (grads.cN !== undefined && this.kind !== Kind.Lstm) fail("E_VALUE", "backward: cN gradient given, but only LSTMs have a cell state");
    const dcN = checkGrad(grads.cN, "backward: cN gradient", sh(cfg.hiddenSize));
    if (dOut && cfg.batchFirst && !unbatched) {
      const tm = new Float32Array(dOut.length);
      transposeTB(dOut, tm, B, T, width);
      dOut = tm;
    }
    const r = this.bptt.backward(dOut, dhN, dcN, options.inputGrad ?? true);
    this.trained = undefined;
    const out: { input?: Tensor; h0: Tensor; c0?: Tensor } = { h0: { shape: sh(this.outputSize), data: r.dh0 } };
    if (r.dx) {
      let dx = r.dx;
      if (cfg.batchFirst && !unbatched) {
        dx = new Float32Array(r.dx.length);
        transposeTB(r.dx, dx, T, B, cfg.inputSize);
      }
      out.input = { shape: unbatched ? [T, cfg.inputSize] : cfg.batchFirst ? [B, T, cfg.inputSize] : [T, B, cfg.inputSize], data: dx };
    }
    if (r.dc0) out.c0 = { shape: sh(cfg.hiddenSize), data: r.dc0 };
    return out;
  }

  /** A copy of every parameter's accumulated gradient, under its state-dict name. */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    return readStateDict(this.rt.heap, this.trainer().grads, this.specs);
  }

  parameterRegions(): ParameterRegion[] {
    this.checkAlive();
    return [{ params: this.block, grads: this.trainer().grads, floats: this.paramBytes / 4 }];
  }

  zeroGrad(): void {
    this.checkAlive();
    this.bptt?.zeroGrad();
  }

  parametersChanged(): void {
    this.checkAlive();
    this.repack();
  }

  private trained: { T: number; B: number; unbatched: boolean } | undefined;

  private trainer(): Bptt {
    if (!this.bptt) {
      this.bptt = new Bptt({
        rt: this.rt,
        kind: this.kind,
        inputSize: this.config.inputSize,
        hiddenSize: this.config.hiddenSize,
        outputSize: this.outputSize,
        numLayers: this.config.numLayers,
        directions: this.directions,
        bias: this.config.bias,
        projSize: this.config.projSize,
        peepholes: this.config.peepholes,
        paramBytes: this.paramBytes,
        paramAt: (name) => {
          const s = this.specByName.get(name);
          return s === undefined ? 0 : this.block + s.offset;
        },
        paramOffset: (name) => this.specByName.get(name)!.offset,
        pack: (l, d) => this.packs[l * this.directions + d],
      });
    }
    return this.bptt;
  }

  // ---- internals ----

  private checkForwardInputs(x: Tensor, options: ForwardOptions, where: string) {
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
    const states = this.checkStates(options.h0, options.c0, B, unbatched, where);
    return { T, B, unbatched, lengths, states };
  }

  private checkAlive(): void {
    if (this.disposed) fail("E_STATE", `${this.config.mode}: the model was disposed`);
  }

  private layerInputSize(l: number): number {
    return l === 0 ? this.config.inputSize : this.directions * this.outputSize;
  }

  private packSizes(l: number): Record<keyof LayerPack, number> {
    const k = this.rt.kernels;
    const { hiddenSize: H, projSize } = this.config;
    const G = gateCount(this.kind);
    const P = this.outputSize;
    const before = this.kind === Kind.GruResetBefore;
    return {
      wih: k.packedGatesSize(this.layerInputSize(l), H, G),
      whh: k.packedGatesSize(P, H, before ? 2 : G),
      whn: before ? k.packedGatesSize(P, H, 1) : 0,
      whr: projSize > 0 ? k.packedSize(H, P) : 0,
      peep: this.config.peepholes ? 3 * round8(H) : 0,
    };
  }

  private initialise(seed: number, init: "uniform" | "orthogonal"): void {
    if (init !== "uniform" && init !== "orthogonal") fail("E_VALUE", `init must be "uniform" or "orthogonal", got ${JSON.stringify(init)}`);
    const rng = createRng(seed);
    const bound = 1 / Math.sqrt(this.config.hiddenSize);
    const G = gateCount(this.kind);
    for (const s of this.specs) {
      const view = this.rt.heap.f32(this.block + s.offset, numel(s.shape));
      if (init === "orthogonal" && s.name.startsWith("weight_hh")) {
        const [rows, cols] = s.shape;
        const block = new Float32Array((rows / G) * cols);
        for (let g = 0; g < G; g++) {
          fillOrthogonal(block, rows / G, cols, rng);
          view.set(block, g * block.length);
        }
      } else {
        fillUniform(view, bound, rng);
      }
    }
  }

  // Rebuilds the packed copies the kernels read; called after every parameter change.
  protected repack(): void {
    this.bptt?.repack();
    const k = this.rt.kernels;
    const { hiddenSize: H } = this.config;
    const Hp = round8(H);
    const G = gateCount(this.kind);
    const P = this.outputSize;
    const heap = this.rt.heap;
    for (let l = 0; l < this.config.numLayers; l++) {
      for (let d = 0; d < this.directions; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        const at = (name: string): number => {
          const s = this.specByName.get(name + sfx);
          return s === undefined ? 0 : this.block + s.offset;
        };
        const pack = this.packs[l * this.directions + d];
        const I = this.layerInputSize(l);
        k.packGates(at("weight_ih"), I, I, H, G, at("bias_ih"), pack.wih);
        if (this.kind === Kind.GruResetBefore) {
          const bhh = at("bias_hh");
          k.packGates(at("weight_hh"), P, P, H, 2, bhh, pack.whh);
          k.packGates(at("weight_hh") + 2 * H * P * 4, P, P, H, 1, bhh === 0 ? 0 : bhh + 2 * H * 4, pack.whn);
        } else {
          k.packGates(at("weight_hh"), P, P, H, G, at("bias_hh"), pack.whh);
        }
        if (pack.whr) k.packBT(at("weight_hr"), H, H, P, 0, pack.whr);
        if (pack.peep) {
          // ONNX P order (i, o, f) to the kernel's (i, f, o), each padded to Hp.
          const src = heap.f32(at("weight_peephole"), 3 * H);
          const dst = heap.f32(pack.peep, 3 * Hp);
          dst.fill(0);
          dst.set(src.subarray(0, H), 0);
          dst.set(src.subarray(2 * H, 3 * H), Hp);
          dst.set(src.subarray(H, 2 * H), 2 * Hp);
        }
      }
    }
  }

  // Workspace layout for T steps of B sequences (byte offsets inside one block).
  private reserve(T: number, B: number): Workspace {
    const cfg = this.config;
    const Hp = round8(cfg.hiddenSize);
    const Ps = round8(this.outputSize);
    const G = gateCount(this.kind);
    const D = this.directions;
    const LD = cfg.numLayers * D;
    const width = D * this.outputSize;
    const sizes = {
      desc: DESC_BYTES,
      lengths: B * 4,
      x: T * B * cfg.inputSize * 4,
      bufA: T * B * width * 4,
      bufB: T * B * width * 4,
      gates: T * B * G * Hp * 4,
      rec: B * Math.max(G * Hp, Ps) * 4,
      scratch: B * Hp * 4,
      h: LD * B * Ps * 4,
      c: LD * B * Hp * 4,
    };
    let total = 0;
    const offsets = {} as Record<keyof typeof sizes, number>;
    for (const key of Object.keys(sizes) as (keyof typeof sizes)[]) {
      offsets[key] = total;
      total += align(sizes[key]);
    }
    if (total > this.workspaceBytes) {
      const heap = this.rt.heap;
      const ptr = heap.alloc(total); // may throw (out of memory): the old workspace stays valid
      if (this.workspace) heap.release(this.workspace);
      this.workspace = ptr;
      this.workspaceBytes = total;
      this.owned.ptrs[1] = ptr;
    }
    const ws = {} as Workspace;
    for (const key of Object.keys(offsets) as (keyof typeof sizes)[]) ws[key] = this.workspace + offsets[key];
    return ws;
  }

  private checkStates(h0: Tensor | undefined, c0: Tensor | undefined, B: number, unbatched: boolean, where: string, finite = true): { h0?: Tensor; c0?: Tensor } {
    const LD = this.config.numLayers * this.directions;
    const shape = (n: number): number[] => (unbatched ? [LD, n] : [LD, B, n]);
    if (h0 !== undefined) checkTensor(h0, `${where}: h0`, shape(this.outputSize));
    if (c0 !== undefined) {
      if (this.kind !== Kind.Lstm) fail("E_VALUE", `${where}: c0 is only for LSTM, this is ${this.config.mode}`);
      checkTensor(c0, `${where}: c0`, shape(this.config.hiddenSize));
    }
    for (const [name, t] of [["h0", h0], ["c0", c0]] as const) {
      if (t !== undefined && finite) {
        const bad = t.data.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) fail("E_VALUE", `${where}: ${name} has a non-finite value ${t.data[bad]} at index ${bad}`);
      }
    }
    return { h0, c0 };
  }

  private loadStates(ws: Workspace, h0: Tensor | undefined, c0: Tensor | undefined, B: number): void {
    const heap = this.rt.heap;
    const LD = this.config.numLayers * this.directions;
    const P = this.outputSize, Ps = round8(P);
    const H = this.config.hiddenSize, Hp = round8(H);
    const hs = heap.f32(ws.h, LD * B * Ps);
    const cs = heap.f32(ws.c, LD * B * Hp);
    hs.fill(0);
    cs.fill(0);
    for (let r = 0; r < LD * B; r++) {
      if (h0) hs.set(h0.data.subarray(r * P, r * P + P), r * Ps);
      if (c0) cs.set(c0.data.subarray(r * H, r * H + H), r * Hp);
    }
  }

  // Final states out of the padded workspace rows, into `into` when given (streaming reuses the
  // state's own arrays) or into new arrays.
  private readStates(ws: Workspace, B: number, unbatched: boolean, into?: { h: Float32Array; c?: Float32Array }): { hN: Tensor; cN?: Tensor } {
    const heap = this.rt.heap;
    const LD = this.config.numLayers * this.directions;
    const P = this.outputSize, Ps = round8(P);
    const H = this.config.hiddenSize, Hp = round8(H);
    const hs = heap.f32(ws.h, LD * B * Ps);
    const hN = into?.h ?? new Float32Array(LD * B * P);
    for (let r = 0; r < LD * B; r++) hN.set(hs.subarray(r * Ps, r * Ps + P), r * P);
    const result: { hN: Tensor; cN?: Tensor } = { hN: { shape: unbatched ? [LD, P] : [LD, B, P], data: hN } };
    if (this.kind === Kind.Lstm) {
      const cs = heap.f32(ws.c, LD * B * Hp);
      const cN = into?.c ?? new Float32Array(LD * B * H);
      for (let r = 0; r < LD * B; r++) cN.set(cs.subarray(r * Hp, r * Hp + H), r * H);
      result.cN = { shape: unbatched ? [LD, H] : [LD, B, H], data: cN };
    }
    return result;
  }

  // Runs every layer and direction; returns the address of the last layer's output rows.
  private run(ws: Workspace, T: number, B: number, hasLengths: boolean): number {
    const cfg = this.config;
    const heap = this.rt.heap;
    const D = this.directions;
    const P = this.outputSize, Ps = round8(P);
    const Hp = round8(cfg.hiddenSize);
    const width = D * P;
    const desc = heap.i32(ws.desc, Field.Count);
    let input = ws.x;
    let ldx = cfg.inputSize;
    let output = ws.bufA;
    for (let l = 0; l < cfg.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const pack = this.packs[l * D + d];
        const state = l * D + d;
        desc[Field.Kind] = this.kind;
        desc[Field.T] = T;
        desc[Field.B] = B;
        desc[Field.I] = this.layerInputSize(l);
        desc[Field.H] = cfg.hiddenSize;
        desc[Field.P] = P;
        desc[Field.X] = input;
        desc[Field.Ldx] = ldx;
        desc[Field.Wih] = pack.wih;
        desc[Field.Whh] = pack.whh;
        desc[Field.Whn] = pack.whn;
        desc[Field.Whr] = pack.whr;
        desc[Field.Peep] = pack.peep;
        desc[Field.HState] = ws.h + state * B * Ps * 4;
        desc[Field.CState] = ws.c + state * B * Hp * 4;
        desc[Field.Out] = output + d * P * 4;
        desc[Field.Ldo] = width;
        desc[Field.Lengths] = hasLengths ? ws.lengths : 0;
        desc[Field.Reverse] = d;
        desc[Field.Gates] = ws.gates;
        desc[Field.Rec] = ws.rec;
        desc[Field.CSeq] = 0;
        desc[Field.Aux] = 0;
        desc[Field.Scratch] = ws.scratch;
        this.rt.kernels.recurrentForward(ws.desc);
      }
      input = output;
      ldx = width;
      output = output === ws.bufA ? ws.bufB : ws.bufA;
    }
    return input;
  }
}

interface Workspace {
  desc: number;
  lengths: number;
  x: number;
  bufA: number;
  bufB: number;
  gates: number;
  rec: number;
  scratch: number;
  h: number;
  c: number;
}

/**
 * The state of B independent streams for `step`: h [numLayers, B, H_out] and, for LSTM,
 * c [numLayers, B, hiddenSize]. Plain tensors: keep one per stream, clone, reset or batch them.
 */
export class StreamState {
  /** Hidden states, [numLayers, B, H_out]. */
  h: Tensor;
  /** LSTM only: cell states, [numLayers, B, hiddenSize]. */
  c?: Tensor;

  constructor(h: Tensor, c?: Tensor) {
    this.h = h;
    if (c) this.c = c;
  }

  /** Number of streams (B). */
  get batch(): number {
    return this.h.shape[1];
  }

  /** An independent copy (e.g. to branch a stream). */
  clone(): StreamState {
    return new StreamState(
      { shape: [...this.h.shape], data: this.h.data.slice() },
      this.c ? { shape: [...this.c.shape], data: this.c.data.slice() } : undefined,
    );
  }

  /** Zeroes every stream, or only stream `index`. */
  reset(index?: number): void {
    if (index === undefined) {
      this.h.data.fill(0);
      this.c?.data.fill(0);
      return;
    }
    if (!Number.isInteger(index) || index < 0 || index >= this.batch) fail("E_VALUE", `reset: index must be in 0..${this.batch - 1}, got ${index}`);
    for (const t of [this.h, this.c]) {
      if (!t) continue;
      const [L, B, n] = t.shape;
      for (let l = 0; l < L; l++) t.data.fill(0, (l * B + index) * n, (l * B + index + 1) * n);
    }
  }

  /** One state holding the streams of all `states`, in order (to advance them in one step). */
  static concat(states: StreamState[]): StreamState {
    if (!Array.isArray(states) || states.length === 0) fail("E_VALUE", "StreamState.concat: needs at least one state");
    const join = (pick: (s: StreamState) => Tensor | undefined): Tensor | undefined => {
      const first = pick(states[0]);
      if (!first) return undefined;
      const [L, , n] = first.shape;
      const B = states.reduce((sum, s) => sum + s.batch, 0);
      const data = new Float32Array(L * B * n);
      let b0 = 0;
      for (const s of states) {
        const t = pick(s);
        if (!t || t.shape[0] !== L || t.shape[2] !== n) fail("E_SHAPE", "StreamState.concat: states come from different models");
        const Bs = t.shape[1];
        for (let l = 0; l < L; l++) data.set(t.data.subarray(l * Bs * n, (l + 1) * Bs * n), (l * B + b0) * n);
        b0 += Bs;
      }
      return { shape: [L, B, n], data };
    };
    return new StreamState(join((s) => s.h)!, join((s) => s.c));
  }

  /** The inverse of concat: one state per stream. */
  split(): StreamState[] {
    const part = (t: Tensor | undefined, b: number): Tensor | undefined => {
      if (!t) return undefined;
      const [L, B, n] = t.shape;
      const data = new Float32Array(L * n);
      for (let l = 0; l < L; l++) data.set(t.data.subarray((l * B + b) * n, (l * B + b + 1) * n), l * n);
      return { shape: [L, 1, n], data };
    };
    return Array.from({ length: this.batch }, (_, b) => new StreamState(part(this.h, b)!, part(this.c, b)));
  }
}

function kindOf(cfg: RecurrentConfig): Kind {
  if (cfg.mode === "LSTM") return Kind.Lstm;
  if (cfg.mode === "GRU") return cfg.resetAfter ? Kind.Gru : Kind.GruResetBefore;
  return cfg.nonlinearity === "relu" ? Kind.RnnRelu : Kind.RnnTanh;
}

function layoutParams(cfg: RecurrentConfig): { specs: ParamSpec[]; bytes: number } {
  const G = cfg.mode === "LSTM" ? 4 : cfg.mode === "GRU" ? 3 : 1;
  const H = cfg.hiddenSize;
  const P = cfg.projSize > 0 ? cfg.projSize : H;
  const D = cfg.bidirectional ? 2 : 1;
  const specs: ParamSpec[] = [];
  let bytes = 0;
  const add = (name: string, shape: number[]): void => {
    specs.push({ name, shape, offset: bytes });
    bytes += align(numel(shape) * 4);
  };
  for (let l = 0; l < cfg.numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
      add(`weight_ih${sfx}`, [G * H, l === 0 ? cfg.inputSize : D * P]);
      add(`weight_hh${sfx}`, [G * H, P]);
      if (cfg.bias) {
        add(`bias_ih${sfx}`, [G * H]);
        add(`bias_hh${sfx}`, [G * H]);
      }
      if (cfg.projSize > 0) add(`weight_hr${sfx}`, [P, H]);
      if (cfg.peepholes) add(`weight_peephole${sfx}`, [3 * H]);
    }
  }
  return { specs, bytes };
}

function checkLengths(lengths: ArrayLike<number>, T: number, B: number, where: string): Int32Array {
  if (lengths === null || typeof lengths !== "object" || typeof lengths.length !== "number") {
    fail("E_TYPE", `${where}: lengths must be an array of integers`);
  }
  if (lengths.length !== B) fail("E_SHAPE", `${where}: lengths has ${lengths.length} entries, the batch has ${B}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const v = lengths[b];
    if (!Number.isInteger(v) || v < 1 || v > T) fail("E_VALUE", `${where}: lengths[${b}] must be an integer in 1..${T}, got ${v}`);
    out[b] = v;
  }
  return out;
}

// [A][C][n] -> [C][A][n]
function transposeTB(src: Float32Array, dst: Float32Array, A: number, C: number, n: number): void {
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) dst.set(src.subarray((a * C + c) * n, (a * C + c + 1) * n), (c * A + a) * n);
  }
}

/** Validates sizes common to all recurrent models and fills the defaults. */
export function baseConfig(mode: RecurrentConfig["mode"], o: RecurrentOptions): RecurrentConfig {
  if (typeof o !== "object" || o === null) fail("E_TYPE", `${mode}: options must be an object`);
  const int = (name: string, v: unknown, min: number): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail("E_VALUE", `${mode}: ${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const bool = (name: string, v: unknown, dflt: boolean): boolean => {
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") fail("E_VALUE", `${mode}: ${name} must be a boolean, got ${String(v)}`);
    return v;
  };
  return {
    mode,
    inputSize: int("inputSize", o.inputSize, 1),
    hiddenSize: int("hiddenSize", o.hiddenSize, 1),
    numLayers: int("numLayers", o.numLayers ?? 1, 1),
    bias: bool("bias", o.bias, true),
    batchFirst: bool("batchFirst", o.batchFirst, false),
    bidirectional: bool("bidirectional", o.bidirectional, false),
    nonlinearity: "tanh",
    projSize: 0,
    peepholes: false,
    resetAfter: true,
  };
}
