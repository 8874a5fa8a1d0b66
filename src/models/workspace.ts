/**
 * The workspace of a recurrent model's calls and the one forward driver that inference and
 * training share: one `recurrentForward` Wasm call per layer and direction
 * (assembly/cells/recurrent.ts), described in the descriptor block (descriptor.ts).
 *
 * One block holds every region of a call, sized for the largest (T, B) so far. Inference keeps
 * two output buffers (layer l writes one while reading the other) and one gate buffer; training
 * keeps every layer's outputs, gates and caches for the backward, plus the backward's regions.
 */
import { align64, carve, type WasmBlocks } from "../memory.js";
import type { Runtime } from "../runtime.js";
import { layerInputSize, type Dims } from "./config.js";
import { Field, Kind, DESC_BYTES, round8 } from "./descriptor.js";
import type { LayerPack } from "./params.js";

/** Byte addresses of a call's regions (0 or unused where the call needs none). */
export interface Workspace {
  /** The block holding every region. */
  base: number;
  training: boolean;
  T: number;
  B: number;
  desc: number;
  lengths: number;
  /** Input rows [T*B][I], time-major. */
  x: number;
  /** Output rows of the layers: layer l at outs + slot(l) * outStride. */
  outs: number;
  outStride: number;
  /** Gates [T*B][G*Hp] (training: one region per layer and direction). */
  gates: number;
  cseq: number;
  aux: number;
  rec: number;
  scratch: number;
  /** Running states [L*D][B][Ps] and [L*D][B][Hp]. */
  h: number;
  c: number;
  // Training only: the initial states as the forward started, and the backward's regions.
  h0: number;
  c0: number;
  dh: number;
  dc: number;
  dgh: number;
  dA: number;
  dB: number;
  hprev: number;
  pack: number;
  tmpw: number;
  dhtot: number;
  step: number;
  /** ‖∂L/∂h_t‖ of every layer-direction, step and row, [L*D][T*B] (when the backward is asked to keep them). */
  gnorm: number;
  /** LSTM: ‖∂L/∂c_t‖ likewise. */
  gnormc: number;
  /** MRNN: W_fh h and f of every step, per layer and direction (training). */
  fhseq: number;
  fseq: number;
}

/** Does a layer keep a per-step cache in `aux` for the backward (GRU's W_hn h, r, or LSTM's m)? */
function hasAux(d: Dims): boolean {
  return d.kind === Kind.Gru || d.kind === Kind.GruResetBefore || d.projSize > 0;
}

/**
 * The workspace of a (T, B) call, in `blocks`' slot `slot` (reallocated when too small).
 * `previous`, the last layout of that slot, is returned as it is when it still fits: streaming
 * steps then compute no layout at all.
 */
export function reserveWorkspace(blocks: WasmBlocks, slot: string, d: Dims, T: number, B: number, training: boolean, previous?: Workspace): Workspace {
  // Apart from the layout below: its closures would make every call allocate their context.
  if (previous !== undefined && previous.T === T && previous.B === B && previous.training === training && blocks.get(slot) === previous.base) return previous;
  return layoutWorkspace(blocks, slot, d, T, B, training);
}

