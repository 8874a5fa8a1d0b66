/**
 * Spectral radius of a real non-symmetric matrix, in float64: implicitly restarted Arnoldi
 * (Sorensen 1992, the ARPACK method that ReservoirPy reaches through scipy's `eigs`) with exact
 * shifts, Ritz values from a Francis double-shift QR iteration on the small Hessenberg matrix.
 *
 * Why Arnoldi and not power iteration: reservoir matrices are non-symmetric, their largest-|λ|
 * eigenvalue is usually one of a complex-conjugate pair (power iteration then oscillates), and
 * random matrices fill a disk (circular law) so the outermost eigenvalues are separated by only
 * a fraction of a percent — power iteration would need thousands of products. Arnoldi handles
 * complex pairs in real arithmetic (the QR iteration returns conjugate pairs; a pair is applied
 * as one double shift and never split between kept and discarded Ritz values).
 *
 * Accuracy: a run stops when the Ritz pair (θ, v) of largest |θ| has relative residual
 * ‖A v − θ v‖ / (|θ| ‖v‖) <= tol (default 1e-8). The eigenvalue error is then at most about
 * κ(λ)·tol·|θ| (κ: the eigenvalue's condition number) and in practice far smaller: against full
 * dense eigendecompositions (n = 150–250, test/esn.spectral.test.ts) the default agrees to ~1e-9
 * relative, tol 1e-11 to ~1e-12. Matrices of order <= 64, and Krylov spaces that become invariant
 * (e.g. an all-zero W), are solved exactly by the QR iteration. Caveat shared with ARPACK: the
 * residual test certifies an eigenvalue, not that it is the outermost one; with the spectrum's
 * edge crowded (large random reservoirs) a too small Krylov space can settle on an eigenvalue a
 * fraction of a percent inside the edge — the defaults (48 vectors, 16 kept) found the outermost
 * one in every case tried (dense n <= 1000, sparse n = 10,000), a 32-vector space did not once.
 */
import { denseEigenvalues, hessenbergEigenvalues } from "./hessenberg.js";
import { jsWorkspace, type KrylovWorkspace, type LinearOperator } from "./operators.js";

export interface SpectralRadiusOptions {
  /** Krylov subspace dimension per restart cycle. Default min(n - 1, 48). */
  krylovDim?: number;
  /** Fraction of the Krylov dimension kept (the outermost Ritz values) at each restart. Default 1/3. */
  keepFraction?: number;
  /** Relative residual at which the top Ritz pair counts as converged. Default 1e-8. */
  tol?: number;
  /** Restart cycles before giving up (the best estimate is returned, `converged: false`). Default 300. */
  maxRestarts?: number;
  /** Where the vector work runs (default: JavaScript arrays). */
  workspace?: KrylovWorkspace;
}

export interface SpectralRadiusResult {
  /** max |λ| over the eigenvalues of A. */
  radius: number;
  /** The eigenvalue attaining it (im != 0: one of a complex-conjugate pair). */
  re: number;
  im: number;
  /** Relative residual ‖A v − θ v‖ / |θ| of the returned Ritz pair (0 when solved exactly). */
  residual: number;
  converged: boolean;
  /** Matrix-vector products used. */
  products: number;
}

