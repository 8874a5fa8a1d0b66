// Products, softmax and reductions, float32/float64 in TypeScript. Constant weights
// (Gemm's B) are laid out once at load in the order the inner loops read them; Conv is in conv.ts.
import { fail } from "../../errors.js";
import { ensure, getInt64, isFloat, numel, readInts, setInt64, span, type OnnxTensor } from "../values.js";
import { BroadcastPlan, sameShape } from "./elementwise.js";
import { axis, shapeStr, type BuildContext, type Op, type OpFactory } from "./op.js";
import { WasmLinear } from "./wasm-linear.js";

type Outs = (OnnxTensor | undefined)[];
type F = Float32Array | Float64Array;

function floatInput(ctx: BuildContext, t: OnnxTensor, what: string): F {
  if (!isFloat(t.dtype)) fail("E_TYPE", `${ctx.label}: ${what} must be float32 or float64, got ${t.dtype}`);
  return t.data as F;
}

/** C[m, n] (+)= A[m, k] B[k, n], row-major with leading dimensions; the loop order streams B's rows. */
function gemmRows(m: number, n: number, k: number, a: F, aOff: number, lda: number, b: F, bOff: number, ldb: number, c: F, cOff: number, ldc: number): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * ldc;
    for (let p = 0; p < k; p++) {
      const av = a[aOff + i * lda + p];
      if (av === 0) continue;
      const bp = bOff + p * ldb;
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
    }
  }
}

function matMul(ctx: BuildContext): Op {
  const outs: Outs = [undefined];
  const plan = new BroadcastPlan(ctx.label);
  const shape: number[] = [];
  // A constant float32 [k, n] right-hand side: every row of A through the Wasm GEMM.
  const constB = ctx.constant(1);
  const aBatch: number[] = [], bBatch: number[] = [];
  const batches2 = [aBatch, bBatch];
  const wasm = constB !== undefined && constB.dtype === "float32" && constB.shape.length === 2 ? new WasmLinear(constB.shape[0], constB.shape[1], transposed(constB.data as Float32Array, constB.shape[0], constB.shape[1])) : undefined;
  return {
    outs,
    kernel: wasm ? "TypeScript + recur's Wasm GEMM (packed constant weight)" : undefined,
    dispose: () => wasm?.dispose(),
    run(ins) {
      const A = ins[0]!, B = ins[1]!;
      if (wasm && B === constB && A.dtype === "float32" && A.shape.length >= 1 && A.shape[A.shape.length - 1] === wasm.inFeatures) {
        const k = wasm.inFeatures, n = wasm.outFeatures;
        const N = A.data.length / k;
        shape.length = 0;
        for (let i = 0; i < A.shape.length - 1; i++) shape.push(A.shape[i]);
        shape.push(n);
        const out = ensure(outs[0], "float32", shape);
        outs[0] = out;
        wasm.input(N).set(A.data as Float32Array);
        (out.data as Float32Array).set(wasm.run(N));
        return;
      }
      const a = floatInput(ctx, A, "A"), b = floatInput(ctx, B, "B");
      const ar = A.shape.length, br = B.shape.length;
      if (ar === 0 || br === 0) fail("E_SHAPE", `${ctx.label}: MatMul needs tensors of rank 1 or more`);
      const m = ar === 1 ? 1 : A.shape[ar - 2], k = A.shape[ar - 1];
      const k2 = br === 1 ? B.shape[0] : B.shape[br - 2], n = br === 1 ? 1 : B.shape[br - 1];
      if (k !== k2) fail("E_SHAPE", `${ctx.label}: MatMul of ${shapeStr(A.shape)} and ${shapeStr(B.shape)}: inner sizes ${k} and ${k2} differ`);
      aBatch.length = Math.max(0, ar - 2);
      for (let i = 0; i < ar - 2; i++) aBatch[i] = A.shape[i];
      bBatch.length = Math.max(0, br - 2);
      for (let i = 0; i < br - 2; i++) bBatch[i] = B.shape[i];
      plan.update(batches2);
      shape.length = 0;
      for (const d of plan.shape) shape.push(d);
      if (ar > 1) shape.push(m);
      if (br > 1) shape.push(n);
      const out = ensure(outs[0], A.dtype, shape);
      outs[0] = out;
      const c = out.data as F;
      c.fill(0);
      const batches = numel(plan.shape);
      for (let q = 0; q < batches; q++) {
        const qa = plan.maps[0] === null ? (plan.scalar[0] ? 0 : q) : plan.maps[0]![q];
        const qb = plan.maps[1] === null ? (plan.scalar[1] ? 0 : q) : plan.maps[1]![q];
        gemmRows(m, n, k, a, qa * m * k, k, b, qb * k * n, n, c, q * m * n, n);
      }
    },
  };
}

