// Argument checks of the attention entry point: every shape, mask and token id is checked before
// any Wasm memory is touched, so bad input never leaves a decoder half-updated.
import { fail } from "../errors.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { Dims } from "./layout.js";

/** What the decoder attends over. */
export interface AttentionInput {
  /** L annotation vectors per batch row (L >= 1), [B, L, D]. */
  annotations: Tensor;
  /** Shape [B, L], 1 where an annotation is real, 0 where it is padding (each row keeps at least one). Default all ones. */
  mask?: Tensor;
  /** The decoder's initial state, [B, hiddenSize]. Default zeros (or the mean-annotation state). */
  h0?: Tensor;
  /** LSTM decoders: the initial cell state, [B, hiddenSize]. Default zeros (or the mean-annotation state). */
  c0?: Tensor;
}

/** Checks annotations, mask and h0; returns B and L. */
export function checkAttentionInput(where: string, input: AttentionInput, d: Dims): { B: number; L: number } {
  if (typeof input !== "object" || input === null) fail("E_TYPE", `${where}: input must be an object { annotations, mask?, h0? }`);
  const a = checkTensor(input.annotations, `${where}: annotations`);
  if (a.shape.length !== 3 || a.shape[2] !== d.D) fail("E_SHAPE", `${where}: annotations must be [B, L, ${d.D}], got [${a.shape.join(", ")}]`);
  const [B, L] = a.shape;
  if (B < 1) fail("E_SHAPE", `${where}: annotations must hold at least one batch row, got B = ${B}`);
  if (L < 1) fail("E_SHAPE", `${where}: annotations must hold at least one annotation per row, got L = ${L}`);
  if (input.mask !== undefined) {
    const m = checkTensor(input.mask, `${where}: mask`);
    if (m.shape.length !== 2 || m.shape[0] !== B || m.shape[1] !== L) fail("E_SHAPE", `${where}: mask must be [${B}, ${L}] like the annotations, got [${m.shape.join(", ")}]`);
    for (let b = 0; b < B; b++) {
      let any = false;
      for (let i = 0; i < L; i++) {
        const v = m.data[b * L + i];
        if (v !== 0 && v !== 1) fail("E_VALUE", `${where}: mask[${b}, ${i}] = ${v}; a mask holds 0 or 1`);
        if (v === 1) any = true;
      }
      if (!any) fail("E_VALUE", `${where}: mask row ${b} masks every annotation (L = 0 for that row)`);
    }
  }
  if (input.h0 !== undefined) checkTensor(input.h0, `${where}: h0`, [B, d.H]);
  if (input.c0 !== undefined) {
    if (d.cell !== "lstm") fail("E_VALUE", `${where}: c0 is the LSTM's cell state; this decoder's cell is "${d.cell}"`);
    checkTensor(input.c0, `${where}: c0`, [B, d.H]);
  }
  return { B, L };
}

/** Checks B rows of T token ids in 0..V-1 (or `ignore`); returns T. */
export function checkTokens(where: string, name: string, rows: ArrayLike<ArrayLike<number>>, B: number, V: number, ignore: number | undefined): number {
  if (rows === null || typeof rows !== "object" || typeof rows.length !== "number") fail("E_TYPE", `${where}: ${name} must be an array of B token rows`);
  if (rows.length !== B) fail("E_SHAPE", `${where}: ${name} must hold ${B} rows (one per batch row), got ${rows.length}`);
  const T = rows[0]?.length ?? 0;
  if (!(T >= 1)) fail("E_SHAPE", `${where}: ${name} rows must hold at least one token`);
  for (let b = 0; b < B; b++) {
    const row = rows[b];
    if (row === null || typeof row !== "object" || row.length !== T) fail("E_SHAPE", `${where}: ${name}[${b}] must hold ${T} tokens like ${name}[0], got ${row?.length}`);
    for (let t = 0; t < T; t++) {
      const id = row[t];
      if (id === ignore) continue;
      if (!Number.isInteger(id) || id < 0 || id >= V) fail("E_VALUE", `${where}: ${name}[${b}][${t}] = ${String(id)} is not a token id in 0..${V - 1}`);
    }
  }
  return T;
}
