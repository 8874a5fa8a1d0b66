/** Learned initial states of a SequenceModel (`trainableInitialState`), a Trainable of their own. */
import { fail } from "../errors.js";
import { align64, WasmBlocks } from "../memory.js";
import type { RecurrentModel, StreamState } from "../models/recurrent.js";
import { runtime } from "../runtime.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { ParameterRegion, Trainable } from "./module.js";

/** Learned initial states h0 [L*D, H_out] (and c0 [L*D, H]) shared by all sequences of a batch. */
export class InitialState implements Trainable {
  private readonly blocks: WasmBlocks;
  private readonly block: number;
  private readonly hSize: number;
  private readonly cSize: number;
  private readonly rows: number;
  private readonly floats: number;
  constructor(
    rnn: RecurrentModel,
    seed: number,
  ) {
    this.rows = rnn.config.numLayers * rnn.directions;
    this.hSize = rnn.outputSize;
    this.cSize = rnn.config.mode === "LSTM" ? rnn.config.hiddenSize : 0;
    this.floats = align64(this.rows * (this.hSize + this.cSize) * 4) / 4;
    const heap = runtime().heap;
    this.blocks = WasmBlocks.of(heap, this);
    this.block = this.blocks.ensure("params", this.floats * 8); // parameters, then their gradients
    heap.f32(this.block, this.floats * 2).fill(0);
    void seed; // zeros are PyTorch's usual start for learned initial states
  }
  private get heap() {
    return runtime().heap;
  }
  parameterRegions(): ParameterRegion[] {
    return [{ params: this.block, grads: this.block + this.floats * 4, floats: this.floats }];
  }
  zeroGrad(): void {
    this.heap.f32(this.block + this.floats * 4, this.floats).fill(0);
  }
  parametersChanged(): void {}
  stateDict(): Record<string, Tensor> {
    const v = this.heap.f32(this.block, this.floats);
    const out: Record<string, Tensor> = { h0: { shape: [this.rows, this.hSize], data: v.slice(0, this.rows * this.hSize) } };
    if (this.cSize) out.c0 = { shape: [this.rows, this.cSize], data: v.slice(this.rows * this.hSize, this.rows * (this.hSize + this.cSize)) };
    return out;
  }
  gradients(): Record<string, Tensor> {
    const g = this.heap.f32(this.block + this.floats * 4, this.floats);
    const out: Record<string, Tensor> = { h0: { shape: [this.rows, this.hSize], data: g.slice(0, this.rows * this.hSize) } };
    if (this.cSize) out.c0 = { shape: [this.rows, this.cSize], data: g.slice(this.rows * this.hSize, this.rows * (this.hSize + this.cSize)) };
    return out;
  }
  loadStateDict(sd: Record<string, Tensor>): void {
    const keys = this.cSize ? ["h0", "c0"] : ["h0"];
    const problems: string[] = [];
    for (const k of keys) if (!(k in sd)) problems.push(`missing key ${k}`);
    for (const k of Object.keys(sd)) if (!keys.includes(k)) problems.push(`unexpected key ${k}`);
    const want = { h0: [this.rows, this.hSize], c0: [this.rows, this.cSize] } as Record<string, number[]>;
    for (const k of keys) {
      const t = sd[k];
      if (!t) continue;
      try {
        checkTensor(t, k, want[k]);
        if (t.data.some((v) => !Number.isFinite(v))) problems.push(`${k} has non-finite values`);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (problems.length) fail("E_KEY", problems.join("; "));
    const v = this.heap.f32(this.block, this.floats);
    v.set(sd.h0.data, 0);
    if (this.cSize) v.set(sd.c0.data, this.rows * this.hSize);
  }
  /** The states (or `values`, floats in the layout of its parameter region) repeated for B sequences. */
  expand(B: number, values?: Float32Array): { h0: Tensor; c0?: Tensor } {
    const v = values ?? this.heap.f32(this.block, this.floats);
    const tile = (off: number, n: number): Tensor => {
      const data = new Float32Array(this.rows * B * n);
      for (let r = 0; r < this.rows; r++) for (let b = 0; b < B; b++) data.set(v.subarray(off + r * n, off + (r + 1) * n), (r * B + b) * n);
      return { shape: [this.rows, B, n], data };
    };
    const out: { h0: Tensor; c0?: Tensor } = { h0: tile(0, this.hSize) };
    if (this.cSize) out.c0 = tile(this.rows * this.hSize, this.cSize);
    return out;
  }
  fill(state: StreamState): void {
    const e = this.expand(state.batch);
    state.h.data.set(e.h0.data);
    if (state.c && e.c0) state.c.data.set(e.c0.data);
  }
  // Gradients of the shared initial state: sums over the batch.
  accumulate(dh0: Tensor, dc0: Tensor | undefined, B: number): void {
    const g = this.heap.f32(this.block + this.floats * 4, this.floats);
    const add = (src: Tensor, off: number, n: number): void => {
      for (let r = 0; r < this.rows; r++) for (let b = 0; b < B; b++) for (let j = 0; j < n; j++) g[off + r * n + j] += src.data[(r * B + b) * n + j];
    };
    add(dh0, 0, this.hSize);
    if (this.cSize && dc0) add(dc0, this.rows * this.hSize, this.cSize);
  }
  dispose(): void {
    this.blocks.dispose();
  }
}
