/**
 * Float64 reference of the attention decoder's equations (assembly/cells/attention.ts), written
 * from the equations alone: additive scores (or Luong et al.'s multiplicative "dot" h·a_i and
 * "general" hᵀ W_a a_i), masked softmax, context, a GRU cell (torch.nn.GRUCell,
 * gates r, z, n, reset after) or an LSTM cell (torch.nn.LSTMCell, gates i, f, g, o) on
 * [E y_{t-1}; z_t], logits from [E y_{t-1}; z_t; h_t] (or the deep output
 * W_out tanh(E y_{t-1} + L_z z_t + L_h h_t + b_d) + b_out), mean cross-entropy over the counted
 * targets and the doubly stochastic term λ/B Σ_b Σ_i (1 - Σ_t α_ti)², t over the counted targets.
 */
export type Params64 = Record<string, ArrayLike<number>>;

export interface Problem64 {
  V: number;
  D: number;
  A: number;
  E: number;
  H: number;
  B: number;
  L: number;
  T: number;
  annotations: ArrayLike<number>; // [B][L][D]
  mask?: ArrayLike<number>; // [B][L]
  inputs: number[][]; // [B][T]
  targets: number[][]; // [B][T], -1 ignored
  lambda: number;
  h0?: ArrayLike<number>; // [B][H]
  c0?: ArrayLike<number>; // [B][H], LSTM
  score?: "additive" | "dot" | "general"; // default additive
  cell?: "gru" | "lstm"; // default gru
  output?: "shallow" | "deep"; // default shallow
}

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

