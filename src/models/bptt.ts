import { fail } from "../errors.js";
import type { Runtime } from "../runtime.js";
import { checkTensor, type Tensor } from "../tensor.js";
import { carve } from "../memory.js";
import { Field, Kind, gateCount, round8 } from "./descriptor.js";

/** What the trainer needs to know about a recurrent model's parameter block. */
export interface ModelLayout {
  rt: Runtime;
  kind: Kind;
  inputSize: number;
  hiddenSize: number;
  outputSize: number; // H_out
  numLayers: number;
  directions: number;
  bias: boolean;
  projSize: number;
  peepholes: boolean;
  paramBytes: number;
  /** Byte address of parameter `name` (0 when the model has none of that name). */
  paramAt(name: string): number;
  /** Byte offset of parameter `name` inside the parameter area. */
  paramOffset(name: string): number;
  /** Packed forward weights of layer l, direction d. */
  pack(l: number, d: number): { wih: number; whh: number; whn: number; whr: number; peep: number };
}

interface Tape {
  T: number;
  B: number;
  hasLengths: boolean;
  ws: Record<string, number>;
}

const suffix = (l: number, d: number): string => `_l${l}${d === 1 ? "_reverse" : ""}`;

/**
 * Backpropagation through time for RNN/LSTM/GRU. Owns the gradient block (gradients in the same
 * layout as the parameters, followed by the weights packed for the transposed products of the
 * backward) and the training workspace (every layer's outputs and gate caches), and drives one
 * forward and one backward Wasm call per layer and direction.
 */
export class Bptt {
  private readonly m: ModelLayout;
  readonly gradBlock: number;
  private readonly rows: { whh: number; whn: number; whr: number; wih: number }[] = [];
  private workspace = 0;
  private workspaceBytes = 0;
  private tape: Tape | undefined;

  constructor(layout: ModelLayout) {
    this.m = layout;
    const k = layout.rt.kernels;
    const { hiddenSize: H, outputSize: P } = layout;
    const Hp = round8(H);
    const G = gateCount(layout.kind);
    const before = layout.kind === Kind.GruResetBefore;
    const sizes: Record<string, number> = { grads: layout.paramBytes };
    for (let l = 0; l < layout.numLayers; l++) {
      for (let d = 0; d < layout.directions; d++) {
        const I = l === 0 ? layout.inputSize : layout.directions * P;
        sizes[`whh${l}${d}`] = k.packedSize((before ? 2 : G) * Hp, P) * 4;
        sizes[`whn${l}${d}`] = before ? k.packedSize(Hp, H) * 4 : 0;
        sizes[`whr${l}${d}`] = layout.projSize > 0 ? k.packedSize(P, H) * 4 : 0;
        sizes[`wih${l}${d}`] = k.packedSize(G * Hp, I) * 4;
      }
    }
    const { offsets, total } = carve(sizes);
    this.gradBlock = layout.rt.heap.alloc(total);
    for (let l = 0; l < layout.numLayers; l++) {
      for (let d = 0; d < layout.directions; d++) {
        const addr = (key: string): number => (sizes[`${key}${l}${d}`] > 0 ? this.gradBlock + offsets[`${key}${l}${d}`] : 0);
        this.rows.push({ whh: addr("whh"), whn: addr("whn"), whr: addr("whr"), wih: addr("wih") });
      }
    }
    this.zeroGrad();
    this.repack();
  }

  get grads(): number {
    return this.gradBlock;
  }

  zeroGrad(): void {
    this.m.rt.heap.f32(this.gradBlock, this.m.paramBytes / 4).fill(0);
  }

  /** Rebuilds the backward's packed weights from the current parameters. */
  repack(): void {
    const k = this.m.rt.kernels;
    const { hiddenSize: H, outputSize: P } = this.m;
    const G = gateCount(this.m.kind);
    const before = this.m.kind === Kind.GruResetBefore;
    for (let l = 0; l < this.m.numLayers; l++) {
      for (let d = 0; d < this.m.directions; d++) {
        const sfx = suffix(l, d);
        const r = this.rows[l * this.m.directions + d];
        const I = l === 0 ? this.m.inputSize : this.m.directions * P;
        const whh = this.m.paramAt(`weight_hh${sfx}`);
        k.packGateRows(whh, P, P, H, before ? 2 : G, r.whh);
        if (before) k.packGateRows(whh + 2 * H * P * 4, P, H, H, 1, r.whn);
        if (r.whr) k.packB(this.m.paramAt(`weight_hr${sfx}`), H, P, H, 0, r.whr);
        k.packGateRows(this.m.paramAt(`weight_ih${sfx}`), I, I, H, G, r.wih);
      }
    }
  }