function layoutWorkspace(blocks: WasmBlocks, slot: string, d: Dims, T: number, B: number, training: boolean): Workspace {
  const { Hp, Ps, P, width, gw, Fp } = d;
  const I = d.inputSize;
  const LD = d.L * d.D;
  const TB = T * B;
  const gru = d.kind === Kind.Gru || d.kind === Kind.GruResetBefore;
  const outStride = align64(TB * width * 4);
  const train = (bytes: number): number => (training ? bytes : 0);
  const widest = Math.max(I, width, P, Hp, Fp);
  const inWidest = d.L > 1 ? Math.max(I, width) : I; // the widest layer input
  const sizes = {
    desc: DESC_BYTES,
    lengths: B * 4,
    x: TB * I * 4,
    outs: (training ? d.L : Math.min(d.L, 2)) * outStride,
    gates: (training ? LD : 1) * TB * gw * 4,
    cseq: train(d.kind === Kind.Lstm ? LD * TB * Hp * 4 : 0),
    aux: train(hasAux(d) ? LD * TB * Hp * 4 : 0),
    // Batch 1: the striped GEMV writes whole stripes of 32 columns (assembly/gemm/gemv.ts).
    rec: Math.max(B * Math.max(gw, Ps), Math.ceil(gw / 32) * 32) * 4,
    scratch: B * Hp * 4,
    h: LD * B * Ps * 4,
    c: LD * B * Hp * 4,
    h0: train(LD * B * Ps * 4),
    c0: train(LD * B * Hp * 4),
    dh: train(LD * B * Ps * 4),
    dc: train(LD * B * Hp * 4),
    dgh: train(gru ? TB * gw * 4 : 0),
    dA: train(TB * Math.max(width, I) * 4),
    dB: train(TB * Math.max(width, I) * 4),
    hprev: train(TB * Ps * 4),
    // The weight gradients of RNN/LSTM layers are one product over [X | H_prev] (assembly/cells/recurrent.ts).
    pack: train((TB + 1) * Math.max(round8(widest), round8(inWidest) + Ps) * 4),
    tmpw: train(gw * Math.max(widest, round8(inWidest) + Ps, 1) * 4),
    dhtot: train(d.projSize > 0 ? TB * Ps * 4 : 0),
    step: train((B * Ps + 2 * B * Math.max(Hp, Fp) + 3 * Hp) * 4),
    gnorm: train(LD * TB * 4),
    gnormc: train(d.kind === Kind.Lstm ? LD * TB * 4 : 0),
    fhseq: train(LD * TB * Fp * 4),
    fseq: train(LD * TB * Fp * 4),
  };
  const { offsets, total } = carve(sizes);
  const base = blocks.ensure(slot, total); // may throw (out of memory): the old block stays valid
  const ws = { base, training, T, B, outStride } as Workspace;
  for (const key of Object.keys(offsets) as (keyof typeof sizes)[]) ws[key] = base + offsets[key];
  return ws;
}

/** Address of layer l's output rows [T*B][D*P]. */
export function layerOut(ws: Workspace, l: number): number {
  return ws.outs + (ws.training ? l : l % 2) * ws.outStride;
}

/** Fills the forward fields of the descriptor for layer l, direction dir. */
export function describeForward(desc: Int32Array, d: Dims, pack: LayerPack, ws: Workspace, l: number, dir: number, hasLengths: boolean): void {
  const { T, B } = ws;
  const ld = l * d.D + dir;
  const TB = T * B;
  desc[Field.Kind] = d.kind;
  desc[Field.T] = T;
  desc[Field.B] = B;
  desc[Field.I] = layerInputSize(d, l);
  desc[Field.H] = d.H;
  desc[Field.P] = d.P;
  desc[Field.X] = l === 0 ? ws.x : layerOut(ws, l - 1);
  desc[Field.Ldx] = layerInputSize(d, l);
  desc[Field.Wih] = pack.wih;
  desc[Field.Whh] = pack.whh;
  desc[Field.Whn] = d.kind === Kind.Mrnn ? 0 : pack.whn;
  desc[Field.Whr] = pack.whr;
  desc[Field.Peep] = pack.peep;
  desc[Field.Cell] = pack.cell;
  desc[Field.WhhStripes] = pack.stripes;
  desc[Field.HState] = ws.h + ld * B * d.Ps * 4;
  desc[Field.CState] = ws.c + ld * B * d.Hp * 4;
  desc[Field.Out] = layerOut(ws, l) + dir * d.P * 4;
  desc[Field.Ldo] = d.width;
  desc[Field.Lengths] = hasLengths ? ws.lengths : 0;
  desc[Field.Reverse] = dir;
  desc[Field.Gates] = ws.gates + (ws.training ? ld * TB * d.gw * 4 : 0);
  desc[Field.Rec] = ws.rec;
  // Per-step caches for the backward (training only; no closure here: this runs on every step).
  desc[Field.CSeq] = ws.training && d.kind === Kind.Lstm ? ws.cseq + ld * TB * d.Hp * 4 : 0;
  desc[Field.Aux] = ws.training && hasAux(d) ? ws.aux + ld * TB * d.Hp * 4 : 0;
  desc[Field.Scratch] = ws.scratch;
  desc[Field.F] = d.F;
  desc[Field.Whf] = d.kind === Kind.Mrnn ? pack.whn : 0;
  desc[Field.FhSeq] = ws.training && d.F > 0 ? ws.fhseq + ld * TB * d.Fp * 4 : 0;
  desc[Field.FSeq] = ws.training && d.F > 0 ? ws.fseq + ld * TB * d.Fp * 4 : 0;
}

