/**
 * Float64 reference of the multiplicative RNN (Sutskever, Martens and Hinton 2011), used only by
 * tests as an oracle for the Wasm cell (assembly/cells/mrnn.ts):
 *
 *   f_t = (W_fx x_t) ⊙ (W_fh h_{t-1});  h_t = tanh(W_hf f_t + W_hx x_t + b_h)
 *
 * Time-major [T, B, I] input, states [L*D, B, H], packed-sequence lengths and the reverse
 * direction as the other cells (test/reference/rnn64.ts). Gradients come from central finite
 * differences of this forward (`numericGrad`), so nothing here shares code with what it checks.
 */
export interface Mrnn64Config {
  inputSize: number;
  hiddenSize: number;
  factorSize: number;
  numLayers: number;
  bidirectional: boolean;
  bias: boolean;
}

export type Params64 = Record<string, Float64Array>;

export function toParams64(sd: Record<string, { data: ArrayLike<number> }>): Params64 {
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, Float64Array.from(v.data)]));
}

/** Output [T, B, D*H] (zeros past each length) and hN [L*D, B, H]. */
export function mrnnForward64(c: Mrnn64Config, p: Params64, x: ArrayLike<number>, T: number, B: number, h0?: ArrayLike<number>, lengths?: number[]): { output: Float64Array; hN: Float64Array } {
  const H = c.hiddenSize, F = c.factorSize, D = c.bidirectional ? 2 : 1;
  const hN = new Float64Array(c.numLayers * D * B * H);
  let input = Float64Array.from(x);
  let I = c.inputSize;
  for (let l = 0; l < c.numLayers; l++) {
    const out = new Float64Array(T * B * D * H);
    for (let dir = 0; dir < D; dir++) {
      const sfx = `_l${l}${dir === 1 ? "_reverse" : ""}`;
      const wfx = p[`weight_fx${sfx}`], wfh = p[`weight_fh${sfx}`], whf = p[`weight_hf${sfx}`], whx = p[`weight_hx${sfx}`];
      const bh = p[`bias_h${sfx}`];
      const ld = l * D + dir;
      for (let b = 0; b < B; b++) {
        const len = lengths ? lengths[b] : T;
        let h = new Float64Array(H);
        if (h0) for (let j = 0; j < H; j++) h[j] = h0[(ld * B + b) * H + j];
        for (let s = 0; s < len; s++) {
          const t = dir === 1 ? len - 1 - s : s;
          const xt = input.subarray((t * B + b) * I, (t * B + b + 1) * I);
          const f = new Float64Array(F);
          for (let k = 0; k < F; k++) {
            let fx = 0, fh = 0;
            for (let i = 0; i < I; i++) fx += wfx[k * I + i] * xt[i];
            for (let j = 0; j < H; j++) fh += wfh[k * H + j] * h[j];
            f[k] = fx * fh;
          }
          const hNew = new Float64Array(H);
          for (let j = 0; j < H; j++) {
            let a = bh ? bh[j] : 0;
            for (let k = 0; k < F; k++) a += whf[j * F + k] * f[k];
            for (let i = 0; i < I; i++) a += whx[j * I + i] * xt[i];
            hNew[j] = Math.tanh(a);
          }
          h = hNew;
          out.set(h, (t * B + b) * D * H + dir * H);
        }
        hN.set(h, (ld * B + b) * H);
      }
    }
    input = out;
    I = D * H;
  }
  return { output: input, hN };
}

/** Central differences of f with respect to every element of `v` (restored afterwards). */
export function numericGrad(v: Float64Array, f: () => number, eps = 1e-6): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const old = v[i];
    v[i] = old + eps;
    const up = f();
    v[i] = old - eps;
    const down = f();
    v[i] = old;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}