  dispose(): void {
    const heap = this.m.rt.heap;
    heap.release(this.gradBlock);
    if (this.workspace) heap.release(this.workspace);
    this.workspace = 0;
    this.tape = undefined;
  }

  /**
   * Forward over time-major input rows already validated by the model; keeps every cache the
   * backward needs. `x` is [T*B][I] time-major, states are [L*D][B][n] flat or undefined.
   */
  forward(x: Float32Array, T: number, B: number, h0?: Float32Array, c0?: Float32Array, lengths?: Int32Array, wantOutput = true): { output?: Float32Array; hN: Float32Array; cN?: Float32Array } {
    const m = this.m;
    const ws = this.reserve(T, B);
    const heap = m.rt.heap;
    const { hiddenSize: H, outputSize: P, directions: D, numLayers: L } = m;
    const Hp = round8(H), Ps = round8(P);
    const LD = L * D;
    heap.f32(ws.x, T * B * m.inputSize).set(x);
    if (lengths) heap.i32(ws.lengths, B).set(lengths);
    // Initial states, padded, kept for the backward (the running state is separate).
    const h0s = heap.f32(ws.h0, LD * B * Ps);
    const c0s = heap.f32(ws.c0, LD * B * Hp);
    h0s.fill(0);
    c0s.fill(0);
    for (let r = 0; r < LD * B; r++) {
      if (h0) h0s.set(h0.subarray(r * P, r * P + P), r * Ps);
      if (c0) c0s.set(c0.subarray(r * H, r * H + H), r * Hp);
    }
    heap.f32(ws.h, LD * B * Ps).set(heap.f32(ws.h0, LD * B * Ps));
    heap.f32(ws.c, LD * B * Hp).set(heap.f32(ws.c0, LD * B * Hp));

    for (let l = 0; l < L; l++) {
      for (let d = 0; d < D; d++) {
        this.describe(ws, l, d, T, B, lengths !== undefined);
        m.rt.kernels.recurrentForward(ws.desc);
      }
    }
    this.tape = { T, B, hasLengths: lengths !== undefined, ws };
    const width = D * P;
    const output = wantOutput ? heap.f32(this.layerOut(ws, L - 1, T, B), T * B * width).slice() : undefined;
    const hs = heap.f32(ws.h, LD * B * Ps);
    const hN = new Float32Array(LD * B * P);
    for (let r = 0; r < LD * B; r++) hN.set(hs.subarray(r * Ps, r * Ps + P), r * P);
    let cN: Float32Array | undefined;
    if (m.kind === Kind.Lstm) {
      const cs = heap.f32(ws.c, LD * B * Hp);
      cN = new Float32Array(LD * B * H);
      for (let r = 0; r < LD * B; r++) cN.set(cs.subarray(r * Hp, r * Hp + H), r * H);
    }
    return { output, hN, cN };
  }