// Deterministic start vector: the spectral radius of a given matrix must not depend on a seed.
function startVector(n: number, salt: number): Float64Array {
  const v = new Float64Array(n);
  let s = (0x9e3779b9 ^ salt) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    v[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return v;
}

// Orthogonalises w against V's first `count` vectors by classical Gram-Schmidt with the DGKS
// correction (Daniel, Gragg, Kaufman, Stewart 1976): a second pass only when the first removed
// more than 1 - 1/sqrt(2) of w's norm, which keeps V orthonormal to working precision at about
// half the cost of always orthogonalising twice. Adds the coefficients to h; returns ||w||.
function orthogonalize(ws: KrylovWorkspace, V: Float64Array, count: number, n: number, w: Float64Array, h: Float64Array, coef: Float64Array): number {
  let before = norm2(ws, w);
  for (let pass = 0; pass < 3; pass++) {
    ws.dots(V, count, n, w, coef);
    for (let i = 0; i < count; i++) {
      h[i] += coef[i];
      ws.axpy(n, -coef[i], V, i * n, w, 0);
    }
    const after = norm2(ws, w);
    if (after > Math.SQRT1_2 * before) return after;
    before = after;
  }
  return before;
}

function norm2(ws: KrylovWorkspace, v: Float64Array): number {
  const out = new Float64Array(1);
  ws.dots(v, 1, v.length, v, out);
  return Math.sqrt(out[0]);
}

/**
 * A null vector of the m x m Hessenberg matrix H - θ I (θ = tr + i·ti) by two steps of inverse
 * iteration in complex arithmetic (Gaussian elimination with partial pivoting), normalised.
 */
function ritzVector(h: Float64Array, ldh: number, m: number, tr: number, ti: number): { yr: Float64Array; yi: Float64Array } {
  const ar = new Float64Array(m * m);
  const ai = new Float64Array(m * m);
  let scale = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      ar[i * m + j] = h[i * ldh + j];
      scale = Math.max(scale, Math.abs(h[i * ldh + j]));
    }
    ar[i * m + i] -= tr;
    ai[i * m + i] -= ti;
  }
  // LU with partial pivoting, in place; exactly singular pivots are nudged (inverse iteration
  // only needs a huge, not an exact, solution).
  const piv = new Int32Array(m);
  const tiny = Math.max(scale, 1e-300) * 1e-15;
  for (let k = 0; k < m; k++) {
    let best = k;
    let bestAbs = -1;
    for (let i = k; i < m; i++) {
      const mag = Math.hypot(ar[i * m + k], ai[i * m + k]);
      if (mag > bestAbs) {
        bestAbs = mag;
        best = i;
      }
    }
    piv[k] = best;
    if (best !== k) {
      for (let j = 0; j < m; j++) {
        let t = ar[k * m + j];
        ar[k * m + j] = ar[best * m + j];
        ar[best * m + j] = t;
        t = ai[k * m + j];
        ai[k * m + j] = ai[best * m + j];
        ai[best * m + j] = t;
      }
    }
    if (bestAbs < tiny) {
      ar[k * m + k] = tiny;
      ai[k * m + k] = 0;
    }
    const pr = ar[k * m + k];
    const pi = ai[k * m + k];
    const den = pr * pr + pi * pi;
    for (let i = k + 1; i < m; i++) {
      const xr = ar[i * m + k];
      const xi = ai[i * m + k];
      if (xr === 0 && xi === 0) continue;
      const lr = (xr * pr + xi * pi) / den;
      const li = (xi * pr - xr * pi) / den;
      ar[i * m + k] = lr;
      ai[i * m + k] = li;
      for (let j = k + 1; j < m; j++) {
        const ur = ar[k * m + j];
        const ui = ai[k * m + j];
        ar[i * m + j] -= lr * ur - li * ui;
        ai[i * m + j] -= lr * ui + li * ur;
      }
    }
  }
  const yr = new Float64Array(m).fill(1);
  const yi = new Float64Array(m);
  for (let it = 0; it < 2; it++) {
    for (let k = 0; k < m; k++) {
      const p = piv[k];
      if (p !== k) {
        let t = yr[k];
        yr[k] = yr[p];
        yr[p] = t;
        t = yi[k];
        yi[k] = yi[p];
        yi[p] = t;
      }
      for (let i = k + 1; i < m; i++) {
        const lr = ar[i * m + k];
        const li = ai[i * m + k];
        yr[i] -= lr * yr[k] - li * yi[k];
        yi[i] -= lr * yi[k] + li * yr[k];
      }
    }
    for (let i = m - 1; i >= 0; i--) {
      let sr = yr[i];
      let si = yi[i];
      for (let j = i + 1; j < m; j++) {
        sr -= ar[i * m + j] * yr[j] - ai[i * m + j] * yi[j];
        si -= ar[i * m + j] * yi[j] + ai[i * m + j] * yr[j];
      }
      const pr = ar[i * m + i];
      const pi = ai[i * m + i];
      const den = pr * pr + pi * pi;
      yr[i] = (sr * pr + si * pi) / den;
      yi[i] = (si * pr - sr * pi) / den;
    }
    let nrm = 0;
    for (let i = 0; i < m; i++) nrm += yr[i] * yr[i] + yi[i] * yi[i];
    nrm = Math.sqrt(nrm);
    for (let i = 0; i < m; i++) {
      yr[i] /= nrm;
      yi[i] /= nrm;
    }
  }
  return { yr, yi };
}

const DENSE_LIMIT = 64;

