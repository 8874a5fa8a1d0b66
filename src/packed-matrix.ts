import { fail } from "./errors.js";
import { WasmBlocks } from "./memory.js";
import { runtime, type Runtime } from "./runtime.js";
import { checkTensor, type Tensor } from "./tensor.js";
import { boolean, objectArgument } from "./validate.js";

/** Options of `packMatrix`. */
export interface PackMatrixOptions {
  /**
   * `b` is given transposed, as [n, k] (PyTorch's weight layout, out_features x in_features), and
   * the product uses its transpose: matmul(a, packMatrix(w, { transpose: true })) is a W^T, as
   * torch.nn.functional.linear computes. Default false: `b` is [k, n].
   */
  transpose?: boolean;
  /** A [n] vector added to every row of the product (a layer's bias). Default: none. */
  bias?: Tensor;
}

/**
 * The right-hand operand of `matmul`, copied once into Wasm memory in the layout the GEMM reads
 * (8-column panels with the bias row first), for products that reuse one matrix: a layer's
 * weights, a projection applied to many batches. `matmul(a, packed)` then copies only `a` in and
 * the result out; a plain tensor `b` is copied in (and, for more than 8 rows of `a`, packed) on
 * every call. The values are copied: later changes to the source tensor do not reach it.
 *
 * It holds Wasm memory until `dispose()` (or, as a safety net, until it is garbage-collected),
 * and belongs to the runtime `init` loaded when it was made.
 */
export class PackedMatrix {
  /** The shape `[k, n]` of the matrix it stands for in the product (after any transpose). */
  readonly shape: [number, number];
  /** Whether a bias row is added to every product. */
  readonly hasBias: boolean;
  /** @internal */
  readonly rt: Runtime;
  private readonly blocks: WasmBlocks;
  private readonly packedPtr: number;
  private disposed = false;

  /** @internal Use `packMatrix`. */
  constructor(rt: Runtime, k: number, n: number, hasBias: boolean, fill: (packedPtr: number) => void) {
    this.rt = rt;
    this.shape = [k, n];
    this.hasBias = hasBias;
    this.blocks = WasmBlocks.of(rt.heap, this);
    this.packedPtr = this.blocks.alloc(Math.max(4, rt.kernels.packedSize(k, n) * 4));
    try {
      fill(this.packedPtr);
    } catch (err) {
      this.blocks.dispose();
      throw err;
    }
  }

  /** @internal Address of the packed panels, after checking that it may be used on `rt`. */
  packed(rt: Runtime, where: string): number {
    if (this.disposed) fail("E_STATE", `${where}: the PackedMatrix was disposed`);
    if (rt !== this.rt) fail("E_STATE", `${where}: the PackedMatrix belongs to another runtime (made before a shutdown() or on another createRuntime)`);
    return this.packedPtr;
  }

  /** Whether `dispose` was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Returns its Wasm memory; using it afterwards throws E_STATE. Calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.blocks.dispose();
  }
}

/**
 * Packs `b` (a [k, n] tensor, or [n, k] with `transpose`) once for repeated `matmul(a, packed)`
 * products, optionally with a bias row. See `PackedMatrix`.
 */
export function packMatrix(b: Tensor, options: PackMatrixOptions = {}): PackedMatrix {
  return packMatrixOn(runtime(), b, options);
}

/** @internal `packMatrix` on a given runtime (tests and benchmarks that compare both binaries). */
export function packMatrixOn(rt: Runtime, b: Tensor, options: PackMatrixOptions = {}): PackedMatrix {
  objectArgument("packMatrix", options);
  checkTensor(b, "packMatrix: b", [-1, -1]);
  const transpose = boolean("packMatrix", "transpose", options.transpose, false);
  const [rows, cols] = b.shape;
  const [k, n] = transpose ? [cols, rows] : [rows, cols];
  if (options.bias !== undefined) checkTensor(options.bias, "packMatrix: bias", [n]);
  const { kernels, heap } = rt;
  return new PackedMatrix(rt, k, n, options.bias !== undefined, (dst) => {
    if (k === 0 || n === 0) {
      heap.f32(dst, kernels.packedSize(k, n)).fill(0);
      return;
    }
    const biasBytes = options.bias === undefined ? 0 : n * 4;
    const src = heap.alloc(k * n * 4 + biasBytes);
    try {
      heap.f32(src, k * n).set(b.data);
      if (options.bias !== undefined) heap.f32(src + k * n * 4, n).set(options.bias.data);
      const bias = biasBytes === 0 ? 0 : src + k * n * 4;
      if (transpose) kernels.packBT(src, k, k, n, bias, dst);
      else kernels.packB(src, n, k, n, bias, dst);
    } finally {
      heap.release(src);
    }
  });
}
