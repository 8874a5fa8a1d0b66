/**
 * Forward mode (the R-operator) of a recurrent model: the directional derivative of its outputs
 * along a direction V of the parameters (and a tangent of the input), after a forwardTrain whose
 * caches it reads; one `recurrentTangent` Wasm call per layer and direction
 * (assembly/cells/tangent.ts). The direction is packed like the weights (with V's biases in the
 * bias rows); the products with W itself use copies packed without the biases.
 */
import { fail } from "../errors.js";
import { carve, type WasmBlocks } from "../memory.js";
import { requireFull, type FullRuntime } from "../full-core.js";
import { layerInputSize, paramSuffix, type Dims } from "./config.js";
import { Field, Kind } from "./descriptor.js";
import type { RecurrentParams } from "./params.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { RecurrentModel } from "./recurrent.js";
import { copySequence, describeForward, readPadded, type Workspace } from "./workspace.js";


// The forward-mode state of each model (its packed direction), made on first use.
const tangents = new WeakMap<RecurrentParams, Tangent>();

/**
 * Forward mode (R-operator) through a recurrent model's last forwardTrain(), before its
 * backward(): the derivative of the results along a parameter direction `direction` (floats in
 * the layout of parameterRegions()[0]) and an input tangent `input` (shaped like the input;
 * default zeros), the initial states held fixed. Supports every cell but peephole or projecting
 * LSTMs, reset-before GRUs and cells with options (E_UNSUPPORTED).
 */
export function forwardTangent(
  model: RecurrentModel,
  direction: Float32Array,
  options: { input?: Tensor } = {},
): {
  /** R{output}, shaped like forwardTrain's output. */
  output: Tensor;
  /** R{hN}, [numLayers*D, B, H_out]. */
  hN: Tensor;
} {
  const c = model.tangentContext();
  const { d, T, B } = c;
  let tangent = tangents.get(c.params);
  if (!tangent) {
    tangent = new Tangent(requireFull(c.rt, "forwardTangent"), d, c.params, c.blocks);
    tangents.set(c.params, tangent);
  }
  if (!(direction instanceof Float32Array) || direction.length !== c.params.bytes / 4) {
    fail("E_SHAPE", `forwardTangent: direction must be a Float32Array of ${c.params.bytes / 4} floats (parameterRegions()[0].floats)`);
  }
  let dx: Float32Array | undefined;
  if (options.input !== undefined) {
    const data = checkTensor(options.input, "forwardTangent: input", c.outputShape(d.inputSize)).data;
    dx = new Float32Array(T * B * d.inputSize);
    copySequence(data, dx, B, T, d.inputSize, c.batchFirst);
  }
  const heap = c.rt.heap;
  heap.f32(tangent.direction, direction.length).set(direction);
  const r = tangent.run(c.ws, c.hasLengths, dx);
  const out = new Float32Array(T * B * d.width);
  copySequence(heap.f32(r.output, T * B * d.width), out, T, B, d.width, c.batchFirst);
  const LD = d.L * d.D;
  const hN = readPadded(heap.f32(r.hN, LD * B * d.Ps), LD * B, d.P, d.Ps);
  return { output: { shape: c.outputShape(d.width), data: out }, hN: { shape: c.stateShape(d.P), data: hN } };
}

interface TangentPack {
  vih: number;
  vhh: number;
  vhf: number;
  wih0: number;
  whh0: number;
}

/** Why forward mode does not support a model, or undefined when it does. */
export function tangentUnsupported(d: Dims): string | undefined {
  if (d.cell !== undefined) return "cell options (activations, clip, inputForget)";
  if (d.kind === Kind.GruResetBefore) return "a GRU with the reset gate before the product (resetAfter: false)";
  if (d.peepholes) return "an LSTM with peepholes";
  if (d.projSize > 0) return "an LSTM with a projection (projSize)";
  return undefined;
}

class Tangent {
  /** Address of the direction V, in the layout of the parameters. */
  readonly direction: number;
  private readonly packs: TangentPack[] = [];
  private readonly outBytes: (T: number, B: number) => number;

  constructor(
    private readonly rt: FullRuntime,
    private readonly d: Dims,
    private readonly params: RecurrentParams,
    private readonly blocks: WasmBlocks,
  ) {
    const why = tangentUnsupported(d);
    if (why !== undefined) fail("E_UNSUPPORTED", `forwardTangent: forward mode does not support ${why}`);
    const k = rt.kernels;
    const { G, H, P, F } = d;
    const mrnn = d.kind === Kind.Mrnn;
    const sizes: Record<string, number> = { v: params.bytes };
    for (let l = 0; l < d.L; l++) {
      const I = layerInputSize(d, l);
      for (let dir = 0; dir < d.D; dir++) {
        const key = `${l}_${dir}`;
        const ih = mrnn ? k.packedGatesSize(I, F, 1) + k.packedGatesSize(I, H, 1) : k.packedGatesSize(I, H, G);
        sizes[`vih${key}`] = ih * 4;
        sizes[`wih0${key}`] = ih * 4;
        sizes[`vhh${key}`] = (mrnn ? k.packedGatesSize(H, F, 1) : k.packedGatesSize(P, H, G)) * 4;
        sizes[`vhf${key}`] = mrnn ? k.packedGatesSize(F, H, 1) * 4 : 0;
        sizes[`whh0${key}`] = mrnn ? 0 : k.packedGatesSize(P, H, G) * 4;
      }
    }
    const { offsets, total } = carve(sizes);
    const base = blocks.ensure("tangent", total);
    this.direction = base + offsets.v;
    for (let l = 0; l < d.L; l++) {
      for (let dir = 0; dir < d.D; dir++) {
        const at = (name: string): number => (sizes[`${name}${l}_${dir}`] > 0 ? base + offsets[`${name}${l}_${dir}`] : 0);
        this.packs.push({ vih: at("vih"), vhh: at("vhh"), vhf: at("vhf"), wih0: at("wih0"), whh0: at("whh0") });
      }
    }
    this.outBytes = (T, B) => T * B * d.width * 4;
  }

