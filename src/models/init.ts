import { fail } from "../errors.js";
import type { Rng } from "../random.js";
import { csrOperator } from "../spectral/operators.js";
import { spectralRadius } from "../spectral/arnoldi.js";

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

/**
 * A sparse n x n block as Sutskever et al. (2013) initialise recurrent weights after echo state
 * networks: `connections` N(0, 1) weights per row at distinct random columns, scaled so that the
 * spectral radius is `radius`. The radius is measured in float64 on the float32 values and the
 * scale applied in float64, so the block as stored has the requested radius to float32 rounding.
 */
export function fillEchoState(out: Float32Array, n: number, connections: number, radius: number, rng: Rng): void {
  // CSR, `connections` entries per row: Arnoldi's products then cost n * connections.
  const rowPtr = Int32Array.from({ length: n + 1 }, (_, i) => i * connections);
  const col = new Int32Array(n * connections);
  const vals = new Float64Array(n * connections);
  const cols = Int32Array.from({ length: n }, (_, j) => j);
  for (let attempt = 0; attempt < 8; attempt++) {
    for (let i = 0; i < n; i++) {
      // The first `connections` entries of a partial Fisher-Yates shuffle: distinct columns.
      for (let k = 0; k < connections; k++) {
        const j = k + rng.int(n - k);
        [cols[k], cols[j]] = [cols[j], cols[k]];
        col[i * connections + k] = cols[k];
        vals[i * connections + k] = Math.fround(rng.normal());
      }
    }
    const rho = spectralRadius(csrOperator(n, rowPtr, col, vals), { tol: 1e-12 }).radius;
    // A sparse draw can be nilpotent (radius 0): nothing to rescale, so draw again.
    if (rho > 1e-6) {
      out.fill(0);
      for (let e = 0; e < vals.length; e++) out[Math.floor(e / connections) * n + col[e]] = (vals[e] * radius) / rho;
      return;
    }
  }
  fail("E_VALUE", `init "echo-state": ${connections} connection(s) per unit of ${n} gave a nilpotent W_hh block (spectral radius 0) in 8 draws; use more connections`);
}
