// Element-wise operators with numpy broadcasting: arithmetic, comparisons, Where, Not, the
// activations, Cast. A broadcast's index maps are computed once per input shapes and kept, so a
// warm call is one loop over the output.
import { fail } from "../../errors.js";
import { ensure, getInt64, isFloat, numel, setInt64, type DType, type OnnxTensor, type TypedData } from "../values.js";
import { shapeStr, type BuildContext, type Op, type OpFactory } from "./op.js";
import { BINARY_CODES, UNARY_CODES, WASM_MIN_ELEMENTS, WasmElementwise } from "./wasm-elementwise.js";

export function broadcastShapes(label: string, shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = new Array(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else fail("E_SHAPE", `${label}: shapes ${shapes.map(shapeStr).join(" and ")} do not broadcast`);
    }
  }
  return out;
}

/**
 * For each input, the flat input index of every output element (or null when the input already
 * has the output's shape). Rebuilt only when an input shape changes.
 */
export class BroadcastPlan {
  private keys: number[][] = [];
  shape: number[] = [];
  maps: (Int32Array | null)[] = [];
  /** Input i is a single element. */
  scalar: boolean[] = [];

  constructor(private readonly label: string) {}

  update(shapes: readonly (readonly number[])[]): void {
    if (shapes.length === this.keys.length) {
      let same = true;
      for (let i = 0; i < shapes.length && same; i++) same = sameShape(shapes[i], this.keys[i]);
      if (same) return;
    }
    this.keys = shapes.map((s) => [...s]);
    this.shape = broadcastShapes(this.label, shapes);
    const n = numel(this.shape);
    const rank = this.shape.length;
    this.scalar = shapes.map((s) => numel(s) === 1);
    this.maps = shapes.map((s) => {
      if (sameShape(s, this.shape) || numel(s) === 1) return null;
      const strides = new Array<number>(rank).fill(0);
      let stride = 1;
      for (let i = s.length - 1; i >= 0; i--) {
        strides[rank - s.length + i] = s[i] === 1 ? 0 : stride;
        stride *= s[i];
      }
      const map = new Int32Array(n);
      const idx = new Array<number>(rank).fill(0);
      let at = 0;
      for (let o = 0; o < n; o++) {
        map[o] = at;
        for (let d = rank - 1; d >= 0; d--) {
          idx[d]++;
          at += strides[d];
          if (idx[d] < this.shape[d]) break;
          at -= strides[d] * idx[d];
          idx[d] = 0;
        }
      }
      return map;
    });
  }
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Float arithmetic, one function per operator so that each loop stays monomorphic in V8 (a
// shared loop calling an operator callback is megamorphic and several times slower).
type FloatData = Float32Array | Float64Array;
const FLOAT_LOOPS: Record<string, typeof addLoop> = { Add: addLoop, Sub: subLoop, Mul: mulLoop, Div: divLoop };

function addLoop(o: FloatData, x: FloatData, y: FloatData, n: number, ma: Int32Array | null, mb: Int32Array | null, sa: boolean, sb: boolean): void {
  if (ma === null && mb === null && !sa && !sb) for (let i = 0; i < n; i++) o[i] = x[i] + y[i];
  else if (ma === null && sb && !sa) {
    const s = y[0];
    for (let i = 0; i < n; i++) o[i] = x[i] + s;
  } else if (mb === null && sa && !sb) {
    const s = x[0];
    for (let i = 0; i < n; i++) o[i] = s + y[i];
  } else for (let i = 0; i < n; i++) o[i] = x[ma === null ? (sa ? 0 : i) : ma[i]] + y[mb === null ? (sb ? 0 : i) : mb[i]];
}

function subLoop(o: FloatData, x: FloatData, y: FloatData, n: number, ma: Int32Array | null, mb: Int32Array | null, sa: boolean, sb: boolean): void {
  if (ma === null && mb === null && !sa && !sb) for (let i = 0; i < n; i++) o[i] = x[i] - y[i];
  else if (ma === null && sb && !sa) {
    const s = y[0];
    for (let i = 0; i < n; i++) o[i] = x[i] - s;
  } else if (mb === null && sa && !sb) {
    const s = x[0];
    for (let i = 0; i < n; i++) o[i] = s - y[i];
  } else for (let i = 0; i < n; i++) o[i] = x[ma === null ? (sa ? 0 : i) : ma[i]] - y[mb === null ? (sb ? 0 : i) : mb[i]];
}

function mulLoop(o: FloatData, x: FloatData, y: FloatData, n: number, ma: Int32Array | null, mb: Int32Array | null, sa: boolean, sb: boolean): void {
  if (ma === null && mb === null && !sa && !sb) for (let i = 0; i < n; i++) o[i] = x[i] * y[i];
  else if (ma === null && sb && !sa) {
    const s = y[0];
    for (let i = 0; i < n; i++) o[i] = x[i] * s;
  } else if (mb === null && sa && !sb) {
    const s = x[0];
    for (let i = 0; i < n; i++) o[i] = s * y[i];
  } else for (let i = 0; i < n; i++) o[i] = x[ma === null ? (sa ? 0 : i) : ma[i]] * y[mb === null ? (sb ? 0 : i) : mb[i]];
}

function divLoop(o: FloatData, x: FloatData, y: FloatData, n: number, ma: Int32Array | null, mb: Int32Array | null, sa: boolean, sb: boolean): void {
  if (ma === null && mb === null && !sa && !sb) for (let i = 0; i < n; i++) o[i] = x[i] / y[i];
  else if (ma === null && sb && !sa) {
    const s = y[0];
    for (let i = 0; i < n; i++) o[i] = x[i] / s;
  } else if (mb === null && sa && !sb) {
    const s = x[0];
    for (let i = 0; i < n; i++) o[i] = s / y[i];
  } else for (let i = 0; i < n; i++) o[i] = x[ma === null ? (sa ? 0 : i) : ma[i]] / y[mb === null ? (sb ? 0 : i) : mb[i]];
}

const INT64_CODES: Record<string, number> = { Add: 0, Sub: 1, Mul: 2, Div: 3, Equal: 4, Less: 5, Greater: 6 };

function int64Op(code: number, u: number, v: number): number {
  switch (code) {
    case 0:
      return u + v;
    case 1:
      return u - v;
    case 2:
      return u * v;
    case 3:
      if (v === 0) fail("E_VALUE", "integer division by zero");
      return Math.trunc(u / v);
    case 4:
      return u === v ? 1 : 0;
    case 5:
      return u < v ? 1 : 0;
    default:
      return u > v ? 1 : 0;
  }
}

type Num = number & bigint; // lets one callback serve number and bigint arrays

function binaryOp(
  name: string,
  fn: (x: Num, y: Num) => Num,
  options: { out?: "bool"; intFn?: (x: number, y: number) => number; types?: "numeric" | "any" | "bool" } = {},
): OpFactory {
  return (ctx: BuildContext): Op => {
    const plan = new BroadcastPlan(ctx.label);
    const shapes: (readonly number[])[] = [[], []];
    const bool = options.out === "bool";
    const floatLoop = FLOAT_LOOPS[name];
    const code = INT64_CODES[name];
    let wasm: WasmElementwise | undefined;
    const op: Op & { outs: (OnnxTensor | undefined)[] } = {
      outs: [undefined],
      dispose: () => wasm?.dispose(),
      run(ins) {
        const a = ins[0]!, b = ins[1]!;
        if (a.dtype !== b.dtype) fail("E_TYPE", `${ctx.label}: inputs have types ${a.dtype} and ${b.dtype}, ONNX ${name} needs one type`);
        if (options.types === "bool" && a.dtype !== "bool") fail("E_TYPE", `${ctx.label}: needs bool inputs, got ${a.dtype}`);
        shapes[0] = a.shape;
        shapes[1] = b.shape;
        plan.update(shapes);
        const outType: DType = options.out ?? a.dtype;
        const out = ensure(op.outs[0], outType, plan.shape);
        op.outs[0] = out;
        const o = out.data as unknown as Num[];
        const x = a.data as unknown as Num[], y = b.data as unknown as Num[];
        const n = o.length;
        const f = options.intFn !== undefined && !isFloat(a.dtype) && a.dtype !== "int64" ? (options.intFn as unknown as typeof fn) : fn;
        const ma = plan.maps[0], mb = plan.maps[1];
        const sa = plan.scalar[0], sb = plan.scalar[1];
        const wcode = BINARY_CODES[name];
        if (wcode !== undefined && a.dtype === "float32" && n >= WASM_MIN_ELEMENTS && ma === null && mb === null && (sa ? !sb : true)) {
          // Large float32 arrays, same shapes or one side a scalar: the Wasm SIMD kernel.
          wasm ??= new WasmElementwise();
          wasm.binary(wcode, sb && !sa ? 1 : sa ? 2 : 0, a.data as Float32Array, b.data as Float32Array, out.data as Float32Array);
          return;
        }
        if (floatLoop !== undefined && isFloat(a.dtype)) {
          floatLoop(o as unknown as FloatData, x as unknown as FloatData, y as unknown as FloatData, n, ma, mb, sa, sb);
          return;
        }
        if (a.dtype === "int64") {
          // Shape arithmetic: through the int64 words, as doubles (no BigInt per element).
          const xa = a.data as BigInt64Array, yb = b.data as BigInt64Array;
          for (let i = 0; i < n; i++) {
            const u = getInt64(xa, ma === null ? (sa ? 0 : i) : ma[i]);
            const v = getInt64(yb, mb === null ? (sb ? 0 : i) : mb[i]);
            const r = int64Op(code, u, v);
            if (bool) (out.data as Uint8Array)[i] = r;
            else setInt64(out.data as BigInt64Array, i, r);
          }
          return;
        }
        // Comparisons give booleans, stored as 0 / 1.
        if (ma === null && mb === null && !sa && !sb) {
          if (bool) for (let i = 0; i < n; i++) o[i] = (f(x[i], y[i]) ? 1 : 0) as Num;
          else for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
        } else if (ma === null && sb && !sa) {
          const s = y[0];
          if (bool) for (let i = 0; i < n; i++) o[i] = (f(x[i], s) ? 1 : 0) as Num;
          else for (let i = 0; i < n; i++) o[i] = f(x[i], s);
        } else if (mb === null && sa && !sb) {
          const s = x[0];
          if (bool) for (let i = 0; i < n; i++) o[i] = (f(s, y[i]) ? 1 : 0) as Num;
          else for (let i = 0; i < n; i++) o[i] = f(s, y[i]);
        } else {
          for (let i = 0; i < n; i++) {
            const v = f(x[ma === null ? (sa ? 0 : i) : ma[i]], y[mb === null ? (sb ? 0 : i) : mb[i]]);
            o[i] = bool ? ((v ? 1 : 0) as Num) : v;
          }
        }
      },
    };
    return op;
  };
}

const add = (x: Num, y: Num): Num => (x + y) as Num;
const sub = (x: Num, y: Num): Num => (x - y) as Num;
const mul = (x: Num, y: Num): Num => (x * y) as Num;
// Integer division truncates toward zero (bigint "/" does; int32 needs Math.trunc).
const div = (x: Num, y: Num): Num => (x / y) as Num;

function pow(ctx: BuildContext): Op {
  const plan = new BroadcastPlan(ctx.label);
  const shapes: (readonly number[])[] = [[], []];
  let wasm: WasmElementwise | undefined;
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    dispose: () => wasm?.dispose(),
    run(ins) {
      const a = ins[0]!, b = ins[1]!;
      shapes[0] = a.shape;
      shapes[1] = b.shape;
      plan.update(shapes);
      const out = ensure(op.outs[0], a.dtype, plan.shape);
      op.outs[0] = out;
      const o = out.data, x = a.data, y = b.data;
      const ma = plan.maps[0], mb = plan.maps[1];
      const big = a.dtype === "int64";
      if (isFloat(a.dtype) && ma === null && plan.scalar[1] && !plan.scalar[0]) {
        // A float tensor to a scalar power (x^2, x^0.5 in spectral magnitudes): one tight loop.
        const e = Number(y[0]);
        const of = o as FloatData, xf = x as FloatData;
        if ((e === 2 || e === 0.5) && a.dtype === "float32" && of.length >= WASM_MIN_ELEMENTS) {
          wasm ??= new WasmElementwise();
          wasm.unary(e === 2 ? 4 : UNARY_CODES.Sqrt, xf as Float32Array, of as Float32Array);
        } else if (e === 2) for (let i = 0; i < of.length; i++) of[i] = xf[i] * xf[i];
        else if (e === 0.5) for (let i = 0; i < of.length; i++) of[i] = Math.sqrt(xf[i]);
        else for (let i = 0; i < of.length; i++) of[i] = Math.pow(xf[i], e);
        return;
      }
      for (let i = 0; i < o.length; i++) {
        const xa = x[ma === null ? (plan.scalar[0] ? 0 : i) : ma[i]];
        const yb = y[mb === null ? (plan.scalar[1] ? 0 : i) : mb[i]];
        const v = Math.pow(Number(xa), Number(yb));
        (o as unknown as (number | bigint)[])[i] = big ? BigInt(Math.trunc(v)) : isFloat(a.dtype) ? v : Math.trunc(v);
      }
    },
  };
  return op;
}

function where(ctx: BuildContext): Op {
  const plan = new BroadcastPlan(ctx.label);
  const shapes: (readonly number[])[] = [[], [], []];
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    run(ins) {
      const c = ins[0]!, a = ins[1]!, b = ins[2]!;
      if (c.dtype !== "bool") fail("E_TYPE", `${ctx.label}: condition must be bool, got ${c.dtype}`);
      if (a.dtype !== b.dtype) fail("E_TYPE", `${ctx.label}: X and Y have types ${a.dtype} and ${b.dtype}`);
      shapes[0] = c.shape;
      shapes[1] = a.shape;
      shapes[2] = b.shape;
      plan.update(shapes);
      const out = ensure(op.outs[0], a.dtype, plan.shape);
      op.outs[0] = out;
      const o = out.data as unknown as Num[];
      const cc = c.data, x = a.data as unknown as Num[], y = b.data as unknown as Num[];
      const [m0, m1, m2] = plan.maps;
      const [s0, s1, s2] = plan.scalar;
      for (let i = 0; i < o.length; i++) {
        o[i] = cc[m0 === null ? (s0 ? 0 : i) : m0[i]] ? x[m1 === null ? (s1 ? 0 : i) : m1[i]] : y[m2 === null ? (s2 ? 0 : i) : m2[i]];
      }
    },
  };
  return op;
}

