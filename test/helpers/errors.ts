import { expect } from "vitest";
import { RecurError } from "../../src/errors.js";

/** Runs `f`, expects a RecurError with `code` whose message contains every string of `parts`. */
export function expectRecurError(f: () => unknown, code: string, ...parts: string[]): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RecurError);
  const err = caught as RecurError;
  expect(err.code).toBe(code);
  for (const p of parts) expect(err.message).toContain(p);
}