  /**
   * Backward of the last forward: accumulates parameter gradients and returns the gradients of
   * the input ([T*B][I] time-major), h0 and c0. dOut is [T*B][D*P] time-major.
   */
  backward(dOut: Float32Array | undefined, dhN?: Float32Array, dcN?: Float32Array, inputGrad = true): { dx?: Float32Array; dh0: Float32Array; dc0?: Float32Array } {
    const tape = this.tape;
    if (!tape) fail("E_STATE", "backward: no training forward to differentiate (call forwardTrain first)");
    const m = this.m;
    const heap = m.rt.heap;
    const { T, B, ws } = tape;
    const { hiddenSize: H, outputSize: P, directions: D, numLayers: L } = m;
    const Hp = round8(H), Ps = round8(P);
    const LD = L * D;
    const width = D * P;
    // Upstream gradient of the last layer's output (none: the kernel takes it as zeros).
    if (dOut) heap.f32(ws.dA, T * B * width).set(dOut);
    const dhs = heap.f32(ws.dh, LD * B * Ps);
    const dcs = heap.f32(ws.dc, LD * B * Hp);
    dhs.fill(0);
    dcs.fill(0);
    for (let r = 0; r < LD * B; r++) {
      if (dhN) dhs.set(dhN.subarray(r * P, r * P + P), r * Ps);
      if (dcN) dcs.set(dcN.subarray(r * H, r * H + H), r * Hp);
    }
    let dUp = ws.dA;
    let dDown = ws.dB;
    for (let l = L - 1; l >= 0; l--) {
      const I = l === 0 ? m.inputSize : width;
      // The input gradient of layer 0 is one more large product: skipped when unused.
      const dx = l > 0 || inputGrad;
      if (dx) heap.f32(dDown, T * B * I).fill(0);
      for (let d = 0; d < D; d++) {
        const desc = this.describe(ws, l, d, T, B, tape.hasLengths);
        desc[Field.DOut] = l === L - 1 && !dOut ? 0 : dUp + d * P * 4;
        desc[Field.DX] = dx ? dDown : 0;
        desc[Field.LdDx] = I;
        m.rt.kernels.recurrentBackward(ws.desc);
      }
      [dUp, dDown] = [dDown, dUp];
    }
    const dx = inputGrad ? heap.f32(dUp, T * B * m.inputSize).slice() : undefined;
    const dh0 = new Float32Array(LD * B * P);
    const dhAfter = heap.f32(ws.dh, LD * B * Ps);
    for (let r = 0; r < LD * B; r++) dh0.set(dhAfter.subarray(r * Ps, r * Ps + P), r * P);
    let dc0: Float32Array | undefined;
    if (m.kind === Kind.Lstm) {
      const dcAfter = heap.f32(ws.dc, LD * B * Hp);
      dc0 = new Float32Array(LD * B * H);
      for (let r = 0; r < LD * B; r++) dc0.set(dcAfter.subarray(r * Hp, r * Hp + H), r * H);
    }
    // The caches now hold gradients: a second backward needs a new forward.
    this.tape = undefined;
    return { dx, dh0, dc0 };
  }

  private layerOut(ws: Record<string, number>, l: number, T: number, B: number): number {
    return ws.outs + l * T * B * this.m.directions * this.m.outputSize * 4;
  }

  // Fills the descriptor for layer l, direction d (forward and backward fields).
  private describe(ws: Record<string, number>, l: number, d: number, T: number, B: number, hasLengths: boolean): Int32Array {
    const m = this.m;
    const { hiddenSize: H, outputSize: P, directions: D } = m;
    const Hp = round8(H), Ps = round8(P);
    const G = gateCount(m.kind);
    const width = D * P;
    const ld = l * D + d;
    const TB = T * B;
    const desc = m.rt.heap.i32(ws.desc, Field.Count);
    const pack = m.pack(l, d);
    const rows = this.rows[ld];
    const sfx = suffix(l, d);
    const grad = (name: string): number => (m.paramAt(name + sfx) === 0 ? 0 : this.gradBlock + m.paramOffset(name + sfx));
    desc.fill(0);
    desc[Field.Kind] = m.kind;
    desc[Field.T] = T;
    desc[Field.B] = B;
    desc[Field.I] = l === 0 ? m.inputSize : width;
    desc[Field.H] = H;
    desc[Field.P] = P;
    desc[Field.X] = l === 0 ? ws.x : this.layerOut(ws, l - 1, T, B);
    desc[Field.Ldx] = l === 0 ? m.inputSize : width;
    desc[Field.Wih] = pack.wih;
    desc[Field.Whh] = pack.whh;
    desc[Field.Whn] = pack.whn;
    desc[Field.Whr] = pack.whr;
    desc[Field.Peep] = pack.peep;
    desc[Field.HState] = ws.h + ld * B * Ps * 4;
    desc[Field.CState] = ws.c + ld * B * Hp * 4;
    desc[Field.Out] = this.layerOut(ws, l, T, B) + d * P * 4;
    desc[Field.Ldo] = width;
    desc[Field.Lengths] = hasLengths ? ws.lengths : 0;
    desc[Field.Reverse] = d;
    desc[Field.Gates] = ws.gates + ld * TB * G * Hp * 4;
    desc[Field.Rec] = ws.rec;
    desc[Field.CSeq] = m.kind === Kind.Lstm ? ws.cseq + ld * TB * Hp * 4 : 0;
    desc[Field.Aux] = ws.auxSize > 0 ? ws.aux + ld * TB * Hp * 4 : 0;
    desc[Field.Scratch] = ws.scratch;
    desc[Field.DH] = ws.dh + ld * B * Ps * 4;
    desc[Field.DC] = ws.dc + ld * B * Hp * 4;
    desc[Field.H0] = ws.h0 + ld * B * Ps * 4;
    desc[Field.C0] = ws.c0 + ld * B * Hp * 4;
    desc[Field.DGh] = m.kind === Kind.Gru || m.kind === Kind.GruResetBefore ? ws.dgh : 0;
    desc[Field.WhhRows] = rows.whh;
    desc[Field.WhnRows] = rows.whn;
    desc[Field.WhrRows] = rows.whr;
    desc[Field.WihRows] = rows.wih;
    desc[Field.GWih] = grad("weight_ih");
    desc[Field.GWhh] = grad("weight_hh");
    desc[Field.GBih] = grad("bias_ih");
    desc[Field.GBhh] = grad("bias_hh");
    desc[Field.GWhr] = grad("weight_hr");
    desc[Field.GPeep] = grad("weight_peephole");
    desc[Field.HPrev] = ws.hprev;
    desc[Field.Pack] = ws.pack;
    desc[Field.TmpW] = ws.tmpw;
    desc[Field.DHTot] = m.projSize > 0 ? ws.dhtot : 0;
    desc[Field.Step] = ws.step;
    return desc;
  }

