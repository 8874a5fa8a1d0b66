/** Eigenvalues of small dense matrices: reduction to Hessenberg form and the Francis double-shift QR iteration. */
import { fail } from "../errors.js";

/**
 * Eigenvalues of an upper Hessenberg matrix h (n x n, row-major, destroyed) by the Francis
 * double-shift QR iteration (the EISPACK `hqr` algorithm, eigenvalues only). Complex eigenvalues
 * come in conjugate pairs. Throws E_NUMERIC if an eigenvalue fails to converge in 60 iterations.
 */
export function hessenbergEigenvalues(h: Float64Array, n: number): { re: Float64Array; im: Float64Array } {
  // 1-based indexing (a padded copy) keeps the classic algorithm's index arithmetic recognisable.
  const N1 = n + 1;
  const A = new Float64Array(N1 * N1);
  for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) A[i * N1 + j] = h[(i - 1) * n + (j - 1)];
  const wr = new Float64Array(n + 1);
  const wi = new Float64Array(n + 1);
  let anorm = 0;
  for (let i = 1; i <= n; i++) for (let j = Math.max(i - 1, 1); j <= n; j++) anorm += Math.abs(A[i * N1 + j]);
  let nn = n;
  let t = 0;
  let p = 0, q = 0, r = 0, s = 0, w = 0, x = 0, y = 0, z = 0;
  while (nn >= 1) {
    let its = 0;
    let l: number;
    do {
      for (l = nn; l >= 2; l--) {
        s = Math.abs(A[(l - 1) * N1 + l - 1]) + Math.abs(A[l * N1 + l]);
        if (s === 0) s = anorm;
        if (Math.abs(A[l * N1 + l - 1]) + s === s) {
          A[l * N1 + l - 1] = 0;
          break;
        }
      }
      x = A[nn * N1 + nn];
      if (l === nn) {
        wr[nn] = x + t;
        wi[nn] = 0;
        nn--;
      } else {
        y = A[(nn - 1) * N1 + nn - 1];
        w = A[nn * N1 + nn - 1] * A[(nn - 1) * N1 + nn];
        if (l === nn - 1) {
          p = 0.5 * (y - x);
          q = p * p + w;
          z = Math.sqrt(Math.abs(q));
          x += t;
          if (q >= 0) {
            z = p + (p >= 0 ? Math.abs(z) : -Math.abs(z));
            wr[nn - 1] = wr[nn] = x + z;
            if (z !== 0) wr[nn] = x - w / z;
            wi[nn - 1] = wi[nn] = 0;
          } else {
            wr[nn - 1] = wr[nn] = x + p;
            wi[nn] = z;
            wi[nn - 1] = -z;
          }
          nn -= 2;
        } else {
          if (its === 60) fail("E_NUMERIC", "spectral radius: the QR iteration did not converge (60 iterations)");
          if (its === 10 || its === 20 || its === 40) {
            // Exceptional shift: breaks the rare cycles of the standard double shift.
            t += x;
            for (let i = 1; i <= nn; i++) A[i * N1 + i] = A[i * N1 + i] - x;
            s = Math.abs(A[nn * N1 + nn - 1]) + Math.abs(A[(nn - 1) * N1 + nn - 2]);
            y = x = 0.75 * s;
            w = -0.4375 * s * s;
          }
          ++its;
          let m: number;
          for (m = nn - 2; m >= l; m--) {
            z = A[m * N1 + m];
            r = x - z;
            s = y - z;
            p = (r * s - w) / A[(m + 1) * N1 + m] + A[m * N1 + m + 1];
            q = A[(m + 1) * N1 + m + 1] - z - r - s;
            r = A[(m + 2) * N1 + m + 1];
            s = Math.abs(p) + Math.abs(q) + Math.abs(r);
            p /= s;
            q /= s;
            r /= s;
            if (m === l) break;
            const u = Math.abs(A[m * N1 + m - 1]) * (Math.abs(q) + Math.abs(r));
            const v = Math.abs(p) * (Math.abs(A[(m - 1) * N1 + m - 1]) + Math.abs(z) + Math.abs(A[(m + 1) * N1 + m + 1]));
            if (u + v === v) break;
          }
          for (let i = m + 2; i <= nn; i++) {
            A[i * N1 + i - 2] = 0;
            if (i !== m + 2) A[i * N1 + i - 3] = 0;
          }
          for (let k = m; k <= nn - 1; k++) {
            if (k !== m) {
              p = A[k * N1 + k - 1];
              q = A[(k + 1) * N1 + k - 1];
              r = 0;
              if (k !== nn - 1) r = A[(k + 2) * N1 + k - 1];
              x = Math.abs(p) + Math.abs(q) + Math.abs(r);
              if (x !== 0) {
                p /= x;
                q /= x;
                r /= x;
              }
            }
            const norm = Math.sqrt(p * p + q * q + r * r);
            s = p >= 0 ? norm : -norm;
            if (s !== 0) {
              if (k === m) {
                if (l !== m) A[k * N1 + k - 1] = -A[k * N1 + k - 1];
              } else A[k * N1 + k - 1] = -s * x;
              p += s;
              x = p / s;
              y = q / s;
              z = r / s;
              q /= p;
              r /= p;
              for (let j = k; j <= nn; j++) {
                p = A[k * N1 + j] + q * A[(k + 1) * N1 + j];
                if (k !== nn - 1) {
                  p += r * A[(k + 2) * N1 + j];
                  A[(k + 2) * N1 + j] = A[(k + 2) * N1 + j] - p * z;
                }
                A[(k + 1) * N1 + j] = A[(k + 1) * N1 + j] - p * y;
                A[k * N1 + j] = A[k * N1 + j] - p * x;
              }
              const mmin = nn < k + 3 ? nn : k + 3;
              for (let i = l; i <= mmin; i++) {
                p = x * A[i * N1 + k] + y * A[i * N1 + k + 1];
                if (k !== nn - 1) {
                  p += z * A[i * N1 + k + 2];
                  A[i * N1 + k + 2] = A[i * N1 + k + 2] - p * r;
                }
                A[i * N1 + k + 1] = A[i * N1 + k + 1] - p * q;
                A[i * N1 + k] = A[i * N1 + k] - p;
              }
            }
          }
        }
      }
    } while (l < nn - 1);
  }
  return { re: wr.subarray(1), im: wi.subarray(1) };
}

