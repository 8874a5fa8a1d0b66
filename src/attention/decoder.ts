import { fail } from "../errors.js";
import { readStateDict, writeStateDict } from "../io/state-dict.js";
import { WasmBlocks } from "../memory.js";
import { fullRuntime, type FullRuntime } from "../full-core.js";
import type { Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "../train/module.js";
import { integer, number, objectArgument, oneOf } from "../validate.js";
import { FLAG_CTXTAB, FLAG_KEYS, FLAG_QUERY, Field, GRAD_FIELD, modelFlags, packSizes, paramSpecs, queriesCheaper, queryPanels, round8, workSizes, type AttentionCell, type AttentionOutput, type AttentionScore, type Dims } from "./layout.js";
import { MeanInit } from "./init-state.js";
import { expandFirstStep, initialWeights, reorderStates, shareFirstStep, shareParents, spreadShared, stateRows, timeMajorOut, type Work } from "./rows.js";
import { checkAttentionInput, checkTokens, type AttentionInput } from "./checks.js";
import { beamSearch, decodeOptions, decodeRows, type BeamOptions, type DecodeOptions, type Hypothesis, type TokenStepper } from "../train/search.js";

export type { AttentionInput } from "./checks.js";

/** Options of `AttentionDecoder`. */
export interface AttentionDecoderOptions {
  /** Output (and input) vocabulary. Required. */
  vocabSize: number;
  /** Features of each annotation vector a_i. Required. */
  annotationSize: number;
  /** Hidden units of the decoder's cell. Required. */
  hiddenSize: number;
  /**
   * The recurrent step on [embedding(y_{t-1}); z_t]: "gru" (torch.nn.GRUCell's equations) or
   * "lstm" (torch.nn.LSTMCell's, gates i, f, g, o; its cell state c_t is carried alongside h_t).
   * Default "gru".
   */
  cell?: AttentionCell;
  /**
   * "shallow": logits = W_out [embedding(y_{t-1}); z_t; h_t] + b_out. "deep": Xu et al.'s deep
   * output layer, logits = W_out tanh(embedding(y_{t-1}) + L_z z_t + L_h h_t + b_d) + b_out
   * (deep.context.weight, deep.hidden.weight, deep.bias; W_out is [vocabSize, embeddingSize]).
   * Default "shallow".
   */
  output?: AttentionOutput;
  /** Width of the additive attention's hidden layer (v, W_a, U_a). Default hiddenSize; must be hiddenSize (or left out) for multiplicative scores. */
  attentionSize?: number;
  /**
   * The score e_ti of annotation a_i against the state h_{t-1}. "additive" (Bahdanau et al.):
   * vᵀ tanh(W_a a_i + b_a + U_a h_{t-1}). Luong et al. 2015's multiplicative scores: "dot":
   * h_{t-1}·a_i (annotationSize must equal hiddenSize; no parameters); "general":
   * h_{t-1}ᵀ W_a a_i (W_a = attention.key.weight, [hiddenSize, annotationSize]). Default "additive".
   */
  score?: AttentionScore;
  /** Width of the token embedding fed to the cell and the output layer. Default 64. */
  embeddingSize?: number;
  /**
   * "zeros": h0 = 0 (and c0 = 0) unless the input gives them. "mean": h0 = tanh(W_init
   * mean_i(a_i) + b_init) over the unmasked annotations (Xu et al.), a Linear layer `init`
   * trained with the rest, and for the LSTM c0 = tanh(W_init_c mean_i(a_i) + b_init_c) (layer
   * `init_c`); an input's h0 / c0 still win. Default "zeros".
   */
  initialState?: "zeros" | "mean";
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** What `forward` returns (batch first). */
export interface AttentionForwardResult {
  /** The next-token scores of every step, [B, T, vocabSize]. */
  logits: Tensor;
  /** The attention weights α_t of every step, [B, T, L] (rows sum to 1; zeros at masked annotations). */
  attention: Tensor;
}

/** Options of `AttentionDecoder.backwardLoss`. */
export interface AttentionLossOptions {
  /** Target id that does not count (padding). Default -1. */
  ignoreIndex?: number;
  /** λ of the doubly stochastic regulariser λ Σ_i (1 - Σ_t α_ti)², averaged over the batch. Default 0. */
  doublyStochastic?: number;
}

/** What `backwardLoss` returns. */
export interface AttentionLossResult {
  /** Mean cross-entropy over the counted targets plus the regulariser. */
  loss: number;
  /** Cross-entropy part alone. */
  crossEntropy: number;
  /** Counted targets. */
  count: number;
  /** Gradient of the annotations [B, L, D]: feed it to the encoder's backward. */
  annotations: Tensor;
  /** Gradient of the initial state [B, hiddenSize]. */
  h0: Tensor;
  /** LSTM decoders: gradient of the initial cell state [B, hiddenSize]. */
  c0?: Tensor;
}

/** What `beginDecoding` set up. */
export interface DecodingRows {
  /** Decoding rows: sources × rowsPerSource. */
  rows: number;
  /** Annotations per source. */
  L: number;
}

/** What one `decodeStep` returns. */
export interface DecodeStepResult {
  /** Next-token scores, rows × vocabSize. */
  logits: Float32Array;
  /** This step's attention weights, rows × L. */
  attention: Float32Array;
}

/**
 * The soft-attention decoder of "Show, Attend and Tell" and of attention seq2seq: additive
 * attention e_ti = vᵀ tanh(W_a a_i + b_a + U_a h_{t-1}) over L annotations (with a mask; or
 * Luong's multiplicative scores), the context z_t = Σ α_ti a_i, a GRU or LSTM step on
 * [embedding(y_{t-1}); z_t], and logits from [embedding(y_{t-1}); z_t; h_t] (or a deep output
 * layer). The equations are in assembly/cells/attention.ts; `forward` and `backwardLoss` are one
 * Wasm call each over the whole sequence. Parameters (state-dict names): embedding.weight,
 * attention.{key.weight, key.bias, query.weight, v}, cell.{weight_ih, bias_ih, weight_hh,
 * bias_hh} (torch.nn.GRUCell's or torch.nn.LSTMCell's, input = [embedding; context]),
 * deep.{context.weight, hidden.weight, bias} (deep output), out.{weight, bias}, and with
 * initialState "mean" init.{weight, bias} (and init_c.* for the LSTM).
 */
export class AttentionDecoder implements Trainable {
  /** Sizes: vocabulary V, annotation features D, attention width A, embedding E, hidden H. */
  readonly dims: Readonly<Dims>;
  private readonly rt: FullRuntime;
  private readonly owned: WasmBlocks;
  private readonly spec: ReturnType<typeof paramSpecs>;
  private readonly packs: Record<number, number> = {};
  private packed = false;
  private work: Work | undefined;
  private trained = false;
  private disposed = false;
  /** With initialState "mean": the layers that give h0 (and c0) from the mean annotation. */
  readonly init: MeanInit | undefined;
  private meanUsed = false;

  constructor(options: AttentionDecoderOptions) {
    const where = "AttentionDecoder";
    objectArgument(where, options);
    const V = integer(where, "vocabSize", options.vocabSize, { min: 1 });
    const D = integer(where, "annotationSize", options.annotationSize, { min: 1 });
    const H = integer(where, "hiddenSize", options.hiddenSize, { min: 1 });
    const score = oneOf(where, "score", options.score, ["additive", "dot", "general"] as const, "additive");
    const A = integer(where, "attentionSize", options.attentionSize, { min: 1 }, H);
    if (score !== "additive" && A !== H) fail("E_VALUE", `${where}: attentionSize ${A} with score "${score}": multiplicative scores are hiddenSize (${H}) wide`);
    if (score === "dot" && D !== H) fail("E_SHAPE", `${where}: score "dot" needs annotationSize (${D}) = hiddenSize (${H})`);
    const E = integer(where, "embeddingSize", options.embeddingSize, { min: 1 }, 64);
    const seed = number(where, "seed", options.seed, {}, 0);
    const initialState = oneOf(where, "initialState", options.initialState, ["zeros", "mean"] as const, "zeros");
    const cell = oneOf(where, "cell", options.cell, ["gru", "lstm"] as const, "gru");
    const output = oneOf(where, "output", options.output, ["shallow", "deep"] as const, "shallow");
    this.dims = { V, D, A, E, H, score, cell, output };
    this.init = initialState === "mean" ? new MeanInit(D, H, seed, cell === "lstm") : undefined;
    this.rt = fullRuntime(where);
    this.owned = WasmBlocks.of(this.rt.heap, this);
    this.spec = paramSpecs(this.dims);
    const params = this.owned.ensure("params", this.spec.bytes);
    initialWeights(this.rt.heap.f32(params, this.spec.bytes / 4), this.spec.specs, this.dims, seed);
    const k = this.rt.kernels;
    for (const [f, bytes] of Object.entries(packSizes(this.dims, (a, b) => k.packedSize(a, b)))) this.packs[Number(f)] = this.owned.ensure(`pack${f}`, bytes);
    this.packs[Field.PWhh] = this.packs[Field.PUa] + queryPanels(this.dims, (a, b) => k.packedSize(a, b)) * 4;
    // "general": W_a's backward form is also its query panels (attentionPack writes it once).
    if (score === "general") this.packs[Field.RWa] = this.packs[Field.PUa];
    this.owned.ensure("desc", Field.Count * 4);
  }

  /** Parameter names and shapes in state-dict order. */
  parameterShapes(): Record<string, number[]> {
    const own = this.spec.specs.map((s): [string, number[]] => [s.name, [...s.shape]]);
    if (this.init) own.push(...this.init.shapes());
    return Object.fromEntries(own);
  }

  /** A copy of every parameter under its state-dict name. */
  stateDict(): Record<string, Tensor> {
    this.checkAlive();
    return { ...readStateDict(this.rt.heap, this.owned.get("params"), this.spec.specs), ...this.init?.stateDict() };
  }

  /** Replaces every parameter (exactly these keys and shapes, finite values; else RecurError E_KEY and no change). */
  loadStateDict(sd: Record<string, Tensor>): void {
    this.checkAlive();
    const own: Record<string, Tensor> = { ...sd };
    const init: Record<string, Tensor> = {};
    if (this.init) for (const k of Object.keys(own)) if (k.startsWith("init.") || k.startsWith("init_c.")) {
      init[k] = own[k];
      delete own[k];
    }
    writeStateDict("AttentionDecoder.loadStateDict", this.rt.heap, this.owned.get("params"), this.spec.specs, own);
    this.init?.loadStateDict(init);
    this.parametersChanged();
  }

  /** Copies of the accumulated gradients under the parameter names. */
  gradients(): Record<string, Tensor> {
    this.checkAlive();
    return { ...readStateDict(this.rt.heap, this.gradBlock(), this.spec.specs), ...this.init?.gradients() };
  }

  parameterRegions(): ParameterRegion[] {
    this.checkAlive();
    return [{ params: this.owned.get("params"), grads: this.gradBlock(), floats: this.spec.bytes / 4 }, ...(this.init?.parameterRegions() ?? [])];
  }

  zeroGrad(): void {
    this.checkAlive();
    this.rt.heap.f32(this.gradBlock(), this.spec.bytes / 4).fill(0);
    this.init?.zeroGrad();
  }

  parametersChanged(): void {
    this.packed = false;
    this.init?.parametersChanged();
  }

  /**
   * Teacher-forced decoding: `inputs` holds B rows of T token ids, y_{t-1} of every step (the
   * first is the start token). Keeps what `backward` / `backwardLoss` need.
   */
  forward(input: AttentionInput, inputs: ArrayLike<ArrayLike<number>>): AttentionForwardResult {
    this.checkAlive();
    const where = "AttentionDecoder.forward";
    const { B, L } = checkAttentionInput(where, input, this.dims);
    const T = checkTokens(where, "inputs", inputs, B, this.dims.V, undefined);
    const w = this.begin(B, T, L, 1, true);
    this.writeInput(w, input);
    const tok = this.rt.heap.i32(w.ptrs[Field.Tokens], T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) tok[t * B + b] = inputs[b][t];
    this.call(w, FLAG_KEYS | this.queryFlag(w), 0, "forward");
    this.trained = true;
    return { logits: timeMajorOut(this.rt.heap, w, Field.Logits, this.dims.V), attention: timeMajorOut(this.rt.heap, w, Field.Alpha, L) };
  }

  /**
   * Softmax cross-entropy of the last forward against `targets` (B rows of T ids, or ignoreIndex)
   * and its backpropagation: adds every parameter's gradient and returns the annotations' and the
   * initial state's. One backward per forward.
   */
  backwardLoss(targets: ArrayLike<ArrayLike<number>>, options: AttentionLossOptions = {}): AttentionLossResult {
    this.checkAlive();
    const where = "AttentionDecoder.backwardLoss";
    const w = this.work;
    if (!w || !this.trained) fail("E_STATE", `${where}: call forward() first (each forward allows one backward)`);
    const ignoreIndex = integer(where, "ignoreIndex", options.ignoreIndex, { min: -(2 ** 31) }, -1);
    const lambda = number(where, "doublyStochastic", options.doublyStochastic, { min: 0 }, 0);
    const { B, T, L } = w;
    const V = this.dims.V;
    const T2 = checkTokens(where, "targets", targets, B, V, ignoreIndex);
    if (T2 !== T) fail("E_SHAPE", `${where}: targets have ${T2} steps, the forward had ${T}`);
    const heap = this.rt.heap;
    const k = this.rt.kernels;
    const tgt = this.owned.ensure("targets", T * B * 4);
    const tv = heap.i32(tgt, T * B);
    let count = 0;
    // The regulariser's coverage sums α_t over the counted (unpadded) target steps only.
    const stepMask = heap.f32(w.ptrs[Field.StepMask], T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      tv[t * B + b] = targets[b][t];
      const counted = targets[b][t] !== ignoreIndex;
      stepMask[t * B + b] = counted ? 1 : 0;
      if (counted) count++;
    }
    const scale = count > 0 ? 1 / count : 0;
    const ce = k.crossEntropyRows(w.ptrs[Field.Logits], tgt, 0, T * B, V, ignoreIndex, w.ptrs[Field.DLogits], scale) * scale;
    heap.f32(w.ptrs[Field.DAnnot], B * L * this.dims.D).fill(0);
    let reg = 0;
    if (lambda > 0) {
      // Coverage Σ_t α_ti over the counted steps, which the backward reads too.
      const cover = heap.f32(w.ptrs[Field.Cover], B * L), mask = heap.f32(w.ptrs[Field.Mask], B * L);
      const alpha = heap.f32(w.ptrs[Field.Alpha], T * B * L);
      cover.fill(0);
      for (let r = 0; r < T * B; r++) if (stepMask[r] !== 0) for (let i = 0; i < L; i++) cover[(r % B) * L + i] += alpha[r * L + i];
      for (let i = 0; i < B * L; i++) if (mask[i] !== 0) reg += (1 - cover[i]) ** 2;
      reg *= lambda / B;
    }
    this.call(w, this.queryFlag(w), lambda / B, "backward");
    this.trained = false;
    const { D, H } = this.dims;
    const h0 = stateRows(heap, w.ptrs[Field.Dh], B, H);
    const c0 = this.dims.cell === "lstm" ? stateRows(heap, w.ptrs[Field.DC], B, H) : undefined;
    const dAnnot = heap.f32(w.ptrs[Field.DAnnot], B * L * D).slice();
    if (this.meanUsed && this.init) this.init.backward(h0, c0, dAnnot, B, H, D);
    const out: AttentionLossResult = { loss: ce + reg, crossEntropy: ce, count, annotations: { shape: [B, L, D], data: dAnnot }, h0: { shape: [B, H], data: h0 } };
    if (c0) out.c0 = { shape: [B, H], data: c0 };
    return out;
  }

  /**
   * Step-by-step decoding over `rowsPerSource` rows per source (beam hypotheses share their
   * source's annotations): computes the keys once. Follow with `decodeStep` and `reorderRows`.
   */
  beginDecoding(input: AttentionInput, rowsPerSource = 1): DecodingRows {
    this.checkAlive();
    const where = "AttentionDecoder.beginDecoding";
    const { B, L } = checkAttentionInput(where, input, this.dims);
    const K = integer(where, "rowsPerSource", rowsPerSource, { min: 1 });
    const w = this.begin(B * K, 1, L, K, false);
    this.writeInput(w, input, K);
    this.trained = false;
    this.stepsTaken = 0;
    this.sharedRows = 0;
    return { rows: B * K, L };
  }

  private stepsTaken = 0;
  // Distinct decoder states among the rows after the last reorderRows (0: every row its own).
  private sharedRows = 0;

  /** One step for every decoding row: feeds `tokens` (one per row), returns logits [rows][V] and α [rows][L]. */
  decodeStep(tokens: ArrayLike<number>): DecodeStepResult {
    this.checkAlive();
    const w = this.work;
    if (!w || w.train || w.T !== 1) fail("E_STATE", "AttentionDecoder.decodeStep: call beginDecoding() first");
    if (tokens.length !== w.B) fail("E_SHAPE", `AttentionDecoder.decodeStep: tokens must hold ${w.B} ids, got ${tokens.length}`);
    const tv = this.rt.heap.i32(w.ptrs[Field.Tokens], w.B);
    for (let r = 0; r < w.B; r++) {
      const id = tokens[r];
      if (!Number.isInteger(id) || id < 0 || id >= this.dims.V) fail("E_VALUE", `AttentionDecoder.decodeStep: tokens[${r}] = ${String(id)} is not a token id in 0..${this.dims.V - 1}`);
      tv[r] = id;
    }
    // K rows per source: W_ih,z a_i once per annotation (L per source) costs less than W_ih,z z_t
    // of every row at every step (K per source and step) once a beam runs L / K steps.
    const ctx = w.K > 1 ? FLAG_CTXTAB : 0;
    if (this.stepsTaken === 0 && shareFirstStep(this.rt.heap, w, this.dims)) {
      // The K rows of each source start identical: one row per source, then copied to the K.
      this.call({ ...w, B: w.B / w.K, K: 1 }, FLAG_KEYS | ctx, 0, "forward");
      expandFirstStep(this.rt.heap, w, this.dims);
    } else {
      this.call(w, (this.stepsTaken === 0 ? FLAG_KEYS : 0) | ctx, 0, "forward", this.sharedRows);
      if (this.sharedRows > 0) spreadShared(this.rt.heap, w);
    }
    this.stepsTaken++;
    this.sharedRows = 0;
    const heap = this.rt.heap;
    return { logits: heap.f32(w.ptrs[Field.Logits], w.B * this.dims.V).slice(), attention: heap.f32(w.ptrs[Field.Alpha], w.B * w.L).slice() };
  }

  /** Row r takes the decoder state of row parents[r] (parents within the same source). */
  reorderRows(parents: ArrayLike<number>): void {
    const w = this.work;
    if (!w || w.train) fail("E_STATE", "AttentionDecoder.reorderRows: call beginDecoding() first");
    for (let r = 0; r < w.B; r++) {
      const p = parents[r];
      if (!Number.isInteger(p) || Math.floor(p / w.K) !== Math.floor(r / w.K)) fail("E_VALUE", `AttentionDecoder.reorderRows: parents[${r}] = ${String(p)} is not a row of the same source`);
    }
    reorderStates(this.rt.heap, w, this.dims, parents);
    this.sharedRows = shareParents(this.rt.heap, w, parents);
  }

  /** A TokenStepper over `rowsPerSource` rows per source of `input` (see beginDecoding). */
  stepper(input: AttentionInput, rowsPerSource = 1): TokenStepper {
    const { rows } = this.beginDecoding(input, rowsPerSource);
    let last: Float32Array | undefined;
    return {
      vocabSize: this.dims.V,
      rows,
      step: (tokens) => {
        const r = this.decodeStep(tokens);
        last = r.attention;
        return r.logits;
      },
      reorder: (parents) => this.reorderRows(parents),
      attention: () => last,
    };
  }

  /** Greedy decoding of every source at once: one hypothesis per batch row, with its attention rows. */
  greedy(input: AttentionInput, options: DecodeOptions): Hypothesis[] {
    this.checkAlive();
    return decodeRows(this.stepper(input), options, false);
  }

  /** Sampled decoding (temperature, topK, seed) of every source at once. */
  sample(input: AttentionInput, options: DecodeOptions): Hypothesis[] {
    this.checkAlive();
    return decodeRows(this.stepper(input), options, true);
  }

  /** Beam search for each source (batch row) of `input`: its hypotheses, best first. */
  beamSearch(input: AttentionInput, options: BeamOptions): Hypothesis[][] {
    this.checkAlive();
    const where = "AttentionDecoder.beamSearch";
    const { B } = checkAttentionInput(where, input, this.dims);
    const width = integer(where, "width", options.width, { min: 1 }, 4);
    decodeOptions(where, options, this.dims.V);
    return beamSearch(this.stepper(input, width), { ...options, width }, B);
  }

  /** Frees the Wasm memory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.owned.dispose();
    this.init?.dispose();
  }

  /** Whether `dispose` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  // ---- internals ----

  private checkAlive(): void {
    if (this.disposed) fail("E_STATE", "AttentionDecoder: the decoder was disposed");
  }

  private gradBlock(): number {
    let g = this.owned.get("grads");
    if (g === 0) {
      g = this.owned.ensure("grads", this.spec.bytes);
      this.rt.heap.f32(g, this.spec.bytes / 4).fill(0);
    }
    return g;
  }

  // The call's buffers, reused while they are large enough.
  private begin(B: number, T: number, L: number, K: number, train: boolean): Work {
    const k = this.rt.kernels;
    const sizes = workSizes(this.dims, B, T, L, K, train, (a, b) => k.packedSize(a, b));
    const ptrs: Record<number, number> = {};
    for (const [f, bytes] of Object.entries(sizes)) ptrs[Number(f)] = this.owned.ensure(`w${f}`, Math.max(bytes, 64));
    this.work = { B, T, L, K, train, ptrs };
    return this.work;
  }

  // Annotations, mask (ones when absent) and h0 (zeros when absent) into the call's buffers.
  private writeInput(w: Work, input: AttentionInput, K = 1): void {
    const heap = this.rt.heap;
    const S = w.B / K, L = w.L, { D, H } = this.dims;
    heap.f32(w.ptrs[Field.Annot], S * L * D).set(input.annotations.data);
    const mask = heap.f32(w.ptrs[Field.Mask], S * L);
    if (input.mask) for (let i = 0; i < S * L; i++) mask[i] = input.mask.data[i] !== 0 ? 1 : 0;
    else mask.fill(1);
    const Hp = round8(H), lstm = this.dims.cell === "lstm";
    const mean = this.init && (!input.h0 || (lstm && !input.c0)) ? this.init.forward(input, S, L, D) : undefined;
    this.meanUsed = mean !== undefined;
    const fill = (f: number, rows: Float32Array | undefined): void => {
      const h = this.rt.heap.f32(w.ptrs[f], w.B * Hp);
      h.fill(0);
      if (rows) for (let r = 0; r < w.B; r++) h.set(rows.subarray(Math.floor(r / K) * H, Math.floor(r / K) * H + H), r * Hp);
    };
    fill(Field.HState, input.h0?.data ?? mean?.h0);
    if (lstm) fill(Field.CState, input.c0?.data ?? mean?.c0);
  }

  // A training call's score form (the forward and its backward must agree): see queriesCheaper.
  private queryFlag(w: Work): number {
    return queriesCheaper(this.dims, w.T, w.L) ? FLAG_QUERY : 0;
  }

  private call(w: Work, flags: number, lambda: number, which: "forward" | "backward", shared = 0): void {
    const k = this.rt.kernels;
    const heap = this.rt.heap;
    const desc = this.owned.get("desc");
    const d = heap.i32(desc, Field.Count);
    d.fill(0);
    const { V, D, A, E, H } = this.dims;
    d[Field.B] = w.B; d[Field.T] = w.T; d[Field.L] = w.L; d[Field.D] = D; d[Field.A] = A; d[Field.E] = E; d[Field.H] = H; d[Field.V] = V; d[Field.K] = w.K;
    d[Field.Flags] = flags | modelFlags(this.dims);
    for (const [f, p] of Object.entries(w.ptrs)) d[Number(f)] = p;
    for (const [f, p] of Object.entries(this.packs)) d[Number(f)] = p;
    if (shared > 0) d[Field.U] = shared;
    else d[Field.RowMap] = 0;
    const params = this.owned.get("params");
    this.spec.specs.forEach((s, i) => (d[this.spec.fields[i]] = params + s.offset));
    if (which === "backward") {
      const grads = this.gradBlock();
      this.spec.specs.forEach((s, i) => (d[GRAD_FIELD[this.spec.fields[i]]] = grads + s.offset));
      heap.f32(desc + Field.Lambda * 4, 1)[0] = lambda;
      if (lambda === 0) d[Field.Cover] = 0;
    }
    if (!this.packed) {
      k.attentionPack(desc);
      this.packed = true;
    }
    if (which === "forward") k.attentionForward(desc);
    else k.attentionBackward(desc);
  }
}