function transposed(src: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return out;
}

function gemm(ctx: BuildContext): Op {
  const alpha = ctx.attrs.float("alpha", 1), beta = ctx.attrs.float("beta", 1);
  const transA = ctx.attrs.int("transA", 0) === 1, transB = ctx.attrs.int("transB", 0) === 1;
  const outs: Outs = [undefined];
  const plan = new BroadcastPlan(ctx.label);
  // A constant B is stored once as [k, n] so the inner loop streams it.
  const constB = ctx.constant(1);
  let bKN: F | undefined;
  if (constB !== undefined && constB.shape.length === 2 && isFloat(constB.dtype)) {
    const [r, c] = constB.shape;
    const src = constB.data as F;
    if (transB) {
      bKN = new (src.constructor as Float32ArrayConstructor)(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) bKN[j * r + i] = src[i * c + j];
    } else bKN = src;
  }
  let aT: F = new Float32Array(0);
  const shape = [0, 0];
  const cShapes: (readonly number[])[] = [[], []];
  // Constant float32 B (and C a constant bias row, or none): the Wasm GEMM with B packed once.
  const constC = ctx.has(2) ? ctx.constant(2) : undefined;
  const cRow = constC !== undefined && constC.dtype === "float32" && constC.data.length === (transB ? constB?.shape[0] : constB?.shape[1]);
  const wasm =
    constB !== undefined && constB.dtype === "float32" && constB.shape.length === 2 && !transA && alpha === 1 && (!ctx.has(2) || (cRow && beta === 1))
      ? new WasmLinear(transB ? constB.shape[1] : constB.shape[0], transB ? constB.shape[0] : constB.shape[1], transB ? (constB.data as Float32Array) : transposed(constB.data as Float32Array, constB.shape[0], constB.shape[1]), cRow ? (constC!.data as Float32Array) : undefined)
      : undefined;
  return {
    outs,
    kernel: wasm ? "TypeScript + recur's Wasm GEMM (packed constant weight)" : undefined,
    dispose: () => wasm?.dispose(),
    run(ins) {
      const A = ins[0]!, B = ins[1]!, C = ins[2];
      if (wasm && B === constB && (C === undefined || C === constC) && A.dtype === "float32" && A.shape.length === 2 && A.shape[1] === wasm.inFeatures) {
        shape[0] = A.shape[0];
        shape[1] = wasm.outFeatures;
        const out = ensure(outs[0], "float32", shape);
        outs[0] = out;
        wasm.input(A.shape[0]).set(A.data as Float32Array);
        (out.data as Float32Array).set(wasm.run(A.shape[0]));
        return;
      }
      if (A.shape.length !== 2 || B.shape.length !== 2) fail("E_SHAPE", `${ctx.label}: Gemm needs 2-D A and B, got ${shapeStr(A.shape)} and ${shapeStr(B.shape)}`);
      let a = floatInput(ctx, A, "A");
      const m = transA ? A.shape[1] : A.shape[0], k = transA ? A.shape[0] : A.shape[1];
      const kb = transB ? B.shape[1] : B.shape[0], n = transB ? B.shape[0] : B.shape[1];
      if (k !== kb) fail("E_SHAPE", `${ctx.label}: Gemm of ${shapeStr(A.shape)} and ${shapeStr(B.shape)} (transA ${+transA}, transB ${+transB}): inner sizes ${k} and ${kb} differ`);
      if (transA) {
        if (aT.length !== m * k || aT.constructor !== a.constructor) aT = new (a.constructor as Float32ArrayConstructor)(m * k);
        for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) aT[j * k + i] = a[i * m + j];
        a = aT;
      }
      let b: F;
      if (B === constB && bKN !== undefined) b = bKN;
      else {
        b = floatInput(ctx, B, "B");
        if (transB) {
          const t = new (b.constructor as Float32ArrayConstructor)(k * n);
          for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) t[j * n + i] = b[i * k + j];
          b = t;
        }
      }
      shape[0] = m;
      shape[1] = n;
      const out = ensure(outs[0], A.dtype, shape);
      outs[0] = out;
      const c = out.data as F;
      c.fill(0);
      gemmRows(m, n, k, a, 0, k, b, 0, n, c, 0, n);
      if (alpha !== 1) for (let i = 0; i < c.length; i++) c[i] *= alpha;
      if (C !== undefined && beta !== 0) {
        cShapes[0] = C.shape;
        cShapes[1] = shape;
        plan.update(cShapes);
        if (!sameShape(plan.shape, shape)) fail("E_SHAPE", `${ctx.label}: C ${shapeStr(C.shape)} does not broadcast to [${m}, ${n}]`);
        const cv = floatInput(ctx, C, "C");
        const map = plan.maps[0];
        const one = plan.scalar[0];
        for (let i = 0; i < c.length; i++) c[i] += beta * cv[map === null ? (one ? 0 : i) : map[i]];
      }
    },
  };
}

