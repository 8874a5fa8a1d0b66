// Operators that copy data through index maps kept per input shape: Transpose, Concat, Split,
// Slice, Gather, Expand and Pad (layout.ts registers them with the views and the value makers).
import { show } from "../../validate.js";
import { fail } from "../../errors.js";
import { copyElems, ensure, gatherElems, getInt64, numel, readInts, setInt64, span, toNumbers, type OnnxTensor, type TypedData } from "../values.js";
import { BroadcastPlan, sameShape } from "./elementwise.js";
import { axis, shapeStr, type BuildContext, type Op } from "./op.js";

type Outs = (OnnxTensor | undefined)[];

/** An op whose output element i is input element map[i]; the map is rebuilt when the input shape changes. */
function gatherCopy(out: OnnxTensor, src: TypedData, map: Int32Array): void {
  gatherElems(out.data, src, map);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let st = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = st;
    st *= shape[i];
  }
  return s;
}

/**
 * Flat input index of each output element, for an output of `outShape` whose coordinate c along
 * axis d reads input coordinate `coord(d, c)` (-1: outside the input, e.g. constant padding).
 */
function indexMap(outShape: readonly number[], inShape: readonly number[], coord: (d: number, c: number) => number): Int32Array {
  const n = numel(outShape);
  const r = outShape.length;
  const inStrides = stridesOf(inShape);
  const tables = outShape.map((size, d) => Int32Array.from({ length: size }, (_, c) => coord(d, c)));
  const map = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < n; o++) {
    let at = 0;
    for (let d = 0; d < r; d++) {
      const c = tables[d][idx[d]];
      if (c < 0) {
        at = -1;
        break;
      }
      at += c * inStrides[d];
    }
    map[o] = at;
    for (let d = r - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return map;
}

export function transpose(ctx: BuildContext): Op {
  const permAttr = ctx.attrs.ints("perm");
  const outs: Outs = [undefined];
  let key: number[] = [];
  let map: Int32Array = new Int32Array(0);
  const shape: number[] = [];
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const r = x.shape.length;
      const perm = permAttr ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      if (perm.length !== r) fail("E_SHAPE", `${ctx.label}: perm ${shapeStr(perm)} does not fit rank ${r}`);
      if (!sameShape(key, x.shape)) {
        key = [...x.shape];
        shape.length = 0;
        for (const p of perm) shape.push(x.shape[axis(ctx.label, p, r, "perm entry")]);
        const st = stridesOf(x.shape);
        const n = numel(shape);
        map = new Int32Array(n);
        const idx = new Array<number>(r).fill(0);
        for (let o = 0; o < n; o++) {
          let at = 0;
          for (let d = 0; d < r; d++) at += idx[d] * st[perm[d]];
          map[o] = at;
          for (let d = r - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
          }
        }
      }
      const out = ensure(outs[0], x.dtype, shape);
      outs[0] = out;
      gatherCopy(out, x.data, map);
    },
  };
}

