// A protobuf wire-format reader for the subset of onnx.proto that a model file needs: ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto (typed fields, raw_data, external data) and
// ValueInfoProto. Unknown fields are skipped, as protobuf requires; anything that does not parse
// (a truncated varint, a length past the end, a group, a wrong wire type for a known field) is an
// E_FORMAT error. Field numbers are those of onnx/onnx.proto (IR versions 3 to 10).
import { fail } from "../errors.js";

export interface ProtoTensor {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  floats?: number[];
  int32s?: number[];
  int64s?: bigint[];
  doubles?: number[];
  uint64s?: bigint[];
  strings?: Uint8Array[];
  /** external_data entries (location, offset, length, checksum) when data_location is EXTERNAL. */
  external?: Record<string, string>;
}

export interface ProtoDim {
  value?: number;
  param?: string;
}

export interface ProtoValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor type; 0 when the type is absent or not a tensor. */
  elemType: number;
  /** undefined when the shape is unknown (not even the rank). */
  shape?: ProtoDim[];
}

export interface ProtoAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: ProtoTensor;
  g?: ProtoGraph;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: ProtoTensor[];
  graphs: ProtoGraph[];
  refAttrName?: string;
}

export interface ProtoNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: ProtoAttribute[];
}

export interface ProtoGraph {
  name: string;
  nodes: ProtoNode[];
  initializers: ProtoTensor[];
  sparseInitializers: number;
  inputs: ProtoValueInfo[];
  outputs: ProtoValueInfo[];
  valueInfo: ProtoValueInfo[];
}

export interface ProtoModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  graph: ProtoGraph;
  functions: number;
  metadata: Record<string, string>;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads one message: fields in order, each with its number, wire type and payload bounds. */