  /** Packs the direction (already at `direction`) and the bias-free weights. */
  private pack(): void {
    const k = this.rt.kernels;
    const { G, H, P, F } = this.d;
    const V = (name: string): number => {
      const o = this.params.offset(name);
      return o < 0 ? 0 : this.direction + o;
    };
    for (let l = 0; l < this.d.L; l++) {
      const I = layerInputSize(this.d, l);
      for (let dir = 0; dir < this.d.D; dir++) {
        const sfx = paramSuffix(l, dir);
        const p = this.packs[l * this.d.D + dir];
        const W = (name: string): number => this.params.at(name + sfx);
        if (this.d.kind === Kind.Mrnn) {
          const second = k.packedGatesSize(I, F, 1) * 4;
          k.packGates(V(`weight_fx${sfx}`), I, I, F, 1, 0, p.vih);
          k.packGates(V(`weight_hx${sfx}`), I, I, H, 1, V(`bias_h${sfx}`), p.vih + second);
          k.packGates(W("weight_fx"), I, I, F, 1, 0, p.wih0);
          k.packGates(W("weight_hx"), I, I, H, 1, 0, p.wih0 + second);
          k.packGates(V(`weight_fh${sfx}`), H, H, F, 1, 0, p.vhh);
          k.packGates(V(`weight_hf${sfx}`), F, F, H, 1, 0, p.vhf);
        } else {
          k.packGates(V(`weight_ih${sfx}`), I, I, H, G, V(`bias_ih${sfx}`), p.vih);
          k.packGates(V(`weight_hh${sfx}`), P, P, H, G, V(`bias_hh${sfx}`), p.vhh);
          k.packGates(W("weight_ih"), I, I, H, G, 0, p.wih0);
          k.packGates(W("weight_hh"), P, P, H, G, 0, p.whh0);
        }
      }
    }
  }

  /**
   * The tangent pass over the training workspace `ws` (filled by forwardTrain): `dx` (absent:
   * zeros) is R{x}, time-major rows [T*B][I]. Returns the addresses of the last layer's R{output} rows [T*B][D*P] and of
   * R{h_N} [L*D][B][Ps].
   */
  run(ws: Workspace, hasLengths: boolean, dx: Float32Array | undefined): { output: number; hN: number } {
    this.pack();
    const { rt, d } = this;
    const { T, B } = ws;
    const LD = d.L * d.D;
    const sizes = {
      rx: T * B * d.gw * 4,
      rh: T * B * d.gw * 4,
      outs: 2 * this.outBytes(T, B),
      state: LD * B * d.Ps * 4,
      c: LD * B * d.Hp * 4,
      dx: dx ? dx.length * 4 : 0,
    };
    const { offsets, total } = carve(sizes);
    const base = this.blocks.ensure("tangentWork", total);
    rt.heap.f32(base + offsets.state, (sizes.state + sizes.c) / 4).fill(0);
    const desc = rt.heap.i32(ws.desc, Field.Count);
    if (dx) rt.heap.f32(base + offsets.dx, dx.length).set(dx);
    const outs = [base + offsets.outs, base + offsets.outs + this.outBytes(T, B)];
    for (let l = 0; l < d.L; l++) {
      for (let dir = 0; dir < d.D; dir++) {
        const ld = l * d.D + dir;
        const p = this.packs[ld];
        describeForward(desc, d, this.params.packs[ld], ws, l, dir, hasLengths);
        desc[Field.H0] = ws.h0 + ld * B * d.Ps * 4;
        desc[Field.C0] = ws.c0 + ld * B * d.Hp * 4;
        desc[Field.HPrev] = ws.hprev;
        desc[Field.VWih] = p.vih;
        desc[Field.VWhh] = p.vhh;
        desc[Field.VWhf] = p.vhf;
        desc[Field.Wih0] = p.wih0;
        desc[Field.Whh0] = p.whh0;
        desc[Field.RX] = base + offsets.rx;
        desc[Field.RH] = base + offsets.rh;
        desc[Field.RdX] = l === 0 ? (dx ? base + offsets.dx : 0) : outs[(l - 1) % 2];
        desc[Field.ROut] = outs[l % 2] + dir * d.P * 4;
        desc[Field.RState] = base + offsets.state + ld * B * d.Ps * 4;
        desc[Field.RC] = base + offsets.c + ld * B * d.Hp * 4;
        rt.kernels.recurrentTangent(ws.desc);
      }
    }
    return { output: outs[(d.L - 1) % 2], hN: base + offsets.state };
  }
}
