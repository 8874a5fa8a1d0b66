/**
 * The ridge readout: its training statistics and their float64 Cholesky solve, in one of two
 * forms with the same solution (every feature, the bias included, carries the same ridge):
 *
 *   primal  (ZᵀZ + ridge·I) W_outᵀ = ZᵀY: the Gram matrix [Z Y]ᵀ[Z Y] (F + O columns, F =
 *           featureDim) is streamed while the reservoir runs, in chunks of rows added by a SYRK
 *           kernel, so a long series never keeps its states: memory O(F²).
 *   dual    W_outᵀ = Zᵀ(ZZᵀ + ridge·I)⁻¹Y (push-through identity): the R training rows [z; y] are
 *           kept in the model's precision and the R x R matrix ZZᵀ is formed at solve time:
 *           memory O(R·F + R²), for reservoirs wider than their training data. Nothing F x F.
 */
import { fail } from "../errors.js";
import { align64, type Heap } from "../memory.js";
import { Field, vec, type Arena, type Built } from "./layout.js";

const EPS = 2.220446049250313e-16;
const CHUNK_BYTES = 256 << 10;
// Columns of Z per SYRK call when forming ZZᵀ (at most 2 MiB of float64 columns).
const DUAL_CHUNK_BYTES = 2 << 20;

export type RidgeStats =
  /** rows: chunk buffer of `cap` float64 rows of stride G; gram: G x G upper triangle. */
  | { kind: "primal"; block: number; rows: number; cap: number; gram: number; G: number; O: number }
  /** rows: `count` of `cap` rows [z (D); y (O)] in the model's precision. */
  | { kind: "dual"; block: number; rows: number; cap: number; count: number; O: number };

export function allocPrimal(arena: Arena, b: Built, O: number): RidgeStats {
  const G = Math.ceil((b.D + O) / 4) * 4;
  const cap = Math.max(8, Math.min(256, Math.floor(CHUNK_BYTES / (G * 8))));
  const chunkBytes = align64(cap * G * 8);
  const block = arena.blocks.alloc(chunkBytes + G * G * 8);
  arena.rt.heap.f64(block, (chunkBytes + G * G * 8) / 8).fill(0);
  return { kind: "primal", block, rows: block, cap, gram: block + chunkBytes, G, O };
}

/** Dual statistics with room for `rows` more rows than `prev` (whose rows are copied). */
export function allocDual(arena: Arena, b: Built, O: number, es: number, rows: number, prev?: RidgeStats): RidgeStats {
  const count = prev?.kind === "dual" ? prev.count : 0;
  const rowBytes = (b.D + O) * es;
  const block = arena.blocks.alloc(Math.max(64, (count + rows) * rowBytes));
  if (count > 0) new Uint8Array(arena.rt.heap.memory.buffer).copyWithin(block, prev!.rows, prev!.rows + count * rowBytes);
  return { kind: "dual", block, rows: block, cap: count + rows, count, O };
}

/** Points the model's descriptor at the statistics (before runs that add to them). */
export function bindStats(heap: Heap, b: Built, s: RidgeStats): void {
  const d = heap.i32(b.desc, 32);
  d[Field.Rows] = s.rows;
  d[Field.RowsCap] = s.cap;
  d[Field.G] = s.kind === "primal" ? s.G : 0;
  d[Field.Gram] = s.kind === "primal" ? s.gram : 0;
  d[Field.Filled] = s.kind === "dual" ? s.count : 0;
}

/** Reads back how many rows the runs stored (dual statistics). */
export function syncStats(heap: Heap, b: Built, s: RidgeStats): void {
  if (s.kind === "dual") s.count = heap.i32(b.desc, 32)[Field.Filled];
}

