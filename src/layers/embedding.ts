import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { checkTensor, numel, type Tensor } from "../tensor.js";
import { checkPtr } from "../train/util.js";
import { integer, objectArgument, show } from "../validate.js";
import { ParamLayer } from "./base.js";

/** Options of `Embedding` (torch.nn.Embedding's, in camelCase). */
export interface EmbeddingOptions {
  /** Size of the vocabulary (rows of the table). Required. */
  numEmbeddings: number;
  /** Size of each embedding vector. Required. */
  embeddingDim: number;
  /**
   * Index whose row starts at zero and never receives a gradient (negative counts from the end,
   * as in PyTorch). Default: none.
   */
  paddingIdx?: number;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/**
 * A lookup table (torch.nn.Embedding): row i of `weight` [numEmbeddings, embeddingDim] is the
 * vector of index i. Initialised N(0, 1) with the paddingIdx row zero. Gradients accumulate (+=)
 * into the rows that were looked up (repeated indices add up), except the paddingIdx row.
 *
 * `forwardPtr(indices, out)` writes rows into Wasm memory for composition without copies;
 * `backwardPtr(dy, N)` scatters the gradient of the last forward's rows. The layer keeps its own
 * copy of the indices, so only `dy` has to be in Wasm memory.
 */
export class Embedding extends ParamLayer {
  /** Rows of the table (the vocabulary's size). */
  readonly numEmbeddings: number;
  /** Size of each embedding vector. */
  readonly embeddingDim: number;
  /** The padding row (normalised to 0..numEmbeddings-1), or undefined. */
  readonly paddingIdx: number | undefined;
  private lastN = -1;
  private lastShape: number[] = [];

  constructor(options: EmbeddingOptions) {
    objectArgument("Embedding", options);
    const num = integer("Embedding", "numEmbeddings", options.numEmbeddings, { min: 1 });
    const dim = integer("Embedding", "embeddingDim", options.embeddingDim, { min: 1 });
    let pad = options.paddingIdx;
    if (pad !== undefined) {
      integer("Embedding", "paddingIdx", pad, { min: -num, max: num - 1 });
      if (pad < 0) pad += num;
    }
    const rng = createRng(options.seed ?? 0); // checks the seed before any memory is reserved
    super("Embedding", [{ name: "weight", shape: [num, dim], offset: 0 }], num * dim);
    this.numEmbeddings = num;
    this.embeddingDim = dim;
    this.paddingIdx = pad;
    const w = this.rt.heap.f32(this.paramBlock(), num * dim);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal();
    if (pad !== undefined) w.fill(0, pad * dim, (pad + 1) * dim);
  }

  /** Nothing is derived from the weights, so nothing to refresh. */
  parametersChanged(): void {}

  /**
   * out[r] = weight[indices[r]] for r < indices.length; `out` is the byte address of
   * [N, embeddingDim] floats. Indices outside [0, numEmbeddings) are RecurError E_VALUE, checked
   * before anything is written.
   */
  forwardPtr(indices: ArrayLike<number>, out: number): void {
    this.checkAlive();
    const where = "Embedding.forwardPtr";
    const idx = this.checkIndices(where, indices);
    const N = idx.length;
    checkPtr(this.rt, where, "out", out, N * this.embeddingDim * 4);
    const idxPtr = this.owned.ensure("idx", N * 4);
    this.rt.heap.i32(idxPtr, N).set(idx);
    this.rt.kernels.embeddingForward(this.paramBlock(), this.embeddingDim, idxPtr, N, out);
    this.lastN = N;
  }

  /** Accumulates weight[indices[r]] += dy[r] for the last forward's N indices; `dy` is [N, embeddingDim]. */
  backwardPtr(dy: number, N: number): void {
    this.checkAlive();
    const where = "Embedding.backwardPtr";
    if (this.lastN < 0) fail("E_STATE", `${where}: no forward to differentiate (call forward or forwardPtr first)`);
    if (N !== this.lastN) fail("E_SHAPE", `${where}: N = ${show(N)}, but the last forward looked up ${this.lastN} indices`);
    checkPtr(this.rt, where, "dy", dy, N * this.embeddingDim * 4);
    if (N === 0) return;
    const grads = this.gradBlock();
    this.rt.kernels.embeddingBackward(dy, this.embeddingDim, this.owned.get("idx"), N, this.paddingIdx ?? -1, grads);
  }

  /** Looks up `indices` (laid out with `shape`, default [indices.length]); returns [...shape, embeddingDim]. */
  forward(indices: ArrayLike<number>, shape?: number[]): Tensor {
    this.checkAlive();
    if (indices === null || typeof indices !== "object" || typeof indices.length !== "number") {
      fail("E_TYPE", "Embedding.forward: indices must be an Int32Array (or array) of integers");
    }
    const n = indices.length;
    const s = shape ?? [n];
    if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 0) || numel(s) !== n) {
      fail("E_SHAPE", `Embedding.forward: shape ${show(s)} does not hold ${show(n)} indices`);
    }
    const D = this.embeddingDim;
    const outPtr = this.owned.ensure("out", n * D * 4);
    this.forwardPtr(indices, outPtr);
    this.lastShape = [...s];
    return { shape: [...s, D], data: this.rt.heap.f32(outPtr, n * D).slice() };
  }

  /** Accumulates the weight gradient for dy [...shape, embeddingDim] of the last forward. */
  backward(dy: Tensor): void {
    this.checkAlive();
    checkTensor(dy, "Embedding.backward: dy");
    const D = this.embeddingDim;
    if (dy.shape.length < 1 || dy.shape[dy.shape.length - 1] !== D || numel(dy.shape) / D !== this.lastN) {
      fail("E_SHAPE", `Embedding.backward: dy must be [${[...this.lastShape, D].join(", ")}] (the last forward's shape), got [${dy.shape.join(", ")}]`);
    }
    const N = this.lastN;
    const dyPtr = this.owned.ensure("dy", N * D * 4);
    this.rt.heap.f32(dyPtr, N * D).set(dy.data);
    this.backwardPtr(dyPtr, N);
  }

  private checkIndices(where: string, indices: ArrayLike<number>): Int32Array {
    if (indices === null || typeof indices !== "object" || typeof indices.length !== "number") {
      fail("E_TYPE", `${where}: indices must be an Int32Array (or array) of integers`);
    }
    const num = this.numEmbeddings;
    for (let r = 0; r < indices.length; r++) {
      const v = indices[r];
      if (!Number.isInteger(v) || v < 0 || v >= num) fail("E_VALUE", `${where}: index ${show(v)} at position ${r} is outside [0, ${num})`);
    }
    return indices instanceof Int32Array ? indices : Int32Array.from(indices);
  }
}