class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number, readonly what: string) {
    this.pos = start;
  }

  bad(why: string): never {
    fail("E_FORMAT", `loadOnnx: malformed file: ${why} in ${this.what} at byte ${this.pos}`);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  // Returns [lo, hi] 32-bit halves of a varint of up to 10 bytes.
  private varint64(): [number, number] {
    let lo = 0, hi = 0, shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.bad("truncated varint");
      const b = this.buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    this.bad("varint longer than 10 bytes");
  }

  /** A varint as a JS number (int64 semantics: two's complement negatives; exact below 2^53). */
  int(): number {
    const [lo, hi] = this.varint64();
    return hi >= 0x80000000 ? (hi - 0x100000000) * 0x100000000 + lo : hi * 0x100000000 + lo;
  }

  bigint(): bigint {
    const [lo, hi] = this.varint64();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  ubigint(): bigint {
    const [lo, hi] = this.varint64();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** The next field's number and wire type, or undefined at the end. */
  tag(): { field: number; wire: number } {
    const t = this.int();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field < 1) this.bad(`field number ${field}`);
    return { field, wire };
  }

  bytes(): Uint8Array {
    const n = this.int();
    if (n < 0 || this.pos + n > this.end) this.bad(`length ${n} past the end of the message`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(what: string): Reader {
    const n = this.int();
    if (n < 0 || this.pos + n > this.end) this.bad(`length ${n} of ${what} past the end of the message`);
    const r = new Reader(this.buf, this.pos, this.pos + n, what);
    this.pos += n;
    return r;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  float(): number {
    if (this.pos + 4 > this.end) this.bad("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.bad("truncated double");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.int();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.bad("truncated fixed64");
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        if (this.pos + 4 > this.end) this.bad("truncated fixed32");
        this.pos += 4;
        return;
      default:
        this.bad(`wire type ${wire}`);
    }
  }

  expect(wire: number, want: number, field: number): void {
    if (wire !== want) this.bad(`field ${field} has wire type ${wire}, expected ${want}`);
  }

  /** A repeated scalar field, packed (wire 2) or not: calls `one` for every element. */
  repeated(wire: number, scalarWire: number, field: number, one: (r: Reader) => void): void {
    if (wire === 2) {
      const r = this.sub(`packed field ${field}`);
      while (!r.done) one(r);
    } else {
      this.expect(wire, scalarWire, field);
      one(this);
    }
  }
}

/** A StringStringEntryProto: key 1, value 2. */
function readEntry(e: Reader): [string, string] {
  let key = "", value = "";
  while (!e.done) {
    const f = e.tag();
    if (f.field === 1 && f.wire === 2) key = e.string();
    else if (f.field === 2 && f.wire === 2) value = e.string();
    else e.skip(f.wire);
  }
  return [key, value];
}

function readTensor(r: Reader): ProtoTensor {
  const t: ProtoTensor = { name: "", dims: [], dataType: 0 };
  let location = 0;
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.repeated(wire, 0, field, (x) => t.dims.push(x.int()));
        break;
      case 2:
        r.expect(wire, 0, field);
        t.dataType = r.int();
        break;
      case 4:
        t.floats ??= [];
        r.repeated(wire, 5, field, (x) => t.floats!.push(x.float()));
        break;
      case 5:
        t.int32s ??= [];
        r.repeated(wire, 0, field, (x) => t.int32s!.push(x.int() | 0));
        break;
      case 6:
        r.expect(wire, 2, field);
        (t.strings ??= []).push(r.bytes());
        break;
      case 7:
        t.int64s ??= [];
        r.repeated(wire, 0, field, (x) => t.int64s!.push(x.bigint()));
        break;
      case 8:
        r.expect(wire, 2, field);
        t.name = r.string();
        break;
      case 9:
        r.expect(wire, 2, field);
        t.raw = r.bytes();
        break;
      case 10:
        t.doubles ??= [];
        r.repeated(wire, 1, field, (x) => t.doubles!.push(x.double()));
        break;
      case 11:
        t.uint64s ??= [];
        r.repeated(wire, 0, field, (x) => t.uint64s!.push(x.ubigint()));
        break;
      case 13: {
        r.expect(wire, 2, field);
        const [key, value] = readEntry(r.sub("external_data entry"));
        (t.external ??= {})[key] = value;
        break;
      }
      case 14:
        r.expect(wire, 0, field);
        location = r.int();
        break;
      default:
        r.skip(wire);
    }
  }
  if (location !== 1) delete t.external;
  else t.external ??= {};
  return t;
}

function readValueInfo(r: Reader): ProtoValueInfo {
  const v: ProtoValueInfo = { name: "", elemType: 0 };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === 2) v.name = r.string();
    else if (field === 2 && wire === 2) {
      const type = r.sub("TypeProto");
      while (!type.done) {
        const f = type.tag();
        if (f.field === 1 && f.wire === 2) {
          const tt = type.sub("TypeProto.Tensor");
          while (!tt.done) {
            const g = tt.tag();
            if (g.field === 1 && g.wire === 0) v.elemType = tt.int();
            else if (g.field === 2 && g.wire === 2) {
              const shape = tt.sub("TensorShapeProto");
              v.shape = [];
              while (!shape.done) {
                const h = shape.tag();
                if (h.field === 1 && h.wire === 2) {
                  const dim = shape.sub("Dimension");
                  const d: ProtoDim = {};
                  while (!dim.done) {
                    const k = dim.tag();
                    if (k.field === 1 && k.wire === 0) d.value = dim.int();
                    else if (k.field === 2 && k.wire === 2) d.param = dim.string();
                    else dim.skip(k.wire);
                  }
                  v.shape.push(d);
                } else shape.skip(h.wire);
              }
            } else tt.skip(g.wire);
          }
        } else type.skip(f.wire);
      }
    } else r.skip(wire);
  }
  return v;
}

function readAttribute(r: Reader): ProtoAttribute {
  const a: ProtoAttribute = { name: "", type: 0, floats: [], ints: [], strings: [], tensors: [], graphs: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, 2, field);
        a.name = r.string();
        break;
      case 2:
        r.expect(wire, 5, field);
        a.f = r.float();
        break;
      case 3:
        r.expect(wire, 0, field);
        a.i = r.int();
        break;
      case 4:
        r.expect(wire, 2, field);
        a.s = r.bytes();
        break;
      case 5:
        r.expect(wire, 2, field);
        a.t = readTensor(r.sub("AttributeProto.t"));
        break;
      case 6:
        r.expect(wire, 2, field);
        a.g = readGraph(r.sub("AttributeProto.g"));
        break;
      case 7:
        r.repeated(wire, 5, field, (x) => a.floats.push(x.float()));
        break;
      case 8:
        r.repeated(wire, 0, field, (x) => a.ints.push(x.int()));
        break;
      case 9:
        r.expect(wire, 2, field);
        a.strings.push(r.bytes());
        break;
      case 10:
        r.expect(wire, 2, field);
        a.tensors.push(readTensor(r.sub("AttributeProto.tensors")));
        break;
      case 11:
        r.expect(wire, 2, field);
        a.graphs.push(readGraph(r.sub("AttributeProto.graphs")));
        break;
      case 20:
        r.expect(wire, 0, field);
        a.type = r.int();
        break;
      case 21:
        r.expect(wire, 2, field);
        a.refAttrName = r.string();
        break;
      default:
        r.skip(wire);
    }
  }
  return a;
}