/**
 * Reduces a dense n x n matrix (row-major, destroyed) to upper Hessenberg form by Householder
 * similarity transforms (eigenvalues preserved).
 */
export function toHessenberg(a: Float64Array, n: number): void {
  const v = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let alpha = 0;
    for (let i = k + 1; i < n; i++) alpha += a[i * n + k] * a[i * n + k];
    alpha = Math.sqrt(alpha);
    if (alpha === 0) continue;
    const x0 = a[(k + 1) * n + k];
    if (x0 > 0) alpha = -alpha;
    // v = x - alpha e1, H = I - 2 v v^T / (v^T v)
    let vv = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vv += v[i] * v[i];
    }
    if (vv === 0) continue;
    const beta = 2 / vv;
    // A = H A
    for (let j = k; j < n; j++) {
      let s = 0;
      for (let i = k + 1; i < n; i++) s += v[i] * a[i * n + j];
      s *= beta;
      for (let i = k + 1; i < n; i++) a[i * n + j] -= s * v[i];
    }
    // A = A H
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += a[i * n + j] * v[j];
      s *= beta;
      for (let j = k + 1; j < n; j++) a[i * n + j] -= s * v[j];
    }
    for (let i = k + 2; i < n; i++) a[i * n + k] = 0;
  }
}

/** All eigenvalues of a dense n x n matrix (row-major; copied): Householder Hessenberg + QR. */
export function denseEigenvalues(n: number, data: ArrayLike<number>): { re: Float64Array; im: Float64Array } {
  const a = Float64Array.from(data as ArrayLike<number>);
  toHessenberg(a, n);
  return hessenbergEigenvalues(a, n);
}