type UnaryLoop = (o: FloatData, x: FloatData, n: number, alpha: number) => void;

// One function per operator, as for the arithmetic above.
const UNARY: Record<string, UnaryLoop> = {
  Sigmoid: (o, x, n) => {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v >= 0) o[i] = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        o[i] = e / (1 + e);
      }
    }
  },
  Tanh: (o, x, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]);
  },
  Relu: (o, x, n) => {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      o[i] = v > 0 || v !== v ? v : 0; // NaN stays NaN, as onnxruntime and the Wasm kernel have it
    }
  },
  LeakyRelu: (o, x, n, alpha) => {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      o[i] = v >= 0 ? v : alpha * v;
    }
  },
  Exp: (o, x, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.exp(x[i]);
  },
  Log: (o, x, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.log(x[i]);
  },
  Sqrt: (o, x, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i]);
  },
  Neg: (o, x, n) => {
    for (let i = 0; i < n; i++) o[i] = -x[i];
  },
};

function unary(name: string, options: { ints?: boolean } = {}): OpFactory {
  const loop = UNARY[name];
  return (ctx) => {
    const alpha = name === "LeakyRelu" ? ctx.attrs.float("alpha", 0.01) : 0;
    const wcode = UNARY_CODES[name];
    let wasm: WasmElementwise | undefined;
    const op: Op & { outs: (OnnxTensor | undefined)[] } = {
      outs: [undefined],
      dispose: () => wasm?.dispose(),
      run(ins) {
        const a = ins[0]!;
        if (!isFloat(a.dtype) && !options.ints) fail("E_TYPE", `${ctx.label}: needs a float tensor, got ${a.dtype}`);
        const out = ensure(op.outs[0], a.dtype, a.shape);
        op.outs[0] = out;
        if (a.dtype === "int64") {
          const ob = out.data as BigInt64Array, xb = a.data as BigInt64Array;
          for (let i = 0; i < ob.length; i++) {
            const v = getInt64(xb, i);
            setInt64(ob, i, name === "Neg" ? -v : v > 0 ? v : 0);
          }
        } else if (wcode !== undefined && a.dtype === "float32" && a.data.length >= WASM_MIN_ELEMENTS) {
          wasm ??= new WasmElementwise();
          wasm.unary(wcode, a.data as Float32Array, out.data as Float32Array);
        } else loop(out.data as FloatData, a.data as FloatData, a.data.length, alpha);
      },
    };
    return op;
  };
}

