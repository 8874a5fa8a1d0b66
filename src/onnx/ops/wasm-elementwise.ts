// Element-wise float32 operators on Wasm SIMD kernels (assembly/elementwise.ts) for arrays large
// enough to pay for the copies: the inputs are copied into a node-owned Wasm block and the result
// out of it with TypedArray.set (memcpy), the kernel runs four lanes at a time. The views on the
// block are remade only when memory grows or a size changes: a warm call allocates nothing.
import { WasmBlocks } from "../../memory.js";
import { fullRuntime } from "../../full-core.js";
import type { FullKernels } from "../../kernels.js";
import { runtime } from "../../runtime.js";

/** Below this many elements the TypeScript loops are as fast as copying in and out. */
export const WASM_MIN_ELEMENTS = 256;

export const UNARY_CODES: Record<string, number> = { Relu: 0, Sqrt: 1, Neg: 2, Log: 3 };
export const BINARY_CODES: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3 };

export class WasmElementwise {
  private readonly blocks = WasmBlocks.of(runtime().heap, this);
  // The element-wise kernels live in the full module (assembly/full.ts), which this entry loads.
  private readonly k: FullKernels = fullRuntime("loadOnnx").kernels;
  private a = 0;
  private b = 0;
  private n = 0;
  private buffer: ArrayBufferLike | undefined;
  private va: Float32Array = new Float32Array(0);
  private vb: Float32Array = new Float32Array(0);

  /** y = op(x) (op as in UNARY_CODES, 4 for x*x), x and y float32 arrays of the same length. */
  unary(op: number, x: Float32Array, y: Float32Array): void {
    const n = x.length;
    this.reserve(n);
    this.va.set(x);
    this.k.unaryF32(op, this.a, this.a, n);
    y.set(this.va);
  }

  /** y = a op b: mode 0 same lengths, 1 b a scalar, 2 a a scalar (broadcast here). */
  binary(op: number, mode: number, a: Float32Array, b: Float32Array, y: Float32Array): void {
    const n = y.length;
    this.reserve(n);
    if (mode === 2) this.va.fill(a[0]);
    else this.va.set(a);
    if (mode === 1) this.vb.fill(b[0]);
    else this.vb.set(b);
    this.k.binaryF32(op, this.a, this.b, this.a, n);
    y.set(this.va);
  }

  // Blocks a and b of n floats rounded up to whole vectors (the kernels' lanes past n are
  // computed and ignored); views of exactly n floats.
  private reserve(n: number): void {
    const bytes = ((n + 3) & ~3) * 4;
    if (n > this.n || this.a === 0) {
      this.a = this.blocks.ensure("a", bytes);
      this.b = this.blocks.ensure("b", bytes);
      this.n = n;
      this.buffer = undefined;
    }
    const heap = runtime().heap;
    if (this.buffer !== heap.memory.buffer || this.va.length !== n) {
      this.buffer = heap.memory.buffer;
      this.va = heap.f32(this.a, n);
      this.vb = heap.f32(this.b, n);
    }
  }

  dispose(): void {
    this.blocks.dispose();
  }
}
