/**
 * Spectral radius (src/spectral.ts): the Hessenberg QR iteration against matrices with known
 * eigenvalues, and restarted Arnoldi against a full dense eigendecomposition.
 */
import { describe, expect, it } from "vitest";
import { createRng } from "../src/random.js";
import { csrOperator, denseEigenvalues, denseOperator, spectralRadius } from "../src/spectral/index.js";

function randomDense(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-0.5, 0.5);
  return a;
}

function oracleRadius(n: number, a: ArrayLike<number>): number {
  const { re, im } = denseEigenvalues(n, a);
  let r = 0;
  for (let i = 0; i < n; i++) r = Math.max(r, Math.hypot(re[i], im[i]));
  return r;
}

// Q D Q^T with D block diagonal (2x2 rotation-scalings r [cos, -sin; sin, cos] and 1x1 reals) and
// Q a product of random Householder reflections: eigenvalues known exactly, matrix non-normal-free
// but far from triangular.
function withKnownSpectrum(blocks: ({ r: number; phi: number } | number)[], seed: number): { n: number; a: Float64Array; eig: { re: number; im: number }[] } {
  const n = blocks.reduce<number>((s, b) => s + (typeof b === "number" ? 1 : 2), 0);
  const a = new Float64Array(n * n);
  const eig: { re: number; im: number }[] = [];
  let p = 0;
  for (const b of blocks) {
    if (typeof b === "number") {
      a[p * n + p] = b;
      eig.push({ re: b, im: 0 });
      p++;
    } else {
      const c = b.r * Math.cos(b.phi);
      const s = b.r * Math.sin(b.phi);
      a[p * n + p] = c;
      a[p * n + p + 1] = -s;
      a[(p + 1) * n + p] = s;
      a[(p + 1) * n + p + 1] = c;
      eig.push({ re: c, im: s }, { re: c, im: -s });
      p += 2;
    }
  }
  const rng = createRng(seed);
  for (let h = 0; h < 3; h++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    const vv = v.reduce((s, x) => s + x * x, 0);
    // a <- H a H with H = I - 2 v v^T / v^T v
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += v[i] * a[i * n + j];
      s *= 2 / vv;
      for (let i = 0; i < n; i++) a[i * n + j] -= s * v[i];
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * v[j];
      s *= 2 / vv;
      for (let j = 0; j < n; j++) a[i * n + j] -= s * v[j];
    }
  }
  return { n, a, eig };
}

describe("spectral radius", () => {
  it("QR iteration finds known real and complex eigenvalues", () => {
    const { n, a, eig } = withKnownSpectrum([{ r: 1.3, phi: 0.7 }, 0.9, -1.1, { r: 0.5, phi: 2.5 }, 0.2, { r: 1.29, phi: 3.0 }], 7);
    const got = denseEigenvalues(n, a);
    const pairs = Array.from({ length: n }, (_, i) => ({ re: got.re[i], im: got.im[i] }));
    for (const e of eig) {
      const d = Math.min(...pairs.map((g) => Math.hypot(g.re - e.re, g.im - e.im)));
      expect(d).toBeLessThan(1e-12);
    }
  });

  it("small matrices (n <= 64) are solved exactly; the top eigenvalue may be a complex pair", () => {
    const { n, a } = withKnownSpectrum([0.3, { r: 2, phi: 1 }, -1.5, { r: 1.9, phi: 0.1 }, ...Array.from({ length: 20 }, (_, i) => 0.05 * i - 0.5)], 3);
    const r = spectralRadius(denseOperator(n, a));
    expect(r.radius).toBeCloseTo(2, 12);
    expect(r.re).toBeCloseTo(2 * Math.cos(1), 12);
    expect(r.im).toBeCloseTo(2 * Math.sin(1), 12);
  });

  it("restarted Arnoldi matches a dense eigendecomposition (random dense, n = 150 and 200)", () => {
    for (const [n, seed] of [[150, 1], [200, 3]]) {
      const a = randomDense(n, seed);
      const o = oracleRadius(n, a);
      // Default tolerance (residual 1e-8): the radius is still accurate to ~1e-9 or better.
      const r = spectralRadius(denseOperator(n, a));
      expect(r.converged).toBe(true);
      expect(r.residual).toBeLessThanOrEqual(1e-8);
      expect(Math.abs(r.radius - o) / o).toBeLessThan(1e-8);
      const tight = spectralRadius(denseOperator(n, a), { tol: 1e-11 });
      expect(tight.residual).toBeLessThanOrEqual(1e-11);
      expect(Math.abs(tight.radius - o) / o).toBeLessThan(1e-11);
    }
  });

  it("restarted Arnoldi on a sparse CSR matrix (n = 250, 5 % nonzeros)", () => {
    const n = 250;
    const k = 12;
    const rng = createRng(11);
    const rowPtr = new Int32Array(n + 1);
    const col = new Int32Array(n * k);
    const val = new Float64Array(n * k);
    const dense = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      rowPtr[i + 1] = (i + 1) * k;
      const cols = new Set<number>();
      while (cols.size < k) cols.add(rng.int(n));
      [...cols].sort((x, y) => x - y).forEach((c, j) => {
        col[i * k + j] = c;
        val[i * k + j] = rng.normal();
        dense[i * n + c] = val[i * k + j];
      });
    }
    const r = spectralRadius(csrOperator(n, rowPtr, col, val));
    const o = oracleRadius(n, dense);
    expect(Math.abs(r.radius - o) / o).toBeLessThan(1e-10);
  });

  it("a zero matrix has radius 0 (an invariant Krylov space, exactly)", () => {
    const r = spectralRadius(denseOperator(100, new Float64Array(100 * 100)));
    expect(r.radius).toBe(0);
    expect(r.converged).toBe(true);
  });
});
