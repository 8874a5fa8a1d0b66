// Float64 linear algebra of the ESN readout and the spectral radius: the Gram accumulation
// (SYRK), the ridge systems (primal and dual), a Cholesky solve, the RLS start, and float64
// products with the reservoir matrix for src/spectral.ts. Nothing here allocates.
import { argI32, fork, taskArg, threadsAvailable } from "../threads";

// @ts-ignore: decorator
@inline
export function madd64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f64x2.relaxed_madd(a, b, c);
  } else {
    return f64x2.add(f64x2.mul(a, b), c);
  }
}

// @ts-ignore: decorator
@inline
export function hsum64(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}


export function dot64(a: usize, b: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 3;
    s0 = madd64(v128.load(a + off), v128.load(b + off), s0);
    s1 = madd64(v128.load(a + off, 16), v128.load(b + off, 16), s1);
  }
  let s = hsum64(f64x2.add(s0, s1));
  for (; i < n; i++) s += load<f64>(a + (<usize>i << 3)) * load<f64>(b + (<usize>i << 3));
  return s;
}

// y[i] += alpha x[i]
export function axpy64(n: i32, alpha: f64, x: usize, y: usize): void {
  const av = f64x2.splat(alpha);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const off = <usize>i << 3;
    v128.store(y + off, madd64(av, v128.load(x + off), v128.load(y + off)));
  }
  if (i < n) {
    const off = <usize>i << 3;
    store<f64>(y + off, load<f64>(y + off) + alpha * load<f64>(x + off));
  }
}


export function csrDot64(rowPtr: usize, col: usize, vals: usize, x: usize, i: i32): f64 {
  const end = load<i32>(rowPtr + (<usize>(i + 1) << 2));
  let s0: f64 = 0, s1: f64 = 0;
  let j = load<i32>(rowPtr + (<usize>i << 2));
  for (; j + 2 <= end; j += 2) {
    s0 += load<f64>(vals + (<usize>j << 3)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
    s1 += load<f64>(vals + (<usize>j << 3), 8) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2), 4) << 3));
  }
  if (j < end) s0 += load<f64>(vals + (<usize>j << 3)) * load<f64>(x + (<usize>load<i32>(col + (<usize>j << 2)) << 3));
  return s0 + s1;
}


// ---------------------------------------------------------------------------------------------
// Gram accumulation: C[i][j] += sum_b A[b][i] A[b][j] for j >= i (upper triangle, in 4x4 tiles),
// A = rows [rows][g] f64 with g a multiple of 4 (zero padded). Eight f64x2 accumulators plus two
// row vectors and a broadcast stay within V8's 15 vector registers.

/** Adds A^T A (A: `rows` x g float64, g a multiple of 4) to the upper triangle of C (g x g). */
export function syrkUpper(c: usize, g: i32, a: usize, rows: i32): void {
  if (ASC_FEATURE_THREADS) {
    // Threaded binaries: rows of 4 x 4 tiles split in chunks of equal tile count.
    const threads = threadsAvailable();
    if (threads > 1 && g >= 64 && <i64>g * <i64>g * <i64>rows >= SYRK_FORK_MACS) {
      store<u32>(taskArg(0), <u32>c);
      store<i32>(taskArg(1), g);
      store<u32>(taskArg(2), <u32>a);
      store<i32>(taskArg(3), rows);
      fork(syrkChunk, min(4 * threads, g >> 4));
      return;
    }
  }
  syrkBlocks(c, g, a, rows, 0, g >> 2);
}

const SYRK_FORK_MACS: i64 = 1 << 19;

// First tile row of chunk i: tile row r holds (tiles - r) tiles, so the cumulative count before
// it is r*tiles - r(r-1)/2; the chunk boundaries split the total evenly.
function syrkBound(tiles: i32, i: i32, chunks: i32): i32 {
  if (i >= chunks) return tiles;
  const target = <i64>tiles * (tiles + 1) / 2 * i / chunks;
  let r = 0;
  while (r < tiles && <i64>r * tiles - <i64>r * (r - 1) / 2 < target) r++;
  return r;
}

