// ONNX LSTM, GRU and RNN on recur's fused kernels: each node becomes one recur LSTM / GRU / RNN
// (one layer, one or two directions) whose PyTorch-named state dict is the node's W, R, B (and P)
// with the gates reordered. A one-step call (streaming) goes through `step`, which writes into
// the node's own output arrays; longer sequences through `forward`, one Wasm call per direction.
import { fail, RecurError } from "../../errors.js";
import { ONNX_ACTIVATIONS, type CellActivationSpec } from "../../models/cell.js";
import { GRU } from "../../models/gru.js";
import { LSTM } from "../../models/lstm.js";
import { RNN } from "../../models/rnn.js";
import { StreamState, type RecurrentModel } from "../../models/recurrent.js";
import type { Tensor } from "../../tensor.js";
import { ensure, readInts, type OnnxTensor } from "../values.js";
import { SequenceRunner } from "./recurrent-run.js";
import { shapeStr, type BuildContext, type OpFactory } from "./op.js";

export type RecurrentKind = "LSTM" | "GRU" | "RNN";

/**
 * Recurrent nodes whose Y the graph only reads through Transpose(perm [0, 2, 1, 3]) (what
 * torch.onnx.export writes after every bidirectional layer): the node then writes Y as
 * [T, B, D, H], the order recur's kernels produce, and the Transpose is removed at load.
 */
export const yBatchMajor = new WeakSet<object>();

/** Sequences up to this long (one direction, no lengths) run as steps instead of one forward call. */
const STEP_LIMIT = 8;

/** For each PyTorch gate block (LSTM i f g o, GRU r z n), the ONNX block it comes from (LSTM i o f c, GRU z r h). */
export const TORCH_FROM_ONNX: Record<RecurrentKind, number[]> = { LSTM: [0, 2, 3, 1], GRU: [1, 0, 2], RNN: [0] };
const GATES: Record<RecurrentKind, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<RecurrentKind, string[]> = { LSTM: ["sigmoid", "tanh", "tanh"], GRU: ["sigmoid", "tanh"], RNN: ["tanh"] };
// Which activations read alpha / beta from activation_alpha / activation_beta (in the order of
// the activations, each taking the next value), and their values when the lists run out: as
// onnxruntime reads them (its defaults, not the standalone operators': 0 for Affine, ScaledTanh
// and ThresholdedRelu).
const USES: Record<string, [boolean, boolean]> = { affine: [true, true], leakyrelu: [true, false], thresholdedrelu: [true, false], scaledtanh: [true, true], hardsigmoid: [true, true], elu: [true, false] };
const FALLBACK: Record<string, [number, number]> = { leakyrelu: [0.01, 0], hardsigmoid: [0.2, 0.5], elu: [1, 0] };

/** Reorders the G row blocks of [G*H, cols] (or [G*H]) from ONNX to PyTorch gate order. */
export function onnxToTorchGates(kind: RecurrentKind, src: Float32Array, H: number, cols: number): Float32Array {
  const order = TORCH_FROM_ONNX[kind];
  const out = new Float32Array(order.length * H * cols);
  order.forEach((from, to) => out.set(src.subarray(from * H * cols, (from + 1) * H * cols), to * H * cols));
  return out;
}

export interface RecurrentSpec {
  kind: RecurrentKind;
  hiddenSize: number;
  inputSize: number;
  direction: "forward" | "reverse" | "bidirectional";
  layout: 0 | 1;
  resetAfter: boolean;
  peepholes: boolean;
  /** The cell's functions per direction, flattened (forward first); clip; LSTM input_forget. */
  activations: CellActivationSpec[] | undefined;
  clip: number | undefined;
  inputForget: boolean;
  /** PyTorch-named parameters of a one-layer model (suffix _l0 and _l0_reverse). */
  stateDict: Record<string, Tensor>;
}

/**
 * Reads an ONNX recurrent node's attributes and constant weights into a recur model spec. Every
 * attribute recur's cells cannot express is listed in one E_UNSUPPORTED error.
 */
