// fromOnnx: a pure recurrent graph (optional Gather embedding -> stacked LSTM / GRU / RNN nodes ->
// optional Gemm or MatMul(+Add) head, with the exporters' Transpose / Squeeze / Concat glue) as
// recur's own trainable classes. The parts are found by what they read (constant tables and
// weights), converted exactly, and the result is checked against the ONNX graph itself on a
// seeded input before it is returned: a graph that is not such a chain is refused rather than
// converted approximately.
import { fail, RecurError } from "../errors.js";
import type { RecurrentModel } from "../models/recurrent.js";
import { createRng } from "../random.js";
import type { Tensor } from "../tensor.js";
import { SequenceModel } from "../train/sequence-model.js";
import { loadOnnx, type OnnxModel } from "./model.js";
import { Attrs, type BuildContext } from "./ops/op.js";
import { modelFromSpec, recurrentSpec, type RecurrentKind, type RecurrentSpec } from "./ops/recurrent.js";
import type { ProtoGraph, ProtoNode } from "./proto.js";
import { readModelProto } from "./proto.js";
import { decodeTensor, type OnnxTensor } from "./values.js";

/** What `fromOnnx` returns. */
export interface FromOnnxResult {
  /** SequenceModel when the graph has an embedding or a head, else the LSTM / GRU / RNN itself. */
  model: SequenceModel | RecurrentModel;
  /** Whether the ONNX graph's input and output are batch first ([B, T, ...]); recur's models here are time major. */
  batchFirst: boolean;
  /** "sequence": the head reads every step; "last": the final state. */
  outputs: "sequence" | "last";
  /** The largest difference between recur's output and the ONNX graph's on the check input. */
  checkedDifference: number;
}

const RECURRENT = new Set(["LSTM", "GRU", "RNN"]);

function constants(g: ProtoGraph): Map<string, OnnxTensor> {
  const out = new Map<string, OnnxTensor>();
  for (const t of g.initializers) {
    try {
      out.set(t.name, decodeTensor(t, "fromOnnx"));
    } catch {
      // not a tensor the conversion needs
    }
  }
  for (const n of g.nodes) {
    if (n.opType !== "Constant") continue;
    const v = new Attrs(n, n.name).tensor("value");
    if (v !== undefined) out.set(n.outputs[0], v);
  }
  return out;
}

function context(node: ProtoNode, consts: Map<string, OnnxTensor>, opset: number): BuildContext {
  return {
    node,
    label: `${node.opType} node "${node.name}"`,
    opset,
    attrs: new Attrs(node, `${node.opType} node "${node.name}"`),
    has: (i) => i < node.inputs.length && node.inputs[i] !== "",
    constant: (i) => consts.get(node.inputs[i]),
    wants: (i) => i < node.outputs.length && node.outputs[i] !== "",
    subgraph: () => fail("E_UNSUPPORTED", "fromOnnx: subgraphs"),
  };
}

/**
 * Converts an ONNX file holding a plain recurrent network into recur's classes, so that it can be
 * fine-tuned and saved as .safetensors. Call `init()` first. Throws E_UNSUPPORTED when the graph
 * is anything else (use loadOnnx to run such graphs).
 */
