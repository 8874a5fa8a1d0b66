// Conv (1-D): X [N, C, L], W [M, C/group, K], B [M], with strides, dilations, groups, pads and
// auto_pad. float32 with a constant W (and B) runs in Wasm (assembly/conv1d.ts): depthwise
// convolutions on their own SIMD kernel; every other group as im2col rows through recur's packed
// GEMM (each group's weight packed once at load), transposed back to [M, Lo]. X is copied into Wasm memory and Y out of it with one TypedArray.set each;
// the blocks belong to the node and the views on them are remade only when memory grows, so a
// warm call allocates nothing. Anything else (float64, weights computed at run time) runs the
// TypeScript loops at the end of this file.
import { fail } from "../../errors.js";
import { WasmBlocks } from "../../memory.js";
import { fullRuntime } from "../../full-core.js";
import type { FullKernels } from "../../kernels.js";
import { runtime } from "../../runtime.js";
import { ensure, isFloat, type OnnxTensor } from "../values.js";
import { shapeStr, type BuildContext, type Op } from "./op.js";
import { WasmLinear } from "./wasm-linear.js";

type F = Float32Array | Float64Array;

/** Conv nodes that apply the Relu that alone read their output (the executor removed that node). */
export const reluFused = new WeakSet<object>();

function floatInput(ctx: BuildContext, t: OnnxTensor, what: string): F {
  if (!isFloat(t.dtype)) fail("E_TYPE", `${ctx.label}: ${what} must be float32 or float64, got ${t.dtype}`);
  return t.data as F;
}

interface Geometry {
  N: number;
  C: number;
  L: number;
  M: number;
  Cg: number;
  K: number;
  Lo: number;
  padL: number;
  padR: number;
}

/** A constant-weight float32 convolution in Wasm memory. */
class WasmConv {
  private readonly blocks = WasmBlocks.of(runtime().heap, this);
  // The convolution kernels live in the full module (assembly/full.ts), which this entry loads.
  private readonly k: FullKernels = fullRuntime("loadOnnx").kernels;
  // One packed product per group (depthwise convolutions have their own kernel instead).
  private readonly linears: WasmLinear[] = [];
  private readonly w: number = 0;
  private readonly b: number = 0;
  private buffer: ArrayBufferLike | undefined;
  private xView: Float32Array = new Float32Array(0);
  private yView: Float32Array = new Float32Array(0);
  private xLen = -1;
  private yLen = -1;
  readonly kind: "depthwise" | "pointwise" | "gemm";
  private readonly bias: Float32Array | undefined;