export function recurrentSpec(kind: RecurrentKind, ctx: BuildContext): RecurrentSpec {
  const a = ctx.attrs;
  const problems: string[] = [];
  const direction = a.string("direction", "forward");
  if (direction !== "forward" && direction !== "reverse" && direction !== "bidirectional") fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: direction "${direction}"`);
  const D = direction === "bidirectional" ? 2 : 1;
  const layout = a.int("layout", 0);
  if (layout !== 0 && layout !== 1) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: layout ${layout}`);
  let clip: number | undefined;
  if (a.has("clip")) {
    clip = a.float("clip", 0);
    if (!(clip > 0)) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: clip ${clip} (must be positive)`);
  }
  const inputForget = kind === "LSTM" && a.int("input_forget", 0) !== 0;
  let activations: CellActivationSpec[] | undefined;
  const acts = a.strings("activations");
  if (acts !== undefined) {
    const n = DEFAULT_ACTIVATIONS[kind].length;
    // onnxruntime also accepts one direction's list for both directions.
    if (acts.length !== n * D && acts.length !== n) fail("E_FORMAT", `loadOnnx: malformed file: ${ctx.label}: ${acts.length} activations for ${D} direction(s), expected ${n * D}`);
    const alphas = a.floats("activation_alpha") ?? [], betas = a.floats("activation_beta") ?? [];
    let ai = 0, bi = 0;
    activations = [];
    for (const raw of acts) {
      const key = raw.toLowerCase();
      const name = ONNX_ACTIVATIONS[key];
      if (name === undefined) {
        problems.push(`activations: ${raw} (recur runs ${Object.keys(ONNX_ACTIVATIONS).join(", ")})`);
        continue;
      }
      const [useA, useB] = USES[key] ?? [false, false];
      const [fa, fb] = FALLBACK[key] ?? [0, 0];
      activations.push({ name, alpha: useA ? (ai < alphas.length ? alphas[ai++] : fa) : 0, beta: useB ? (bi < betas.length ? betas[bi++] : fb) : 0 });
    }
  }
  const W = ctx.constant(1), R = ctx.constant(2), B = ctx.has(3) ? ctx.constant(3) : undefined, P = kind === "LSTM" && ctx.has(7) ? ctx.constant(7) : undefined;
  if (W === undefined) problems.push("W is computed at run time (recur needs constant weights)");
  if (R === undefined) problems.push("R is computed at run time (recur needs constant weights)");
  if (ctx.has(3) && B === undefined) problems.push("B is computed at run time (recur needs constant weights)");
  if (kind === "LSTM" && ctx.has(7) && P === undefined) problems.push("P is computed at run time (recur needs constant weights)");
  for (const [name, t] of [["W", W], ["R", R], ["B", B], ["P", P]] as const) {
    if (t !== undefined && t.dtype !== "float32") problems.push(`${name} is ${t.dtype} (recur's recurrent kernels run float32)`);
  }
  if (problems.length > 0) fail("E_UNSUPPORTED", `${ctx.label}: ${problems.join("; ")}`);
  const G = GATES[kind];
  const H = a.int("hidden_size") ?? R!.shape[2];
  if (W!.shape.length !== 3 || W!.shape[0] !== D || W!.shape[1] !== G * H) fail("E_SHAPE", `${ctx.label}: W is ${shapeStr(W!.shape)}, expected [${D}, ${G * H}, input_size]`);
  const I = W!.shape[2];
  if (!sameDims(R!.shape, [D, G * H, H])) fail("E_SHAPE", `${ctx.label}: R is ${shapeStr(R!.shape)}, expected [${D}, ${G * H}, ${H}]`);
  if (B !== undefined && !sameDims(B.shape, [D, 2 * G * H])) fail("E_SHAPE", `${ctx.label}: B is ${shapeStr(B.shape)}, expected [${D}, ${2 * G * H}]`);
  if (P !== undefined && !sameDims(P.shape, [D, 3 * H])) fail("E_SHAPE", `${ctx.label}: P is ${shapeStr(P.shape)}, expected [${D}, ${3 * H}]`);
  const peepholes = P !== undefined && (P.data as Float32Array).some((v) => v !== 0);
  const sd: Record<string, Tensor> = {};
  const w = W!.data as Float32Array, r = R!.data as Float32Array;
  for (let d = 0; d < D; d++) {
    const sfx = d === 1 ? "_l0_reverse" : "_l0";
    sd[`weight_ih${sfx}`] = { shape: [G * H, I], data: onnxToTorchGates(kind, w.subarray(d * G * H * I, (d + 1) * G * H * I), H, I) };
    sd[`weight_hh${sfx}`] = { shape: [G * H, H], data: onnxToTorchGates(kind, r.subarray(d * G * H * H, (d + 1) * G * H * H), H, H) };
    const b = B ? (B.data as Float32Array).subarray(d * 2 * G * H, (d + 1) * 2 * G * H) : new Float32Array(2 * G * H);
    sd[`bias_ih${sfx}`] = { shape: [G * H], data: onnxToTorchGates(kind, b.subarray(0, G * H), H, 1) };
    sd[`bias_hh${sfx}`] = { shape: [G * H], data: onnxToTorchGates(kind, b.subarray(G * H), H, 1) };
    if (peepholes) sd[`weight_peephole${sfx}`] = { shape: [3 * H], data: (P!.data as Float32Array).slice(d * 3 * H, (d + 1) * 3 * H) };
  }
  return {
    kind,
    hiddenSize: H,
    inputSize: I,
    direction,
    layout: layout as 0 | 1,
    resetAfter: kind === "GRU" ? a.int("linear_before_reset", 0) === 1 : true,
    peepholes,
    activations,
    clip,
    inputForget,
    stateDict: sd,
  };
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false; // no callback: no closure per run
  return true;
}

