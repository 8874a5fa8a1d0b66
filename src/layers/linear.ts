import { fail } from "../errors.js";
import { createRng } from "../random.js";
import { checkTensor, numel, type Tensor } from "../tensor.js";
import { align64 } from "../memory.js";
import { checkPtr } from "../train/util.js";
import { boolean, integer, objectArgument, show } from "../validate.js";
import { ParamLayer, type ParamSpec } from "./base.js";

/** Options of `Linear` (torch.nn.Linear's, in camelCase). */
export interface LinearOptions {
  /** Features of each input row. Required. */
  inFeatures: number;
  /** Features of each output row. Required. */
  outFeatures: number;
  /** Adds a learnable bias. Default true. */
  bias?: boolean;
  /** Seed of the initial weights (same seed, same weights, everywhere). Default 0. */
  seed?: number;
}

/**
 * y = x W^T + b (torch.nn.Linear). Parameters `weight` [out, in] and `bias` [out] under their
 * PyTorch names, initialised as PyTorch does: U(-1/sqrt(in), 1/sqrt(in)) for both (kaiming-uniform
 * with a = sqrt(5) reduces to that bound for the weight).
 *
 * Two levels of API:
 * - `forward(x)` / `backward(dy)` on tensors [..., in] / [..., out], copying through Wasm.
 * - `forwardPtr(x, N, out)` / `backwardPtr(dy, N, dx)` on byte addresses of row-major rows already
 *   in Wasm memory, for composing layers without copies.
 *
 * Backward uses the input of the LAST forward: the layer keeps its address, not a copy, so the
 * rows passed to `forwardPtr` must stay untouched in memory until `backwardPtr` (the tensor-level
 * `forward` keeps its own copy). Parameter gradients accumulate (+=) like PyTorch's `.grad`;
 * clear them with `zeroGrad()`.
 */
export class Linear extends ParamLayer {
  /** Features of each input row. */
  readonly inFeatures: number;
  /** Features of each output row. */
  readonly outFeatures: number;
  /** Whether y = x W^T + b (true) or x W^T. */
  readonly hasBias: boolean;
  private readonly biasOffset: number;
  private packedForward = false;
  private packedBackward = false;
  private lastX = 0;
  private lastN = -1;

  constructor(options: LinearOptions) {
    objectArgument("Linear", options);
    const inF = integer("Linear", "inFeatures", options.inFeatures, { min: 1 });
    const outF = integer("Linear", "outFeatures", options.outFeatures, { min: 1 });
    const bias = boolean("Linear", "bias", options.bias, true);
    const rng = createRng(options.seed ?? 0); // checks the seed before any memory is reserved
    const biasOffset = align64(inF * outF * 4);
    const specs: ParamSpec[] = [{ name: "weight", shape: [outF, inF], offset: 0 }];
    if (bias) specs.push({ name: "bias", shape: [outF], offset: biasOffset });
    super("Linear", specs, bias ? biasOffset / 4 + outF : inF * outF);
    this.inFeatures = inF;
    this.outFeatures = outF;
    this.hasBias = bias;
    this.biasOffset = biasOffset;
    const bound = 1 / Math.sqrt(inF);
    const view = this.rt.heap.f32(this.paramBlock(), this.regionFloats);
    for (let i = 0; i < inF * outF; i++) view[i] = rng.uniform(-bound, bound);
    if (bias) for (let j = 0; j < outF; j++) view[biasOffset / 4 + j] = rng.uniform(-bound, bound);
  }

  /** Marks the packed copies of the weight stale; optimizers call it after every step. */
  parametersChanged(): void {
    this.packedForward = false;
    this.packedBackward = false;
  }

  /**
   * out[N, outFeatures] = x[N, inFeatures] W^T + b, all byte addresses in Wasm memory (`out` must
   * not overlap `x`). Remembers `x` for backwardPtr.
   */
  forwardPtr(x: number, N: number, out: number): void {
    this.checkAlive();
    const where = "Linear.forwardPtr";
    if (!Number.isInteger(N) || N < 0) fail("E_VALUE", `${where}: N must be an integer >= 0, got ${show(N)}`);
    const { inFeatures: I, outFeatures: O } = this;
    checkPtr(this.rt, where, "x", x, N * I * 4);
    checkPtr(this.rt, where, "out", out, N * O * 4);
    if (out < x + N * I * 4 && x < out + N * O * 4 && N > 0) fail("E_VALUE", `${where}: out overlaps x`);
    const packed = this.packForward();
    this.rt.kernels.gemm(N, O, I, x, I, packed, out, O, 0);
    this.lastX = x;
    this.lastN = N;
  }

