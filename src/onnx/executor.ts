// Compiles a parsed ONNX graph into a flat list of steps over numbered value slots, and runs it.
// At load: every node is checked against the operator set (all unsupported ops are listed in
// one error), nodes are put in dependency order, nodes that only feed nothing are dropped, and
// nodes whose inputs are all known (initializers, Constants, shapes of constants) are evaluated
// once and become constants. At run time a step reads its input slots, runs, and stores its
// output tensors (which it owns and reuses) in its output slots.
import { fail, RecurError } from "../errors.js";
import { controlOps } from "./ops/control.js";
import { conv, reluFused } from "./ops/conv.js";
import { elementwiseOps } from "./ops/elementwise.js";
import { layoutOps } from "./ops/layout.js";
import { nnOps } from "./ops/nn.js";
import { Attrs, type BuildContext, type Op, type OpFactory, type Subgraph } from "./ops/op.js";
import { recurrentOps, yBatchMajor } from "./ops/recurrent.js";
import type { ProtoGraph, ProtoModel, ProtoNode, ProtoTensor } from "./proto.js";
import { decodeTensor, type OnnxTensor } from "./values.js";

export const OPS: Record<string, OpFactory> = { ...elementwiseOps, ...layoutOps, ...nnOps, Conv: conv, ...recurrentOps, ...controlOps };

/** Inputs each operator requires (ONNX's minimum arity); fewer is a malformed node. */
const MIN_INPUTS: Record<string, number> = {
  Add: 2, Sub: 2, Mul: 2, Div: 2, Pow: 2, Equal: 2, Less: 2, Greater: 2, Where: 3, MatMul: 2, Gemm: 2, Conv: 2,
  Gather: 2, Expand: 2, Concat: 1, LSTM: 3, GRU: 3, RNN: 3, If: 1, ConstantOfShape: 1, Constant: 0,
};

export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

// Shape arithmetic is computed once per input shape. A Shape or Size node is a SOURCE: its
// output changes only when its input's shape does. A node whose inputs are all constants or
// outputs of such nodes (Gather, Unsqueeze, Concat, Equal, ... of shapes) is PURE: it runs
// again only when one of those inputs changed (slot versions). A warm frame of a streaming
// graph then runs only its arithmetic (Silero VAD legacy: 30-odd shape nodes skipped).
const ALWAYS = 0, SOURCE = 1, PURE = 2;
/** Operators that depend on more than their inputs' values (subgraphs, state) never cache. */
const NEVER_CACHED = new Set(["If", "LSTM", "GRU", "RNN"]);

interface Step {
  readonly op: Op;
  readonly node: ProtoNode;
  readonly label: string;
  readonly ins: number[];
  readonly outs: number[];
  readonly inVals: (OnnxTensor | undefined)[];
  /** ALWAYS, SOURCE or PURE (above). */
  cache: number;
  /** Its outputs are shape values: each run bumps their versions. */
  bumps: boolean;
  ran: boolean;
  /** SOURCE: the input shape of the last run; PURE: the input slots' versions then. */
  readonly seen: number[];
}

class Scope {
  readonly names = new Map<string, number>();
  constructor(readonly parent?: Scope) {}
  lookup(name: string): number | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }
}

export interface Program {
  readonly steps: Step[];
  readonly outputSlots: number[];
  readonly outputNames: string[];
}

/** What runs one node of a loaded model (`OnnxModel.nodes`). */
export interface NodeReport {
  /** The node's name in the file (may be empty). */
  name: string;
  /** Its operator, e.g. "LSTM". */
  opType: string;
  /** "folded": evaluated once at load; "removed": feeds no output; else what runs it. */
  runs: string;
}

/** An error of a step as a RecurError whose message starts with the step's label. */
function labelled(e: unknown, label: string): RecurError {
  if (e instanceof RecurError) return e.message.includes(label) ? e : new RecurError(e.code, `${label}: ${e.message}`);
  return new RecurError("E_VALUE", `${label}: ${(e as Error).message}`);
}

