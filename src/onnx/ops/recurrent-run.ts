// A whole-sequence forward of a recur recurrent model into arrays the ONNX node owns. It drives
// the same kernels as RecurrentModel.forward (one `recurrentForward` Wasm call per layer and
// direction, runForward in models/workspace.ts), but keeps its views on Wasm memory between
// calls (remade only when memory grows or the workspace moves) and writes the results into the
// caller's arrays: forward() returns new tensors, which a warm ONNX run must not allocate. The
// node has checked every shape already; the model's own checks are not repeated.
import type { RecurrentModel } from "../../models/recurrent.js";
import type { Dims } from "../../models/config.js";
import { Field } from "../../models/descriptor.js";
import { layerOut, runForward, type Workspace } from "../../models/workspace.js";
import type { LayerPack } from "../../models/params.js";
import type { Runtime } from "../../runtime.js";

// The model's internals this runner shares with forward() (read by element access: they are
// private to the model class, which has no other use for a second driver).
interface Internals {
  d: Dims;
  rt: Runtime;
  params: { packs: LayerPack[] };
  reserve(T: number, B: number, training: boolean): Workspace;
}

const EMPTY_F32 = new Float32Array(0);
const EMPTY_I32 = new Int32Array(0);

export class SequenceRunner {
  private readonly m: Internals;
  private ws: Workspace | undefined;
  private buffer: ArrayBufferLike | undefined;
  private xv: Float32Array = EMPTY_F32;
  private hv: Float32Array = EMPTY_F32;
  private cv: Float32Array = EMPTY_F32;
  private ov: Float32Array = EMPTY_F32;
  private lv: Int32Array = EMPTY_I32;
  private desc: Int32Array = EMPTY_I32;

  constructor(model: RecurrentModel) {
    this.m = model as unknown as Internals;
  }

  /**
   * x [T, B, I] (or [B, T, I] batch-first); h0 / c0 [D, B, H] or none (zeros); lengths per batch
   * row or none. Writes y as [T, B, D*H] (or [B, T, D*H]) and hN / cN as [D, B, H].
   */
  run(x: Float32Array, T: number, B: number, batchFirst: boolean, h0: Float32Array | undefined, c0: Float32Array | undefined, lengths: readonly number[] | undefined, y: Float32Array, hN: Float32Array, cN: Float32Array | undefined): void {
    const m = this.m;
    const d = m.d;
    const ws = m.reserve(T, B, false);
    this.views(ws, T, B);
    const I = d.inputSize;
    if (batchFirst) transposeRows(x, this.xv, B, T, I);
    else this.xv.set(x);
    if (lengths) for (let b = 0; b < B; b++) this.lv[b] = lengths[b];
    const rows = d.L * d.D * B;
    writeRows(this.hv, h0, rows, d.P, d.Ps);
    writeRows(this.cv, c0, rows, d.H, d.Hp);
    runForward(m.rt, d, m.params.packs, ws, lengths !== undefined, this.desc);
    // runForward's kernels allocate nothing in Wasm memory: the views are still valid.
    if (batchFirst) transposeRows(this.ov, y, T, B, d.width);
    else y.set(this.ov);
    readRows(this.hv, hN, rows, d.P, d.Ps);
    if (cN) readRows(this.cv, cN, rows, d.H, d.Hp);
  }

  private views(ws: Workspace, T: number, B: number): void {
    const heap = this.m.rt.heap;
    if (this.ws === ws && this.buffer === heap.memory.buffer) return;
    const d = this.m.d;
    const rows = d.L * d.D * B;
    this.ws = ws;
    this.buffer = heap.memory.buffer;
    this.xv = heap.f32(ws.x, T * B * d.inputSize);
    this.hv = heap.f32(ws.h, rows * d.Ps);
    this.cv = d.Hp > 0 && ws.c !== 0 ? heap.f32(ws.c, rows * d.Hp) : EMPTY_F32;
    this.ov = heap.f32(layerOut(ws, d.L - 1), T * B * d.width);
    this.lv = heap.i32(ws.lengths, B);
    this.desc = heap.i32(ws.desc, Field.Count);
  }
}

/** dst [C][A][n] = src [A][C][n]. */
function transposeRows(src: Float32Array, dst: Float32Array, A: number, C: number, n: number): void {
  for (let a = 0; a < A; a++) for (let c = 0; c < C; c++) {
    const s = (a * C + c) * n, t = (c * A + a) * n;
    for (let i = 0; i < n; i++) dst[t + i] = src[s + i];
  }
}

/** rows of n values (or zeros) into rows of `stride` floats, the padding zeroed. */
function writeRows(dst: Float32Array, src: Float32Array | undefined, rows: number, n: number, stride: number): void {
  dst.fill(0);
  if (src) for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) dst[r * stride + i] = src[r * n + i];
}

function readRows(src: Float32Array, dst: Float32Array, rows: number, n: number, stride: number): void {
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) dst[r * n + i] = src[r * stride + i];
}
