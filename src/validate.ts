/**
 * Validation of options and arguments, for every module: each check throws a RecurError whose
 * message reads `<where>: <name> must be <rule>, got <value>`, so a caller learns the argument,
 * the expected and the actual value in one line.
 */
import { fail } from "./errors.js";

export type Options = Record<string, unknown>;

/** A value as messages show it: strings quoted, arrays and typed arrays listed. */
export function show(v: unknown): string {
  return showAt(v, 0);
}

// Any value, hostile ones included (a `toString` that is not a function, a BigInt, a huge or
// deeply nested array): messages never throw and stay short.
function showAt(v: unknown, depth: number): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    if (depth > 2) return "[...]";
    const list = Array.from((v as ArrayLike<unknown>).length > 12 ? Array.prototype.slice.call(v, 0, 12) : (v as ArrayLike<unknown>), (x) => showAt(x, depth + 1));
    return `[${list.join(", ")}${(v as ArrayLike<unknown>).length > 12 ? `, ... (${(v as ArrayLike<unknown>).length} entries)` : ""}]`;
  }
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return v.description === undefined ? "a symbol" : `a symbol (${v.description})`;
  if (typeof v === "function") return "a function";
  if (typeof v === "object" && v !== null) {
    const proto: unknown = Object.getPrototypeOf(v);
    const name = proto === null || proto === Object.prototype ? undefined : (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name !== "" ? `a ${name}` : "an object";
  }
  return String(v);
}

/**
 * `options` as an object whose keys are all in `allowed` (undefined: an empty object, as every
 * option then takes its default). A misspelt key is E_VALUE naming it and the allowed keys.
 */
export function optionsObject(where: string, options: unknown, allowed: readonly string[]): Options {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail("E_VALUE", `${where}: options must be an object, got ${options === null ? "null" : Array.isArray(options) ? "an array" : show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) fail("E_VALUE", `${where}: unknown option "${key}" (allowed: ${allowed.join(", ")})`);
  }
  return options as Options;
}

/** `options` as an object (E_TYPE otherwise): for option types whose keys TypeScript checks. */
export function objectArgument<T>(where: string, options: T, what = "options"): T {
  if (typeof options !== "object" || options === null) fail("E_TYPE", `${where}: ${what} must be an object, got ${show(options)}`);
  return options;
}

/** Checks that `record` holds exactly `keys` (a record read from a file): one E_KEY lists every missing and unexpected key. */
export function exactKeys(where: string, record: Options, keys: readonly string[], noun = "keys"): void {
  const missing = keys.filter((k) => !Object.hasOwn(record, k) || record[k] === undefined);
  const unexpected = Object.keys(record).filter((k) => !keys.includes(k));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${noun}: ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected ${noun}: ${unexpected.join(", ")}`);
  if (problems.length) fail("E_KEY", `${where}: ${problems.join("; ")}`);
}

export interface IntegerRule {
  /** Smallest allowed value. Default 0. */
  min?: number;
  /** Largest allowed value. Default none. */
  max?: number;
}

/** An integer in [min, max]; `fallback` when `v` is undefined and a fallback is given. */
export function integer(where: string, name: string, v: unknown, rule: IntegerRule = {}, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  const min = rule.min ?? 0;
  const max = rule.max ?? Infinity;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    fail("E_VALUE", `${where}: ${name} must be an integer ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got ${show(v)}`);
  }
  return v;
}

export interface NumberRule {
  /** Lower bound. Default none. */
  min?: number;
  /** The lower bound itself is excluded (> min). Default false. */
  open?: boolean;
  /** Upper bound (included). Default none. */
  max?: number;
  /** ±Infinity is allowed (NaN never is). Default false. */
  infinite?: boolean;
}

/** A number obeying `rule`, finite unless `rule.infinite`; `fallback` when `v` is undefined and a fallback is given. */
export function number(where: string, name: string, v: unknown, rule: NumberRule = {}, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  const { min = -Infinity, max = Infinity, open = false, infinite = false } = rule;
  const ok = typeof v === "number" && !Number.isNaN(v) && (infinite || Number.isFinite(v)) && (open ? v > min : v >= min) && v <= max;
  if (!ok) {
    const kind = infinite ? "a number" : "a finite number";
    let range = "";
    if (max !== Infinity) range = ` in ${open ? "(" : "["}${min}, ${max}]`;
    else if (min !== -Infinity) range = ` ${open ? ">" : ">="} ${min}`;
    fail("E_VALUE", `${where}: ${name} must be ${kind}${range}, got ${show(v)}`);
  }
  return v as number;
}

/** A boolean; `fallback` when `v` is undefined and a fallback is given. */
export function boolean(where: string, name: string, v: unknown, fallback?: boolean): boolean {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "boolean") fail("E_VALUE", `${where}: ${name} must be a boolean, got ${show(v)}`);
  return v;
}

/** One of `values`; `fallback` when `v` is undefined and a fallback is given. */
export function oneOf<T extends string | boolean>(where: string, name: string, v: unknown, values: readonly T[], fallback?: T): T {
  if (v === undefined && fallback !== undefined) return fallback;
  if (!values.includes(v as T)) {
    const list = values.map((x) => JSON.stringify(x));
    const choices = list.length <= 2 ? list.join(" or ") : `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
    fail("E_VALUE", `${where}: ${name} must be ${choices}, got ${show(v)}`);
  }
  return v as T;
}
