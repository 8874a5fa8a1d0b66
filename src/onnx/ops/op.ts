// What every ONNX operator implementation sees at load (BuildContext) and provides to the
// executor (Op). An Op owns its output tensors and reuses them call after call (values.ts
// `ensure`), so a warm run allocates nothing.
import { fail } from "../../errors.js";
import type { ProtoAttribute, ProtoGraph, ProtoNode } from "../proto.js";
import { decodeTensor, type OnnxTensor } from "../values.js";

export interface Op {
  /** The outputs of the last run, by output position (undefined for an omitted output). */
  readonly outs: (OnnxTensor | undefined)[];
  run(inputs: readonly (OnnxTensor | undefined)[]): void;
  /** What runs this node, for `recur info` (e.g. "recur LSTM (fused Wasm kernel)"). */
  readonly kernel?: string;
  dispose?(): void;
}

/** A compiled subgraph (If branches): runs in the scope of the graph that holds it. */
export interface Subgraph {
  readonly outputNames: readonly string[];
  run(): readonly OnnxTensor[];
}

export interface BuildContext {
  readonly node: ProtoNode;
  /** `Op "name"` for messages. */
  readonly label: string;
  /** The default domain's opset version of the model. */
  readonly opset: number;
  readonly attrs: Attrs;
  /** Whether input i is given (present and not ""). */
  has(i: number): boolean;
  /** The value of input i when it is known at load (initializer, Constant or folded), else undefined. */
  constant(i: number): OnnxTensor | undefined;
  /** Compiles a graph attribute in the scope of this node's graph. */
  subgraph(attr: string): Subgraph;
  /** Whether output i is wanted (present and not ""). */
  wants(i: number): boolean;
}

export type OpFactory = (ctx: BuildContext) => Op;

const text = new TextDecoder();

/** A node's attributes by name, typed accessors with defaults. */
export class Attrs {
  private readonly byName = new Map<string, ProtoAttribute>();
  constructor(node: ProtoNode, private readonly label: string) {
    for (const a of node.attributes) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  raw(name: string): ProtoAttribute | undefined {
    return this.byName.get(name);
  }

  private get(name: string, want: string, ok: (a: ProtoAttribute) => boolean): ProtoAttribute | undefined {
    const a = this.byName.get(name);
    if (a === undefined) return undefined;
    if (a.refAttrName !== undefined) fail("E_UNSUPPORTED", `${this.label}: attribute "${name}" refers to a function attribute`);
    if (!ok(a)) fail("E_FORMAT", `loadOnnx: malformed file: ${this.label}: attribute "${name}" must be ${want}`);
    return a;
  }

  int(name: string, dflt: number): number;
  int(name: string): number | undefined;
  int(name: string, dflt?: number): number | undefined {
    return this.get(name, "an int", (a) => a.i !== undefined || a.type === 2)?.i ?? (this.has(name) ? 0 : dflt);
  }

  float(name: string, dflt: number): number;
  float(name: string): number | undefined;
  float(name: string, dflt?: number): number | undefined {
    return this.get(name, "a float", (a) => a.f !== undefined || a.type === 1)?.f ?? (this.has(name) ? 0 : dflt);
  }

  string(name: string, dflt: string): string;
  string(name: string): string | undefined;
  string(name: string, dflt?: string): string | undefined {
    const a = this.get(name, "a string", (x) => x.s !== undefined || x.type === 3);
    return a === undefined ? dflt : text.decode(a.s ?? new Uint8Array(0));
  }

  ints(name: string): number[] | undefined {
    return this.get(name, "a list of ints", (a) => a.type === 7 || a.type === 0 || a.ints.length > 0)?.ints;
  }

  floats(name: string): number[] | undefined {
    return this.get(name, "a list of floats", (a) => a.type === 6 || a.type === 0 || a.floats.length > 0)?.floats;
  }

  strings(name: string): string[] | undefined {
    return this.get(name, "a list of strings", (a) => a.type === 8 || a.type === 0 || a.strings.length > 0)?.strings.map((s) => text.decode(s));
  }

  tensor(name: string): OnnxTensor | undefined {
    const a = this.get(name, "a tensor", (x) => x.t !== undefined);
    return a === undefined ? undefined : decodeTensor(a.t!, `${this.label} attribute "${name}"`);
  }

  graph(name: string): ProtoGraph | undefined {
    return this.get(name, "a graph", (x) => x.g !== undefined)?.g;
  }
}

/** Normalises an axis in -rank..rank-1 (or -rank-1..rank with `extra`, for Unsqueeze). */
export function axis(label: string, a: number, rank: number, what = "axis"): number {
  const r = a < 0 ? a + rank : a;
  if (!Number.isInteger(a) || r < 0 || r >= rank) fail("E_SHAPE", `${label}: ${what} ${a} is out of range for rank ${rank}`);
  return r;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