/** Solves for W_out ([O][D] float64, written to `wout` only on success). */
export function solveRidge(fn: string, arena: Arena, b: Built, s: RidgeStats, es: number, ridge: number, wout: number, featureName: (i: number) => string): void {
  const { heap, kernels: k } = arena.rt;
  const D = b.D;
  const O = b.O;
  if (s.kind === "primal") {
    arena.blocks.scratch(align64(D * D * 8) + O * D * 8, (a) => {
      const rhs = a + align64(D * D * 8);
      k.ridgeSystem(s.gram, s.G, D, O, ridge, a, rhs);
      const piv = factor(fn, heap.f64(a, D * D), D, D, ridge, () => k.cholSolve(a, D, rhs, O, ridge > 0 ? 0 : D * EPS * maxDiag(heap.f64(a, D * D), D, D)));
      if (piv >= 0) {
        fail(
          "E_NUMERIC",
          `${fn}: the ridge system (ZᵀZ + ${ridge}·I) is singular or not positive definite at feature ${piv} (${featureName(piv)}): ` +
            (ridge === 0 ? "features are linearly dependent; use ridge > 0" : "increase ridge"),
        );
      }
      store(fn, heap, heap.f64(rhs, O * D), D, wout);
    });
    return;
  }
  const R = s.count;
  const g = Math.ceil(R / 4) * 4;
  const stride = D + O;
  const chunk = Math.max(4, Math.min(256, Math.floor(DUAL_CHUNK_BYTES / (g * 8))));
  arena.blocks.scratch(align64(g * g * 8) + align64(chunk * g * 8) + align64(O * g * 8) + O * D * 8, (K) => {
    const cols = K + align64(g * g * 8);
    const rhs = cols + align64(chunk * g * 8);
    const sol = rhs + align64(O * g * 8);
    heap.f64(K, g * g).fill(0);
    for (let c0 = 0; c0 < D; c0 += chunk) {
      const c = Math.min(chunk, D - c0);
      k.rowsToColumns(s.rows, stride, es, R, c0, c, g, cols);
      k.syrkUpper(K, g, cols, c);
    }
    k.dualSystem(K, g, R, ridge);
    const rows = vec(heap, es, s.rows, R * stride);
    const y = heap.f64(rhs, O * g);
    y.fill(0);
    for (let o = 0; o < O; o++) for (let t = 0; t < R; t++) y[o * g + t] = rows[t * stride + D + o];
    const piv = factor(fn, heap.f64(K, g * g), g, R, ridge, () => k.cholSolve(K, g, rhs, O, ridge > 0 ? 0 : g * EPS * maxDiag(heap.f64(K, g * g), g, R)));
    if (piv >= 0) {
      fail(
        "E_NUMERIC",
        `${fn}: the dual ridge system (ZZᵀ + ${ridge}·I) is singular or not positive definite at training row ${piv}: ` +
          (ridge === 0 ? "training rows are linearly dependent; use ridge > 0" : "increase ridge"),
      );
    }
    k.dualReadout(s.rows, stride, es, R, D, rhs, g, O, sol);
    store(fn, heap, heap.f64(sol, O * D), D, wout);
  });
}

function maxDiag(a: Float64Array, n: number, used: number): number {
  let m = 0;
  for (let i = 0; i < used; i++) m = Math.max(m, a[i * n + i]);
  return m;
}

// With ridge > 0 the system is positive definite: only a non-positive pivot fails. With ridge = 0,
// pivots at rounding level (n·eps·max diag) mean numerically singular.
function factor(fn: string, a: Float64Array, n: number, used: number, ridge: number, solve: () => number): number {
  if (ridge === 0 && maxDiag(a, n, used) === 0) fail("E_NUMERIC", `${fn}: no data was accumulated and ridge is 0: the system is singular`);
  return solve();
}

function store(fn: string, heap: Heap, sol: Float64Array, D: number, wout: number): void {
  for (let i = 0; i < sol.length; i++) {
    if (!Number.isFinite(sol[i])) fail("E_NUMERIC", `${fn}: the ridge solution is not finite (feature ${i % D}); increase ridge`);
  }
  heap.f64(wout, sol.length).set(sol);
}

/** What readout feature i is, for messages. */
export function featureName(b: Built, rin: boolean, i: number): string {
  if (i === 0) return "the constant/bias";
  let j = i - 1;
  if (rin) {
    if (j < b.I) return `input channel ${j}`;
    j -= b.I;
  }
  for (let l = 0; l < b.layers.length; l++) {
    if (j < b.layers[l].n) return `unit ${j}${b.layers.length > 1 ? ` of layer ${l}` : ""}`;
    j -= b.layers[l].n;
  }
  return `output column ${j}`;
}