export function nodeLabel(node: ProtoNode): string {
  return `${node.opType} node "${node.name || node.outputs[0] || "?"}"`;
}

const freeNamesCache = new WeakMap<ProtoGraph, Set<string>>();

/** Names a graph uses from outer scopes (If branches read values of the graph around them). */
function freeNames(g: ProtoGraph): Set<string> {
  let cached = freeNamesCache.get(g);
  if (cached === undefined) {
    cached = computeFreeNames(g);
    freeNamesCache.set(g, cached);
  }
  return cached;
}

function computeFreeNames(g: ProtoGraph): Set<string> {
  const defined = new Set<string>([...g.initializers.map((t) => t.name), ...g.inputs.map((v) => v.name)]);
  const used = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i !== "" && !defined.has(i)) used.add(i);
    for (const a of n.attributes) for (const sg of [a.g, ...a.graphs]) if (sg) for (const f of freeNames(sg)) if (!defined.has(f)) used.add(f);
    for (const o of n.outputs) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) used.add(o.name);
  return used;
}

const implicitCache = new WeakMap<ProtoNode, string[]>();

function implicitInputs(node: ProtoNode): string[] {
  let cached = implicitCache.get(node);
  if (cached === undefined) {
    cached = computeImplicitInputs(node);
    implicitCache.set(node, cached);
  }
  return cached;
}

function computeImplicitInputs(node: ProtoNode): string[] {
  const out = new Set<string>();
  for (const a of node.attributes) for (const sg of [a.g, ...a.graphs]) if (sg) for (const f of freeNames(sg)) out.add(f);
  return [...out];
}

/** Every node of the graph and its subgraphs whose operator recur does not run, as "Op (node name)". */
export function unsupportedNodes(g: ProtoGraph): string[] {
  const out: string[] = [];
  const walk = (graph: ProtoGraph): void => {
    for (const n of graph.nodes) {
      const domainOk = n.domain === "" || n.domain === "ai.onnx";
      if (!domainOk || !(n.opType in OPS)) out.push(`${domainOk ? "" : n.domain + "."}${n.opType} (node "${n.name || n.outputs[0] || "?"}")`);
      for (const a of n.attributes) for (const sg of [a.g, ...a.graphs]) if (sg) walk(sg);
    }
  };
  walk(g);
  return out;
}

export class Executor {
  /** Every value of the model, main graph and subgraphs, by slot. */
  readonly values: (OnnxTensor | undefined)[] = [];
  private readonly constant = new Set<number>();
  /** Slots holding shape values (outputs of SOURCE and PURE steps), and every slot's version. */
  private readonly shapeSlots = new Set<number>();
  private readonly version: number[] = [];
  private readonly ops: Op[] = [];
  readonly report: NodeReport[] = [];
  readonly main: Program;
  /** Slots of the main graph's real inputs (not initializers), by name. */
  readonly inputSlots = new Map<string, number>();
  /** Messages of nodes whose attributes recur cannot run (collected so that one error names all). */
  private readonly unsupported: string[] = [];