function softmax(log: boolean): OpFactory {
  return (ctx) => {
    const legacy = ctx.opset < 13;
    const a0 = ctx.attrs.int("axis", legacy ? 1 : -1);
    const outs: Outs = [undefined];
    return {
      outs,
      run(ins) {
        const X = ins[0]!;
        const x = floatInput(ctx, X, "input");
        const r = X.shape.length;
        const a = axis(ctx.label, a0, Math.max(r, 1));
        const out = ensure(outs[0], X.dtype, X.shape);
        outs[0] = out;
        const o = out.data as F;
        // Opset < 13 normalises over all axes from `axis` on (the input coerced to 2-D).
        const outer = span(X.shape, 0, a);
        const len = legacy ? span(X.shape, a) : X.shape[a] ?? 1;
        const inner = legacy ? 1 : span(X.shape, a + 1);
        for (let p = 0; p < outer; p++) {
          for (let q = 0; q < inner; q++) {
            const base = p * len * inner + q;
            let max = -Infinity;
            for (let i = 0; i < len; i++) max = Math.max(max, x[base + i * inner]);
            let sum = 0;
            for (let i = 0; i < len; i++) sum += Math.exp(x[base + i * inner] - max);
            if (log) {
              const ls = Math.log(sum);
              for (let i = 0; i < len; i++) o[base + i * inner] = x[base + i * inner] - max - ls;
            } else for (let i = 0; i < len; i++) o[base + i * inner] = Math.exp(x[base + i * inner] - max) / sum;
          }
        }
      },
    };
  };
}

// The reduced axes as one block lo..hi (set by contiguous()), so the sum runs as strided loops.
let lo = 0, hi = 0;

function contiguous(ax: readonly number[], r: number): boolean {
  if (ax.length === 0) return false;
  lo = r;
  hi = -1;
  for (let i = 0; i < ax.length; i++) {
    if (ax[i] < lo) lo = ax[i];
    if (ax[i] > hi) hi = ax[i];
  }
  // No repeats: as many axes as the range holds, each distinct.
  if (hi - lo + 1 !== ax.length) return false;
  for (let i = 0; i < ax.length; i++) for (let j = i + 1; j < ax.length; j++) if (ax[i] === ax[j]) return false;
  return true;
}

/** acc[o, i] += sum over l of x[o, l, i] for x [outer, len, inner]. */
// acc[o, i] = sum over l of x[o, l, i], in l order (as the element-by-element loop adds). Four
// outputs at a time in local doubles: adding into acc in place made every element a load and a
// store of acc (a [1, 129, 24] mean took 5 us; this, under 2).
function sumBlock(x: Float32Array, acc: Float64Array, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const ab = o * inner, base = o * len * inner;
    let i = 0;
    for (; i + 4 <= inner; i += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let l = 0, xb = base + i; l < len; l++, xb += inner) {
        s0 += x[xb];
        s1 += x[xb + 1];
        s2 += x[xb + 2];
        s3 += x[xb + 3];
      }
      acc[ab + i] = s0;
      acc[ab + i + 1] = s1;
      acc[ab + i + 2] = s2;
      acc[ab + i + 3] = s3;
    }
    for (; i < inner; i++) {
      let s0 = 0;
      for (let l = 0, xb = base + i; l < len; l++, xb += inner) s0 += x[xb];
      acc[ab + i] = s0;
    }
  }
}

