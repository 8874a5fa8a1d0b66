/**
 * The one validation layer for JSON that comes from outside (safetensors headers, the metadata
 * recur writes into its files, Keras model configs): parsed only after a cheap scan bounds its
 * nesting, read only through own properties (a key such as "toString" or "constructor" never
 * finds Object.prototype), and every failure is a RecurError E_FORMAT naming the field.
 */
import { fail } from "../errors.js";

/** Nesting deeper than this is refused before parsing (real headers and configs nest < 30). */
export const MAX_JSON_DEPTH = 256;

/**
 * The deepest nesting of `[` / `{` in `text`, outside strings, stopping as soon as it passes
 * `limit`: one pass over the characters, no recursion.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** `text` parsed as JSON; nesting beyond MAX_JSON_DEPTH or a syntax error is E_FORMAT naming `what`. */
export function parseJson(where: string, what: string, text: unknown): unknown {
  if (typeof text !== "string") fail("E_FORMAT", `${where}: ${what} must be a JSON string, got ${describe(text)}`);
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) fail("E_FORMAT", `${where}: ${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    fail("E_FORMAT", `${where}: ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Checks that an object from outside (already parsed) nests at most MAX_JSON_DEPTH levels, without recursion. */
export function checkDepth(where: string, what: string, value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    if (d >= MAX_JSON_DEPTH) fail("E_FORMAT", `${where}: ${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    seen.add(v);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
}

/** A JSON object (not null, not an array), else E_FORMAT naming `what`. */
export function jsonObject(where: string, what: string, v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail("E_FORMAT", `${where}: ${what} must be a JSON object, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

/** `record[key]` if `record` has that own property (never a prototype's), else undefined. */
export function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/** The own field `key` of `record`, which must be present, else E_FORMAT. */
export function required(where: string, what: string, record: Record<string, unknown>, key: string): unknown {
  if (!Object.hasOwn(record, key)) fail("E_FORMAT", `${where}: ${what} has no "${key}"`);
  return record[key];
}

/** A value as a message names its JSON type. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object") {
    const proto: unknown = Object.getPrototypeOf(v);
    const name = proto === null || proto === Object.prototype ? undefined : (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" ? `a ${name}` : "an object";
  }
  return typeof v;
}
