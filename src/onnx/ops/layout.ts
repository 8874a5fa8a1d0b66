// Operators that move data without arithmetic: views (Identity, Reshape, Flatten, Squeeze,
// Unsqueeze, Dropout at inference) share their input's array; Shape, Size, Constant and
// ConstantOfShape make values; the copies through index maps (Transpose, Concat, Split, Slice,
// Gather, Expand, Pad) are in copy.ts. All of them are registered here.
import { fail } from "../../errors.js";
import { ensure, numel, readInts, setInt64, span, type OnnxTensor } from "../values.js";
import { axis, shapeStr, type BuildContext, type Op, type OpFactory } from "./op.js";
import { concat, expand, gather, pad, slice, split, transpose } from "./copy.js";

type Outs = (OnnxTensor | undefined)[];

/** An output that shares the input's data under another shape. */
function viewOp(ctx: BuildContext, shapeOf: (input: OnnxTensor, ins: readonly (OnnxTensor | undefined)[]) => readonly number[]): Op {
  const out: OnnxTensor = { dtype: "float32", shape: [], data: new Float32Array(0) };
  const outs: Outs = [out];
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const shape = shapeOf(x, ins);
      if (numel(shape) !== x.data.length) fail("E_SHAPE", `${ctx.label}: cannot view ${shapeStr(x.shape)} as ${shapeStr(shape)}`);
      out.dtype = x.dtype;
      out.data = x.data;
      if (out.shape !== shape) {
        out.shape.length = shape.length;
        for (let i = 0; i < shape.length; i++) out.shape[i] = shape[i];
      }
    },
  };
}

/** Axes from the attribute (older opsets) or from input 1 (newer ones), read into `into`. */
function axesReader(ctx: BuildContext, inputIndex = 1): (ins: readonly (OnnxTensor | undefined)[]) => number[] | undefined {
  const attr = ctx.attrs.ints("axes");
  const into: number[] = [];
  const what = `${ctx.label}: axes`;
  return (ins) => {
    if (attr !== undefined) return attr;
    const t = ins[inputIndex];
    return t === undefined ? undefined : readInts(t, into, what);
  };
}

const identity: OpFactory = (ctx) => viewOp(ctx, (x) => x.shape);

function dropout(ctx: BuildContext): Op {
  const view = viewOp(ctx, (x) => x.shape);
  const outs: Outs = [undefined, undefined];
  return {
    outs,
    run(ins) {
      view.run(ins);
      outs[0] = view.outs[0];
      if (ctx.wants(1)) {
        const x = ins[0]!;
        const mask = ensure(outs[1], "bool", x.shape);
        (mask.data as Uint8Array).fill(1);
        outs[1] = mask;
      }
    },
  };
}

function reshape(ctx: BuildContext): Op {
  const allowZero = ctx.attrs.int("allowzero", 0) === 1;
  const shape: number[] = [];
  const attr = ctx.attrs.ints("shape");
  const into: number[] = [];
  const what = `${ctx.label}: shape`;
  return viewOp(ctx, (x, ins) => {
    const target = attr ?? readInts(ins[1]!, into, what);
    shape.length = 0;
    let infer = -1, known = 1;
    for (let i = 0; i < target.length; i++) {
      let d = target[i];
      if (d === 0 && !allowZero) {
        if (i >= x.shape.length) fail("E_SHAPE", `${ctx.label}: shape ${shapeStr(target)} copies dimension ${i} of a rank-${x.shape.length} input`);
        d = x.shape[i];
      }
      if (d === -1) {
        if (infer >= 0) fail("E_SHAPE", `${ctx.label}: shape ${shapeStr(target)} has two -1`);
        infer = i;
      } else if (d < 0) fail("E_SHAPE", `${ctx.label}: shape ${shapeStr(target)} has ${d}`);
      else known *= d;
      shape.push(d);
    }
    if (infer >= 0) {
      const n = x.data.length;
      if (known === 0 || n % known !== 0) fail("E_SHAPE", `${ctx.label}: cannot reshape ${shapeStr(x.shape)} to ${shapeStr(target)}`);
      shape[infer] = n / known;
    }
    return shape;
  });
}

function flatten(ctx: BuildContext): Op {
  const shape = [0, 0];
  return viewOp(ctx, (x) => {
    const r = x.shape.length;
    let a = ctx.attrs.int("axis", 1);
    if (a < 0) a += r;
    if (a < 0 || a > r) fail("E_SHAPE", `${ctx.label}: axis ${ctx.attrs.int("axis", 1)} out of range for rank ${r}`);
    shape[0] = span(x.shape, 0, a);
    shape[1] = span(x.shape, a);
    return shape;
  });
}

