/** The state of a model's independent streams between `step` calls (see RecurrentModel.step). */
import { show } from "../validate.js";
import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";

/**
 * The state of B independent streams for `step`: h [numLayers, B, H_out] and, for LSTM,
 * c [numLayers, B, hiddenSize]. Plain tensors: keep one per stream, clone, reset or batch them.
 */
export class StreamState {
  /** Hidden states, [numLayers, B, H_out]. */
  h: Tensor;
  /** LSTM only: cell states, [numLayers, B, hiddenSize]. */
  c?: Tensor;

  constructor(h: Tensor, c?: Tensor) {
    this.h = h;
    if (c) this.c = c;
  }

  /** Number of streams (B). */
  get batch(): number {
    return this.h.shape[1];
  }

  /** An independent copy (e.g. to branch a stream). */
  clone(): StreamState {
    return new StreamState(
      { shape: [...this.h.shape], data: this.h.data.slice() },
      this.c ? { shape: [...this.c.shape], data: this.c.data.slice() } : undefined,
    );
  }

  /** Zeroes every stream, or only stream `index`. */
  reset(index?: number): void {
    if (index === undefined) {
      this.h.data.fill(0);
      this.c?.data.fill(0);
      return;
    }
    if (!Number.isInteger(index) || index < 0 || index >= this.batch) fail("E_VALUE", `reset: index must be in 0..${this.batch - 1}, got ${show(index)}`);
    for (const t of [this.h, this.c]) {
      if (!t) continue;
      const [L, B, n] = t.shape;
      for (let l = 0; l < L; l++) t.data.fill(0, (l * B + index) * n, (l * B + index + 1) * n);
    }
  }

  /** One state holding the streams of all `states`, in order (to advance them in one step). */
  static concat(states: StreamState[]): StreamState {
    if (!Array.isArray(states) || states.length === 0) fail("E_VALUE", "StreamState.concat: needs at least one state");
    const join = (pick: (s: StreamState) => Tensor | undefined): Tensor | undefined => {
      const first = pick(states[0]);
      if (!first) return undefined;
      const [L, , n] = first.shape;
      const B = states.reduce((sum, s) => sum + s.batch, 0);
      const data = new Float32Array(L * B * n);
      let b0 = 0;
      for (const s of states) {
        const t = pick(s);
        if (!t || t.shape[0] !== L || t.shape[2] !== n) fail("E_SHAPE", "StreamState.concat: states come from different models");
        const Bs = t.shape[1];
        for (let l = 0; l < L; l++) data.set(t.data.subarray(l * Bs * n, (l + 1) * Bs * n), (l * B + b0) * n);
        b0 += Bs;
      }
      return { shape: [L, B, n], data };
    };
    return new StreamState(join((s) => s.h)!, join((s) => s.c));
  }

  /** The inverse of concat: one state per stream. */
  split(): StreamState[] {
    const part = (t: Tensor | undefined, b: number): Tensor | undefined => {
      if (!t) return undefined;
      const [L, B, n] = t.shape;
      const data = new Float32Array(L * n);
      for (let l = 0; l < L; l++) data.set(t.data.subarray((l * B + b) * n, (l * B + b + 1) * n), l * n);
      return { shape: [L, 1, n], data };
    };
    return Array.from({ length: this.batch }, (_, b) => new StreamState(part(this.h, b)!, part(this.c, b)));
  }
}
