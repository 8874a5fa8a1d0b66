// Sequences b0 .. b1-1 of a SequenceBatch (its batch axis cut out of every tensor): the curvature
// mini-batches and preconditioner groups of HessianFree.
import type { Tensor } from "../tensor.js";
import type { IndexTensor, SequenceBatch } from "./sequence-types.js";

function sliceAxis<A extends Tensor | IndexTensor>(t: A, axis: number, b0: number, b1: number): A {
  const shape = t.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const src = t.data;
  const data = src instanceof Float32Array ? new Float32Array(outer * (b1 - b0) * inner) : new Int32Array(outer * (b1 - b0) * inner);
  for (let o = 0; o < outer; o++) {
    for (let b = b0; b < b1; b++) {
      for (let i = 0; i < inner; i++) data[(o * (b1 - b0) + b - b0) * inner + i] = src[(o * n + b) * inner + i];
    }
  }
  return { shape: shape.map((d, i) => (i === axis ? b1 - b0 : d)), data } as A;
}

/** Sequences b0 .. b1-1 of `batch` (`outputs` says whether targets are per step or per sequence). */
export function sliceBatch(batch: SequenceBatch, b0: number, b1: number, outputs: "sequence" | "last"): SequenceBatch {
  const out: SequenceBatch = { input: sliceAxis(batch.input, 1, b0, b1) };
  if (batch.target) out.target = sliceAxis(batch.target, outputs === "sequence" ? 1 : 0, b0, b1);
  if (batch.lengths) out.lengths = Array.from(batch.lengths).slice(b0, b1);
  if (batch.condition) out.condition = sliceAxis(batch.condition, 0, b0, b1);
  if (batch.h0) out.h0 = sliceAxis(batch.h0, 1, b0, b1);
  if (batch.c0) out.c0 = sliceAxis(batch.c0, 1, b0, b1);
  return out;
}