  constructor(readonly model: ProtoModel, readonly opset: number, private readonly external?: (entries: Record<string, string>, name: string) => Uint8Array) {
    try {
      this.main = this.compile(model.graph, undefined, true);
      if (this.unsupported.length > 0) fail("E_UNSUPPORTED", `loadOnnx: ${this.unsupported.length} node(s) use what recur cannot run:\n  ${this.unsupported.join("\n  ")}`);
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  private newSlot(scope: Scope, name: string, where: string): number {
    if (scope.names.has(name)) fail("E_FORMAT", `loadOnnx: malformed file: ${where}: value "${name}" is defined twice`);
    const slot = this.values.length;
    this.values.push(undefined);
    this.version.push(0);
    scope.names.set(name, slot);
    return slot;
  }

  private compile(g: ProtoGraph, parent: Scope | undefined, isMain: boolean): Program {
    this.foldTransposes(g);
    const scope = new Scope(parent);
    const where = isMain ? "graph" : `subgraph "${g.name}"`;
    if (g.sparseInitializers > 0) fail("E_UNSUPPORTED", `loadOnnx: ${where} has sparse initializers`);
    for (const t of g.initializers) this.addConstant(scope, t, where);
    for (const v of g.inputs) {
      if (scope.names.has(v.name)) continue; // an initializer listed as an input (IR < 4): a constant
      const slot = this.newSlot(scope, v.name, where);
      if (isMain) this.inputSlots.set(v.name, slot);
      else fail("E_UNSUPPORTED", `loadOnnx: ${where} has inputs (only If branches without inputs are supported)`);
    }

    // Keep only nodes that lead to an output, in dependency order.
    const producer = new Map<string, ProtoNode>();
    for (const n of g.nodes) for (const o of n.outputs) if (o !== "") {
      if (producer.has(o)) fail("E_FORMAT", `loadOnnx: malformed file: ${where}: value "${o}" is produced twice`);
      producer.set(o, n);
    }
    const needed = new Set<ProtoNode>();
    const stack = g.outputs.map((o) => o.name);
    while (stack.length > 0) {
      const name = stack.pop()!;
      const n = producer.get(name);
      if (n === undefined || needed.has(n)) continue;
      needed.add(n);
      for (const i of [...n.inputs, ...implicitInputs(n)]) if (i !== "") stack.push(i);
    }
    for (const n of g.nodes) if (!needed.has(n)) this.report.push({ name: n.name, opType: n.opType, runs: "removed (feeds no output)" });
    const pending = g.nodes.filter((n) => needed.has(n));
    const steps: Step[] = [];
    while (pending.length > 0) {
      const before = pending.length;
      for (let k = 0; k < pending.length; ) {
        const n = pending[k];
        const deps = [...n.inputs.filter((i) => i !== ""), ...implicitInputs(n)];
        if (deps.every((d) => scope.lookup(d) !== undefined)) {
          pending.splice(k, 1);
          this.compileNode(n, scope, steps);
        } else k++;
      }
      if (pending.length === before) {
        const n = pending[0];
        const missing = [...n.inputs.filter((i) => i !== ""), ...implicitInputs(n)].find((d) => scope.lookup(d) === undefined && !producer.has(d));
        if (missing !== undefined) fail("E_FORMAT", `loadOnnx: malformed file: ${nodeLabel(n)} reads "${missing}", which nothing defines`);
        fail("E_FORMAT", `loadOnnx: malformed file: ${where} has a cycle through ${nodeLabel(n)}`);
      }
    }
    const outputSlots = g.outputs.map((o) => {
      const slot = scope.lookup(o.name);
      if (slot === undefined) fail("E_FORMAT", `loadOnnx: malformed file: ${where} output "${o.name}" is never produced`);
      return slot;
    });
    // A step whose output leaves the graph runs every time: the stream trades a state output's
    // array with its producer, and a branch's outputs become an If node's.
    const leaving = new Set(outputSlots);
    for (const st of steps) if (st.outs.some((o) => leaving.has(o))) st.cache = ALWAYS;
    return { steps, outputSlots, outputNames: g.outputs.map((o) => o.name) };
  }

  // A bidirectional recurrent node (layout 0) whose Y feeds only a Transpose(perm [0, 2, 1, 3])
  // writes the transposed Y itself (its kernels produce that order) and the Transpose goes; a
  // Conv followed only by a Relu takes the Relu in.
  private foldTransposes(g: ProtoGraph): void {
    const outputs = new Set(g.outputs.map((o) => o.name));
    const readers = new Map<string, ProtoNode[]>();
    const note = (name: string, n: ProtoNode): void => {
      if (name !== "") readers.set(name, [...(readers.get(name) ?? []), n]);
    };
    for (const n of g.nodes) {
      for (const i of n.inputs) note(i, n);
      for (const f of implicitInputs(n)) note(f, n);
    }
    const removed = new Set<ProtoNode>();
    for (const n of g.nodes) {
      if (!(n.opType in recurrentOps) || (n.domain !== "" && n.domain !== "ai.onnx")) continue;
      const y = n.outputs[0];
      if (!y || outputs.has(y)) continue;
      const attrs = new Attrs(n, nodeLabel(n));
      if (attrs.string("direction", "forward") !== "bidirectional" || attrs.int("layout", 0) !== 0) continue;
      const r = readers.get(y) ?? [];
      if (r.length !== 1 || r[0].opType !== "Transpose" || r[0].inputs[0] !== y) continue;
      const perm = new Attrs(r[0], nodeLabel(r[0])).ints("perm");
      if (perm === undefined || perm.join(",") !== "0,2,1,3") continue;
      n.outputs[0] = r[0].outputs[0];
      yBatchMajor.add(n);
      removed.add(r[0]);
      this.report.push({ name: r[0].name, opType: "Transpose", runs: `folded into ${nodeLabel(n)}` });
    }
    // A Conv whose output only a Relu reads applies the Relu itself (in Wasm, before its output
    // leaves Wasm memory) and the Relu node goes: one node and one pass over the data fewer.
    for (const n of g.nodes) {
      if (n.opType !== "Conv" || (n.domain !== "" && n.domain !== "ai.onnx") || removed.has(n)) continue;
      const y = n.outputs[0];
      if (!y || outputs.has(y)) continue;
      const r = readers.get(y) ?? [];
      if (r.length !== 1 || r[0].opType !== "Relu" || (r[0].domain !== "" && r[0].domain !== "ai.onnx") || r[0].inputs[0] !== y || removed.has(r[0])) continue;
      n.outputs[0] = r[0].outputs[0];
      reluFused.add(n);
      removed.add(r[0]);
      this.report.push({ name: r[0].name, opType: "Relu", runs: `folded into ${nodeLabel(n)}` });
    }
    if (removed.size > 0) g.nodes = g.nodes.filter((n) => !removed.has(n));
  }

  private addConstant(scope: Scope, t: ProtoTensor, where: string): void {
    const slot = this.newSlot(scope, t.name, where);
    this.values[slot] = decodeTensor(t, `${where} initializer`, this.external);
    this.constant.add(slot);
  }

  private compileNode(node: ProtoNode, scope: Scope, steps: Step[]): void {
    const label = nodeLabel(node);
    const factory = OPS[node.opType];
    const min = MIN_INPUTS[node.opType] ?? 1;
    if (node.inputs.length < min || node.inputs.slice(0, min).some((i) => i === "")) {
      fail("E_FORMAT", `loadOnnx: malformed file: ${label} has ${node.inputs.length} inputs, ${node.opType} needs at least ${min}`);
    }
    const ins = node.inputs.map((i) => (i === "" ? -1 : scope.lookup(i)!));
    const ctx: BuildContext = {
      node,
      label,
      opset: this.opset,
      attrs: new Attrs(node, label),
      has: (i) => i < node.inputs.length && node.inputs[i] !== "",
      constant: (i) => (ins[i] !== undefined && ins[i] >= 0 && this.constant.has(ins[i]) ? this.values[ins[i]] : undefined),
      wants: (i) => i < node.outputs.length && node.outputs[i] !== "",
      subgraph: (attr) => {
        const g = ctx.attrs.graph(attr);
        if (g === undefined) fail("E_FORMAT", `loadOnnx: malformed file: ${label} has no graph attribute "${attr}"`);
        return this.subgraph(g, scope);
      },
    };
    let op: Op;
    try {
      op = factory(ctx);
    } catch (e) {
      // Keep compiling: the load fails after every unsupported node has been named.
      if (!(e instanceof RecurError) || e.code !== "E_UNSUPPORTED") throw e;
      this.unsupported.push(e.message);
      op = { outs: [], run() {} };
      node.outputs.forEach((o) => o !== "" && this.newSlot(scope, o, label));
      return;
    }
    this.ops.push(op);
    const outs = node.outputs.map((o) => (o === "" ? -1 : this.newSlot(scope, o, label)));
    const step: Step = { op, node, label, ins, outs, inVals: ins.map(() => undefined), cache: ALWAYS, bumps: false, ran: false, seen: [] };
    const implicit = implicitInputs(node).map((n) => scope.lookup(n)!);
    const foldable = [...ins.filter((s) => s >= 0), ...implicit].every((s) => this.constant.has(s));
    if (foldable) {
      this.runStep(step);
      for (const s of outs) if (s >= 0) this.constant.add(s);
      this.report.push({ name: node.name, opType: node.opType, runs: "folded at load" });
      return;
    }
    const real = ins.filter((s) => s >= 0);
    if (implicit.length === 0 && !NEVER_CACHED.has(node.opType)) {
      if ((node.opType === "Shape" || node.opType === "Size") && real.length === 1) step.cache = SOURCE;
      else if (real.some((s) => this.shapeSlots.has(s)) && real.every((s) => this.shapeSlots.has(s) || this.constant.has(s))) step.cache = PURE;
    }
    if (step.cache !== ALWAYS) {
      step.bumps = true;
      for (const s of outs) if (s >= 0) this.shapeSlots.add(s);
    }
    steps.push(step);
    this.report.push({ name: node.name, opType: node.opType, runs: op.kernel ?? "TypeScript" });
  }

  private subgraph(g: ProtoGraph, scope: Scope): Subgraph {
    const program = this.compile(g, scope, false);
    const results: OnnxTensor[] = new Array(program.outputSlots.length);
    return {
      outputNames: program.outputNames,
      run: () => {
        this.runProgram(program);
        for (let i = 0; i < results.length; i++) results[i] = this.values[program.outputSlots[i]]!;
        return results;
      },
    };
  }

  private runStep(s: Step): void {
    const v = this.values;
    for (let i = 0; i < s.ins.length; i++) s.inVals[i] = s.ins[i] < 0 ? undefined : v[s.ins[i]];
    try {
      s.op.run(s.inVals);
    } catch (e) {
      throw labelled(e, s.label);
    }
    for (let j = 0; j < s.outs.length; j++) if (s.outs[j] >= 0) v[s.outs[j]] = s.op.outs[j];
  }

  // The hot loop: one try around all steps (the failing one is known by its index), plain loops.
  runProgram(p: Program): void {
    const steps = p.steps, v = this.values, ver = this.version;
    let k = 0;
    try {
      for (; k < steps.length; k++) {
        const s = steps[k];
        const ins = s.ins, inVals = s.inVals;
        for (let i = 0; i < ins.length; i++) inVals[i] = ins[i] < 0 ? undefined : v[ins[i]];
        if (s.cache !== ALWAYS && this.unchanged(s)) continue;
        s.op.run(inVals);
        const outs = s.outs, produced = s.op.outs;
        for (let j = 0; j < outs.length; j++) if (outs[j] >= 0) v[outs[j]] = produced[j];
        if (s.bumps) {
          s.ran = true;
          for (let j = 0; j < outs.length; j++) if (outs[j] >= 0) ver[outs[j]]++;
        }
      }
    } catch (e) {
      throw labelled(e, steps[k].label);
    }
  }

  /** Whether a cached step's inputs are as at its last run (and records them if not). */
  private unchanged(s: Step): boolean {
    const seen = s.seen;
    if (s.cache === SOURCE) {
      const shape = s.inVals[0]!.shape;
      let same = s.ran && seen.length === shape.length;
      for (let i = 0; same && i < shape.length; i++) same = seen[i] === shape[i];
      if (same) return true;
      seen.length = shape.length;
      for (let i = 0; i < shape.length; i++) seen[i] = shape[i];
    } else {
      const ins = s.ins, ver = this.version;
      let same = s.ran;
      for (let i = 0; same && i < ins.length; i++) same = ins[i] < 0 || seen[i] === ver[ins[i]];
      if (same) return true;
      seen.length = ins.length;
      for (let i = 0; i < ins.length; i++) seen[i] = ins[i] < 0 ? 0 : ver[ins[i]];
    }
    // Marked before the run: a run that throws leaves the step to run again (ran stays false).
    s.ran = false;
    return false;
  }

  dispose(): void {
    for (const op of this.ops) op.dispose?.();
    this.ops.length = 0;
  }
}