/** One chunk of a forked syrkUpper. */
function syrkChunk(control: usize, chunk: i32, chunks: i32): void {
  const c = <usize><u32>argI32(control, 0), g = argI32(control, 1);
  const a = <usize><u32>argI32(control, 2), rows = argI32(control, 3);
  const tiles = g >> 2;
  syrkBlocks(c, g, a, rows, syrkBound(tiles, chunk, chunks), syrkBound(tiles, chunk + 1, chunks));
}

// Tile rows r0 .. r1-1 (rows 4 r0 .. 4 r1 - 1 of C's upper triangle).
function syrkBlocks(c: usize, g: i32, a: usize, rows: i32, r0: i32, r1: i32): void {
  const gBytes = <usize>g << 3;
  for (let i0 = r0 << 2; i0 < r1 << 2; i0 += 4) {
    for (let j0 = i0; j0 < g; j0 += 4) {
      const c0 = c + <usize>i0 * gBytes + (<usize>j0 << 3);
      const c1 = c0 + gBytes, c2 = c1 + gBytes, c3 = c2 + gBytes;
      let a00 = v128.load(c0), a01 = v128.load(c0, 16);
      let a10 = v128.load(c1), a11 = v128.load(c1, 16);
      let a20 = v128.load(c2), a21 = v128.load(c2, 16);
      let a30 = v128.load(c3), a31 = v128.load(c3, 16);
      let pi = a + (<usize>i0 << 3);
      let pj = a + (<usize>j0 << 3);
      for (let b = 0; b < rows; b++) {
        const b0 = v128.load(pj);
        const b1 = v128.load(pj, 16);
        let s = v128.load64_splat(pi);
        a00 = madd64(s, b0, a00);
        a01 = madd64(s, b1, a01);
        s = v128.load64_splat(pi, 8);
        a10 = madd64(s, b0, a10);
        a11 = madd64(s, b1, a11);
        s = v128.load64_splat(pi, 16);
        a20 = madd64(s, b0, a20);
        a21 = madd64(s, b1, a21);
        s = v128.load64_splat(pi, 24);
        a30 = madd64(s, b0, a30);
        a31 = madd64(s, b1, a31);
        pi += gBytes;
        pj += gBytes;
      }
      v128.store(c0, a00);
      v128.store(c0, a01, 16);
      v128.store(c1, a10);
      v128.store(c1, a11, 16);
      v128.store(c2, a20);
      v128.store(c2, a21, 16);
      v128.store(c3, a30);
      v128.store(c3, a31, 16);
    }
  }
}

/**
 * Builds the ridge system from the Gram of [Z Y] (upper triangle, stride g): a (n x n, full
 * symmetric) = Z^T Z + ridge I and b ([o][n], one right-hand side per output row) = Y^T Z.
 */
export function ridgeSystem(gram: usize, g: i32, n: i32, o: i32, ridge: f64, a: usize, b: usize): void {
  const gBytes = <usize>g << 3;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = load<f64>(gram + <usize>i * gBytes + (<usize>j << 3));
      store<f64>(a + (<usize>(i * n + j) << 3), v);
      store<f64>(a + (<usize>(j * n + i) << 3), v);
    }
    const d = a + (<usize>(i * n + i) << 3);
    store<f64>(d, load<f64>(d) + ridge);
  }
  for (let r = 0; r < o; r++) {
    for (let i = 0; i < n; i++) store<f64>(b + (<usize>(r * n + i) << 3), load<f64>(gram + <usize>i * gBytes + (<usize>(n + r) << 3)));
  }
}

// ---------------------------------------------------------------------------------------------
// Float64 Cholesky solve.

/**
 * Solves A X^T = B^T in place for symmetric positive definite A (n x n, row-major, lower triangle
 * read, overwritten by L with A = L L^T) and `nrhs` right-hand sides stored as rows of B
 * ([nrhs][n], overwritten by the solutions). Row-oriented (Cholesky-Banachiewicz): every inner
 * product runs over two contiguous rows of L, four rows j at a time sharing the loads of row i.
 *
 * Returns -1, or the index of the first pivot that is not > `tol` (the matrix is not numerically
 * positive definite: singular, indefinite or NaN); A is then partly overwritten.
 */