export function fromOnnx(bytes: Uint8Array): FromOnnxResult {
  const proto = readModelProto(bytes);
  const g = proto.graph;
  const opset = proto.opsets.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 0;
  const consts = constants(g);
  const recurrent = g.nodes.filter((n) => RECURRENT.has(n.opType));
  if (recurrent.length === 0) fail("E_UNSUPPORTED", "fromOnnx: the graph has no LSTM, GRU or RNN node");
  const kinds = new Set(recurrent.map((n) => n.opType));
  if (kinds.size > 1) fail("E_UNSUPPORTED", `fromOnnx: the graph mixes ${[...kinds].join(" and ")} nodes (recur's models stack one kind)`);
  const kind = recurrent[0].opType as RecurrentKind;
  const specs: RecurrentSpec[] = recurrent.map((n) => recurrentSpec(kind, context(n, consts, opset)));
  const first = specs[0];
  const D = first.direction === "bidirectional" ? 2 : 1;
  for (const [l, s] of specs.entries()) {
    const why =
      s.hiddenSize !== first.hiddenSize ? "hidden sizes differ" :
      s.direction !== first.direction ? "directions differ" :
      s.direction === "reverse" ? "a reverse-only direction" :
      s.resetAfter !== first.resetAfter || s.peepholes !== first.peepholes || JSON.stringify([s.activations, s.clip, s.inputForget]) !== JSON.stringify([first.activations, first.clip, first.inputForget]) ? "cell options differ" :
      l > 0 && s.inputSize !== D * first.hiddenSize ? `layer ${l} reads ${s.inputSize} features, not the ${D * first.hiddenSize} of the layer below` : "";
    if (why) fail("E_UNSUPPORTED", `fromOnnx: ${recurrent[l].opType} node "${recurrent[l].name}": ${why}`);
  }
  const sd: Record<string, Tensor> = {};
  specs.forEach((s, l) => {
    for (const [k, v] of Object.entries(s.stateDict)) sd[k.replace("_l0", `_l${l}`)] = v;
  });

  // Embedding: a Gather of a constant [V, E] table by a graph input.
  const inputs = new Set(g.inputs.map((i) => i.name));
  const gather = g.nodes.find((n) => n.opType === "Gather" && consts.get(n.inputs[0])?.shape.length === 2 && inputs.has(n.inputs[1]));
  const table = gather ? consts.get(gather.inputs[0])! : undefined;
  // Head: Gemm with a constant B, or MatMul by a constant [in, out] with an Add of a constant bias.
  let headW: Tensor | undefined, headB: Tensor | undefined;
  const gemm = g.nodes.find((n) => n.opType === "Gemm" && consts.get(n.inputs[1])?.shape.length === 2);
  const matmul = g.nodes.find((n) => n.opType === "MatMul" && consts.get(n.inputs[1])?.shape.length === 2);
  if (gemm) {
    const a = new Attrs(gemm, gemm.name);
    if (a.float("alpha", 1) !== 1 || a.float("beta", 1) !== 1 || a.int("transA", 0) !== 0) fail("E_UNSUPPORTED", `fromOnnx: Gemm node "${gemm.name}" scales or transposes A`);
    const w = consts.get(gemm.inputs[1])!;
    const [r, c] = w.shape;
    const wt = a.int("transB", 0) === 1 ? (w.data as Float32Array).slice() : transpose(w.data as Float32Array, r, c);
    const out = a.int("transB", 0) === 1 ? r : c;
    headW = { shape: [out, wt.length / out], data: wt };
    const b = gemm.inputs[2] ? consts.get(gemm.inputs[2]) : undefined;
    headB = { shape: [out], data: b ? Float32Array.from(b.data as Float32Array) : new Float32Array(out) };
  } else if (matmul) {
    const w = consts.get(matmul.inputs[1])!;
    const [r, c] = w.shape;
    headW = { shape: [c, r], data: transpose(w.data as Float32Array, r, c) };
    const add = g.nodes.find((n) => n.opType === "Add" && n.inputs.includes(matmul.outputs[0]));
    const bias = add ? consts.get(add.inputs.find((i) => i !== matmul.outputs[0])!) : undefined;
    headB = { shape: [c], data: bias && bias.data.length === c ? Float32Array.from(bias.data as Float32Array) : new Float32Array(c) };
  }

  const H = first.hiddenSize;
  const reference = loadOnnx(bytes);
  try {
    const candidates: { outputs: "sequence" | "last" }[] = headW ? [{ outputs: "sequence" }, { outputs: "last" }] : [{ outputs: "sequence" }];
    let best: FromOnnxResult | undefined;
    let bestDiff = Infinity;
    for (const batchFirst of [false, true]) {
      for (const c of candidates) {
        let model: SequenceModel | RecurrentModel;
        try {
          if (table || headW) {
            const seq = new SequenceModel({
              cell: kind,
              ...(table ? { vocabSize: table.shape[0], embeddingDim: table.shape[1] } : { inputSize: first.inputSize }),
              hiddenSize: H,
              numLayers: specs.length,
              bidirectional: D === 2,
              resetAfter: first.resetAfter,
              peepholes: first.peepholes,
              activations: first.activations,
              clip: first.clip,
              inputForget: kind === "LSTM" ? first.inputForget : undefined,
              outputSize: headW ? headW.shape[0] : D * H,
              outputs: c.outputs,
            });
            const full: Record<string, Tensor> = {};
            const prefix = kind.toLowerCase();
            for (const [k, v] of Object.entries(sd)) full[`${prefix}.${k}`] = v;
            if (table) full["embedding.weight"] = { shape: [...table.shape], data: Float32Array.from(table.data as Float32Array) };
            if (headW && headB) {
              if (headW.shape[1] !== D * H) throw new RecurError("E_UNSUPPORTED", "head size");
              full["head.weight"] = headW;
              full["head.bias"] = headB;
            }
            try {
              seq.loadStateDict(full);
            } catch (e) {
              seq.dispose();
              throw e;
            }
            model = seq;
          } else {
            model = modelFromSpec({ ...first, stateDict: sd }, { batchFirst: false, numLayers: specs.length });
          }
        } catch (e) {
          if (e instanceof RecurError && e.code === "E_UNSUPPORTED") continue;
          throw e;
        }
        const diff = check(reference, model, batchFirst, table !== undefined, first.inputSize);
        if (diff < bestDiff) {
          if (best) best.model.dispose();
          best = { model, batchFirst, outputs: c.outputs, checkedDifference: diff };
          bestDiff = diff;
        } else model.dispose();
      }
    }
    if (best === undefined || !(bestDiff <= 1e-4)) {
      best?.model.dispose();
      fail("E_UNSUPPORTED", `fromOnnx: the graph is not a plain ${table ? "Gather -> " : ""}${kind}${headW ? " -> Gemm/MatMul" : ""} chain (recur's conversion differs from its output by ${bestDiff.toExponential(2)}); run it with loadOnnx instead`);
    }
    return best;
  } finally {
    reference.dispose();
  }
}

