/**
 * Backpropagation through time for RNN, LSTM and GRU: the gradient block (gradients in the layout
 * of the parameters, followed by the weights packed for the backward's transposed products) and
 * the backward driver, one `recurrentBackward` Wasm call per layer and direction over the training
 * workspace the forward driver (workspace.ts) filled.
 */
import { carve, type WasmBlocks } from "../memory.js";
import type { Runtime } from "../runtime.js";
import { layerInputSize, paramSuffix, type Dims } from "./config.js";
import { Field, Kind } from "./descriptor.js";
import type { RecurrentParams } from "./params.js";
import { describeForward, type Workspace } from "./workspace.js";

/** One layer-direction's weights packed for dh W_hh, dn W_hn, dh W_hr and dX = dG W_ih. */
interface BackwardPack {
  whh: number;
  whn: number;
  whr: number;
  wih: number;
  /** MRNN: W_hf for df = da W_hf and W_hx for dX += da W_hx (whh holds W_fh, wih W_fx). */
  whf: number;
  whx: number;
}

export class Bptt {
  /** Address of the gradients (same layout as the parameters). */
  readonly grads: number;
  private readonly rows: BackwardPack[] = [];

  constructor(
    private readonly rt: Runtime,
    private readonly d: Dims,
    private readonly params: RecurrentParams,
    blocks: WasmBlocks,
  ) {
    const k = rt.kernels;
    const { G, H, Hp, P, F, Fp } = d;
    const before = d.kind === Kind.GruResetBefore;
    const mrnn = d.kind === Kind.Mrnn;
    const sizes: Record<string, number> = { grads: params.bytes };
    for (let l = 0; l < d.L; l++) {
      for (let dir = 0; dir < d.D; dir++) {
        const key = `${l}_${dir}`;
        const I = layerInputSize(d, l);
        sizes[`whh${key}`] = k.packedSize(mrnn ? Fp : (before ? 2 : G) * Hp, P) * 4;
        sizes[`whn${key}`] = before ? k.packedSize(Hp, H) * 4 : 0;
        sizes[`whr${key}`] = d.projSize > 0 ? k.packedSize(P, H) * 4 : 0;
        sizes[`wih${key}`] = k.packedSize(mrnn ? Fp : G * Hp, I) * 4;
        sizes[`whf${key}`] = mrnn ? k.packedSize(Hp, F) * 4 : 0;
        sizes[`whx${key}`] = mrnn ? k.packedSize(Hp, I) * 4 : 0;
      }
    }
    const { offsets, total } = carve(sizes);
    this.grads = blocks.ensure("grads", total);
    for (let l = 0; l < d.L; l++) {
      for (let dir = 0; dir < d.D; dir++) {
        const addr = (name: string): number => (sizes[`${name}${l}_${dir}`] > 0 ? this.grads + offsets[`${name}${l}_${dir}`] : 0);
        this.rows.push({ whh: addr("whh"), whn: addr("whn"), whr: addr("whr"), wih: addr("wih"), whf: addr("whf"), whx: addr("whx") });
      }
    }
    this.zeroGrad();
    this.repack();
  }

  zeroGrad(): void {
    this.rt.heap.f32(this.grads, this.params.bytes / 4).fill(0);
  }

  /** Rebuilds the backward's packed weights from the current parameters. */
  repack(): void {
    const k = this.rt.kernels;
    const { G, H, P } = this.d;
    const before = this.d.kind === Kind.GruResetBefore;
    for (let l = 0; l < this.d.L; l++) {
      for (let dir = 0; dir < this.d.D; dir++) {
        const sfx = paramSuffix(l, dir);
        const r = this.rows[l * this.d.D + dir];
        const I = layerInputSize(this.d, l);
        if (this.d.kind === Kind.Mrnn) {
          const F = this.d.F;
          k.packGateRows(this.params.at(`weight_fh${sfx}`), H, H, F, 1, r.whh);
          k.packGateRows(this.params.at(`weight_fx${sfx}`), I, I, F, 1, r.wih);
          k.packGateRows(this.params.at(`weight_hf${sfx}`), F, F, H, 1, r.whf);
          k.packGateRows(this.params.at(`weight_hx${sfx}`), I, I, H, 1, r.whx);
          continue;
        }
        const whh = this.params.at(`weight_hh${sfx}`);
        k.packGateRows(whh, P, P, H, before ? 2 : G, r.whh);
        if (before) k.packGateRows(whh + 2 * H * P * 4, P, H, H, 1, r.whn);
        if (r.whr) k.packB(this.params.at(`weight_hr${sfx}`), H, P, H, 0, r.whr);
        k.packGateRows(this.params.at(`weight_ih${sfx}`), I, I, H, G, r.wih);
      }
    }
  }

