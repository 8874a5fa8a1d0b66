// A small ONNX protobuf writer for tests: graphs with any opset_import (Debian's python3-onnx
// knows opsets up to 17 only), written from the field numbers of onnx.proto (ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto). The files it writes are
// checked by onnxruntime-node in the tests that use it, never by recur's reader alone.

type Bytes = number[];

function varint(out: Bytes, v: number | bigint): void {
  let x = BigInt.asUintN(64, BigInt(v));
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
}

const key = (out: Bytes, field: number, wire: number): void => varint(out, (field << 3) | wire);

function bytesField(out: Bytes, field: number, data: ArrayLike<number>): void {
  key(out, field, 2);
  varint(out, data.length);
  for (let i = 0; i < data.length; i++) out.push(data[i]);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (out: Bytes, field: number, s: string): void => bytesField(out, field, text(s));
const int = (out: Bytes, field: number, v: number | bigint): void => {
  key(out, field, 0);
  varint(out, v);
};
function float32(out: Bytes, field: number, v: number): void {
  key(out, field, 5);
  const b = new Uint8Array(new Float32Array([v]).buffer);
  for (const x of b) out.push(x);
}

/** ONNX element types by the names the tests use. */
export const ELEM = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 } as const;
export type ElemName = keyof typeof ELEM;

export interface TensorSpec {
  name: string;
  dtype: ElemName;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

export type AttrValue = number | string | number[] | string[] | { float: number } | { floats: number[] } | { tensor: TensorSpec } | { graph: GraphSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  dtype: ElemName;
  /** Sizes; a string is a symbolic dimension. */
  shape: (number | string)[];
}

export interface GraphSpec {
  name?: string;
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: TensorSpec[];
}

function tensor(t: TensorSpec): Bytes {
  const out: Bytes = [];
  for (const d of t.dims) int(out, 1, d);
  int(out, 2, ELEM[t.dtype]);
  str(out, 8, t.name);
  bytesField(out, 9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return out;
}

function attribute(name: string, v: AttrValue): Bytes {
  const out: Bytes = [];
  str(out, 1, name);
  if (typeof v === "number") {
    int(out, 3, v);
    int(out, 20, 2);
  } else if (typeof v === "string") {
    bytesField(out, 4, text(v));
    int(out, 20, 3);
  } else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === "string")) {
      for (const s of v as string[]) bytesField(out, 9, text(s));
      int(out, 20, 8);
    } else {
      for (const x of v as number[]) int(out, 8, x);
      int(out, 20, 7);
    }
  } else if ("float" in v) {
    float32(out, 2, v.float);
    int(out, 20, 1);
  } else if ("floats" in v) {
    for (const x of v.floats) float32(out, 7, x);
    int(out, 20, 6);
  } else if ("tensor" in v) {
    bytesField(out, 5, tensor(v.tensor));
    int(out, 20, 4);
  } else {
    bytesField(out, 6, graph(v.graph));
    int(out, 20, 5);
  }
  return out;
}

function valueInfo(v: ValueSpec): Bytes {
  const shape: Bytes = [];
  for (const d of v.shape) {
    const dim: Bytes = [];
    if (typeof d === "number") int(dim, 1, d);
    else str(dim, 2, d);
    bytesField(shape, 1, dim);
  }
  const tensorType: Bytes = [];
  int(tensorType, 1, ELEM[v.dtype]);
  bytesField(tensorType, 2, shape);
  const type: Bytes = [];
  bytesField(type, 1, tensorType);
  const out: Bytes = [];
  str(out, 1, v.name);
  bytesField(out, 2, type);
  return out;
}

function graph(g: GraphSpec): Bytes {
  const out: Bytes = [];
  g.nodes.forEach((n, i) => {
    const node: Bytes = [];
    for (const x of n.inputs) str(node, 1, x);
    for (const x of n.outputs) str(node, 2, x);
    str(node, 3, n.name ?? `${n.op}_${i}`);
    str(node, 4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) bytesField(node, 5, attribute(k, v));
    bytesField(out, 1, node);
  });
  str(out, 2, g.name ?? "g");
  for (const t of g.initializers ?? []) bytesField(out, 5, tensor(t));
  for (const v of g.inputs) bytesField(out, 11, valueInfo(v));
  for (const v of g.outputs) bytesField(out, 12, valueInfo(v));
  return out;
}

/** The bytes of a model: IR version 10 (opset 21's), default-domain opset `opset`. */
export function writeOnnx(g: GraphSpec, opset: number, irVersion = opset >= 21 ? 10 : opset >= 19 ? 9 : 8): Uint8Array {
  const out: Bytes = [];
  int(out, 1, irVersion);
  str(out, 2, "recur test writer");
  bytesField(out, 7, graph(g));
  const op: Bytes = [];
  str(op, 1, "");
  int(op, 2, opset);
  bytesField(out, 8, op);
  return Uint8Array.from(out);
}

/** An int64 initializer from numbers. */
export function int64s(name: string, values: number[], dims = [values.length]): TensorSpec {
  return { name, dtype: "int64", dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}

/** A float32 initializer. */
export function floats(name: string, values: ArrayLike<number>, dims: number[]): TensorSpec {
  return { name, dtype: "float32", dims, data: Float32Array.from(values) };
}
