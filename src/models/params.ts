/**
 * The parameter block of a recurrent model: every parameter in PyTorch's state-dict layout (each
 * tensor 64-byte aligned), followed by the gate-interleaved packed copies the forward kernels
 * read (assembly/cells/layout.ts), rebuilt after every parameter change.
 */
import { align64, type WasmBlocks } from "../memory.js";
import type { ParamSpec } from "../io/state-dict.js";
import type { Runtime } from "../runtime.js";
import { createRng } from "../random.js";
import { numel } from "../tensor.js";
import { layerInputSize, paramSuffix, type Dims } from "./config.js";
import type { InitSpec } from "./config.js";
import { cellWords } from "./cell.js";
import { CellWord, Kind } from "./descriptor.js";
import { fillIdentity, fillOrthogonal, fillUniform } from "./init.js";

/** Byte addresses of one layer-direction's packed forward weights (0: the model has none). */
export interface LayerPack {
  wih: number;
  whh: number;
  whn: number;
  whr: number;
  peep: number;
  /** The cell-options block (assembly/cells/activation.ts), 0 for PyTorch's cell. */
  cell: number;
  /** W_hh with b_hh in the batch-1 GEMV's stripes (assembly/gemm/gemv.ts), 0 for MRNN and reset-before GRU. */
  stripes: number;
}

const PACK_KEYS = ["wih", "whh", "whn", "whr", "peep", "cell", "stripes"] as const;

/**
 * Float count of the parameters, in closed form (no per-layer loop): checked against the memory
 * limit before the layout is built, so numLayers 1e12 fails at once instead of filling the JS heap.
 */
export function parameterFloats(d: Dims): number {
  const { G, H, P, D, L } = d;
  const perLayer = (inputs: number): number => G * H * (inputs + P) + (d.bias ? 2 * G * H : 0) + (d.projSize > 0 ? P * H : 0) + (d.peepholes ? 3 * H : 0);
  return D * (perLayer(d.inputSize) + (L - 1) * perLayer(d.width));
}

/** Parameter names, shapes and offsets in state-dict order, and the bytes they take. */
function paramLayout(d: Dims): { specs: ParamSpec[]; bytes: number } {
  const specs: ParamSpec[] = [];
  let bytes = 0;
  const add = (name: string, shape: number[]): void => {
    specs.push({ name, shape, offset: bytes });
    bytes += align64(numel(shape) * 4);
  };
  const { G, H, P, F } = d;
  for (let l = 0; l < d.L; l++) {
    for (let dir = 0; dir < d.D; dir++) {
      const sfx = paramSuffix(l, dir);
      if (d.kind === Kind.Mrnn) {
        const I = layerInputSize(d, l);
        add(`weight_fx${sfx}`, [F, I]);
        add(`weight_fh${sfx}`, [F, H]);
        add(`weight_hf${sfx}`, [H, F]);
        add(`weight_hx${sfx}`, [H, I]);
        if (d.bias) add(`bias_h${sfx}`, [H]);
        continue;
      }
      add(`weight_ih${sfx}`, [G * H, layerInputSize(d, l)]);
      add(`weight_hh${sfx}`, [G * H, P]);
      if (d.bias) {
        add(`bias_ih${sfx}`, [G * H]);
        add(`bias_hh${sfx}`, [G * H]);
      }
      if (d.projSize > 0) add(`weight_hr${sfx}`, [P, H]);
      if (d.peepholes) add(`weight_peephole${sfx}`, [3 * H]);
    }
  }
  return { specs, bytes };
}

/** The parameters of a recurrent model and their packed copies, in one block of `blocks`. */
export class RecurrentParams {
  readonly specs: ParamSpec[];
  /** Bytes of the parameters (the gradient block has this size and layout). */
  readonly bytes: number;
  /** Address of the block: the parameters first. */
  readonly block: number;
  /** Packed forward weights, index l * D + dir. */
  readonly packs: LayerPack[] = [];
  private readonly offsets: Map<string, number>;

  constructor(
    private readonly rt: Runtime,
    private readonly d: Dims,
    blocks: WasmBlocks,
  ) {
    // The parameters and their packed copies, at least twice the parameters' bytes.
    rt.heap.checkFits(2 * 4 * parameterFloats(d), "the model's parameters and their packed copies");
    const { specs, bytes } = paramLayout(d);
    this.specs = specs;
    this.bytes = bytes;
    this.offsets = new Map(specs.map((s) => [s.name, s.offset]));
    const k = rt.kernels;
    const { G, H, P, F } = d;
    const before = d.kind === Kind.GruResetBefore;
    const mrnn = d.kind === Kind.Mrnn;
    let total = bytes;
    const relative: LayerPack[] = [];
    for (let l = 0; l < d.L; l++) {
      for (let dir = 0; dir < d.D; dir++) {
        const I = layerInputSize(d, l);
        // MRNN: wih = [W_fx; W_hx] (with b_h), whh = W_fh, whn = W_hf.
        const sizes: LayerPack = {
          wih: mrnn ? k.packedGatesSize(I, F, 1) + k.packedGatesSize(I, H, 1) : k.packedGatesSize(I, H, G),
          whh: mrnn ? k.packedGatesSize(H, F, 1) : k.packedGatesSize(P, H, before ? 2 : G),
          whn: mrnn ? k.packedGatesSize(F, H, 1) : before ? k.packedGatesSize(P, H, 1) : 0,
          whr: d.projSize > 0 ? k.packedSize(H, P) : 0,
          peep: d.peepholes ? 3 * d.Hp : 0,
          cell: d.cell ? CellWord.Count : 0,
          // RNN, LSTM and reset-after GRU (one W_hh product per step): 32-column stripes (n
          // padded) by P rows and the bias row.
          stripes: d.kind <= Kind.Gru ? Math.ceil((G * d.Hp) / 32) * 32 * (P + 1) : 0,
        };
        const pack: LayerPack = { wih: -1, whh: -1, whn: -1, whr: -1, peep: -1, cell: -1, stripes: -1 };
        for (const key of PACK_KEYS) {
          pack[key] = sizes[key] > 0 ? total : -1;
          if (sizes[key] > 0) total += align64(sizes[key] * 4);
        }
        relative.push(pack);
      }
    }
    this.block = blocks.ensure("params", total);
    // Zero padding between the tensors: optimizers update whole regions, padding included.
    rt.heap.f32(this.block, total / 4).fill(0);
    for (const r of relative) {
      const pack = {} as LayerPack;
      for (const key of PACK_KEYS) pack[key] = r[key] < 0 ? 0 : this.block + r[key];
      if (d.cell) rt.heap.i32(pack.cell, CellWord.Count).set(cellWords(d.cell, this.packs.length % d.D));
      this.packs.push(pack);
    }
  }

