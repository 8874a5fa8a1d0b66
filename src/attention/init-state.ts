// The decoder's initial state from the mean annotation (Xu et al. 2015, 3.1.2):
//   mean = (1/n) Σ_i a_i over the n unmasked annotations of a row
//   h0 = tanh(W_init mean + b_init)          Linear layer `init`
//   c0 = tanh(W_init_c mean + b_init_c)      LSTM decoders only, Linear layer `init_c`
// (tanh on both as in the authors' code). Forward and backward run in JS around the two Linear
// layers: it is one small product per sequence, not per step.
import type { Tensor } from "../tensor.js";
import type { ParameterRegion } from "../train/module.js";
import { Linear } from "../layers/linear.js";
import type { AttentionInput } from "./checks.js";

/** What `MeanInit.forward` gives, [S][H] each. */
export interface MeanInitState {
  /** The initial hidden state. */
  h0: Float32Array;
  /** The LSTM's initial cell state (undefined for a GRU decoder). */
  c0: Float32Array | undefined;
}

/** The layers that give h0 (and c0) from the mean annotation, with what their backward needs. */
export class MeanInit {
  /** W_init, b_init (state-dict prefix `init.`). */
  readonly h: Linear;
  /** W_init_c, b_init_c of LSTM decoders (state-dict prefix `init_c.`). */
  readonly c: Linear | undefined;
  private saved: { h0: Float32Array; c0: Float32Array | undefined; count: Float32Array; mask: Float32Array | undefined; L: number } | undefined;

  constructor(D: number, H: number, seed: number, lstm: boolean) {
    this.h = new Linear({ inFeatures: D, outFeatures: H, seed: seed + 1 });
    this.c = lstm ? new Linear({ inFeatures: D, outFeatures: H, seed: seed + 4 }) : undefined;
  }

  private get parts(): [string, Linear][] {
    return this.c ? [["init", this.h], ["init_c", this.c]] : [["init", this.h]];
  }

  /** h0 (and c0) of every source row, [S][H] each; keeps what `backward` needs. */
  forward(input: AttentionInput, S: number, L: number, D: number): MeanInitState {
    const a = input.annotations.data, m = input.mask?.data;
    const mean = new Float32Array(S * D), count = new Float32Array(S);
    for (let b = 0; b < S; b++) {
      for (let i = 0; i < L; i++) {
        if (m && m[b * L + i] === 0) continue;
        count[b]++;
        for (let j = 0; j < D; j++) mean[b * D + j] += a[(b * L + i) * D + j];
      }
      for (let j = 0; j < D; j++) mean[b * D + j] /= count[b];
    }
    const x: Tensor = { shape: [S, D], data: mean };
    const h0 = this.h.forward(x).data.map(Math.tanh);
    const c0 = this.c?.forward(x).data.map(Math.tanh);
    this.saved = { h0, c0, count, mask: m ? Float32Array.from(m) : undefined, L };
    return { h0, c0 };
  }

  /** Through tanh and the layers: their gradients, and dmean / n added to every unmasked annotation's gradient. */
  backward(dh0: Float32Array, dc0: Float32Array | undefined, dAnnot: Float32Array, B: number, H: number, D: number): void {
    const s = this.saved!;
    const dmean = new Float32Array(B * D);
    const through = (layer: Linear, y: Float32Array, dy: Float32Array): void => {
      const dx = layer.backward({ shape: [B, H], data: dy.map((g, i) => g * (1 - y[i] * y[i])) }).data;
      for (let i = 0; i < dmean.length; i++) dmean[i] += dx[i];
    };
    through(this.h, s.h0, dh0);
    if (this.c && dc0) through(this.c, s.c0!, dc0);
    const L = s.L;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < L; i++) {
        if (s.mask && s.mask[b * L + i] === 0) continue;
        for (let j = 0; j < D; j++) dAnnot[(b * L + i) * D + j] += dmean[b * D + j] / s.count[b];
      }
    }
  }

  /** Parameter names and shapes. */
  shapes(): [string, number[]][] {
    return this.parts.flatMap(([p, l]) => [[`${p}.weight`, [l.outFeatures, l.inFeatures]], [`${p}.bias`, [l.outFeatures]]] as [string, number[]][]);
  }

  /** Copies of the layers' parameters, prefixed init. and init_c. */
  stateDict(): Record<string, Tensor> {
    return this.prefixed((l) => l.stateDict());
  }

  /** Copies of the layers' gradients, prefixed like stateDict. */
  gradients(): Record<string, Tensor> {
    return this.prefixed((l) => l.gradients());
  }

  /** Takes the `init.` and `init_c.` keys of `sd` (removing them from it). */
  loadStateDict(sd: Record<string, Tensor>): void {
    for (const [p, l] of this.parts) {
      const own: Record<string, Tensor> = {};
      for (const k of Object.keys(sd)) {
        if (k.startsWith(`${p}.`)) {
          own[k.slice(p.length + 1)] = sd[k];
          delete sd[k];
        }
      }
      l.loadStateDict(own);
    }
  }

  /** The layers' parameter and gradient regions (for the optimizers). */
  parameterRegions(): ParameterRegion[] {
    return this.parts.flatMap(([, l]) => l.parameterRegions());
  }

  /** Zeroes the layers' gradients. */
  zeroGrad(): void {
    for (const [, l] of this.parts) l.zeroGrad();
  }

  /** Tells the layers their parameters changed. */
  parametersChanged(): void {
    for (const [, l] of this.parts) l.parametersChanged();
  }

  /** Frees the layers' Wasm memory. */
  dispose(): void {
    for (const [, l] of this.parts) l.dispose();
  }

  private prefixed(f: (l: Linear) => Record<string, Tensor>): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [p, l] of this.parts) for (const [k, v] of Object.entries(f(l))) out[`${p}.${k}`] = v;
    return out;
  }
}