// Givens-rotation QR step with real shift mu on the leading m x m block of h (row stride ld):
// h <- G^T h G, q <- q G (q: m x m, row-major). Keeps h upper Hessenberg.
function realShift(h: Float64Array, ld: number, m: number, mu: number, q: Float64Array): void {
  for (let i = 0; i < m; i++) h[i * ld + i] -= mu;
  const cs = new Float64Array(m);
  const sn = new Float64Array(m);
  for (let i = 0; i < m - 1; i++) {
    const a = h[i * ld + i];
    const b = h[(i + 1) * ld + i];
    const r = Math.hypot(a, b);
    const c = r === 0 ? 1 : a / r;
    const s = r === 0 ? 0 : b / r;
    cs[i] = c;
    sn[i] = s;
    for (let j = i; j < m; j++) {
      const x = h[i * ld + j];
      const y = h[(i + 1) * ld + j];
      h[i * ld + j] = c * x + s * y;
      h[(i + 1) * ld + j] = -s * x + c * y;
    }
  }
  for (let i = 0; i < m - 1; i++) {
    const c = cs[i];
    const s = sn[i];
    for (let r = 0; r <= Math.min(i + 1, m - 1); r++) {
      const x = h[r * ld + i];
      const y = h[r * ld + i + 1];
      h[r * ld + i] = c * x + s * y;
      h[r * ld + i + 1] = -s * x + c * y;
    }
    for (let r = 0; r < m; r++) {
      const x = q[r * m + i];
      const y = q[r * m + i + 1];
      q[r * m + i] = c * x + s * y;
      q[r * m + i + 1] = -s * x + c * y;
    }
  }
  for (let i = 0; i < m; i++) h[i * ld + i] += mu;
}

// a <- P a on rows row0 .. row0+len-1 (len 2 or 3) and columns j0 .. j1-1 of a (row stride ld),
// P = I - beta v v^T. Unrolled: loops of two or three iterations cost more than their arithmetic.
function reflectRows(a: Float64Array, ld: number, row0: number, len: number, j0: number, j1: number, v0: number, v1: number, v2: number, beta: number): void {
  const r0 = row0 * ld, r1 = r0 + ld, r2 = r1 + ld;
  if (len === 3) {
    for (let j = j0; j < j1; j++) {
      const acc = (v0 * a[r0 + j] + v1 * a[r1 + j] + v2 * a[r2 + j]) * beta;
      a[r0 + j] -= acc * v0;
      a[r1 + j] -= acc * v1;
      a[r2 + j] -= acc * v2;
    }
  } else {
    for (let j = j0; j < j1; j++) {
      const acc = (v0 * a[r0 + j] + v1 * a[r1 + j]) * beta;
      a[r0 + j] -= acc * v0;
      a[r1 + j] -= acc * v1;
    }
  }
}

// a <- a P on columns col0 .. col0+len-1 of rows 0 .. rows-1.
function reflectCols(a: Float64Array, ld: number, col0: number, len: number, rows: number, v0: number, v1: number, v2: number, beta: number): void {
  for (let r = 0; r < rows; r++) {
    const i = r * ld + col0;
    if (len === 3) {
      const acc = (a[i] * v0 + a[i + 1] * v1 + a[i + 2] * v2) * beta;
      a[i] -= acc * v0;
      a[i + 1] -= acc * v1;
      a[i + 2] -= acc * v2;
    } else {
      const acc = (a[i] * v0 + a[i + 1] * v1) * beta;
      a[i] -= acc * v0;
      a[i + 1] -= acc * v1;
    }
  }
}

// Double-shift step for the conjugate pair mu, conj(mu) in real arithmetic: Householder QR of
// M = h^2 - 2 Re(mu) h + |mu|^2 I (explicitly formed: m is small), h <- Q^T h Q, q <- q Q.
function complexShift(h: Float64Array, ld: number, m: number, re: number, im: number, q: Float64Array): void {
  const s = 2 * re;
  const t = re * re + im * im;
  // Both arrays are made before the first loop: a construct reached only after on-stack
  // replacement has no type feedback, and TurboFan then deoptimised this function on every call.
  const M = new Float64Array(m * m);
  const v = new Float64Array(m);
  // M has two subdiagonals; the entries below them stay zero.
  for (let i = 0; i < m; i++) {
    for (let j = Math.max(0, i - 2); j < m; j++) {
      let acc = 0;
      for (let k = Math.max(0, i - 1); k <= Math.min(j + 1, m - 1); k++) acc += h[i * ld + k] * h[k * ld + j];
      M[i * m + j] = acc - s * h[i * ld + j] + (i === j ? t : 0);
    }
  }
  for (let c = 0; c < m - 1; c++) {
    const last = Math.min(c + 2, m - 1); // M has two subdiagonals
    let alpha = 0;
    for (let i = c; i <= last; i++) alpha += M[i * m + c] * M[i * m + c];
    alpha = Math.sqrt(alpha);
    if (alpha === 0) continue;
    if (M[c * m + c] > 0) alpha = -alpha;
    let vv = 0;
    for (let i = c; i <= last; i++) {
      v[i] = M[i * m + c] - (i === c ? alpha : 0);
      vv += v[i] * v[i];
    }
    if (vv === 0) continue;
    const beta = 2 / vv;
    // M <- P M, h <- P h P, q <- q P with P = I - beta v v^T on rows/cols c..last. The loops
    // skip what is zero in exact arithmetic: M's columns before c (already reduced, never read
    // again), h's entries below the bulge (cleared at the end), which halves the work.
    const len = last - c + 1;
    const v0 = v[c], v1 = v[c + 1], v2 = len === 3 ? v[c + 2] : 0;
    reflectRows(M, m, c, len, c, m, v0, v1, v2, beta);
    reflectRows(h, ld, c, len, Math.max(0, c - 1), m, v0, v1, v2, beta);
    reflectCols(h, ld, c, len, Math.min(last + 1, m - 1) + 1, v0, v1, v2, beta);
    reflectCols(q, m, c, len, m, v0, v1, v2, beta);
  }
  // Exact arithmetic keeps h Hessenberg; drop the rounding below the subdiagonal.
  for (let i = 2; i < m; i++) for (let j = 0; j < i - 1; j++) h[i * ld + j] = 0;
}

