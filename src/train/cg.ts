/**
 * Preconditioned conjugate gradient for min φ(x) = gᵀx + ½ xᵀAx (A symmetric positive definite,
 * given by its products), as Hessian-free optimisation runs it (Martens 2010): from a start x0,
 * stopped by the relative-progress test (φ_i − φ_{i−k}) / φ_i < kε with k = max(10, ⌈i/10⌉),
 * iterates kept at i = ⌈γ^j⌉ (and the last) for backtracking. φ is tracked from the residual
 * r = −g − Ax as ½ xᵀ(g − r), without extra products.
 */
import { fail, RecurError } from "../errors.js";

/** Options of `conjugateGradient`. */
export interface ConjugateGradientOptions {
  /** Diagonal preconditioner M (CG solves with M⁻¹). Default none. */
  precond?: Float32Array;
  /** Starting point. Default zeros. */
  x0?: Float32Array;
  /** Iterations at most. Default 250. */
  maxIterations?: number;
  /** ε of the stopping test; 0 runs maxIterations (or to a zero residual). Default 5e-4. */
  tolerance?: number;
  /** γ of the kept iterates. Default 1.3. */
  keepGamma?: number;
}

/** An iterate kept for backtracking. */
export interface CgIterate {
  /** Its iteration. */
  i: number;
  /** The iterate. */
  x: Float32Array;
  /** φ(x). */
  phi: number;
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

/**
 * Minimises gᵀx + ½ xᵀAx; `apply(v, out)` writes A v to `out`. Throws RecurError E_NUMERIC when
 * pᵀAp ≤ 0 (negative curvature) or a value is not finite.
 */
export function conjugateGradient(
  apply: (v: Float32Array, out: Float32Array) => void,
  g: Float32Array,
  options: ConjugateGradientOptions = {},
): {
  /** The last iterate. */
  x: Float32Array;
  /** Iterations run. */
  iterations: number;
  /** The iterates kept for backtracking, the last one included. */
  kept: CgIterate[];
} {
  const n = g.length;
  const maxIterations = options.maxIterations ?? 250;
  const tolerance = options.tolerance ?? 5e-4;
  const gamma = options.keepGamma ?? 1.3;
  if (!Number.isInteger(maxIterations) || maxIterations < 1) fail("E_VALUE", `conjugateGradient: maxIterations must be an integer >= 1, got ${maxIterations}`);
  const precond = options.precond;
  if (options.x0 && options.x0.length !== n) fail("E_SHAPE", `conjugateGradient: x0 has ${options.x0.length} values, g has ${n}`);
  if (precond && precond.length !== n) fail("E_SHAPE", `conjugateGradient: precond has ${precond.length} values, g has ${n}`);
  const x = options.x0 ? options.x0.slice() : new Float32Array(n);
  const Ax = new Float32Array(n);
  if (dot(x, x) > 0) apply(x, Ax);
  const r = new Float32Array(n);
  for (let k = 0; k < n; k++) r[k] = -g[k] - Ax[k];
  const y = precond ? r.map((v, k) => v / precond[k]) : r.slice();
  const p = y.slice();
  let ry = dot(r, y);
  const ry0 = ry;
  const Ap = new Float32Array(n);
  const phis: number[] = [];
  const kept: CgIterate[] = [];
  const phiOf = (): number => {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[k] * (g[k] - r[k]);
    return 0.5 * s;
  };
  let nextKeep = 1, j = 0, i = 0;
  // Stops early at a residual float32 cannot reduce further (then pᵀAp is rounding noise).
  while (i < maxIterations && ry > 1e-12 * ry0) {
    apply(p, Ap);
    const pAp = dot(p, Ap);
    if (!(pAp > 0)) {
      throw new RecurError("E_NUMERIC", `conjugateGradient: ${Number.isNaN(pAp) ? "a NaN" : "negative or zero curvature"} (pᵀAp = ${pAp}) at iteration ${i + 1}`);
    }
    const a = ry / pAp;
    for (let k = 0; k < n; k++) {
      x[k] += a * p[k];
      r[k] -= a * Ap[k];
    }
    for (let k = 0; k < n; k++) y[k] = precond ? r[k] / precond[k] : r[k];
    const ryNew = dot(r, y);
    const beta = ryNew / ry;
    ry = ryNew;
    for (let k = 0; k < n; k++) p[k] = y[k] + beta * p[k];
    i++;
    const phi = phiOf();
    if (!Number.isFinite(phi)) throw new RecurError("E_NUMERIC", `conjugateGradient: a non-finite value at iteration ${i}`);
    phis.push(phi);
    if (i === nextKeep) {
      kept.push({ i, x: x.slice(), phi });
      while (nextKeep <= i) nextKeep = Math.ceil(gamma ** ++j);
    }
    const k = Math.max(10, Math.ceil(0.1 * i));
    if (tolerance > 0 && i > k && phi < 0 && (phi - phis[i - 1 - k]) / phi < k * tolerance) break;
  }
  if (kept.length === 0 || kept[kept.length - 1].i !== i) kept.push({ i, x: x.slice(), phi: phiOf() });
  return { x, iterations: i, kept };
}