export function cholSolve(a: usize, n: i32, b: usize, nrhs: i32, tol: f64): i32 {
  const rowBytes = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const ri = a + <usize>i * rowBytes;
    let j = 0;
    for (; j + 4 <= i; j += 4) {
      const r0 = a + <usize>j * rowBytes;
      const r1 = r0 + rowBytes, r2 = r1 + rowBytes, r3 = r2 + rowBytes;
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
      let k = 0;
      for (; k + 2 <= j; k += 2) {
        const off = <usize>k << 3;
        const x = v128.load(ri + off);
        s0 = madd64(x, v128.load(r0 + off), s0);
        s1 = madd64(x, v128.load(r1 + off), s1);
        s2 = madd64(x, v128.load(r2 + off), s2);
        s3 = madd64(x, v128.load(r3 + off), s3);
      }
      let d0 = hsum64(s0), d1 = hsum64(s1), d2 = hsum64(s2), d3 = hsum64(s3);
      for (; k < j; k++) {
        const off = <usize>k << 3;
        const x = load<f64>(ri + off);
        d0 += x * load<f64>(r0 + off);
        d1 += x * load<f64>(r1 + off);
        d2 += x * load<f64>(r2 + off);
        d3 += x * load<f64>(r3 + off);
      }
      // Columns j..j+3 of row i depend on each other: finish them in order.
      const jo = <usize>j << 3;
      const l0 = (load<f64>(ri + jo) - d0) / load<f64>(r0 + jo);
      store<f64>(ri + jo, l0);
      d1 += l0 * load<f64>(r1 + jo);
      d2 += l0 * load<f64>(r2 + jo);
      d3 += l0 * load<f64>(r3 + jo);
      const l1 = (load<f64>(ri + jo + 8) - d1) / load<f64>(r1 + jo + 8);
      store<f64>(ri + jo + 8, l1);
      d2 += l1 * load<f64>(r2 + jo + 8);
      d3 += l1 * load<f64>(r3 + jo + 8);
      const l2 = (load<f64>(ri + jo + 16) - d2) / load<f64>(r2 + jo + 16);
      store<f64>(ri + jo + 16, l2);
      d3 += l2 * load<f64>(r3 + jo + 16);
      store<f64>(ri + jo + 24, (load<f64>(ri + jo + 24) - d3) / load<f64>(r3 + jo + 24));
    }
    for (; j < i; j++) {
      const rj = a + <usize>j * rowBytes;
      store<f64>(ri + (<usize>j << 3), (load<f64>(ri + (<usize>j << 3)) - dot64(ri, rj, j)) / load<f64>(rj + (<usize>j << 3)));
    }
    const dpos = ri + (<usize>i << 3);
    const piv = load<f64>(dpos) - dot64(ri, ri, i);
    if (!(piv > tol)) return i;
    store<f64>(dpos, Math.sqrt(piv));
  }
  for (let r = 0; r < nrhs; r++) {
    const x = b + <usize>r * rowBytes;
    // L y = b: y_i = (b_i - L[i, :i] y[:i]) / L_ii
    for (let i = 0; i < n; i++) {
      const ri = a + <usize>i * rowBytes;
      const p = x + (<usize>i << 3);
      store<f64>(p, (load<f64>(p) - dot64(ri, x, i)) / load<f64>(ri + (<usize>i << 3)));
    }
    // L^T x = y, column-oriented so that it reads rows of L: x_i = y_i / L_ii, y[:i] -= x_i L[i, :i]
    for (let i = n - 1; i >= 0; i--) {
      const ri = a + <usize>i * rowBytes;
      const p = x + (<usize>i << 3);
      const xi = load<f64>(p) / load<f64>(ri + (<usize>i << 3));
      store<f64>(p, xi);
      axpy64(i, -xi, ri, x);
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// The dual ridge problem (more features than training rows): W_out^T = Z^T (Z Z^T + ridge I)^-1 Y,
// the same solution as the primal one (push-through identity). The training rows are kept in
// the model's precision (`es` = 4 or 8 bytes per value), `stride` values apart: [z (n); y (o)].

/**
 * Copies the columns c0 .. c0+cols-1 of `rows` rows (precision es) into dst as float64, transposed:
 * dst[j][t] = rows[t][c0 + j], rows padded with zeros to `g` (a multiple of 4). syrkUpper over
 * these columns then adds their share of Z Z^T to a g x g Gram.
 */
export function rowsToColumns(rows: usize, stride: i32, es: i32, count: i32, c0: i32, cols: i32, g: i32, dst: usize): void {
  const rowBytes = <usize>stride * <usize>es;
  for (let j = 0; j < cols; j++) {
    const d = dst + <usize>j * (<usize>g << 3);
    let src = rows + <usize>(c0 + j) * <usize>es;
    for (let t = 0; t < count; t++) {
      store<f64>(d + (<usize>t << 3), es == 4 ? <f64>load<f32>(src) : load<f64>(src));
      src += rowBytes;
    }
    for (let t = count; t < g; t++) store<f64>(d + (<usize>t << 3), 0);
  }
}

/**
 * Turns the upper triangle of a g x g Gram (in place) into the full symmetric matrix + ridge I
 * on its first `count` diagonal entries; the padding rows get a unit diagonal (their right-hand
 * sides are zero, so their solutions are zero).
 */
export function dualSystem(a: usize, g: i32, count: i32, ridge: f64): void {
  ridgeSystem(a, g, g, 0, ridge, a, 0);
  for (let i = count; i < g; i++) store<f64>(a + <usize>i * (<usize>g << 3) + (<usize>i << 3), 1);
}

/** W_out[o] = sum_t alpha[o][t] rows[t][0..n) for `o` outputs (alpha: [o][g] float64). */
export function dualReadout(rows: usize, stride: i32, es: i32, count: i32, n: i32, alpha: usize, g: i32, o: i32, wout: usize): void {
  const rowBytes = <usize>stride * <usize>es;
  for (let r = 0; r < o; r++) {
    const w = wout + <usize>r * (<usize>n << 3);
    memory.fill(w, 0, <usize>n << 3);
    for (let t = 0; t < count; t++) {
      const a = load<f64>(alpha + <usize>r * (<usize>g << 3) + (<usize>t << 3));
      const z = rows + <usize>t * rowBytes;
      if (es == 8) {
        axpy64(n, a, z, w);
        continue;
      }
      const av = f64x2.splat(a);
      let i = 0;
      for (; i + 2 <= n; i += 2) {
        const p = w + (<usize>i << 3);
        v128.store(p, madd64(av, f64x2.promote_low_f32x4(v128.load64_zero(z + (<usize>i << 2))), v128.load(p)));
      }
      if (i < n) store<f64>(w + (<usize>i << 3), load<f64>(w + (<usize>i << 3)) + a * <f64>load<f32>(z + (<usize>i << 2)));
    }
  }
}

/** P = I / alpha (n x n float64): the initial inverse correlation matrix of the RLS readout. */
export function rlsInit(p: usize, n: i32, alpha: f64): void {
  memory.fill(p, 0, <usize>n * <usize>n * 8);
  const inv = 1.0 / alpha;
  for (let i = 0; i < n; i++) store<f64>(p + (<usize>(i * n + i) << 3), inv);
}


// ---------------------------------------------------------------------------------------------
// Float64 products with the reservoir matrix, for the spectral radius (src/spectral.ts). A
// float32 model's weights are exact in float64, so the eigenvalues are those of the stored matrix.

/** y = W x for a dense row-major n x n float64 W. */
export function denseMatvec64(n: i32, w: usize, x: usize, y: usize): void {
  for (let i = 0; i < n; i++) store<f64>(y + (<usize>i << 3), dot64(w + <usize>i * (<usize>n << 3), x, n));
}

/** y = W x for a CSR n x n W with float64 values. */
export function csrMatvec64(n: i32, rowPtr: usize, col: usize, vals: usize, x: usize, y: usize): void {
  for (let i = 0; i < n; i++) store<f64>(y + (<usize>i << 3), csrDot64(rowPtr, col, vals, x, i));
}

// the Gram-Schmidt work on the basis costs more than the products.

/** out[i] = v_i . w for the `count` vectors v_i = v + i*n (float64). */
export function dotsF64(v: usize, count: i32, n: i32, w: usize, out: usize): void {
  for (let i = 0; i < count; i++) store<f64>(out + (<usize>i << 3), dot64(v + <usize>i * (<usize>n << 3), w, n));
}

/** y += alpha x (float64, n values). */
export function axpyF64(n: i32, alpha: f64, x: usize, y: usize): void {
  axpy64(n, alpha, x, y);
}
