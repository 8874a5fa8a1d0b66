/**
 * The streaming step of a recurrent model without allocation: the views of the step's workspace
 * regions are the model's cached ones (WorkspaceViews), and the states move between the caller's
 * arrays and the padded rows by index loops instead of subarray views.
 */
import type { Runtime } from "../runtime.js";
import type { Dims } from "./config.js";
import type { LayerPack } from "./params.js";
import { readPadded, runForward, writePadded, type Workspace, type WorkspaceViews } from "./workspace.js";

export class Stepper {
  constructor(
    private readonly rt: Runtime,
    private readonly d: Dims,
    private readonly packs: LayerPack[],
    private readonly views: WorkspaceViews,
  ) {}

  /**
   * One step of B rows: x [B * I] in, the states h [L, B, P] and c [L, B, H] (LSTM) advanced in
   * place, the last layer's h into out [B * P]. The workspace is the inference one for (1, B).
   */
  step(ws: Workspace, B: number, x: Float32Array, h: Float32Array, c: Float32Array | undefined, out: Float32Array): void {
    const d = this.d;
    const rows = d.L * d.D * B;
    const v = this.views.of(this.rt, d, ws);
    v.x.set(x);
    writePadded(v.h, h, rows, d.P, d.Ps);
    if (c !== undefined) writePadded(v.c, c, rows, d.H, d.Hp);
    runForward(this.rt, d, this.packs, ws, false, v.desc);
    out.set(v.last);
    readPadded(v.h, rows, d.P, d.Ps, h);
    if (c !== undefined) readPadded(v.c, rows, d.H, d.Hp, c);
  }
}