  private reserve(T: number, B: number): Record<string, number> {
    const m = this.m;
    const { hiddenSize: H, outputSize: P, directions: D, numLayers: L, inputSize: I } = m;
    const Hp = round8(H), Ps = round8(P);
    const G = gateCount(m.kind);
    const LD = L * D;
    const TB = T * B;
    const width = D * P;
    const widest = Math.max(I, width, P, Hp);
    const inWidest = L > 1 ? Math.max(I, width) : I; // the widest layer input
    const auxSize = m.kind === Kind.Gru || m.kind === Kind.GruResetBefore || m.projSize > 0 ? LD * TB * Hp * 4 : 0;
    const sizes = {
      desc: Field.Count * 4,
      lengths: B * 4,
      x: TB * I * 4,
      outs: L * TB * width * 4,
      gates: LD * TB * G * Hp * 4,
      cseq: m.kind === Kind.Lstm ? LD * TB * Hp * 4 : 0,
      aux: auxSize,
      rec: B * Math.max(G * Hp, Ps) * 4,
      scratch: B * Hp * 4,
      h: LD * B * Ps * 4,
      c: LD * B * Hp * 4,
      h0: LD * B * Ps * 4,
      c0: LD * B * Hp * 4,
      dh: LD * B * Ps * 4,
      dc: LD * B * Hp * 4,
      dgh: m.kind === Kind.Gru || m.kind === Kind.GruResetBefore ? TB * G * Hp * 4 : 0,
      dA: TB * Math.max(width, I) * 4,
      dB: TB * Math.max(width, I) * 4,
      hprev: TB * Ps * 4,
      // The weight gradients of RNN/LSTM layers are one product over [X | H_prev] (backward.ts).
      pack: (TB + 1) * Math.max(round8(widest), round8(inWidest) + Ps) * 4,
      tmpw: G * Hp * Math.max(widest, round8(inWidest) + Ps, 1) * 4,
      dhtot: m.projSize > 0 ? TB * Ps * 4 : 0,
      step: (B * Ps + 2 * B * Hp + 3 * Hp) * 4,
    };
    const { offsets, total } = carve(sizes);
    if (total > this.workspaceBytes) {
      const heap = m.rt.heap;
      const ptr = heap.alloc(total);
      if (this.workspace) heap.release(this.workspace);
      this.workspace = ptr;
      this.workspaceBytes = total;
    }
    const ws: Record<string, number> = { auxSize };
    for (const key of Object.keys(offsets) as (keyof typeof sizes)[]) ws[key] = this.workspace + offsets[key];
    return ws;
  }
}

/** Shape checks for upstream gradients, naming the argument. */
export function checkGrad(t: Tensor | undefined, name: string, shape: number[]): Float32Array | undefined {
  if (t === undefined) return undefined;
  checkTensor(t, name, shape);
  return t.data;
}
