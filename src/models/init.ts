import type { Rng } from "../random.js";

/** U(-bound, bound): PyTorch's default for recurrent layers with bound = 1/sqrt(hidden_size). */
export function fillUniform(out: Float32Array, bound: number, rng: Rng): void {
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-bound, bound);
}

/**
 * Fills a rows x cols block (row stride `cols`) with a random matrix of orthonormal rows or
 * columns (whichever is fewer), as torch.nn.init.orthogonal_: QR of a Gaussian matrix by modified
 * Gram-Schmidt in float64, signs fixed so the distribution is uniform (Haar).
 */
export function fillOrthogonal(out: Float32Array, rows: number, cols: number, rng: Rng, gain = 1): void {
  const tall = rows >= cols;
  const n = tall ? rows : cols; // length of each orthonormal vector
  const k = tall ? cols : rows; // how many vectors
  const q: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = rng.normal();
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i] * v[i];
      for (let i = 0; i < n; i++) v[i] -= dot * u[i];
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (tall ? q[c][r] : q[r][c]);
  }
}

/** gain on the diagonal of a rows x cols block, zeros elsewhere (Le, Jaitly and Hinton 2015). */
export function fillIdentity(out: Float32Array, rows: number, cols: number, gain: number): void {
  out.fill(0);
  for (let i = 0; i < Math.min(rows, cols); i++) out[i * cols + i] = gain;
}
