// Products with a constant weight (Gemm / MatMul by an initializer, each group of a Conv) on
// recur's Wasm SIMD GEMM through a Linear layer, whose packed weight is made once at load. Input
// and output rows live in a Wasm block owned by the node and grown only when a call needs more
// rows, and the views on it are remade only after Wasm memory grows: a warm call allocates
// nothing.
import { Linear } from "../../layers/linear.js";
import { WasmBlocks } from "../../memory.js";
import { runtime } from "../../runtime.js";

export class WasmLinear {
  private readonly linear: Linear;
  private block = 0;
  private rows = 0;
  private xView: Float32Array = new Float32Array(0);
  private yView: Float32Array = new Float32Array(0);
  private buffer: ArrayBufferLike | undefined;
  // The row block, freed by dispose() or, as a safety net, when this object is collected.
  private readonly blocks = WasmBlocks.of(runtime().heap, this);

  /** weight [outFeatures, inFeatures] (PyTorch layout), bias [outFeatures] or none. */
  constructor(readonly inFeatures: number, readonly outFeatures: number, weight: Float32Array, bias?: Float32Array) {
    this.linear = new Linear({ inFeatures, outFeatures, bias: true });
    try {
      this.linear.loadStateDict({ weight: { shape: [outFeatures, inFeatures], data: weight }, bias: { shape: [outFeatures], data: bias ?? new Float32Array(outFeatures) } });
      this.reserve(1);
      this.linear.forwardPtr(this.block, 0, this.block + this.inFeatures * 4); // packs the weight now, not in the first run
    } catch (err) {
      // A file's weights that fail their checks (NaN, shape) leave nothing behind.
      this.linear.dispose();
      this.blocks.dispose();
      throw err;
    }
  }

  /** Input rows [N, inFeatures] to fill before `run`. */
  input(N: number): Float32Array {
    this.reserve(N);
    return this.xView;
  }

  /** y[N, outFeatures] = x W^T + b over the rows written to input(N); returns the output rows. */
  run(N: number): Float32Array {
    this.reserve(N);
    this.linear.forwardPtr(this.block, N, this.block + this.rows * this.inFeatures * 4);
    this.reserve(N); // the first product packs the weight, which may grow memory
    return this.yView;
  }

  /** Address of the input rows [N, inFeatures] (for kernels that write them in Wasm memory). */
  inputPtr(N: number): number {
    this.reserve(N);
    return this.block;
  }

  /** Like run(N), without the output view: the rows stay at outputPtr(). */
  runPtr(N: number): void {
    this.reserve(N);
    this.linear.forwardPtr(this.block, N, this.block + this.rows * this.inFeatures * 4);
  }

  /** Address of the output rows of the last run. */
  outputPtr(): number {
    return this.block + this.rows * this.inFeatures * 4;
  }

  private reserve(N: number): void {
    const heap = runtime().heap;
    if (N > this.rows) {
      this.block = this.blocks.ensure("rows", N * (this.inFeatures + this.outFeatures) * 4);
      this.rows = N;
      this.buffer = undefined;
    }
    if (this.buffer !== heap.memory.buffer || this.xView.length !== N * this.inFeatures) {
      this.buffer = heap.memory.buffer;
      this.xView = heap.f32(this.block, N * this.inFeatures);
      this.yView = heap.f32(this.block + this.rows * this.inFeatures * 4, N * this.outFeatures);
    }
  }

  dispose(): void {
    this.blocks.dispose();
    this.block = 0;
    this.linear.dispose();
  }
}