function squeeze(ctx: BuildContext): Op {
  const shape: number[] = [];
  const axesOf = axesReader(ctx);
  const drop: number[] = [];
  return viewOp(ctx, (x, ins) => {
    const axes = axesOf(ins);
    shape.length = 0;
    const r = x.shape.length;
    if (axes !== undefined) {
      drop.length = axes.length;
      for (let i = 0; i < axes.length; i++) drop[i] = axis(ctx.label, axes[i], r);
    }
    for (let i = 0; i < r; i++) {
      if (axes === undefined ? x.shape[i] === 1 : drop.includes(i)) {
        if (x.shape[i] !== 1) fail("E_SHAPE", `${ctx.label}: cannot squeeze axis ${i} of size ${x.shape[i]}`);
        continue;
      }
      shape.push(x.shape[i]);
    }
    return shape;
  });
}

function unsqueeze(ctx: BuildContext): Op {
  const shape: number[] = [];
  const axesOf = axesReader(ctx);
  const add: number[] = [];
  return viewOp(ctx, (x, ins) => {
    const axes = axesOf(ins);
    if (axes === undefined) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label} has no axes`);
    const r = x.shape.length + axes.length;
    add.length = axes.length;
    for (let i = 0; i < axes.length; i++) add[i] = axis(ctx.label, axes[i], r);
    shape.length = 0;
    let k = 0;
    for (let i = 0; i < r; i++) shape.push(add.includes(i) ? 1 : x.shape[k++]);
    return shape;
  });
}

function shapeOp(ctx: BuildContext): Op {
  const outs: Outs = [undefined];
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const r = x.shape.length;
      let start = ctx.attrs.int("start", 0), end = ctx.attrs.int("end", r);
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = Math.min(Math.max(start, 0), r);
      end = Math.min(Math.max(end, start), r);
      const out = ensure(outs[0], "int64", [end - start]);
      outs[0] = out;
      for (let i = start; i < end; i++) setInt64(out.data as BigInt64Array, i - start, x.shape[i]);
    },
  };
}

function size(_ctx: BuildContext): Op {
  const outs: Outs = [undefined];
  return {
    outs,
    run(ins) {
      const out = ensure(outs[0], "int64", []);
      outs[0] = out;
      setInt64(out.data as BigInt64Array, 0, ins[0]!.data.length);
    },
  };
}

function constant(ctx: BuildContext): Op {
  const a = ctx.attrs;
  let value: OnnxTensor;
  if (a.has("value")) value = a.tensor("value")!;
  else if (a.has("value_float")) value = { dtype: "float32", shape: [], data: Float32Array.of(a.float("value_float", 0)) };
  else if (a.has("value_floats")) value = { dtype: "float32", shape: [a.floats("value_floats")!.length], data: Float32Array.from(a.floats("value_floats")!) };
  else if (a.has("value_int")) value = { dtype: "int64", shape: [], data: BigInt64Array.of(BigInt(a.int("value_int", 0))) };
  else if (a.has("value_ints")) value = { dtype: "int64", shape: [a.ints("value_ints")!.length], data: BigInt64Array.from(a.ints("value_ints")!, (v) => BigInt(v)) };
  else fail("E_UNSUPPORTED", `${ctx.label}: Constant with attribute ${a.names().join(", ") || "(none)"} (supported: value, value_float(s), value_int(s))`);
  return {
    outs: [value],
    run() {},
  };
}

function constantOfShape(ctx: BuildContext): Op {
  const value = ctx.attrs.tensor("value") ?? { dtype: "float32", shape: [1], data: new Float32Array(1) };
  if (value.data.length !== 1) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: value must hold one element`);
  const outs: Outs = [undefined];
  const into: number[] = [];
  const what = `${ctx.label}: shape`;
  return {
    outs,
    run(ins) {
      const shape = readInts(ins[0]!, into, what);
      if (shape.some((d) => d < 0)) fail("E_SHAPE", `${ctx.label}: shape ${shapeStr(shape)} has a negative size`);
      const out = ensure(outs[0], value.dtype, shape);
      outs[0] = out;
      (out.data as Float32Array).fill(value.data[0] as number);
    },
  };
}

export const layoutOps: Record<string, OpFactory> = {
  Identity: identity,
  Dropout: dropout,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Expand: expand,
  Pad: pad,
  Shape: shapeOp,
  Size: size,
  Constant: constant,
  ConstantOfShape: constantOfShape,
};

