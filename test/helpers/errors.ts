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

/** "CODE: message" of the RecurError `fn` throws (anything else fails the test), or "no error". */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecurError);
    return `${(e as RecurError).code}: ${(e as Error).message}`;
  }
  return "no error";
}

/** The RecurError `fn` throws (anything else, or nothing, fails the test). */
export function thrown(fn: () => unknown): RecurError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecurError);
    return e as RecurError;
  }
  throw new Error("expected a RecurError, nothing was thrown");
}
