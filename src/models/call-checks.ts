// Checks of a recurrent model's call arguments (recurrent.ts).
import { fail } from "../errors.js";
import { checkTensor, type Tensor } from "../tensor.js";
import { show } from "../validate.js";

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
