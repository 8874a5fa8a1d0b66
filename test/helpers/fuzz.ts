// The project's own fuzzing: seeded mutations of files and arguments. CI runs a few seconds of
// it; `npm run fuzz` sets RECUR_FUZZ_SCALE for a longer run (same code, more rounds).
import { expect } from "vitest";
import { RecurError } from "../../src/errors.js";
import { backendInfo } from "../../src/runtime.js";

/** Multiplies every round count (1 in CI; `npm run fuzz` uses 50). */
export const SCALE = Math.max(1, Number(process.env.RECUR_FUZZ_SCALE ?? 1) || 1);

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)] };
}

export const used = (): number => backendInfo().heapUsedBytes;

/** What a hostile value may be: wrong types, prototype names, sizes no memory holds. */
export const HOSTILE: readonly unknown[] = [
  { toString: () => { throw new Error("hostile toString"); } },
  null, undefined, NaN, Infinity, -Infinity, -1, 0, 2.5, 1e12, 2 ** 32, 2 ** 53, -0, "x", "toString", "constructor", "__proto__", "",
  true, [], [null], [1e12], {}, { length: 1e12 }, { toString: 1 }, Object.create(null), () => 1, Symbol("s"), 10n,
  new Float32Array(3), new Uint8Array(0), new ArrayBuffer(4), Promise.resolve(1), new Date(0), /x/,
];

/**
 * Runs `f`: it must return (then `onResult` checks what it built) or throw a RecurError; anything
 * else fails with `label`. Returns the error code, or "ok".
 */
export function outcome<T>(label: string, f: () => T, onResult?: (v: T) => void): string {
  let v: T;
  try {
    v = f();
  } catch (e) {
    if (!(e instanceof RecurError)) throw new Error(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? String(e)}`);
    return e.code;
  }
  onResult?.(v);
  return "ok";
}

/** `f` may not leave Wasm memory behind: the heap's used bytes are the same before and after. */
export function noLeak(label: string, f: () => void): void {
  const before = used();
  f();
  const after = used();
  if (after !== before) expect.fail(`${label}: ${after - before} bytes of Wasm memory left behind`);
}

// ---- mutations of safetensors files ----

/** The header of a safetensors file as JSON text, and its data bytes. */
export function splitSafetensors(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: new TextDecoder().decode(bytes.subarray(8, 8 + n)), data: bytes.subarray(8 + n) };
}

export function joinSafetensors(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// Replaces one value somewhere in a JSON tree (objects and arrays), chosen by r.
function mutateTree(v: unknown, r: ReturnType<typeof rng>, depth = 0): unknown {
  const replacement = (): unknown => {
    const choice = r.int(8);
    if (choice === 0) return JSON.parse("[".repeat(2000) + "]".repeat(2000));
    if (choice === 1) return 65536;
    if (choice === 2) return 2 ** 32;
    return r.pick(HOSTILE.filter((x) => x === null || ["string", "number", "boolean", "object"].includes(typeof x) && !(x instanceof Promise) && !ArrayBuffer.isView(x) && !(x instanceof ArrayBuffer)));
  };
  if (typeof v !== "object" || v === null) return replacement();
  const keys = Object.keys(v);
  if (keys.length === 0 || (depth > 0 && r.int(4) === 0)) return replacement();
  const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) };
  const k = r.pick(keys);
  const action = r.int(6);
  if (action === 0 && !Array.isArray(out)) delete (out as Record<string, unknown>)[k];
  else if (action === 1 && !Array.isArray(out)) (out as Record<string, unknown>)[r.pick(["toString", "constructor", "__proto__", "hasOwnProperty"])] = (v as Record<string, unknown>)[k];
  else (out as Record<string, unknown>)[k] = mutateTree((v as Record<string, unknown>)[k], r, depth + 1);
  return out;
}

/**
 * One mutant of a safetensors file: a byte flip, a truncation, a length field changed, or a
 * structured change of its header or of the JSON inside its metadata (recur.model,
 * recur.optimizer, recur.vocab).
 */
export function mutateSafetensors(bytes: Uint8Array, r: ReturnType<typeof rng>): Uint8Array {
  const kind = r.int(6);
  if (kind === 0) {
    const out = bytes.slice();
    for (let i = 0, n = 1 + r.int(4); i < n; i++) out[r.int(out.length)] ^= 1 << r.int(8);
    return out;
  }
  if (kind === 1) return bytes.slice(0, r.int(bytes.length));
  const { header, data } = splitSafetensors(bytes);
  const h = JSON.parse(header) as Record<string, unknown>;
  if (kind === 2) return joinSafetensors(JSON.stringify(mutateTree(h, r)), data);
  const meta = (h.__metadata__ ?? {}) as Record<string, string>;
  const jsonKeys = Object.keys(meta).filter((k) => k.startsWith("recur."));
  if (jsonKeys.length === 0) return joinSafetensors(JSON.stringify(mutateTree(h, r)), data);
  const key = r.pick(jsonKeys);
  let value: unknown;
  try {
    value = JSON.parse(meta[key]);
  } catch {
    value = meta[key];
  }
  const mutated = kind === 5 ? "[".repeat(100_000) + "]".repeat(100_000) : JSON.stringify(mutateTree(value, r)) ?? "null";
  return joinSafetensors(JSON.stringify({ ...h, __metadata__: { ...meta, [key]: mutated } }), data);
}

/** One mutant of any file: bytes flipped, a run of bytes overwritten, or truncated. */
export function mutateBytes(bytes: Uint8Array, r: ReturnType<typeof rng>): Uint8Array {
  const kind = r.int(3);
  if (kind === 0) return bytes.slice(0, r.int(bytes.length));
  const out = bytes.slice();
  if (kind === 1) for (let i = 0, n = 1 + r.int(8); i < n; i++) out[r.int(out.length)] = r.int(256);
  else {
    const at = r.int(out.length);
    out.fill(r.pick([0, 0xff, 0x7f, 0x80]), at, at + 1 + r.int(16));
  }
  return out;
}
