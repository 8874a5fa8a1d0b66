/** What the dataset generators share: the seed option and the divergence check. */
import { fail } from "../errors.js";
import { show, type Options } from "../validate.js";

/** The `seed` option: a safe integer (createRng's seeds). */
export function seedOption(fn: string, o: Options): number {
  const v = o.seed;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    fail("E_VALUE", `${fn}: seed must be a safe integer, got ${show(v)}`);
  }
  return v;
}

/** E_NUMERIC when a generated series left the finite numbers (its parameters make it diverge). */
export function checkFiniteSeries(fn: string, data: Float64Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      fail("E_NUMERIC", `${fn}: the ${what} became non-finite (${data[i]}) at element ${i}; the parameters make the system diverge`);
    }
  }
}