  /**
   * Backward of the last forward over the same N rows: accumulates dW += dy^T x and db += column
   * sums of dy, and writes dx = dy W to `dx` (0 = skip; with `accumulateDx`, dx += dy W instead,
   * for inputs that feed several layers). `dy` is [N, outFeatures], `dx` [N, inFeatures].
   */
  backwardPtr(dy: number, N: number, dx = 0, accumulateDx = false): void {
    this.checkAlive();
    const where = "Linear.backwardPtr";
    if (this.lastN < 0) fail("E_STATE", `${where}: no forward to differentiate (call forward or forwardPtr first)`);
    if (N !== this.lastN) fail("E_SHAPE", `${where}: N = ${show(N)}, but the last forward had ${this.lastN} rows`);
    const { inFeatures: I, outFeatures: O } = this;
    checkPtr(this.rt, where, "dy", dy, N * O * 4);
    if (dx !== 0) checkPtr(this.rt, where, "dx", dx, N * I * 4);
    if (N === 0) return;
    const k = this.rt.kernels;
    const grads = this.gradBlock();
    // dW[O, I] += dy^T x: x packed as the K = N by I right-hand side.
    const packX = this.owned.ensure("packX", k.packedSize(N, I) * 4);
    k.packB(this.lastX, I, N, I, 0, packX);
    k.gemmTN(O, I, N, dy, O, packX, grads, I, 1);
    if (this.hasBias) k.addColumnSums(dy, N, O, grads + this.biasOffset);
    if (dx !== 0) k.gemm(N, I, O, dy, O, this.packBackward(), dx, I, accumulateDx ? 1 : 0);
  }

  /** y = x W^T + b for x [..., inFeatures]; returns [..., outFeatures]. Keeps a copy of x for backward. */
  forward(x: Tensor): Tensor {
    this.checkAlive();
    checkTensor(x, "Linear.forward: x");
    const I = this.inFeatures, O = this.outFeatures;
    if (x.shape.length < 1 || x.shape[x.shape.length - 1] !== I) {
      fail("E_SHAPE", `Linear.forward: x must be [..., ${I}], got [${x.shape.join(", ")}]`);
    }
    const N = numel(x.shape) / I;
    const xPtr = this.owned.ensure("x", N * I * 4);
    const yPtr = this.owned.ensure("y", N * O * 4);
    this.rt.heap.f32(xPtr, N * I).set(x.data);
    this.forwardPtr(xPtr, N, yPtr);
    return { shape: [...x.shape.slice(0, -1), O], data: this.rt.heap.f32(yPtr, N * O).slice() };
  }

  /** Accumulates the parameter gradients for dy [..., outFeatures] and returns dx [..., inFeatures]. */
  backward(dy: Tensor): Tensor {
    this.checkAlive();
    checkTensor(dy, "Linear.backward: dy");
    const I = this.inFeatures, O = this.outFeatures;
    if (dy.shape.length < 1 || dy.shape[dy.shape.length - 1] !== O || numel(dy.shape) / O !== this.lastN) {
      fail("E_SHAPE", `Linear.backward: dy must be [..., ${O}] with ${this.lastN < 0 ? "the rows of a previous forward" : `${this.lastN} rows`}, got [${dy.shape.join(", ")}]`);
    }
    const N = this.lastN;
    const dyPtr = this.owned.ensure("dy", N * O * 4);
    const dxPtr = this.owned.ensure("dx", N * I * 4);
    this.rt.heap.f32(dyPtr, N * O).set(dy.data);
    this.backwardPtr(dyPtr, N, dxPtr);
    return { shape: [...dy.shape.slice(0, -1), I], data: this.rt.heap.f32(dxPtr, N * I).slice() };
  }

  // B = W^T packed with the bias row, for x W^T + b.
  private packForward(): number {
    const k = this.rt.kernels;
    const ptr = this.owned.ensure("packF", k.packedSize(this.inFeatures, this.outFeatures) * 4);
    if (!this.packedForward) {
      const w = this.paramBlock();
      k.packBT(w, this.inFeatures, this.inFeatures, this.outFeatures, this.hasBias ? w + this.biasOffset : 0, ptr);
      this.packedForward = true;
    }
    return ptr;
  }

  // B = W itself (the [out, in] matrix), for dy W.
  private packBackward(): number {
    const k = this.rt.kernels;
    const ptr = this.owned.ensure("packB", k.packedSize(this.outFeatures, this.inFeatures) * 4);
    if (!this.packedBackward) {
      k.packB(this.paramBlock(), this.inFeatures, this.outFeatures, this.inFeatures, 0, ptr);
      this.packedBackward = true;
    }
    return ptr;
  }
}
