/**
 * Float64 reference of the attention decoder's equations (assembly/cells/attention.ts), written
 * from the equations alone: additive scores (or Luong et al.'s multiplicative "dot" h·a_i and
 * "general" hᵀ W_a a_i), masked softmax, context, a GRU cell (torch.nn.GRUCell,
 * gates r, z, n, reset after) on [E y_{t-1}; z_t], logits from [E y_{t-1}; z_t; h_t], mean
 * cross-entropy over the counted targets and the doubly stochastic term λ/B Σ_b Σ_i (1 - Σ_t α_ti)².
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
  score?: "additive" | "dot" | "general"; // default additive
}

const sig = (x: number): number => 1 / (1 + Math.exp(-x));

/** Logits [B][T][V], attention [B][T][L] and the loss of the problem under parameters p. */
export function attention64(p: Params64, q: Problem64): { logits: Float64Array; attention: Float64Array; loss: number } {
  const { V, D, A, E, H, B, L, T } = q;
  const X = E + D, F = E + D + H;
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
    const wInit = p["init.weight"], bInit = p["init.bias"];
    if (!q.h0 && wInit) {
      // h0 = tanh(W_init mean + b_init) over the unmasked annotations.
      const mean = new Float64Array(D);
      let n = 0;
      for (let i = 0; i < L; i++) {
        if (q.mask && q.mask[b * L + i] === 0) continue;
        n++;
        for (let j = 0; j < D; j++) mean[j] += q.annotations[(b * L + i) * D + j];
      }
      h = h.map((_, u) => {
        let s = bInit[u];
        for (let j = 0; j < D; j++) s += (wInit[u * D + j] * mean[j]) / n;
        return Math.tanh(s);
      });
    }
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
        cover[i] += alpha[i];
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
      for (let u = 0; u < H; u++) {
        const r = sig(gi(u) + gh(u));
        const zz = sig(gi(H + u) + gh(H + u));
        const n = Math.tanh(gi(2 * H + u) + r * gh(2 * H + u));
        hn.push((1 - zz) * n + zz * h[u]);
      }
      h = hn;
      const feat = [...x, ...h];
      const row = new Float64Array(V);
      for (let o = 0; o < V; o++) {
        let s = bo[o];
        for (let j = 0; j < F; j++) s += wo[o * F + j] * feat[j];
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