function not(ctx: BuildContext): Op {
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    run(ins) {
      const a = ins[0]!;
      if (a.dtype !== "bool") fail("E_TYPE", `${ctx.label}: needs a bool tensor, got ${a.dtype}`);
      const out = ensure(op.outs[0], "bool", a.shape);
      op.outs[0] = out;
      const o = out.data, x = a.data as Uint8Array;
      for (let i = 0; i < x.length; i++) o[i] = x[i] ? 0 : 1;
    },
  };
  return op;
}

const TO: Record<number, DType> = { 1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 11: "float64" };

function cast(ctx: BuildContext): Op {
  const to = TO[ctx.attrs.int("to", 0)];
  if (to === undefined) fail("E_UNSUPPORTED", `${ctx.label}: Cast to data type ${ctx.attrs.int("to", 0)} is not supported`);
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    run(ins) {
      const a = ins[0]!;
      const out = ensure(op.outs[0], to, a.shape);
      op.outs[0] = out;
      castInto(a.data, a.dtype, out.data, to);
    },
  };
  return op;
}

export function castInto(src: TypedData, from: DType, dst: TypedData, to: DType): void {
  const n = src.length;
  if (to === "int64") {
    const o = dst as BigInt64Array;
    if (from === "int64") o.set(src as BigInt64Array);
    else for (let i = 0; i < n; i++) setInt64(o, i, Math.trunc(src[i] as number));
  } else if (from === "int64") {
    const s = src as BigInt64Array;
    if (to === "bool") for (let i = 0; i < n; i++) dst[i] = getInt64(s, i) !== 0 ? 1 : 0;
    else for (let i = 0; i < n; i++) dst[i] = getInt64(s, i);
  } else if (to === "bool") {
    for (let i = 0; i < n; i++) dst[i] = (src[i] as number) !== 0 ? 1 : 0;
  } else if (isFloat(from) && !isFloat(to)) {
    for (let i = 0; i < n; i++) dst[i] = Math.trunc(src[i] as number);
  } else (dst as Float32Array).set(src as Float32Array);
}


export const elementwiseOps: Record<string, OpFactory> = {
  Add: binaryOp("Add", add),
  Sub: binaryOp("Sub", sub),
  Mul: binaryOp("Mul", mul),
  Div: binaryOp("Div", div, { intFn: (x, y) => Math.trunc(x / y) }),
  Pow: pow,
  Equal: binaryOp("Equal", (x, y) => (x === y) as unknown as Num, { out: "bool" }),
  Less: binaryOp("Less", (x, y) => (x < y) as unknown as Num, { out: "bool" }),
  Greater: binaryOp("Greater", (x, y) => (x > y) as unknown as Num, { out: "bool" }),
  Where: where,
  Not: not,
  Cast: cast,
  Sigmoid: unary("Sigmoid"),
  Tanh: unary("Tanh"),
  Relu: unary("Relu", { ints: true }),
  LeakyRelu: unary("LeakyRelu"),
  Exp: unary("Exp"),
  Log: unary("Log"),
  Sqrt: unary("Sqrt"),
  Neg: unary("Neg", { ints: true }),
};