  /**
   * A pointwise convolution (K 1, stride 1, group 1) is a plain product, y [M, L] = W [M, C]
   * x [C, L]: x is packed as it is (no im2col, no transpose back), the bias written first.
   */
  constructor(readonly group: number, W: OnnxTensor, bias: Float32Array | undefined, private readonly stride: number, private readonly dilation: number, pads: readonly number[]) {
    const [M, Cg, K] = W.shape;
    const w = W.data as Float32Array;
    const Mg = M / group;
    this.bias = bias;
    this.kind = Cg === 1 && Mg === 1 && group > 1 ? "depthwise" : K === 1 && group === 1 && stride === 1 && pads[0] === 0 && pads[1] === 0 ? "pointwise" : "gemm";
    try {
      if (this.kind === "gemm") this.packProducts(W);
      else {
        const heap = runtime().heap;
        this.w = this.blocks.ensure("w", w.length * 4);
        heap.f32(this.w, w.length).set(w);
        if (bias) {
          this.b = this.blocks.ensure("b", M * 4);
          heap.f32(this.b, M).set(bias);
        }
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  // The weight packed for im2col rows, one product per group (for a pointwise convolution, made
  // on the first call too short for the direct product: fewer than 8 output steps, a GEMM panel).
  private packProducts(W: OnnxTensor): void {
    const [M, Cg, K] = W.shape;
    const w = W.data as Float32Array, bias = this.bias;
    const Mg = M / this.group;
    for (let q = 0; q < this.group; q++) {
      this.linears.push(new WasmLinear(Cg * K, Mg, w.subarray(q * Mg * Cg * K, (q + 1) * Mg * Cg * K), bias?.subarray(q * Mg, (q + 1) * Mg)));
    }
  }

  run(x: Float32Array, o: Float32Array, g: Geometry, relu: boolean, W: OnnxTensor): void {
    const { N, C, L, M, Cg, K, Lo, padL, padR } = g;
    const k = this.k;
    const xb = this.blocks.ensure("x", N * C * L * 4);
    const yb = this.blocks.ensure("y", (N * M * Lo + 4) * 4);
    const direct = this.kind === "pointwise" && Lo >= 8;
    if (this.kind !== "depthwise" && !direct && this.linears.length === 0) this.packProducts(W);
    const scratch = this.kind === "depthwise" ? this.blocks.ensure("scratch", (L + padL + padR + 4) * 4) : direct ? this.blocks.ensure("scratch", k.packedSize(C, L) * 4) : 0;
    const bias = this.bias;
    if (direct && bias) {
      // Every output row starts as its bias; the product adds to it.
      const y = this.views(xb, N * C * L, yb, N * M * Lo).y;
      for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) y.fill(bias[m], (n * M + m) * Lo, (n * M + m + 1) * Lo);
    }
    this.views(xb, N * C * L, yb, N * M * Lo).x.set(x);
    const Mg = M / this.group;
    for (let n = 0; n < N; n++) {
      const xn = xb + n * C * L * 4, yn = yb + n * M * Lo * 4;
      if (this.kind === "depthwise") k.conv1dDepthwise(xn, this.w, this.b, yn, C, L, Lo, K, this.stride, this.dilation, padL, padR, scratch, relu ? 1 : 0);
      else if (direct) {
        k.packB(xn, L, C, L, 0, scratch);
        k.gemm(M, L, C, this.w, C, scratch, yn, L, bias ? 1 : 0);
      } else {
        for (let q = 0; q < this.group; q++) {
          const lin = this.linears[q];
          k.conv1dIm2col(xn + q * Cg * L * 4, lin.inputPtr(Lo), Cg, L, Lo, K, this.stride, this.dilation, padL);
          lin.runPtr(Lo);
          k.transposeF32(lin.outputPtr(), yn + q * Mg * Lo * 4, Lo, Mg);
        }
      }
    }
    // The y block has room for whole vectors (N * M * Lo + 4 floats); the depthwise kernel
    // applied the Relu itself.
    if (relu && this.kind !== "depthwise") k.unaryF32(0, yb, yb, N * M * Lo);
    // A product may grow memory on its first run: the views are checked again.
    o.set(this.views(xb, N * C * L, yb, N * M * Lo).y);
  }

  private views(xb: number, xLen: number, yb: number, yLen: number): { x: Float32Array; y: Float32Array } {
    const heap = runtime().heap;
    if (this.buffer !== heap.memory.buffer || this.xLen !== xLen || this.yLen !== yLen || this.xView.byteOffset !== xb || this.yView.byteOffset !== yb) {
      this.buffer = heap.memory.buffer;
      this.xView = heap.f32(xb, xLen);
      this.yView = heap.f32(yb, yLen);
      this.xLen = xLen;
      this.yLen = yLen;
    }
    this.pair.x = this.xView;
    this.pair.y = this.yView;
    return this.pair;
  }

  private readonly pair: { x: Float32Array; y: Float32Array } = { x: new Float32Array(0), y: new Float32Array(0) };

  dispose(): void {
    for (const l of this.linears) l.dispose();
    this.linears.length = 0;
    this.blocks.dispose();
  }
}

export function conv(ctx: BuildContext): Op {
  const attrs = ctx.attrs;
  const group = attrs.int("group", 1);
  const autoPad = attrs.string("auto_pad", "NOTSET");
  const W = ctx.constant(1);
  const kernelShape = attrs.ints("kernel_shape");
  const spatial = kernelShape?.length ?? (W ? W.shape.length - 2 : 1);
  if (spatial !== 1) fail("E_UNSUPPORTED", `${ctx.label}: Conv with ${spatial} spatial dimensions (recur runs 1-D convolutions)`);
  const stride = attrs.ints("strides")?.[0] ?? 1;
  const dilation = attrs.ints("dilations")?.[0] ?? 1;
  const padsAttr = attrs.ints("pads") ?? [0, 0];
  if (!(stride >= 1 && dilation >= 1 && group >= 1 && padsAttr.length === 2 && padsAttr[0] >= 0 && padsAttr[1] >= 0)) {
    fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: strides ${stride}, dilations ${dilation}, group ${group}, pads ${shapeStr(padsAttr)}`);
  }
  const relu = reluFused.has(ctx.node);
  const outs: (OnnxTensor | undefined)[] = [undefined];
  const shape = [0, 0, 0];
  const geo: Geometry = { N: 0, C: 0, L: 0, M: 0, Cg: 0, K: 0, Lo: 0, padL: 0, padR: 0 };
  const constBias = ctx.has(2) ? ctx.constant(2) : undefined;
  const wasm =
    W !== undefined && W.dtype === "float32" && W.shape.length === 3 && W.shape[0] % group === 0 && (!ctx.has(2) || (constBias?.dtype === "float32" && constBias.data.length === W.shape[0]))
      ? new WasmConv(group, W, constBias?.data as Float32Array | undefined, stride, dilation, autoPad === "NOTSET" || autoPad === "VALID" ? padsAttr : [1, 1])
      : undefined;
  const cols = { data: new Float64Array(0) };
  return {
    outs,
    kernel: wasm ? `${relu ? "(Relu folded in) " : ""}recur's Wasm conv1d (${wasm.kind === "depthwise" ? "depthwise SIMD kernel" : wasm.kind === "pointwise" ? "pointwise: packed GEMM" : group > 1 ? `im2col + packed GEMM per group, ${group} groups` : "im2col + packed GEMM"})` : undefined,
    dispose: () => wasm?.dispose(),
    run(ins) {
      const X = ins[0]!, Wt = ins[1]!, Bt = ins[2];
      const x = floatInput(ctx, X, "X"), w = floatInput(ctx, Wt, "W");
      if (X.shape.length !== 3 || Wt.shape.length !== 3) fail("E_SHAPE", `${ctx.label}: 1-D Conv needs X [N, C, L] and W [M, C/group, K], got ${shapeStr(X.shape)} and ${shapeStr(Wt.shape)}`);
      const N = X.shape[0], C = X.shape[1], L = X.shape[2];
      const M = Wt.shape[0], Cg = Wt.shape[1], K = Wt.shape[2];
      if (Cg * group !== C || M % group !== 0) fail("E_SHAPE", `${ctx.label}: X has ${C} channels, W ${shapeStr(Wt.shape)} with group ${group} needs ${Cg * group}`);
      const span = (K - 1) * dilation + 1;
      let padL = padsAttr[0], padR = padsAttr[1];
      if (autoPad === "VALID") padL = padR = 0;
      else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
        const outLen = Math.ceil(L / stride);
        const total = Math.max(0, (outLen - 1) * stride + span - L);
        padL = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
        padR = total - padL;
      }
      const Lo = Math.floor((L + padL + padR - span) / stride) + 1;
      if (Lo < 1) fail("E_SHAPE", `${ctx.label}: input length ${L} (padded ${padL} + ${padR}) is shorter than the kernel span ${span}`);
      shape[0] = N;
      shape[1] = M;
      shape[2] = Lo;
      const out = ensure(outs[0], X.dtype, shape);
      outs[0] = out;
      const o = out.data as F;
      if (wasm && Wt === W && Bt === constBias && X.dtype === "float32") {
        geo.N = N, geo.C = C, geo.L = L, geo.M = M, geo.Cg = Cg, geo.K = K, geo.Lo = Lo, geo.padL = padL, geo.padR = padR;
        if (N * M * Lo > 0) wasm.run(x as Float32Array, o as Float32Array, geo, relu, W);
        return;
      }
      convJs(x, w, Bt ? floatInput(ctx, Bt, "B") : undefined, o, N, C, L, M, Cg, K, Lo, group, stride, dilation, padL, cols);
      if (relu) for (let i = 0; i < o.length; i++) o[i] = o[i] > 0 || o[i] !== o[i] ? o[i] : 0;
    },
  };
}

/** The TypeScript convolution (float64, or weights known only at run time). */
function convJs(x: F, w: F, bias: F | undefined, o: F, N: number, C: number, L: number, M: number, Cg: number, K: number, Lo: number, group: number, stride: number, dilation: number, padL: number, scratch: { data: Float64Array }): void {
  const Mg = M / group;
  const CK = Cg * K;
  // im2col per group: cols[t][c*K + k] is the input under tap k of channel c at output t, so
  // each output is one contiguous dot product of length C/group * K.
  if (scratch.data.length < Lo * CK) scratch.data = new Float64Array(Lo * CK);
  const cols = scratch.data;
  for (let nIdx = 0; nIdx < N; nIdx++) {
    for (let g = 0; g < group; g++) {
      for (let t = 0; t < Lo; t++) {
        const base = t * stride - padL;
        for (let c = 0; c < Cg; c++) {
          const xb = (nIdx * C + g * Cg + c) * L;
          const cb = t * CK + c * K;
          for (let kk = 0; kk < K; kk++) {
            const at = base + kk * dilation;
            cols[cb + kk] = at >= 0 && at < L ? x[xb + at] : 0;
          }
        }
      }
      for (let mm = 0; mm < Mg; mm++) {
        const m = g * Mg + mm;
        const wb = m * CK;
        const ob = (nIdx * M + m) * Lo;
        const b0 = bias ? bias[m] : 0;
        for (let t = 0; t < Lo; t++) {
          const cb = t * CK;
          let s = 0;
          for (let j = 0; j < CK; j++) s += w[wb + j] * cols[cb + j];
          o[ob + t] = b0 + s;
        }
      }
    }
  }
}
