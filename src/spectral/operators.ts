/** The operators and vector kernels the Arnoldi iteration (arnoldi.ts) works through. */

/** A real square linear operator y = A x (x, y of length n, y fully overwritten). */
export interface LinearOperator {
  readonly n: number;
  apply(x: Float64Array, y: Float64Array): void;
  /** An upper bound of ‖A‖ (e.g. the Frobenius norm): scales the breakdown threshold. */
  readonly norm: number;
}

/**
 * Where the O(n)-vector work of Arnoldi happens. The default runs in JavaScript; src/esn/reservoir.ts
 * passes one whose arrays are views of Wasm memory and whose kernels are SIMD (the basis work
 * costs more than the products for a sparse W). Arrays must stay valid for the whole call.
 */
export interface KrylovWorkspace {
  /** A zeroed float64 array of `length` elements. */
  array(length: number): Float64Array;
  /** out[i] = V[i·n .. (i+1)·n) · w for i < count. */
  dots(V: Float64Array, count: number, n: number, w: Float64Array, out: Float64Array): void;
  /** y[yo .. yo+n) += alpha · x[xo .. xo+n). */
  axpy(n: number, alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number): void;
}

export const jsWorkspace: KrylovWorkspace = {
  array: (length) => new Float64Array(length),
  dots(V, count, n, w, out) {
    for (let i = 0; i < count; i++) out[i] = dotAt(V, i * n, w, 0, n);
  },
  axpy: axpyAt,
};

/** Row-major dense n x n operator (float32 or float64 data). */
export function denseOperator(n: number, data: Float32Array | Float64Array): LinearOperator {
  let fro = 0;
  for (let i = 0; i < data.length; i++) fro += data[i] * data[i];
  return {
    n,
    norm: Math.sqrt(fro),
    apply(x, y) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) s += data[row + j] * x[j];
        y[i] = s;
      }
    },
  };
}

/** CSR n x n operator (rowPtr n+1, col and vals nnz). */
export function csrOperator(n: number, rowPtr: Int32Array, col: Int32Array, vals: Float32Array | Float64Array): LinearOperator {
  let fro = 0;
  for (let i = 0; i < vals.length; i++) fro += vals[i] * vals[i];
  return {
    n,
    norm: Math.sqrt(fro),
    apply(x, y) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = rowPtr[i], end = rowPtr[i + 1]; j < end; j++) s += vals[j] * x[col[j]];
        y[i] = s;
      }
    },
  };
}

// s = a[ao .. ao+n) . b[bo .. bo+n)
export function dotAt(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let r = 0;
  for (; r + 1 < n; r += 2) {
    s0 += a[ao + r] * b[bo + r];
    s1 += a[ao + r + 1] * b[bo + r + 1];
  }
  if (r < n) s0 += a[ao + r] * b[bo + r];
  return s0 + s1;
}

// y[yo ..) += alpha x[xo ..)
export function axpyAt(n: number, alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number): void {
  for (let r = 0; r < n; r++) y[yo + r] += alpha * x[xo + r];
}