  /**
   * The backward of the forward that filled `ws`, given the upstream gradients already in it
   * (the last layer's output gradient in ws.dA when `hasDOut`, dh_N and dc_N in ws.dh, ws.dc).
   * Adds the parameter gradients to the gradient block and leaves dh_0, dc_0 in ws.dh, ws.dc;
   * returns the address of the input gradient rows [T*B][I], or 0 without `inputGrad` (which
   * saves the first layer's largest product). With `hGradNorms` the kernels also write
   * ‖∂L/∂h_t‖ of every step and row to ws.gnorm ([L*D][T*B]), and an LSTM's ‖∂L/∂c_t‖ to ws.gnormc.
   */
  backward(ws: Workspace, hasLengths: boolean, hasDOut: boolean, inputGrad: boolean, hGradNorms = false): number {
    const { rt, d } = this;
    const { T, B } = ws;
    const desc = rt.heap.i32(ws.desc, Field.Count);
    let dUp = ws.dA;
    let dDown = ws.dB;
    for (let l = d.L - 1; l >= 0; l--) {
      const I = layerInputSize(d, l);
      const dx = l > 0 || inputGrad;
      if (dx) rt.heap.f32(dDown, T * B * I).fill(0);
      for (let dir = 0; dir < d.D; dir++) {
        describeForward(desc, d, this.params.packs[l * d.D + dir], ws, l, dir, hasLengths);
        this.describeBackward(desc, ws, l, dir);
        desc[Field.DOut] = l === d.L - 1 && !hasDOut ? 0 : dUp + dir * d.P * 4;
        desc[Field.DX] = dx ? dDown : 0;
        desc[Field.LdDx] = I;
        desc[Field.HGradNorms] = hGradNorms ? ws.gnorm + (l * d.D + dir) * T * B * 4 : 0;
        desc[Field.CGradNorms] = hGradNorms && d.kind === Kind.Lstm ? ws.gnormc + (l * d.D + dir) * T * B * 4 : 0;
        rt.kernels.recurrentBackward(ws.desc);
      }
      [dUp, dDown] = [dDown, dUp];
    }
    return inputGrad ? dUp : 0;
  }

  // The backward's fields of the descriptor for layer l, direction dir (but DOut, DX, LdDx).
  private describeBackward(desc: Int32Array, ws: Workspace, l: number, dir: number): void {
    const d = this.d;
    const ld = l * d.D + dir;
    const B = ws.B;
    const rows = this.rows[ld];
    const sfx = paramSuffix(l, dir);
    const grad = (name: string): number => {
      const offset = this.params.offset(name + sfx);
      return offset < 0 ? 0 : this.grads + offset;
    };
    desc[Field.DH] = ws.dh + ld * B * d.Ps * 4;
    desc[Field.DC] = ws.dc + ld * B * d.Hp * 4;
    desc[Field.H0] = ws.h0 + ld * B * d.Ps * 4;
    desc[Field.C0] = ws.c0 + ld * B * d.Hp * 4;
    desc[Field.DGh] = d.kind === Kind.Gru || d.kind === Kind.GruResetBefore ? ws.dgh : 0;
    desc[Field.WhhRows] = rows.whh;
    desc[Field.WhnRows] = rows.whn;
    desc[Field.WhrRows] = rows.whr;
    desc[Field.WihRows] = rows.wih;
    const mrnn = d.kind === Kind.Mrnn;
    desc[Field.GWih] = grad(mrnn ? "weight_fx" : "weight_ih");
    desc[Field.GWhh] = grad(mrnn ? "weight_fh" : "weight_hh");
    desc[Field.GBih] = grad(mrnn ? "bias_h" : "bias_ih");
    desc[Field.WhfRows] = rows.whf;
    desc[Field.WhxRows] = rows.whx;
    desc[Field.GWhf] = grad("weight_hf");
    desc[Field.GWhx] = grad("weight_hx");
    desc[Field.GBhh] = grad("bias_hh");
    desc[Field.GWhr] = grad("weight_hr");
    desc[Field.GPeep] = grad("weight_peephole");
    desc[Field.HPrev] = ws.hprev;
    desc[Field.Pack] = ws.pack;
    desc[Field.TmpW] = ws.tmpw;
    desc[Field.DHTot] = d.projSize > 0 ? ws.dhtot : 0;
    desc[Field.Step] = ws.step;
  }
}
