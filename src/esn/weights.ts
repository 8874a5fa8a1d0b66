/** Weight matrices of a reservoir in JavaScript: random draws, dense/CSR conversions, and the 4-row block form of a sparse float32 layer. */
import type { Rng } from "../random.js";

export interface Csr {
  rowPtr: Int32Array;
  col: Int32Array;
  val: Float64Array;
}


// Per row exactly `k` distinct columns (Floyd's sampling), sorted: CSR directly, memory O(nnz).
export function randomCsr(rng: Rng, n: number, k: number): Csr {
  const rowPtr = new Int32Array(n + 1);
  const col = new Int32Array(n * k);
  const val = new Float64Array(n * k);
  const chosen = new Set<number>();
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    rowPtr[i + 1] = (i + 1) * k;
    cols.length = 0;
    if (k === n) for (let j = 0; j < n; j++) cols.push(j);
    else {
      chosen.clear();
      for (let j = n - k; j < n; j++) {
        const t = rng.int(j + 1);
        chosen.add(chosen.has(t) ? j : t);
      }
      for (const c of chosen) cols.push(c);
      cols.sort((a, b) => a - b);
    }
    for (let j = 0; j < k; j++) {
      col[i * k + j] = cols[j];
      val[i * k + j] = rng.uniform(-1, 1);
    }
  }
  return { rowPtr, col, val };
}

export function randomDenseBlock(rng: Rng, rows: number, cols: number, scale: (c: number) => number, density: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) {
      if (density < 1 && !(rng.next() < density)) continue;
      const s = scale(c);
      out[i * cols + c] = rng.uniform(-s, s);
    }
  }
  return out;
}

export function countNonzero(a: Float32Array | Float64Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}

export function denseToCsr(a: Float64Array, n: number): Csr {
  const nnz = countNonzero(a);
  const rowPtr = new Int32Array(n + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = a[i * n + j];
      if (v !== 0) {
        col[p] = j;
        val[p++] = v;
      }
    }
    rowPtr[i + 1] = p;
  }
  return { rowPtr, col, val };
}

export function csrToDense(c: Csr, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = c.rowPtr[i]; j < c.rowPtr[i + 1]; j++) a[i * n + c.col[j]] += c.val[j];
  return a;
}

export function unpackBT(packed: Float32Array, k: number, n: number): { m: Float32Array; bias: Float32Array } {
  const m = new Float32Array(n * k);
  const bias = new Float32Array(n);
  const panels = Math.ceil(n / 8);
  for (let p = 0; p < panels; p++) {
    const base = p * (k + 1) * 8;
    for (let j = 0; j < 8; j++) {
      const col = p * 8 + j;
      if (col >= n) break;
      bias[col] = packed[base + j];
      for (let kk = 0; kk < k; kk++) m[col * k + kk] = packed[base + 8 + kk * 8 + j];
    }
  }
  return { m, bias };
}


/**
 * The blocks of a sparse float32 layer: rows of [W W_in] in groups of four; per group, every
 * column (of W: 0..n-1, of W_in: n..n+k-1) where one of the four rows is nonzero, in increasing
 * order. `start[g]..start[g+1]` index group g's blocks in `col`. The product costs one f32x4
 * multiply-add per block.
 */
export function blockPattern(w: Csr, n: number, win: Float64Array, k: number): { start: Int32Array; col: Int32Array } {
  const groups = Math.ceil(n / 4);
  const start = new Int32Array(groups + 1);
  const seen = new Int32Array(n + k).fill(-1);
  const cols: number[] = [];
  const out = new Int32Array(w.col.length + n * k); // blocks <= nonzeros
  let nb = 0;
  for (let g = 0; g < groups; g++) {
    cols.length = 0;
    for (let i = 4 * g; i < Math.min(n, 4 * g + 4); i++) {
      for (let j = w.rowPtr[i]; j < w.rowPtr[i + 1]; j++) {
        const c = w.col[j];
        if (seen[c] !== g) {
          seen[c] = g;
          cols.push(c);
        }
      }
      for (let c = 0; c < k; c++) {
        if (win[i * k + c] !== 0 && seen[n + c] !== g) {
          seen[n + c] = g;
          cols.push(n + c);
        }
      }
    }
    cols.sort((a, b) => a - b);
    for (const c of cols) out[nb++] = c;
    start[g + 1] = nb;
  }
  return { start, col: out.subarray(0, nb) };
}

/**
 * Block weights [blocks][4] (float32, into `vals`) of the layer [W W_in] on the pattern `p`;
 * duplicate CSR entries add up, as in csrToDense.
 */
export function fillBlocks(p: { start: Int32Array; col: Int32Array }, w: Csr, n: number, win: Float64Array, k: number, vals: Float32Array): void {
  const slot = new Int32Array(n + k);
  for (let g = 0; g < p.start.length - 1; g++) {
    for (let b = p.start[g]; b < p.start[g + 1]; b++) slot[p.col[b]] = b;
    for (let q = 0; q < 4 && 4 * g + q < n; q++) {
      const i = 4 * g + q;
      for (let j = w.rowPtr[i]; j < w.rowPtr[i + 1]; j++) vals[4 * slot[w.col[j]] + q] += w.val[j];
      for (let c = 0; c < k; c++) if (win[i * k + c] !== 0) vals[4 * slot[n + c] + q] = win[i * k + c];
    }
  }
}

/** W (as CSR, zeros left out) and W_in [n][k] back from the blocks of a float32 sparse layer. */
export function unpackBlocks(start: Int32Array, addr: Int32Array, vals: Float32Array, n: number, k: number, x: number, inp: number): { W: { rowPtr: Int32Array; colIdx: Int32Array; values: Float32Array }; win: Float32Array } {
  const win = new Float32Array(n * k);
  const rowCols: number[][] = Array.from({ length: n }, () => []);
  const rowVals: number[][] = Array.from({ length: n }, () => []);
  for (let g = 0; g < start.length - 1; g++) {
    for (let b = start[g]; b < start[g + 1]; b++) {
      const a = addr[b];
      const inW = a >= x && a < x + 4 * n;
      const c = inW ? (a - x) / 4 : (a - inp) / 4;
      for (let q = 0; q < 4 && 4 * g + q < n; q++) {
        const v = vals[4 * b + q];
        if (v === 0) continue;
        if (inW) {
          rowCols[4 * g + q].push(c);
          rowVals[4 * g + q].push(v);
        } else win[(4 * g + q) * k + c] = v;
      }
    }
  }
  const rowPtr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i] + rowCols[i].length;
  return { W: { rowPtr, colIdx: Int32Array.from(rowCols.flat()), values: Float32Array.from(rowVals.flat()) }, win };
}