/** Logits [B][T][V], attention [B][T][L] and the loss of the problem under parameters p. */
export function attention64(p: Params64, q: Problem64): { logits: Float64Array; attention: Float64Array; loss: number } {
  const { V, D, A, E, H, B, L, T } = q;
  const X = E + D;
  const logits = new Float64Array(B * T * V);
  const att = new Float64Array(B * T * L);
  let ce = 0, count = 0, reg = 0;
  const W = p["attention.key.weight"], ba = p["attention.key.bias"], U = p["attention.query.weight"], v = p["attention.v"];
  const emb = p["embedding.weight"], wih = p["cell.weight_ih"], bih = p["cell.bias_ih"], whh = p["cell.weight_hh"], bhh = p["cell.bias_hh"];
  const wo = p["out.weight"], bo = p["out.bias"];
  const score = q.score ?? "additive";
  for (let b = 0; b < B; b++) {
    const keys: number[][] = [];
    for (let i = 0; i < L; i++) {
      const k: number[] = [];
      for (let a = 0; a < A && score !== "dot"; a++) {
        let s = score === "additive" ? ba[a] : 0;
        for (let j = 0; j < D; j++) s += W[a * D + j] * q.annotations[(b * L + i) * D + j];
        k.push(s);
      }
      keys.push(k);
    }
    let h = Array.from({ length: H }, (_, j) => (q.h0 ? q.h0[b * H + j] : 0));
    let c = Array.from({ length: H }, (_, j) => (q.c0 ? q.c0[b * H + j] : 0));
    // h0 = tanh(W_init mean + b_init), c0 = tanh(W_init_c mean + b_init_c) over the unmasked annotations.
    const fromMean = (w: ArrayLike<number>, bias: ArrayLike<number>): number[] => {
      const mean = new Float64Array(D);
      let n = 0;
      for (let i = 0; i < L; i++) {
        if (q.mask && q.mask[b * L + i] === 0) continue;
        n++;
        for (let j = 0; j < D; j++) mean[j] += q.annotations[(b * L + i) * D + j];
      }
      return h.map((_, u) => {
        let s = bias[u];
        for (let j = 0; j < D; j++) s += (w[u * D + j] * mean[j]) / n;
        return Math.tanh(s);
      });
    };
    if (!q.h0 && p["init.weight"]) h = fromMean(p["init.weight"], p["init.bias"]);
    if (!q.c0 && p["init_c.weight"]) c = fromMean(p["init_c.weight"], p["init_c.bias"]);
    const cover = new Float64Array(L);
    for (let t = 0; t < T; t++) {
      const qv: number[] = [];
      for (let a = 0; a < A && score === "additive"; a++) {
        let s = 0;
        for (let j = 0; j < H; j++) s += U[a * H + j] * h[j];
        qv.push(s);
      }
      const e: number[] = [];
      for (let i = 0; i < L; i++) {
        if (q.mask && q.mask[b * L + i] === 0) {
          e.push(-Infinity);
          continue;
        }
        let s = 0;
        if (score === "dot") for (let j = 0; j < H; j++) s += h[j] * q.annotations[(b * L + i) * D + j];
        else if (score === "general") for (let a = 0; a < H; a++) s += h[a] * keys[i][a];
        else for (let a = 0; a < A; a++) s += v[a] * Math.tanh(keys[i][a] + qv[a]);
        e.push(s);
      }
      const m = Math.max(...e);
      const ex = e.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
      const sum = ex.reduce((x, y) => x + y, 0);
      const alpha = ex.map((x) => x / sum);
      const z = new Float64Array(D);
      for (let i = 0; i < L; i++) {
        att[(b * T + t) * L + i] = alpha[i];
        if (q.targets[b][t] !== -1) cover[i] += alpha[i];
        for (let j = 0; j < D; j++) z[j] += alpha[i] * q.annotations[(b * L + i) * D + j];
      }
      const tok = q.inputs[b][t];
      const x: number[] = [];
      for (let j = 0; j < E; j++) x.push(emb[tok * E + j]);
      for (let j = 0; j < D; j++) x.push(z[j]);
      const gi = (row: number): number => {
        let s = bih[row];
        for (let j = 0; j < X; j++) s += wih[row * X + j] * x[j];
        return s;
      };
      const gh = (row: number): number => {
        let s = bhh[row];
        for (let j = 0; j < H; j++) s += whh[row * H + j] * h[j];
        return s;
      };
      const hn: number[] = [];
      const cn: number[] = [];
      for (let u = 0; u < H; u++) {
        if (q.cell === "lstm") {
          const ig = sig(gi(u) + gh(u)), fg = sig(gi(H + u) + gh(H + u));
          const gg = Math.tanh(gi(2 * H + u) + gh(2 * H + u)), og = sig(gi(3 * H + u) + gh(3 * H + u));
          cn.push(fg * c[u] + ig * gg);
          hn.push(og * Math.tanh(cn[u]));
          continue;
        }
        const r = sig(gi(u) + gh(u));
        const zz = sig(gi(H + u) + gh(H + u));
        const n = Math.tanh(gi(2 * H + u) + r * gh(2 * H + u));
        hn.push((1 - zz) * n + zz * h[u]);
      }
      h = hn;
      c = cn;
      let feat = [...x, ...h];
      if (q.output === "deep") {
        const lz = p["deep.context.weight"], lh = p["deep.hidden.weight"], bd = p["deep.bias"];
        feat = x.slice(0, E).map((ey, k) => {
          let s = ey + bd[k];
          for (let j = 0; j < D; j++) s += lz[k * D + j] * z[j];
          for (let j = 0; j < H; j++) s += lh[k * H + j] * h[j];
          return Math.tanh(s);
        });
      }
      const row = new Float64Array(V);
      for (let o = 0; o < V; o++) {
        let s = bo[o];
        for (let j = 0; j < feat.length; j++) s += wo[o * feat.length + j] * feat[j];
        row[o] = s;
      }
      logits.set(row, (b * T + t) * V);
      const y = q.targets[b][t];
      if (y !== -1) {
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
        ce += lse - row[y];
        count++;
      }
    }
    for (let i = 0; i < L; i++) if (!q.mask || q.mask[b * L + i] !== 0) reg += (1 - cover[i]) ** 2;
  }
  return { logits, attention: att, loss: ce / count + (q.lambda * reg) / B };
}
