// Checks of a recurrent model's call arguments (recurrent.ts).
import { fail } from "../errors.js";
import { checkTensor, type Tensor } from "../tensor.js";
import type { Dims } from "./config.js";
import { Kind } from "./descriptor.js";
import { objectArgument } from "../validate.js";

/** Valid steps per sequence, each an integer in 1..T. */
export function checkLengths(lengths: ArrayLike<number>, T: number, B: number, where: string): Int32Array {
  if (lengths === null || typeof lengths !== "object" || typeof lengths.length !== "number") {
    fail("E_TYPE", `${where}: lengths must be an array of integers`);
  }
  if (lengths.length !== B) fail("E_SHAPE", `${where}: lengths has ${lengths.length} entries, the batch has ${B}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const v = lengths[b];
    if (!Number.isInteger(v) || v < 1 || v > T) fail("E_VALUE", `${where}: lengths[${b}] must be an integer in 1..${T}, got ${v}`);
    out[b] = v;
  }
  return out;
}

/** An upstream gradient's data after checking its shape (undefined when not given). */
export function gradData(t: Tensor | undefined, name: string, shape: number[]): Float32Array | undefined {
  if (t === undefined) return undefined;
  return checkTensor(t, name, shape).data;
}

/** A given initial state must hold finite values only: NaN would spread through every step. */
export function checkFiniteState(t: Tensor, what: string): void {
  const bad = t.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) fail("E_VALUE", `${what} has a non-finite value ${t.data[bad]} at index ${bad}`);
}

/** Options of `forward` and `forwardTrain`. */
export interface ForwardOptions {
  /** Initial hidden state [numLayers*D, B, H_out]. Default zeros. */
  h0?: Tensor;
  /** Initial cell state [numLayers*D, B, hiddenSize] (LSTM only). Default zeros. */
  c0?: Tensor;
  /**
   * Valid steps of each batch element (PyTorch packed-sequence semantics): outputs are 0 past a
   * sequence's end, hN is taken at its last valid step, and the reverse direction starts there.
   * Each length in 1..T. Default: every sequence has T steps.
   */
  lengths?: ArrayLike<number>;
  /**
   * Arrays to write the results into instead of new ones, so that a caller running many short
   * sequences allocates nothing per call (the results then hold these arrays). Each is optional
   * and must be a Float32Array of exactly the result's size. Default: new arrays.
   */
  out?: ForwardOut;
}

/** The caller's result arrays of `forward` and `forwardTrain` (ForwardOptions.out). */
export interface ForwardOut {
  /** T * B * D * H_out floats, in the output's layout. */
  output?: Float32Array;
  /** numLayers * D * B * H_out floats. */
  hN?: Float32Array;
  /** LSTM only: numLayers * D * B * hiddenSize floats. */
  cN?: Float32Array;
}

/** `out` of forward/forwardTrain: each array of its result's size. */
export function checkOut(out: ForwardOut, where: string, d: Dims, { T, B }: { T: number; B: number }): ForwardOut {
  objectArgument(where, out, "out");
  const rows = d.L * d.D * B;
  const sizes = { output: T * B * d.width, hN: rows * d.P, cN: rows * d.H };
  for (const key of ["output", "hN", "cN"] as const) {
    const a = out[key];
    if (a === undefined) continue;
    if (key === "cN" && d.kind !== Kind.Lstm) fail("E_VALUE", `${where}: out.cN is only for LSTM`);
    if (!(a instanceof Float32Array) || a.length !== sizes[key]) fail("E_SHAPE", `${where}: out.${key} must be a Float32Array of ${sizes[key]} values`);
  }
  return out;
}