function readNode(r: Reader): ProtoNode {
  const n: ProtoNode = { name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1) {
      r.expect(wire, 2, field);
      n.inputs.push(r.string());
    } else if (field === 2) {
      r.expect(wire, 2, field);
      n.outputs.push(r.string());
    } else if (field === 3) {
      r.expect(wire, 2, field);
      n.name = r.string();
    } else if (field === 4) {
      r.expect(wire, 2, field);
      n.opType = r.string();
    } else if (field === 5) {
      r.expect(wire, 2, field);
      n.attributes.push(readAttribute(r.sub("AttributeProto")));
    } else if (field === 7) {
      r.expect(wire, 2, field);
      n.domain = r.string();
    } else r.skip(wire);
  }
  return n;
}

function readGraph(r: Reader): ProtoGraph {
  const g: ProtoGraph = { name: "", nodes: [], initializers: [], sparseInitializers: 0, inputs: [], outputs: [], valueInfo: [] };
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, 2, field);
        g.nodes.push(readNode(r.sub("NodeProto")));
        break;
      case 2:
        r.expect(wire, 2, field);
        g.name = r.string();
        break;
      case 5:
        r.expect(wire, 2, field);
        g.initializers.push(readTensor(r.sub("TensorProto")));
        break;
      case 11:
        r.expect(wire, 2, field);
        g.inputs.push(readValueInfo(r.sub("ValueInfoProto")));
        break;
      case 12:
        r.expect(wire, 2, field);
        g.outputs.push(readValueInfo(r.sub("ValueInfoProto")));
        break;
      case 13:
        r.expect(wire, 2, field);
        g.valueInfo.push(readValueInfo(r.sub("ValueInfoProto")));
        break;
      case 15:
        r.skip(wire);
        g.sparseInitializers++;
        break;
      default:
        r.skip(wire);
    }
  }
  return g;
}

/** Parses a ModelProto. Throws E_FORMAT on anything that is not a well-formed ONNX model. */
export function readModelProto(bytes: Uint8Array): ProtoModel {
  const r = new Reader(bytes, 0, bytes.length, "ModelProto");
  const m: ProtoModel = { irVersion: 0, producerName: "", producerVersion: "", opsets: [], graph: undefined as unknown as ProtoGraph, functions: 0, metadata: {} };
  let graphs = 0;
  while (!r.done) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, 0, field);
        m.irVersion = r.int();
        break;
      case 2:
        r.expect(wire, 2, field);
        m.producerName = r.string();
        break;
      case 3:
        r.expect(wire, 2, field);
        m.producerVersion = r.string();
        break;
      case 7:
        r.expect(wire, 2, field);
        m.graph = readGraph(r.sub("GraphProto"));
        graphs++;
        break;
      case 8: {
        r.expect(wire, 2, field);
        const o = r.sub("OperatorSetIdProto");
        const op = { domain: "", version: 0 };
        while (!o.done) {
          const f = o.tag();
          if (f.field === 1 && f.wire === 2) op.domain = o.string();
          else if (f.field === 2 && f.wire === 0) op.version = o.int();
          else o.skip(f.wire);
        }
        m.opsets.push(op);
        break;
      }
      case 14: {
        r.expect(wire, 2, field);
        const [key, value] = readEntry(r.sub("StringStringEntryProto"));
        m.metadata[key] = value;
        break;
      }
      case 25:
        r.skip(wire);
        m.functions++;
        break;
      default:
        r.skip(wire);
    }
  }
  if (graphs === 0) fail("E_FORMAT", "loadOnnx: malformed file: the ModelProto has no graph (is this an ONNX model?)");
  if (m.irVersion < 3) fail("E_FORMAT", `loadOnnx: malformed file: ir_version ${m.irVersion} (ONNX files have 3 or more)`);
  return m;
}