/**
 * Spectral radius max |λ(A)| in float64 (see the module comment for the method and its accuracy).
 * A zero or nilpotent matrix returns radius 0 (exactly, through an invariant Krylov subspace).
 */
export function spectralRadius(op: LinearOperator, options: SpectralRadiusOptions = {}): SpectralRadiusResult {
  const n = op.n;
  if (n === 0) return { radius: 0, re: 0, im: 0, residual: 0, converged: true, products: 0 };
  const tol = options.tol ?? 1e-8;
  const maxRestarts = options.maxRestarts ?? 300;
  if (n <= DENSE_LIMIT) {
    // Small: form the matrix column by column and take every eigenvalue.
    const a = new Float64Array(n * n);
    const e = new Float64Array(n);
    const col = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      e.fill(0);
      e[j] = 1;
      op.apply(e, col);
      for (let i = 0; i < n; i++) a[i * n + j] = col[i];
    }
    const { re, im } = denseEigenvalues(n, a);
    let best = 0;
    for (let i = 1; i < n; i++) if (Math.hypot(re[i], im[i]) > Math.hypot(re[best], im[best])) best = i;
    return { radius: Math.hypot(re[best], im[best]), re: re[best], im: Math.abs(im[best]), residual: 0, converged: true, products: n };
  }
  // Implicitly restarted Arnoldi (Sorensen 1992, the ARPACK method) with exact shifts: after
  // each extension to m vectors, the m - k Ritz values of smallest modulus are applied as shifts,
  // which filters their directions out of the start vector and keeps a k-step factorization.
  const m = Math.max(8, Math.min(options.krylovDim ?? 48, n - 1));
  const kWanted = Math.max(2, Math.floor(m * (options.keepFraction ?? 1 / 3)));
  const ws = options.workspace ?? jsWorkspace;
  // Every n-length array is taken from the workspace up front (a Wasm-backed one must not grow
  // memory in the middle of the run).
  const V = ws.array((m + 1) * n);
  const w = ws.array(n);
  const x = ws.array(n);
  const f = ws.array(n);
  const Vk = ws.array(Math.max(2, Math.floor(m * (options.keepFraction ?? 1 / 3))) * n + n);
  const H = new Float64Array((m + 1) * m); // row stride m; row m holds beta_m
  const h = new Float64Array(m + 1);
  const coef = new Float64Array(m + 1);
  const v0 = startVector(n, n);
  let nv = 0;
  for (let i = 0; i < n; i++) nv += v0[i] * v0[i];
  nv = Math.sqrt(nv);
  for (let i = 0; i < n; i++) V[i] = v0[i] / nv;
  let size = 0;
  let products = 0;
  let best = { radius: 0, re: 0, im: 0, residual: Infinity, converged: false, products: 0 };
  const breakdown = Math.max(op.norm, 1e-300) * 1e-14;
  for (let restart = 0; restart <= maxRestarts; restart++) {
    let k = m;
    let invariant = false;
    for (let j = size; j < m; j++) {
      x.set(V.subarray(j * n, (j + 1) * n));
      op.apply(x, w);
      products++;
      h.fill(0);
      const beta = orthogonalize(ws, V, j + 1, n, w, h, coef);
      for (let i = 0; i <= j; i++) H[i * m + j] = h[i];
      H[(j + 1) * m + j] = beta;
      if (beta <= breakdown) {
        k = j + 1;
        invariant = true;
        break;
      }
      const off = (j + 1) * n;
      for (let r = 0; r < n; r++) V[off + r] = w[r] / beta;
    }
    // Ritz values: eigenvalues of the leading k x k block of H.
    const hk = new Float64Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) hk[i * k + j] = H[i * m + j];
    const { re, im } = hessenbergEigenvalues(hk.slice(), k);
    const order = Array.from({ length: k }, (_, i) => i).sort((a, b) => Math.hypot(re[b], im[b]) - Math.hypot(re[a], im[a]));
    const top = order[0];
    const theta = Math.hypot(re[top], im[top]);
    if (invariant) {
      // The Krylov space is invariant: its eigenvalues are exact eigenvalues of A, and a random
      // start vector excites every eigenvector, so the largest is the spectral radius.
      return { radius: theta, re: re[top], im: Math.abs(im[top]), residual: 0, converged: true, products };
    }
    const betaM = H[m * m + (m - 1)];
    const { yr, yi } = ritzVector(hk, k, k, re[top], im[top]);
    const residual = theta === 0 ? Infinity : (betaM * Math.hypot(yr[k - 1], yi[k - 1])) / theta;
    if (residual < best.residual) best = { radius: theta, re: re[top], im: Math.abs(im[top]), residual, converged: false, products };
    if (residual <= tol) return { ...best, converged: true, products };
    if (restart === maxRestarts) break;
    // Keep k wanted Ritz values; never split a conjugate pair between kept and shifted.
    let keep = kWanted;
    if (im[order[keep - 1]] !== 0 && im[order[keep]] === -im[order[keep - 1]] && re[order[keep]] === re[order[keep - 1]]) keep++;
    const Q = new Float64Array(m * m);
    for (let i = 0; i < m; i++) Q[i * m + i] = 1;
    for (let idx = keep; idx < m; idx++) {
      const o = order[idx];
      if (im[o] === 0) realShift(H, m, m, re[o], Q);
      else if (im[o] > 0) complexShift(H, m, m, re[o], im[o], Q);
      // im < 0: the partner of a pair already applied by complexShift
    }
    // V_keep <- V_m Q[:, :keep]; f <- V_m Q[:, keep] H[keep][keep-1] + beta_m v_{m+1} Q[m-1][keep-1]
    f.fill(0);
    const sigma = H[keep * m + (keep - 1)];
    const tail = betaM * Q[(m - 1) * m + (keep - 1)];
    const vm1 = V.subarray(m * n, (m + 1) * n);
    ws.axpy(n, tail, vm1, 0, f, 0);
    Vk.fill(0);
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < keep; c++) {
        const qc = Q[j * m + c];
        if (qc !== 0) ws.axpy(n, qc, V, j * n, Vk, c * n);
      }
      const qk = Q[j * m + keep] * sigma;
      if (qk !== 0) ws.axpy(n, qk, V, j * n, f, 0);
    }
    V.set(Vk.subarray(0, keep * n), 0);
    // H keeps its leading keep x keep block; the rest is rebuilt by the next extension.
    for (let i = keep; i <= m; i++) for (let j = 0; j < m; j++) H[i * m + j] = 0;
    for (let i = 0; i < keep; i++) for (let j = keep; j < m; j++) H[i * m + j] = 0;
    // Re-orthogonalise f against the kept basis (the shifts mix in rounding errors).
    const hcol = new Float64Array(keep);
    const beta = orthogonalize(ws, V, keep, n, f, hcol, coef);
    for (let i = 0; i < keep; i++) H[i * m + keep - 1] += hcol[i];
    H[keep * m + (keep - 1)] = beta;
    if (beta <= breakdown) {
      // The kept space is invariant: its eigenvalues are exact.
      const hh = new Float64Array(keep * keep);
      for (let i = 0; i < keep; i++) for (let j = 0; j < keep; j++) hh[i * keep + j] = H[i * m + j];
      const ev = hessenbergEigenvalues(hh, keep);
      let b = 0;
      for (let i = 1; i < keep; i++) if (Math.hypot(ev.re[i], ev.im[i]) > Math.hypot(ev.re[b], ev.im[b])) b = i;
      return { radius: Math.hypot(ev.re[b], ev.im[b]), re: ev.re[b], im: Math.abs(ev.im[b]), residual: 0, converged: true, products };
    }
    for (let r = 0; r < n; r++) V[keep * n + r] = f[r] / beta;
    size = keep;
  }
  return { ...best, products };
}