function reduce(mean: boolean): OpFactory {
  return (ctx) => {
    const keep = ctx.attrs.int("keepdims", 1) === 1;
    const noopEmpty = ctx.attrs.int("noop_with_empty_axes", 0) === 1;
    const axesFromInput = !ctx.attrs.has("axes");
    const attrAxes = ctx.attrs.ints("axes");
    const axesInto: number[] = [], axNorm: number[] = [];
    const axesLabel = `${ctx.label}: axes`;
    const outs: Outs = [undefined];
    let key: number[] = [];
    let keyAxes: number[] = [];
    let map: Int32Array = new Int32Array(0);
    let counts = 1;
    const shape: number[] = [];
    let acc = new Float64Array(0);
    return {
      outs,
      run(ins) {
        const X = ins[0]!;
        const r = X.shape.length;
        let axes = axesFromInput ? (ins[1] ? readInts(ins[1], axesInto, axesLabel) : undefined) : attrAxes;
        if (axes !== undefined && axes.length === 0) axes = undefined;
        if (axes === undefined && noopEmpty) {
          const out = ensure(outs[0], X.dtype, X.shape);
          outs[0] = out;
          (out.data as Float32Array).set(X.data as Float32Array);
          return;
        }
        const ax = axNorm;
        ax.length = axes?.length ?? r;
        for (let i = 0; i < ax.length; i++) ax[i] = axes ? axis(ctx.label, axes[i], r) : i;
        if (!sameShape(key, X.shape) || !sameShape(keyAxes, ax)) {
          key = [...X.shape];
          keyAxes = [...ax];
          shape.length = 0;
          const reducedShape: number[] = [];
          counts = 1;
          for (let i = 0; i < r; i++) {
            if (ax.includes(i)) {
              counts *= X.shape[i];
              reducedShape.push(1);
              if (keep) shape.push(1);
            } else {
              reducedShape.push(X.shape[i]);
              shape.push(X.shape[i]);
            }
          }
          // Output index of every input element.
          const n = X.data.length;
          map = new Int32Array(n);
          const idx = new Array<number>(r).fill(0);
          const st = new Array<number>(r);
          let s = 1;
          for (let i = r - 1; i >= 0; i--) {
            st[i] = ax.includes(i) ? 0 : s;
            s *= reducedShape[i];
          }
          for (let e = 0; e < n; e++) {
            let at = 0;
            for (let d = 0; d < r; d++) at += idx[d] * st[d];
            map[e] = at;
            for (let d = r - 1; d >= 0; d--) {
              if (++idx[d] < X.shape[d]) break;
              idx[d] = 0;
            }
          }
          acc = new Float64Array(numel(shape));
        }
        const out = ensure(outs[0], X.dtype, shape);
        outs[0] = out;
        acc.fill(0);
        const x = X.data;
        if (X.dtype === "int64") for (let e = 0; e < map.length; e++) acc[map[e]] += getInt64(x as BigInt64Array, e);
        else if (X.dtype === "float32" && contiguous(ax, r)) sumBlock(x as Float32Array, acc, span(X.shape, 0, lo), span(X.shape, lo, hi + 1), span(X.shape, hi + 1));
        else for (let e = 0; e < map.length; e++) acc[map[e]] += x[e] as number;
        for (let i = 0; i < acc.length; i++) {
          const v = mean ? acc[i] / counts : acc[i];
          if (X.dtype === "int64") setInt64(out.data as BigInt64Array, i, Math.trunc(v));
          else (out.data as Float32Array)[i] = v;
        }
      },
    };
  };
}

export const nnOps: Record<string, OpFactory> = {
  MatMul: matMul,
  Gemm: gemm,
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  ReduceMean: reduce(true),
  ReduceSum: reduce(false),
};