/** A recur model built from a spec (one layer; batchFirst for layout 1). */
export function modelFromSpec(spec: RecurrentSpec, options: { batchFirst?: boolean; numLayers?: number } = {}): RecurrentModel {
  const common = {
    activations: spec.activations,
    clip: spec.clip,
    numLayers: options.numLayers ?? 1,
    inputSize: spec.inputSize,
    hiddenSize: spec.hiddenSize,
    bidirectional: spec.direction === "bidirectional",
    batchFirst: options.batchFirst ?? spec.layout === 1,
  };
  const model =
    spec.kind === "LSTM" ? new LSTM({ ...common, peepholes: spec.peepholes, inputForget: spec.inputForget }) : spec.kind === "GRU" ? new GRU({ ...common, resetAfter: spec.resetAfter }) : new RNN(common);
  try {
    model.loadStateDict(spec.stateDict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

function recurrent(kind: RecurrentKind): OpFactory {
  return (ctx) => {
    const spec = recurrentSpec(kind, ctx);
    const model = modelFromSpec(spec);
    const H = spec.hiddenSize, I = spec.inputSize;
    const D = spec.direction === "bidirectional" ? 2 : 1;
    const reverse = spec.direction === "reverse";
    const layout = spec.layout;
    const tbdh = yBatchMajor.has(ctx.node);
    const lstm = kind === "LSTM";
    const outs: (OnnxTensor | undefined)[] = [undefined, undefined, undefined];
    // Reused between calls: the streaming state whose arrays are the node's Y_h / Y_c outputs,
    // and the tensors handed to the model.
    let stream: StreamState | undefined;
    let streamBatch = 0;
    const xt: Tensor = { shape: [1, 0, I], data: new Float32Array(0) };
    const hT: Tensor = { shape: [1, 0, H], data: new Float32Array(0) };
    const cT: Tensor = { shape: [1, 0, H], data: new Float32Array(0) };
    let rowsX: Float32Array[] = [], rowsY: Float32Array[] = [];
    let yAll: OnnxTensor | undefined;
    let flipped = new Float32Array(0), flippedY = new Float32Array(0), seqY = new Float32Array(0);
    let h0Buf: Float32Array = new Float32Array(0), c0Buf: Float32Array = new Float32Array(0);
    let stateH = new Float32Array(0), stateC = new Float32Array(0);
    let runner: SequenceRunner | undefined;
    const lengthsInto: number[] = [];

    const want = [0, 0, 0];
    const stateInput = (t: OnnxTensor | undefined, B: number, name: string): Float32Array | undefined => {
      if (t === undefined) return undefined;
      want[0] = layout === 0 ? D : B;
      want[1] = layout === 0 ? B : D;
      want[2] = H;
      if (t.dtype !== "float32") fail("E_TYPE", `${ctx.label}: ${name} must be float32, got ${t.dtype}`);
      if (!sameDims(t.shape, want)) fail("E_SHAPE", `${ctx.label}: ${name} is ${shapeStr(t.shape)}, expected ${shapeStr(want)}`);
      return t.data as Float32Array;
    };
    const yShape = [0, 0, 0, 0], hShape = [0, 0, 0];

    return {
      outs,
      kernel: `${yBatchMajor.has(ctx.node) ? "(Transpose of Y folded in) " : ""}recur ${kind}${kind === "GRU" ? (spec.resetAfter ? " (reset after)" : " (reset before)") : ""}${spec.peepholes ? " with peepholes" : ""}${cellNote(spec)}, ${spec.direction}: fused Wasm kernel`,
      dispose: () => model.dispose(),
      run(ins) {
        const X = ins[0]!;
        if (X.dtype !== "float32") fail("E_TYPE", `${ctx.label}: X must be float32, got ${X.dtype}`);
        if (X.shape.length !== 3 || X.shape[2] !== I) fail("E_SHAPE", `${ctx.label}: X is ${shapeStr(X.shape)}, expected ${layout === 0 ? `[seq_length, batch_size, ${I}]` : `[batch_size, seq_length, ${I}]`}`);
        const T = layout === 0 ? X.shape[0] : X.shape[1];
        const B = layout === 0 ? X.shape[1] : X.shape[0];
        const x = X.data as Float32Array;
        let lengths: number[] | undefined;
        if (ins[4] !== undefined) {
          lengths = readInts(ins[4], lengthsInto, `${ctx.label}: sequence_lens`);
          if (lengths.length !== B) fail("E_SHAPE", `${ctx.label}: sequence_lens has ${lengths.length} entries, the batch has ${B}`);
          let full = true;
          for (let b = 0; b < B; b++) {
            if (!(Number.isInteger(lengths[b]) && lengths[b] >= 1 && lengths[b] <= T)) fail("E_VALUE", `${ctx.label}: sequence_lens[${b}] is ${lengths[b]}, must be 1..${T}`);
            if (lengths[b] !== T) full = false;
          }
          if (full) lengths = undefined;
        }
        const h0 = stateInput(ins[5], B, "initial_h");
        const c0 = lstm ? stateInput(ins[6], B, "initial_c") : undefined;
        if (layout === 0) {
          if (tbdh) yShape[0] = T, yShape[1] = B, yShape[2] = D, yShape[3] = H;
          else yShape[0] = T, yShape[1] = D, yShape[2] = B, yShape[3] = H;
          hShape[0] = D, hShape[1] = B, hShape[2] = H;
        } else {
          yShape[0] = B, yShape[1] = T, yShape[2] = D, yShape[3] = H;
          hShape[0] = B, hShape[1] = D, hShape[2] = H;
        }
        // Y is computed even when the graph does not read it (the step path writes into it).
        yAll = ensure(yAll, "float32", yShape);
        const Y = yAll;
        const Yh = ensure(outs[1], "float32", hShape);
        const Yc = lstm ? ensure(outs[2], "float32", hShape) : undefined;
        outs[0] = ctx.wants(0) ? Y : undefined;
        outs[1] = Yh;
        outs[2] = Yc;
        const yh = Yh.data as Float32Array, yc = Yc?.data as Float32Array | undefined;

        // Short single-direction sequences (streaming chunks of a few frames) step by step: no
        // allocation, and cheaper than a whole-sequence call at these sizes.
        if (D === 1 && lengths === undefined && B > 0 && T <= STEP_LIMIT && (layout === 0 || B === 1)) {
          // One step: the state lives in Y_h / Y_c, the output goes straight into Y.
          if (stream === undefined || streamBatch !== B) {
            stream = model.initialState(B);
            streamBatch = B;
          }
          if (h0) yh.set(h0);
          else yh.fill(0);
          if (yc) {
            if (c0) yc.set(c0);
            else yc.fill(0);
          }
          hT.shape[1] = B;
          hT.data = yh;
          stream.h = hT;
          if (yc) {
            cT.shape[1] = B;
            cT.data = yc;
            stream.c = cT;
          }
          xt.shape[1] = B;
          const y = Y.data as Float32Array;
          if (rowsX.length < T) {
            rowsX = Array.from({ length: T }, () => new Float32Array(0));
            rowsY = Array.from({ length: T }, () => new Float32Array(0));
          }
          for (let k = 0; k < T; k++) {
            const t = reverse ? T - 1 - k : k;
            // Views on step t's rows, kept while the arrays stay the same.
            if (rowsX[t].buffer !== x.buffer || rowsX[t].byteOffset !== x.byteOffset + t * B * I * 4 || rowsX[t].length !== B * I) rowsX[t] = x.subarray(t * B * I, (t + 1) * B * I);
            if (rowsY[t].buffer !== y.buffer || rowsY[t].byteOffset !== y.byteOffset + t * B * H * 4 || rowsY[t].length !== B * H) rowsY[t] = y.subarray(t * B * H, (t + 1) * B * H);
            xt.data = rowsX[t];
            model.step(xt, stream, rowsY[t]);
          }
          return;
        }

        // Whole sequence: one Wasm call per direction, into the node's own arrays.
        runner ??= new SequenceRunner(model);
        const rows = D * B * H;
        if (stateH.length !== rows) {
          stateH = new Float32Array(rows);
          stateC = new Float32Array(lstm ? rows : 0);
          h0Buf = new Float32Array(rows);
          c0Buf = new Float32Array(rows);
        }
        let input = x;
        if (reverse) {
          if (flipped.length !== x.length) flipped = new Float32Array(x.length);
          flipTime(x, flipped, T, B, I, layout, lengths);
          input = flipped;
        }
        const n = T * B * D * H;
        if (seqY.length !== n) {
          seqY = new Float32Array(n);
          flippedY = new Float32Array(reverse ? n : 0);
        }
        try {
          runner.run(input, T, B, layout === 1, h0 ? toDBH(h0, h0Buf, layout, B, D, H) : undefined, c0 ? toDBH(c0, c0Buf, layout, B, D, H) : undefined, lengths, seqY, stateH, lstm ? stateC : undefined);
        } catch (e) {
          if (e instanceof RecurError) throw new RecurError(e.code, `${ctx.label}: ${e.message}`);
          throw e;
        }
        let output = seqY;
        if (reverse) {
          flipTime(output, flippedY, T, B, H, layout, lengths);
          output = flippedY;
          if (lengths) zeroPast(output, T, B, H, layout, lengths);
        }
        const y = Y.data as Float32Array;
        if (layout === 1 || D === 1 || tbdh) y.set(output);
        else for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) copyRow(output, ((t * B + b) * D + d) * H, y, ((t * D + d) * B + b) * H, H);
        fromDBH(stateH, yh, layout, B, D, H);
        if (yc) fromDBH(stateC, yc, layout, B, D, H);
      },
    };
  };
}

/** A state [B, D, H] (layout 1) as [D, B, H] in `buf`; layout 0 states already are. */
function toDBH(src: Float32Array, buf: Float32Array, layout: number, B: number, D: number, H: number): Float32Array {
  if (layout === 0) return src;
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) copyRow(src, (b * D + d) * H, buf, (d * B + b) * H, H);
  return buf;
}

function fromDBH(src: Float32Array, dst: Float32Array, layout: number, B: number, D: number, H: number): void {
  if (layout === 0) dst.set(src);
  else for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) copyRow(src, (d * B + b) * H, dst, (b * D + d) * H, H);
}

function copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, n: number): void {
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}

/** The cell options of a spec as `recur info` shows them ("" for PyTorch's cell). */
function cellNote(spec: RecurrentSpec): string {
  const parts: string[] = [];
  if (spec.activations) parts.push(`activations ${spec.activations.map((f) => f.name).join(", ")}`);
  if (spec.clip !== undefined) parts.push(`clip ${spec.clip}`);
  if (spec.inputForget) parts.push("input_forget");
  return parts.length ? ` (${parts.join("; ")})` : "";
}

/** Reverses each sequence in time within its length (rows past a length stay as they are). */
function flipTime(src: Float32Array, dst: Float32Array, T: number, B: number, F: number, layout: number, lengths: readonly number[] | undefined): void {
  for (let b = 0; b < B; b++) {
    const len = lengths ? lengths[b] : T;
    for (let t = 0; t < T; t++) {
      const from = t < len ? len - 1 - t : t;
      copyRow(src, layout === 0 ? (from * B + b) * F : (b * T + from) * F, dst, layout === 0 ? (t * B + b) * F : (b * T + t) * F, F);
    }
  }
}

function zeroPast(y: Float32Array, T: number, B: number, F: number, layout: number, lengths: readonly number[]): void {
  for (let b = 0; b < B; b++) {
    for (let t = lengths[b]; t < T; t++) {
      const at = layout === 0 ? (t * B + b) * F : (b * T + t) * F;
      y.fill(0, at, at + F);
    }
  }
}

export const recurrentOps: Record<string, OpFactory> = { LSTM: recurrent("LSTM"), GRU: recurrent("GRU"), RNN: recurrent("RNN") };
