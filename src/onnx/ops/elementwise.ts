// Element-wise operators with numpy broadcasting: arithmetic, comparisons, Where, Not, the
// activations, Cast. A broadcast's index maps are computed once per input shapes and kept, so a
// warm call is one loop over the output.
import { fail } from "../../errors.js";
import { ensure, isFloat, numel, type DType, type OnnxTensor, type TypedData } from "../values.js";
import { shapeStr, type BuildContext, type Op, type OpFactory } from "./op.js";

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
    if (shapes.length === this.keys.length && shapes.every((s, i) => sameShape(s, this.keys[i]))) return;
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

type Num = number & bigint; // lets one callback serve number and bigint arrays

function binaryOp(
  name: string,
  fn: (x: Num, y: Num) => Num,
  options: { out?: "bool"; intFn?: (x: number, y: number) => number; types?: "numeric" | "any" | "bool" } = {},
): OpFactory {
  return (ctx: BuildContext): Op => {
    const plan = new BroadcastPlan(ctx.label);
    const op: Op & { outs: (OnnxTensor | undefined)[] } = {
      outs: [undefined],
      run(ins) {
        const a = ins[0]!, b = ins[1]!;
        if (a.dtype !== b.dtype) fail("E_TYPE", `${ctx.label}: inputs have types ${a.dtype} and ${b.dtype}, ONNX ${name} needs one type`);
        if (options.types === "bool" && a.dtype !== "bool") fail("E_TYPE", `${ctx.label}: needs bool inputs, got ${a.dtype}`);
        plan.update([a.shape, b.shape]);
        const outType: DType = options.out ?? a.dtype;
        const out = ensure(op.outs[0], outType, plan.shape);
        op.outs[0] = out;
        const o = out.data as unknown as Num[];
        const x = a.data as unknown as Num[], y = b.data as unknown as Num[];
        const n = o.length;
        const f = options.intFn !== undefined && !isFloat(a.dtype) && a.dtype !== "int64" ? (options.intFn as unknown as typeof fn) : fn;
        const [ma, mb] = plan.maps;
        const toOut = options.out === "bool" ? (v: Num): Num => (v ? 1 : 0) as Num : undefined;
        if (ma === null && mb === null && !plan.scalar[0] && !plan.scalar[1]) {
          if (toOut) for (let i = 0; i < n; i++) o[i] = toOut(f(x[i], y[i]));
          else for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
        } else if (ma === null && plan.scalar[1] && !plan.scalar[0]) {
          const s = y[0];
          if (toOut) for (let i = 0; i < n; i++) o[i] = toOut(f(x[i], s));
          else for (let i = 0; i < n; i++) o[i] = f(x[i], s);
        } else if (mb === null && plan.scalar[0] && !plan.scalar[1]) {
          const s = x[0];
          if (toOut) for (let i = 0; i < n; i++) o[i] = toOut(f(s, y[i]));
          else for (let i = 0; i < n; i++) o[i] = f(s, y[i]);
        } else {
          for (let i = 0; i < n; i++) {
            const v = f(x[ma === null ? (plan.scalar[0] ? 0 : i) : ma[i]], y[mb === null ? (plan.scalar[1] ? 0 : i) : mb[i]]);
            o[i] = toOut ? toOut(v) : v;
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
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    run(ins) {
      const a = ins[0]!, b = ins[1]!;
      plan.update([a.shape, b.shape]);
      const out = ensure(op.outs[0], a.dtype, plan.shape);
      op.outs[0] = out;
      const o = out.data, x = a.data, y = b.data;
      const [ma, mb] = plan.maps;
      const big = a.dtype === "int64";
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
  const op: Op & { outs: (OnnxTensor | undefined)[] } = {
    outs: [undefined],
    run(ins) {
      const c = ins[0]!, a = ins[1]!, b = ins[2]!;
      if (c.dtype !== "bool") fail("E_TYPE", `${ctx.label}: condition must be bool, got ${c.dtype}`);
      if (a.dtype !== b.dtype) fail("E_TYPE", `${ctx.label}: X and Y have types ${a.dtype} and ${b.dtype}`);
      plan.update([c.shape, a.shape, b.shape]);
      const out = ensure(op.outs[0], a.dtype, plan.shape);
      op.outs[0] = out;
      const o = out.data as unknown as Num[];
      const cc = c.data, x = a.data as unknown as Num[], y = b.data as unknown as Num[];
      const idx = (k: number, i: number): number => (plan.maps[k] === null ? (plan.scalar[k] ? 0 : i) : plan.maps[k]![i]);
      for (let i = 0; i < o.length; i++) o[i] = cc[idx(0, i)] ? x[idx(1, i)] : y[idx(2, i)];
    },
  };
  return op;
}

function unaryFloat(fn: (x: number) => number, options: { ints?: boolean; attrs?: (ctx: BuildContext) => (x: number) => number } = {}): OpFactory {
  return (ctx) => {
    const f = options.attrs ? options.attrs(ctx) : fn;
    const op: Op & { outs: (OnnxTensor | undefined)[] } = {
      outs: [undefined],
      run(ins) {
        const a = ins[0]!;
        if (!isFloat(a.dtype) && !options.ints) fail("E_TYPE", `${ctx.label}: needs a float tensor, got ${a.dtype}`);
        const out = ensure(op.outs[0], a.dtype, a.shape);
        op.outs[0] = out;
        const o = out.data as Float32Array, x = a.data as Float32Array;
        if (a.dtype === "int64") {
          const ob = out.data as BigInt64Array, xb = a.data as BigInt64Array;
          for (let i = 0; i < ob.length; i++) ob[i] = BigInt(f(Number(xb[i])));
        } else for (let i = 0; i < o.length; i++) o[i] = f(x[i]);
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
    else for (let i = 0; i < n; i++) o[i] = BigInt(Math.trunc(src[i] as number));
  } else if (from === "int64") {
    const s = src as BigInt64Array;
    if (to === "bool") for (let i = 0; i < n; i++) dst[i] = s[i] !== 0n ? 1 : 0;
    else for (let i = 0; i < n; i++) dst[i] = Number(s[i]);
  } else if (to === "bool") {
    for (let i = 0; i < n; i++) dst[i] = (src[i] as number) !== 0 ? 1 : 0;
  } else if (isFloat(from) && !isFloat(to)) {
    for (let i = 0; i < n; i++) dst[i] = Math.trunc(src[i] as number);
  } else (dst as Float32Array).set(src as Float32Array);
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

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
  Sigmoid: unaryFloat(sigmoid),
  Tanh: unaryFloat(Math.tanh),
  Relu: unaryFloat((x) => (x > 0 ? x : 0), { ints: true }),
  LeakyRelu: unaryFloat((x) => x, {
    attrs: (ctx) => {
      const alpha = ctx.attrs.float("alpha", 0.01);
      return (x) => (x >= 0 ? x : alpha * x);
    },
  }),
  Exp: unaryFloat(Math.exp),
  Log: unaryFloat(Math.log),
  Sqrt: unaryFloat(Math.sqrt),
  Neg: unaryFloat((x) => -x, { ints: true }),
};
