// Row bookkeeping of the attention decoder's call buffers, in JS over the Wasm heap: the initial
// weights, batch-first copies of time-major outputs, state rows, and the beam rows' reordering
// and first-step sharing. Every view is made fresh (never kept across a call that may grow memory).
import { createRng } from "../random.js";
import type { Heap } from "../memory.js";
import type { Tensor } from "../tensor.js";
import type { ParamSpec } from "../io/state-dict.js";
import { Field, round8, type Dims } from "./layout.js";

/** The buffers of one call: B rows (K per source), T steps, L annotations. */
export interface Work {
  B: number;
  T: number;
  L: number;
  K: number;
  train: boolean;
  ptrs: Record<number, number>;
}

// Fan-in of a parameter: its initial weights are uniform in ±1/sqrt(fan).
function fanIn(name: string, d: Dims): number {
  if (name.startsWith("cell.") || name === "attention.query.weight" || name === "deep.hidden.weight" || name === "deep.bias") return d.H;
  if (name === "attention.v") return d.A;
  if (name.startsWith("out.")) return d.output === "deep" ? d.E : d.E + d.D + d.H;
  return d.D;
}

/** Initial weights: embeddings N(0, 1), the rest uniform in ±1/sqrt(fan-in) (PyTorch's Linear and RNN cells). */
export function initialWeights(view: Float32Array, specs: ParamSpec[], d: Dims, seed: number): void {
  view.fill(0);
  const rng = createRng(seed);
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const o = s.offset / 4;
    if (s.name === "embedding.weight") for (let i = 0; i < n; i++) view[o + i] = rng.normal();
    else {
      const bound = 1 / Math.sqrt(fanIn(s.name, d));
      for (let i = 0; i < n; i++) view[o + i] = rng.uniform(-bound, bound);
    }
  }
}

/** A [T*B][n] buffer as a batch-first tensor [B, T, n]. */
export function timeMajorOut(heap: Heap, w: Work, f: number, n: number): Tensor {
  const { B, T } = w;
  const src = heap.f32(w.ptrs[f], T * B * n);
  const out = new Float32Array(B * T * n);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) out.set(src.subarray((t * B + b) * n, (t * B + b + 1) * n), (b * T + t) * n);
  return { shape: [B, T, n], data: out };
}

/** Rows [B][Hp] of a state-sized buffer as [B][H]. */
export function stateRows(heap: Heap, p: number, B: number, H: number): Float32Array {
  const Hp = round8(H);
  const src = heap.f32(p, B * Hp);
  const out = new Float32Array(B * H);
  for (let b = 0; b < B; b++) out.set(src.subarray(b * Hp, b * Hp + H), b * H);
  return out;
}

// The state buffers a decoding row carries between steps.
const stateFields = (d: Dims): number[] => (d.cell === "lstm" ? [Field.HState, Field.CState] : [Field.HState]);

/** Row r of every state buffer takes row parents[r]'s (checked by the caller). */
export function reorderStates(heap: Heap, w: Work, d: Dims, parents: ArrayLike<number>): void {
  const Hp = round8(d.H);
  let moved = false;
  for (let r = 0; r < w.B && !moved; r++) moved = parents[r] !== r;
  if (!moved) return;
  if (reorderCopy.length < w.B * Hp) reorderCopy = new Float32Array(w.B * Hp);
  for (const f of stateFields(d)) {
    const h = heap.f32(w.ptrs[f], w.B * Hp);
    reorderCopy.set(h);
    for (let r = 0; r < w.B; r++) if (parents[r] !== r) h.set(reorderCopy.subarray(parents[r] * Hp, parents[r] * Hp + Hp), r * Hp);
  }
}

// reorderStates' copy of a state buffer, kept between steps (one per process: calls never overlap).
let reorderCopy = new Float32Array(0);

/**
 * Before the first step, the K rows of a source hold the same state; when their tokens agree too
 * (beam search), one row per source is computed: this moves row s*K to row s (states, tokens)
 * and returns true, or returns false when the rows differ.
 */
export function shareFirstStep(heap: Heap, w: Work, d: Dims): boolean {
  const K = w.K, S = w.B / K;
  if (K === 1) return false;
  const tok = heap.i32(w.ptrs[Field.Tokens], w.B);
  for (let r = 0; r < w.B; r++) if (tok[r] !== tok[r - (r % K)]) return false;
  const Hp = round8(d.H);
  for (let s = 1; s < S; s++) tok[s] = tok[s * K];
  for (const f of stateFields(d)) {
    const h = heap.f32(w.ptrs[f], w.B * Hp);
    for (let s = 1; s < S; s++) h.copyWithin(s * Hp, s * K * Hp, s * K * Hp + Hp);
  }
  return true;
}

/** After a shared first step: row s of the states, logits (V) and weights (L) back to rows s*K .. s*K+K-1. */
export function expandFirstStep(heap: Heap, w: Work, d: Dims): void {
  const K = w.K, S = w.B / K;
  const Hp = round8(d.H);
  const spread = (f: number, n: number): void => {
    const x = heap.f32(w.ptrs[f], w.B * n);
    // Highest source first: row s*K+k >= s never overwrites a row not yet spread.
    for (let s = S - 1; s >= 0; s--) for (let k = K - 1; k >= 0; k--) if (s * K + k !== s) x.copyWithin((s * K + k) * n, s * n, s * n + n);
  };
  for (const f of stateFields(d)) spread(f, Hp);
  spread(Field.Logits, d.V);
  spread(Field.Alpha, w.L);
}

/**
 * After a reorder, rows with the same parent hold the same state: writes RowMap (row → distinct
 * state, numbered by first row) and Uniq (each distinct state's first row) for the next step and
 * returns how many distinct states there are, or 0 when every row has its own.
 */
export function shareParents(heap: Heap, w: Work, parents: ArrayLike<number>): number {
  const map = heap.i32(w.ptrs[Field.RowMap], w.B), uniq = heap.i32(w.ptrs[Field.Uniq], w.B);
  const seen = new Map<number, number>();
  for (let r = 0; r < w.B; r++) {
    let u = seen.get(parents[r]);
    if (u === undefined) {
      u = seen.size;
      seen.set(parents[r], u);
      uniq[u] = r;
    }
    map[r] = u;
  }
  return seen.size < w.B ? seen.size : 0;
}

/** After a step over shared rows: each row's attention weights from its distinct state's (Alpha row u <= b). */
export function spreadShared(heap: Heap, w: Work): void {
  const map = heap.i32(w.ptrs[Field.RowMap], w.B), alpha = heap.f32(w.ptrs[Field.Alpha], w.B * w.L);
  // Last row first: row u <= b is read before anything overwrites it.
  for (let b = w.B - 1; b >= 0; b--) if (map[b] !== b) alpha.copyWithin(b * w.L, map[b] * w.L, map[b] * w.L + w.L);
}