export function concat(ctx: BuildContext): Op {
  const a = ctx.attrs.int("axis");
  if (a === undefined) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label} has no axis`);
  const outs: Outs = [undefined];
  const parts: OnnxTensor[] = [];
  const shape: number[] = [];
  return {
    outs,
    run(ins) {
      parts.length = 0;
      for (let i = 0; i < ins.length; i++) if (ins[i] !== undefined) parts.push(ins[i]!);
      const first = parts[0];
      const r = first.shape.length;
      const ax = axis(ctx.label, a, r);
      shape.length = 0;
      for (let i = 0; i < r; i++) shape.push(first.shape[i]);
      shape[ax] = 0;
      for (let q = 0; q < parts.length; q++) {
        const p = parts[q];
        if (p.dtype !== first.dtype) fail("E_TYPE", `${ctx.label}: inputs have types ${first.dtype} and ${p.dtype}`);
        let fits = p.shape.length === r;
        for (let i = 0; fits && i < r; i++) fits = i === ax || p.shape[i] === first.shape[i]; // no callback: no closure per run
        if (!fits) {
          fail("E_SHAPE", `${ctx.label}: cannot concatenate ${shapeStr(first.shape)} and ${shapeStr(p.shape)} along axis ${a}`);
        }
        shape[ax] += p.shape[ax];
      }
      const out = ensure(outs[0], first.dtype, shape);
      outs[0] = out;
      const outer = span(shape, 0, ax);
      const inner = span(shape, ax + 1);
      const rowOut = shape[ax] * inner;
      let off = 0;
      for (let q = 0; q < parts.length; q++) {
        const p = parts[q];
        const row = p.shape[ax] * inner;
        for (let k = 0; k < outer; k++) copyElems(out.data, k * rowOut + off, p.data, k * row, row);
        off += row;
      }
    },
  };
}

export function split(ctx: BuildContext): Op {
  const a = ctx.attrs.int("axis", 0);
  const count = ctx.node.outputs.length;
  const outs: Outs = new Array(count).fill(undefined);
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const r = x.shape.length;
      const ax = axis(ctx.label, a, r);
      const len = x.shape[ax];
      let sizes: number[];
      if (ctx.attrs.has("split")) sizes = ctx.attrs.ints("split")!;
      else if (ins[1] !== undefined) sizes = toNumbers(ins[1], `${ctx.label}: split`);
      else {
        const per = Math.ceil(len / count);
        sizes = Array.from({ length: count }, (_, i) => Math.max(0, Math.min(per, len - i * per)));
      }
      if (sizes.length !== count || sizes.reduce((s, v) => s + v, 0) !== len) {
        fail("E_SHAPE", `${ctx.label}: split sizes ${shapeStr(sizes)} do not divide axis ${a} of size ${len} into ${count} outputs`);
      }
      const outer = span(x.shape, 0, ax);
      const inner = span(x.shape, ax + 1);
      let off = 0;
      for (let k = 0; k < count; k++) {
        const shape = [...x.shape];
        shape[ax] = sizes[k];
        const out = ensure(outs[k], x.dtype, shape);
        outs[k] = out;
        const row = sizes[k] * inner;
        for (let j = 0; j < outer; j++) copyElems(out.data, j * row, x.data, j * len * inner + off, row);
        off += row;
      }
    },
  };
}

export function slice(ctx: BuildContext): Op {
  const outs: Outs = [undefined];
  let map: Int32Array = new Int32Array(0);
  const shape: number[] = [];
  // The arguments of the last call: the index map is rebuilt only when one of them changes.
  const last = { shape: [] as number[], starts: [] as number[], ends: [] as number[], axes: [] as number[], steps: [] as number[], valid: false };
  const cur = { starts: [] as number[], ends: [] as number[], axes: [] as number[], steps: [] as number[] };
  const labels = ["starts", "ends", "axes", "steps"].map((n) => `${ctx.label}: ${n}`);
  const copy = (from: readonly number[], to: number[]): void => {
    to.length = from.length;
    for (let i = 0; i < from.length; i++) to[i] = from[i];
  };
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const r = x.shape.length;
      if (ctx.opset < 10) {
        copy(ctx.attrs.ints("starts") ?? [], cur.starts);
        copy(ctx.attrs.ints("ends") ?? [], cur.ends);
        const a = ctx.attrs.ints("axes");
        if (a) copy(a, cur.axes);
        else {
          cur.axes.length = cur.starts.length;
          for (let i = 0; i < cur.starts.length; i++) cur.axes[i] = i;
        }
        cur.steps.length = cur.starts.length;
        cur.steps.fill(1);
      } else {
        readInts(ins[1]!, cur.starts, labels[0]);
        readInts(ins[2]!, cur.ends, labels[1]);
        if (ins[3]) readInts(ins[3], cur.axes, labels[2]);
        else {
          cur.axes.length = cur.starts.length;
          for (let i = 0; i < cur.starts.length; i++) cur.axes[i] = i;
        }
        if (ins[4]) readInts(ins[4], cur.steps, labels[3]);
        else {
          cur.steps.length = cur.starts.length;
          cur.steps.fill(1);
        }
      }
      const same = last.valid && sameShape(last.shape, x.shape) && sameShape(last.starts, cur.starts) && sameShape(last.ends, cur.ends) && sameShape(last.axes, cur.axes) && sameShape(last.steps, cur.steps);
      if (!same) {
        copy(x.shape, last.shape);
        copy(cur.starts, last.starts);
        copy(cur.ends, last.ends);
        copy(cur.axes, last.axes);
        copy(cur.steps, last.steps);
        last.valid = true;
        const { starts, ends, axes: ax, steps } = cur;
        const first = new Array<number>(r).fill(0);
        const step = new Array<number>(r).fill(1);
        shape.length = 0;
        for (const d of x.shape) shape.push(d);
        if (ends.length !== starts.length || ax.length !== starts.length || steps.length !== starts.length) {
          last.valid = false;
          fail("E_SHAPE", `${ctx.label}: starts, ends, axes and steps have different lengths`);
        }
        ax.forEach((a0, i) => {
          const a = axis(ctx.label, a0, r);
          const dim = x.shape[a];
          const st = steps[i];
          if (st === 0) fail("E_VALUE", `${ctx.label}: step 0 on axis ${a0}`);
          let s = starts[i], e = ends[i];
          if (s < 0) s += dim;
          if (e < 0) e += dim;
          if (st > 0) {
            s = Math.min(Math.max(s, 0), dim);
            e = Math.min(Math.max(e, 0), dim);
          } else {
            s = Math.min(Math.max(s, -1), dim - 1);
            e = Math.min(Math.max(e, -1), dim - 1);
          }
          shape[a] = Math.max(0, Math.ceil((e - s) / st));
          first[a] = s;
          step[a] = st;
        });
        map = indexMap(shape, x.shape, (d, c) => first[d] + c * step[d]);
      }
      const out = ensure(outs[0], x.dtype, shape);
      outs[0] = out;
      gatherCopy(out, x.data, map);
    },
  };
}

export function gather(ctx: BuildContext): Op {
  const a0 = ctx.attrs.int("axis", 0);
  const outs: Outs = [undefined];
  const shape: number[] = [];
  return {
    outs,
    run(ins) {
      const x = ins[0]!, idx = ins[1]!;
      const r = x.shape.length;
      const a = axis(ctx.label, a0, r);
      shape.length = 0;
      for (let i = 0; i < a; i++) shape.push(x.shape[i]);
      for (const d of idx.shape) shape.push(d);
      for (let i = a + 1; i < r; i++) shape.push(x.shape[i]);
      const out = ensure(outs[0], x.dtype, shape);
      outs[0] = out;
      const outer = span(x.shape, 0, a);
      const inner = span(x.shape, a + 1);
      const dim = x.shape[a];
      const n = idx.data.length;
      const ids = idx.data;
      const big = ids instanceof BigInt64Array;
      for (let j = 0; j < n; j++) {
        let k = big ? getInt64(ids, j) : (ids[j] as number);
        if (k < 0) k += dim;
        if (!(k >= 0 && k < dim)) fail("E_VALUE", `${ctx.label}: index ${show(ids[j])} is out of range for axis ${a0} of size ${dim}`);
        for (let m = 0; m < outer; m++) {
          const from = (m * dim + k) * inner;
          const to = (m * n + j) * inner;
          copyElems(out.data, to, x.data, from, inner);
        }
      }
    },
  };
}

export function expand(ctx: BuildContext): Op {
  const plan = new BroadcastPlan(ctx.label);
  const outs: Outs = [undefined];
  const into: number[] = [];
  const shapes: number[][] = [[], []];
  const what = `${ctx.label}: shape`;
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const target = readInts(ins[1]!, into, what);
      shapes[0] = x.shape;
      shapes[1] = target;
      plan.update(shapes);
      const out = ensure(outs[0], x.dtype, plan.shape);
      outs[0] = out;
      const map = plan.maps[0];
      if (map === null) {
        if (plan.scalar[0]) for (let i = 0; i < out.data.length; i++) copyElems(out.data, i, x.data, 0, 1);
        else copyElems(out.data, 0, x.data, 0, x.data.length);
      } else gatherCopy(out, x.data, map);
    },
  };
}

export function pad(ctx: BuildContext): Op {
  const mode = ctx.attrs.string("mode", "constant");
  if (mode !== "constant" && mode !== "reflect" && mode !== "edge" && mode !== "wrap") fail("E_UNSUPPORTED", `${ctx.label}: Pad mode "${mode}" (supported: constant, reflect, edge, wrap)`);
  const outs: Outs = [undefined];
  let map: Int32Array = new Int32Array(0);
  const shape: number[] = [];
  const padsInto: number[] = [];
  const axesInto: number[] = [];
  const last = { shape: [] as number[], pads: [] as number[], axes: [] as number[], valid: false };
  const labels = [`${ctx.label}: pads`, `${ctx.label}: axes`];
  return {
    outs,
    run(ins) {
      const x = ins[0]!;
      const r = x.shape.length;
      let pads: number[];
      let value = 0 as number | bigint;
      if (ctx.opset < 11) {
        pads = ctx.attrs.ints("pads") ?? [];
        value = ctx.attrs.float("value", 0);
      } else {
        pads = readInts(ins[1]!, padsInto, labels[0]);
        const cv = ins[2];
        if (cv !== undefined && cv.data.length > 0) value = cv.data instanceof BigInt64Array ? getInt64(cv.data, 0) : (cv.data[0] as number);
      }
      axesInto.length = r;
      for (let i = 0; i < r; i++) axesInto[i] = i;
      let axes = axesInto;
      if (ins[3] !== undefined) {
        axes = readInts(ins[3], axesInto, labels[1]);
        for (let i = 0; i < axes.length; i++) axes[i] = axis(ctx.label, axes[i], r);
      }
      if (pads.length !== 2 * axes.length) fail("E_SHAPE", `${ctx.label}: pads has ${pads.length} entries for ${axes.length} axes`);
      const same = last.valid && sameShape(last.shape, x.shape) && sameShape(last.pads, pads) && sameShape(last.axes, axes);
      if (!same) {
        last.shape = [...x.shape];
        last.pads = [...pads];
        last.axes = [...axes];
        last.valid = true;
        const before = new Array<number>(r).fill(0);
        shape.length = 0;
        for (const d of x.shape) shape.push(d);
        axes.forEach((a, i) => {
          before[a] = pads[i];
          shape[a] = x.shape[a] + pads[i] + pads[i + axes.length];
          if (shape[a] < 0) fail("E_SHAPE", `${ctx.label}: pads ${shapeStr(pads)} remove more than axis ${a} holds`);
          if (mode === "reflect" && (pads[i] >= x.shape[a] || pads[i + axes.length] >= x.shape[a])) {
            fail("E_SHAPE", `${ctx.label}: reflect padding ${pads[i]}/${pads[i + axes.length]} needs an axis longer than that, axis ${a} has ${x.shape[a]}`);
          }
        });
        map = indexMap(shape, x.shape, (d, c) => {
          const dim = x.shape[d];
          let i = c - before[d];
          if (i >= 0 && i < dim) return i;
          if (mode === "constant" || dim === 0) return -1;
          if (mode === "edge") return i < 0 ? 0 : dim - 1;
          if (mode === "wrap") return ((i % dim) + dim) % dim; // opset 19: the axis repeated
          // reflect: mirror without repeating the edge
          const period = 2 * (dim - 1);
          if (period === 0) return 0;
          i = ((i % period) + period) % period;
          return i < dim ? i : period - i;
        });
      }
      const out = ensure(outs[0], x.dtype, shape);
      outs[0] = out;
      if (x.dtype === "int64") {
        const v = Number(value);
        for (let i = 0; i < map.length; i++) {
          if (map[i] < 0) setInt64(out.data as BigInt64Array, i, v);
          else copyElems(out.data, i, x.data, map[i], 1);
        }
      } else if (mode !== "constant") {
        // Every element comes from the input: block copies of the map's runs.
        gatherElems(out.data, x.data, map);
      } else {
        const o = out.data as Float32Array, s = x.data as Float32Array;
        const v = Number(value);
        for (let i = 0; i < map.length; i++) o[i] = map[i] < 0 ? v : s[map[i]];
      }
    },
  };
}