function transpose(src: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = src[i * c + j];
  return out;
}

// [A, C, n] -> [C, A, n]
function swap(src: ArrayLike<number>, A: number, C: number, n: number): Float32Array {
  const out = new Float32Array(A * C * n);
  for (let a = 0; a < A; a++) for (let c = 0; c < C; c++) for (let k = 0; k < n; k++) out[(c * A + a) * n + k] = src[(a * C + c) * n + k];
  return out;
}

/** Largest difference between the converted model and the ONNX graph on a seeded input. */
function check(reference: OnnxModel, model: SequenceModel | RecurrentModel, batchFirst: boolean, tokens: boolean, inputSize: number): number {
  const T = 5, B = 3;
  const rng = createRng(17);
  const input = reference.inputs[0];
  const vocab = model instanceof SequenceModel ? model.options.vocabSize ?? 0 : 0;
  const tm = tokens ? Float32Array.from({ length: T * B }, () => rng.int(vocab)) : Float32Array.from({ length: T * B * inputSize }, () => rng.normal());
  const F = tokens ? 1 : inputSize;
  const outer = batchFirst ? swap(tm, T, B, F) : tm;
  const shape = tokens ? (batchFirst ? [B, T] : [T, B]) : batchFirst ? [B, T, F] : [T, B, F];
  const feed = tokens ? { shape, data: BigInt64Array.from(outer, (v) => BigInt(v)) } : { shape, data: outer };
  let ref: OnnxTensor;
  try {
    ref = reference.run({ [input.name]: feed })[reference.outputs[0].name];
  } catch {
    return Infinity;
  }
  let mine: Tensor;
  if (model instanceof SequenceModel) mine = model.predict({ input: { shape: tokens ? [T, B] : [T, B, F], data: tm } as Tensor });
  else mine = model.forward({ shape: [T, B, F], data: tm }).output;
  let data = mine.data;
  if (batchFirst && mine.shape.length === 3) data = swap(data, T, B, mine.shape[2]);
  if (mine.shape.length === 2 && mine.shape[0] === T * B) data = batchFirst ? swap(data, T, B, mine.shape[1]) : data;
  // A bare recurrent node's Y is [T, D, B, H] (layout 0): recur's rows are [T, B, D * H].
  if (ref.shape.length === 4 && !batchFirst && ref.dtype === "float32") {
    const [t, d, b, h] = ref.shape;
    const rows = new Float32Array(ref.data.length);
    for (let i = 0; i < t; i++) for (let j = 0; j < d; j++) for (let k = 0; k < b; k++) for (let u = 0; u < h; u++) rows[((i * b + k) * d + j) * h + u] = Number(ref.data[((i * d + j) * b + k) * h + u]);
    ref = { dtype: "float32", shape: [t, b, d * h], data: rows };
  }
  if (ref.data.length !== data.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(Number(ref.data[i]) - data[i]));
  return worst;
}
