// Element-wise float32 operators on Wasm SIMD kernels (assembly/elementwise.ts) for arrays large
// enough to pay for the copies: the inputs are copied into a node-owned Wasm block and the result
// out of it with TypedArray.set (memcpy), the kernel runs four lanes at a time. The views on the
// block are remade only when memory grows or a size changes: a warm call allocates nothing.
import { WasmBlocks } from "../../memory.js";
import { runtime } from "../../runtime.js";

/** Below this many elements the TypeScript loops are as fast as copying in and out. */
export const WASM_MIN_ELEMENTS = 256;

export const UNARY_CODES: Record<string, number> = { Relu: 0, Sqrt: 1, Neg: 2, Log: 3 };
export const BINARY_CODES: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3 };

const EMPTY = new Float32Array(0);

export class WasmElementwise {
  private readonly blocks = WasmBlocks.of(runtime().heap, this);
  private a = 0;
  private b = 0;
  private na = 0;
  private nb = 0;
  private buffer: ArrayBufferLike | undefined;
  private va: Float32Array = new Float32Array(0);
  private vb: Float32Array = new Float32Array(0);

  /** y = op(x) (op as in UNARY_CODES, 4 for x*x), x and y float32 arrays of the same length. */
  unary(op: number, x: Float32Array, y: Float32Array): void {
    const n = x.length;
    this.reserve(n, 0);
    this.va.set(x);
    runtime().kernels.unaryF32(op, this.a, this.a, n);
    y.set(this.va);
  }

  /** y = a op b: mode 0 same lengths, 1 b a scalar, 2 a a scalar. */
  binary(op: number, mode: number, a: Float32Array, b: Float32Array, y: Float32Array): void {
    const n = y.length;
    this.reserve(mode === 2 ? 1 : n, mode === 1 ? 1 : n);
    this.va.set(a);
    this.vb.set(b);
    // In place in the full-length side (element i is read before it is written).
    const full = mode === 2 ? this.b : this.a;
    runtime().kernels.binaryF32(op, mode, this.a, this.b, full, n);
    y.set(mode === 2 ? this.vb : this.va);
  }

  private reserve(na: number, nb: number): void {
    if (na > this.na || this.a === 0) {
      this.a = this.blocks.ensure("a", Math.max(na, 1) * 4);
      this.na = na;
      this.buffer = undefined;
    }
    if (nb > this.nb || (nb > 0 && this.b === 0)) {
      this.b = this.blocks.ensure("b", nb * 4);
      this.nb = nb;
      this.buffer = undefined;
    }
    const heap = runtime().heap;
    if (this.buffer !== heap.memory.buffer || this.va.length !== na || this.vb.length !== nb) {
      this.buffer = heap.memory.buffer;
      this.va = heap.f32(this.a, na);
      this.vb = nb > 0 ? heap.f32(this.b, nb) : EMPTY;
    }
  }

  dispose(): void {
    this.blocks.dispose();
  }
}
