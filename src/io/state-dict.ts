import { fail } from "../errors.js";
import type { Heap } from "../memory.js";
import { numel, type Tensor } from "../tensor.js";
import { own } from "./json.js";

/** Names for a message: the first ten, then how many more (a hostile dict may have millions). */
export function listed(names: readonly string[], max = 10): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

/** A parameter tensor inside a module's parameter block. */
export interface ParamSpec {
  name: string;
  shape: number[];
  /** Bytes from the start of the block (the gradient block has the same layout). */
  offset: number;
}

/** Copies of every parameter under its PyTorch state_dict name. */
export function readStateDict(heap: Heap, block: number, specs: ParamSpec[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of specs) out[s.name] = { shape: [...s.shape], data: heap.f32(block + s.offset, numel(s.shape)).slice() };
  return out;
}

/**
 * Replaces every parameter after checking the whole dict: missing, unexpected and misshaped keys
 * and non-finite values are listed together in one RecurError E_KEY, and nothing is written
 * unless everything is valid.
 */
export function writeStateDict(where: string, heap: Heap, block: number, specs: ParamSpec[], sd: unknown): void {
  if (typeof sd !== "object" || sd === null || Array.isArray(sd)) fail("E_TYPE", `${where}: expected an object of tensors, got ${sd === null ? "null" : Array.isArray(sd) ? "an array" : typeof sd}`);
  const dict = sd as Record<string, unknown>;
  const problems: string[] = [];
  const names = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => own(dict, s.name) === undefined).map((s) => s.name);
  const unexpected = Object.keys(dict).filter((k) => !names.has(k));
  if (missing.length) problems.push(`missing keys: ${listed(missing)}`);
  if (unexpected.length) problems.push(`unexpected keys: ${listed(unexpected)}`);
  for (const s of specs) {
    if (problems.length > 20) break;
    const t = own(dict, s.name) as Tensor | undefined;
    if (t === undefined) continue;
    if (typeof t !== "object" || t === null || !(t.data instanceof Float32Array) || !Array.isArray(t.shape)) {
      problems.push(`${s.name}: not a tensor { shape, data: Float32Array }`);
      continue;
    }
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i]) || t.data.length !== numel(s.shape)) {
      problems.push(`${s.name}: expected shape [${s.shape.join(", ")}], got [${t.shape.join(", ")}] with ${t.data.length} values`);
      continue;
    }
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) problems.push(`${s.name}: non-finite value ${t.data[bad]} at index ${bad}`);
  }
  if (problems.length) fail("E_KEY", `${where}: ${problems.join("; ")}`);
  for (const s of specs) heap.f32(block + s.offset, numel(s.shape)).set((dict[s.name] as Tensor).data);
}
