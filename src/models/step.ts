/**
 * The streaming step of a recurrent model without allocation: the views of the step's workspace
 * regions (input row, padded states, descriptor, output rows) are made once and kept while the
 * workspace and the memory's buffer stay the same (a memory grow detaches the buffer: the views
 * are then made again), and the states move between the caller's arrays and the padded rows by
 * index loops instead of subarray views.
 */
import type { Runtime } from "../runtime.js";
import type { Dims } from "./config.js";
import { Field } from "./descriptor.js";
import type { LayerPack } from "./params.js";
import { layerOut, runForward, type Workspace } from "./workspace.js";

export class Stepper {
  private buffer: ArrayBufferLike | undefined;
  private ws: Workspace | undefined;
  private x: Float32Array = new Float32Array(0);
  private h: Float32Array = new Float32Array(0);
  private c: Float32Array = new Float32Array(0);
  private out: Float32Array = new Float32Array(0);
  private desc: Int32Array = new Int32Array(0);

  constructor(
    private readonly rt: Runtime,
    private readonly d: Dims,
    private readonly packs: LayerPack[],
  ) {}

  /**
   * One step of B rows: x [B * I] in, the states h [L, B, P] and c [L, B, H] (LSTM) advanced in
   * place, the last layer's h into out [B * P]. The workspace is the inference one for (1, B).
   */
  step(ws: Workspace, B: number, x: Float32Array, h: Float32Array, c: Float32Array | undefined, out: Float32Array): void {
    const d = this.d;
    const rows = d.L * d.D * B;
    if (ws !== this.ws || this.rt.heap.memory.buffer !== this.buffer) {
      const heap = this.rt.heap;
      this.x = heap.f32(ws.x, B * d.inputSize);
      this.h = heap.f32(ws.h, rows * d.Ps);
      this.c = heap.f32(ws.c, rows * d.Hp);
      this.out = heap.f32(layerOut(ws, d.L - 1), B * d.width);
      this.desc = heap.i32(ws.desc, Field.Count);
      this.ws = ws;
      this.buffer = heap.memory.buffer;
    }
    this.x.set(x);
    pad(h, this.h, rows, d.P, d.Ps);
    if (c !== undefined) pad(c, this.c, rows, d.H, d.Hp);
    runForward(this.rt, d, this.packs, ws, false, this.desc);
    out.set(this.out);
    unpad(this.h, h, rows, d.P, d.Ps);
    if (c !== undefined) unpad(this.c, c, rows, d.H, d.Hp);
  }
}

// rows of n values into rows of `stride` (the padding zeroed), and back.
function pad(src: Float32Array, dst: Float32Array, rows: number, n: number, stride: number): void {
  if (n === stride) {
    dst.set(src);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = r * n, t = r * stride;
    for (let j = 0; j < n; j++) dst[t + j] = src[s + j];
    for (let j = n; j < stride; j++) dst[t + j] = 0;
  }
}

function unpad(src: Float32Array, dst: Float32Array, rows: number, n: number, stride: number): void {
  if (n === stride) {
    dst.set(src);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = r * stride, t = r * n;
    for (let j = 0; j < n; j++) dst[t + j] = src[s + j];
  }
}