  /** Byte offset of parameter `name` inside the parameter area, or -1 when the model has none. */
  offset(name: string): number {
    return this.offsets.get(name) ?? -1;
  }

  /** Byte address of parameter `name`, or 0 when the model has none. */
  at(name: string): number {
    const o = this.offset(name);
    return o < 0 ? 0 : this.block + o;
  }

  /**
   * Draws the initial weights (see RecurrentOptions.init) and packs them. MRNN weights are
   * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in their columns (bias_h: 1/sqrt(H)); "orthogonal"
   * makes weight_fh and weight_hf orthogonal.
   */
  initialise(seed: number, init: InitSpec): void {
    const rng = createRng(seed);
    const mrnn = this.d.kind === Kind.Mrnn;
    const G = this.d.G;
    for (const s of this.specs) {
      const view = this.rt.heap.f32(this.block + s.offset, numel(s.shape));
      const bound = 1 / Math.sqrt(mrnn && s.shape.length === 2 ? s.shape[1] : this.d.H);
      const [rows, cols] = s.shape;
      if (init.scheme === "orthogonal" && mrnn && (s.name.startsWith("weight_fh") || s.name.startsWith("weight_hf"))) {
        fillOrthogonal(view, rows, cols, rng);
      } else if (s.name.startsWith("weight_hh") && init.scheme !== "uniform") {
        // One gate block ([H, H_out]) at a time.
        const block = new Float32Array((rows / G) * cols);
        for (let g = 0; g < G; g++) {
          if (init.scheme === "orthogonal") fillOrthogonal(block, rows / G, cols, rng);
          else if (init.scheme === "identity") fillIdentity(block, rows / G, cols, init.gain);
          view.set(block, g * block.length);
        }
      } else if (s.name.startsWith("bias") && init.scheme === "identity") {
        view.fill(0);
      } else if (s.name.startsWith("weight_ih") && init.scheme === "identity") {
        for (let i = 0; i < view.length; i++) view[i] = init.inputStd * rng.normal();
      } else {
        fillUniform(view, bound, rng);
      }
    }
    this.repack();
  }

  /** Rebuilds the packed copies the forward kernels read; called after every parameter change. */
  repack(): void {
    const k = this.rt.kernels;
    const heap = this.rt.heap;
    const { G, H, Hp, P } = this.d;
    for (let l = 0; l < this.d.L; l++) {
      for (let dir = 0; dir < this.d.D; dir++) {
        const sfx = paramSuffix(l, dir);
        const at = (name: string): number => this.at(name + sfx);
        const pack = this.packs[l * this.d.D + dir];
        const I = layerInputSize(this.d, l);
        if (this.d.kind === Kind.Mrnn) {
          const F = this.d.F;
          k.packGates(at("weight_fx"), I, I, F, 1, 0, pack.wih);
          k.packGates(at("weight_hx"), I, I, H, 1, at("bias_h"), pack.wih + k.packedGatesSize(I, F, 1) * 4);
          k.packGates(at("weight_fh"), H, H, F, 1, 0, pack.whh);
          k.packGates(at("weight_hf"), F, F, H, 1, 0, pack.whn);
          continue;
        }
        k.packGates(at("weight_ih"), I, I, H, G, at("bias_ih"), pack.wih);
        if (this.d.kind === Kind.GruResetBefore) {
          const bhh = at("bias_hh");
          k.packGates(at("weight_hh"), P, P, H, 2, bhh, pack.whh);
          k.packGates(at("weight_hh") + 2 * H * P * 4, P, P, H, 1, bhh === 0 ? 0 : bhh + 2 * H * 4, pack.whn);
        } else {
          k.packGates(at("weight_hh"), P, P, H, G, at("bias_hh"), pack.whh);
        }
        if (pack.stripes) k.packStripes(at("weight_hh"), P, P, H, G, at("bias_hh"), pack.stripes);
        if (pack.whr) k.packBT(at("weight_hr"), H, H, P, 0, pack.whr);
        if (pack.peep) {
          // ONNX's peephole order (i, o, f) to the cell's (i, f, o), each padded to Hp.
          const src = heap.f32(at("weight_peephole"), 3 * H);
          const dst = heap.f32(pack.peep, 3 * Hp);
          dst.fill(0);
          dst.set(src.subarray(0, H), 0);
          dst.set(src.subarray(2 * H, 3 * H), Hp);
          dst.set(src.subarray(H, 2 * H), 2 * Hp);
        }
      }
    }
  }
}