/**
 * Runs every layer and direction over the input rows and states already in `ws`; returns the
 * address of the last layer's output rows.
 */
export function runForward(rt: Runtime, d: Dims, packs: LayerPack[], ws: Workspace, hasLengths: boolean, desc = rt.heap.i32(ws.desc, Field.Count)): number {
  for (let l = 0; l < d.L; l++) {
    for (let dir = 0; dir < d.D; dir++) {
      describeForward(desc, d, packs[l * d.D + dir], ws, l, dir, hasLengths);
      rt.kernels.recurrentForward(ws.desc);
    }
  }
  return layerOut(ws, d.L - 1);
}

/**
 * rows x n values of `src` (or zeros) into rows of `stride` floats of `dst`, the padding zeroed:
 * states in and out of the kernels' padded rows. Index loops rather than a subarray per row: a
 * batch-1 call would allocate a view object per row.
 */
export function writePadded(dst: Float32Array, src: Float32Array | undefined, rows: number, n: number, stride: number): void {
  if (src === undefined) {
    dst.fill(0);
  } else if (n === stride) {
    dst.set(src);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = r * n, t = r * stride;
      for (let j = 0; j < n; j++) dst[t + j] = src[s + j];
      for (let j = n; j < stride; j++) dst[t + j] = 0;
    }
  }
}

/** The first n floats of each of `rows` padded rows of `src` (stride floats apart), packed into `dst`. */
export function readPadded(src: Float32Array, rows: number, n: number, stride: number, dst: Float32Array = new Float32Array(rows * n)): Float32Array {
  if (n === stride) {
    dst.set(src);
    return dst;
  }
  for (let r = 0; r < rows; r++) {
    const s = r * stride, t = r * n;
    for (let j = 0; j < n; j++) dst[t + j] = src[s + j];
  }
  return dst;
}

/**
 * Views of a workspace's regions (input rows, padded states, descriptor, the last layer's output
 * rows), made once and kept while the workspace and the memory's buffer stay the same (a memory
 * grow detaches the buffer: they are then made again). Making a typed-array view costs a few
 * hundred nanoseconds in Node and several times that in current Chromium, per view and call.
 */
export class WorkspaceViews {
  private ws: Workspace | undefined;
  private buffer: ArrayBufferLike | undefined;
  x: Float32Array = new Float32Array(0);
  h: Float32Array = new Float32Array(0);
  c: Float32Array = new Float32Array(0);
  last: Float32Array = new Float32Array(0);
  desc: Int32Array = new Int32Array(0);

  of(rt: Runtime, d: Dims, ws: Workspace): this {
    const heap = rt.heap;
    if (ws === this.ws && heap.memory.buffer === this.buffer) return this;
    const TB = ws.T * ws.B;
    const rows = d.L * d.D * ws.B;
    this.x = heap.f32(ws.x, TB * d.inputSize);
    this.h = heap.f32(ws.h, rows * d.Ps);
    this.c = heap.f32(ws.c, rows * d.Hp);
    this.last = heap.f32(layerOut(ws, d.L - 1), TB * d.width);
    this.desc = heap.i32(ws.desc, Field.Count);
    this.ws = ws;
    this.buffer = heap.memory.buffer;
    return this;
  }
}

/**
 * Copies a [A][C][n] sequence into `dst`, as [C][A][n] when `transpose` (batch-first to
 * time-major, or back), else as it is: the one copy between a tensor and Wasm memory.
 */
export function copySequence(src: Float32Array, dst: Float32Array, A: number, C: number, n: number, transpose: boolean): void {
  if (!transpose) {
    dst.set(src);
    return;
  }
  for (let a = 0; a < A; a++) {
    for (let c = 0; c < C; c++) dst.set(src.subarray((a * C + c) * n, (a * C + c + 1) * n), (c * A + a) * n);
  }
}
