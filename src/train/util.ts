import { fail } from "../errors.js";
import type { Heap } from "../memory.js";
import type { Runtime } from "../runtime.js";
import type { ParameterRegion, Trainable } from "./module.js";

export const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/**
 * The Wasm blocks one object owns, by slot name. Kept apart from the object so a
 * FinalizationRegistry can hold it without keeping the object alive.
 */
export class OwnedBlocks {
  private readonly slots = new Map<string, { ptr: number; bytes: number }>();

  constructor(readonly heap: Heap) {}

  /**
   * The block of `slot`, reallocated when smaller than `bytes` (its contents are then lost).
   * Allocates before releasing, so a failed allocation leaves the old block valid.
   */
  ensure(slot: string, bytes: number): number {
    const cur = this.slots.get(slot);
    if (cur !== undefined && cur.bytes >= bytes) return cur.ptr;
    const ptr = this.heap.alloc(bytes);
    if (cur !== undefined) this.heap.release(cur.ptr);
    this.slots.set(slot, { ptr, bytes: Math.max(bytes, 1) });
    return ptr;
  }

  /** Takes ownership of a block allocated elsewhere (replacing nothing: the slot must be free). */
  adopt(slot: string, ptr: number, bytes: number): void {
    if (this.slots.has(slot)) fail("E_STATE", `OwnedBlocks.adopt: slot ${slot} is taken`);
    this.slots.set(slot, { ptr, bytes });
  }

  /** Address of `slot`, 0 when it was never allocated. */
  get(slot: string): number {
    return this.slots.get(slot)?.ptr ?? 0;
  }

  release(slot: string): void {
    const cur = this.slots.get(slot);
    if (cur === undefined) return;
    this.slots.delete(slot);
    this.heap.release(cur.ptr);
  }

  releaseAll(): void {
    for (const { ptr } of this.slots.values()) this.heap.release(ptr);
    this.slots.clear();
  }
}

/** Frees the blocks of objects collected without dispose(); a safety net that runs at the engine's leisure. */
export const blockFinalizer = /* @__PURE__ */ new FinalizationRegistry<OwnedBlocks>((owned) => owned.releaseAll());

/** `modules` as a non-empty array of distinct Trainables. */
export function toModules(modules: Trainable | Trainable[], where: string): Trainable[] {
  const list = Array.isArray(modules) ? modules : [modules];
  if (list.length === 0) fail("E_VALUE", `${where}: needs at least one module`);
  list.forEach((m, i) => {
    if (typeof m !== "object" || m === null || typeof m.parameterRegions !== "function" || typeof m.zeroGrad !== "function" || typeof m.parametersChanged !== "function") {
      fail("E_TYPE", `${where}: modules[${i}] is not Trainable (needs parameterRegions, zeroGrad, parametersChanged)`);
    }
    if (list.indexOf(m) !== i) fail("E_VALUE", `${where}: modules[${i}] is the same module as modules[${list.indexOf(m)}]; each may appear once`);
  });
  return list;
}

/** Every region of every module, in order; overlapping parameter regions are refused. */
export function collectRegions(modules: Trainable[], where: string): ParameterRegion[] {
  const regions: ParameterRegion[] = [];
  for (const m of modules) for (const r of m.parameterRegions()) regions.push(r);
  const sorted = regions.map((r, i) => ({ ...r, i })).sort((a, b) => a.params - b.params);
  for (let k = 1; k < sorted.length; k++) {
    const prev = sorted[k - 1];
    if (prev.params + prev.floats * 4 > sorted[k].params) {
      fail("E_VALUE", `${where}: parameter regions ${prev.i} and ${sorted[k].i} overlap (a module passed together with one of its parts?)`);
    }
  }
  return regions;
}

/** Checks that [ptr, ptr + bytes) is a 4-byte aligned range inside the Wasm memory. */
export function checkPtr(rt: Runtime, where: string, name: string, ptr: unknown, bytes: number): number {
  const top = rt.kernels.memory.buffer.byteLength;
  if (typeof ptr !== "number" || !Number.isInteger(ptr) || ptr <= 0 || ptr % 4 !== 0 || ptr + bytes > top) {
    fail("E_VALUE", `${where}: ${name} must be a 4-byte aligned address of ${bytes} bytes inside Wasm memory (size ${top}), got ${String(ptr)}`);
  }
  return ptr;
}

/** A finite number >= min (or > min when `open`), else E_VALUE naming it. */
export function checkNumber(where: string, name: string, v: unknown, min = -Infinity, open = false, allowInfinity = false): number {
  const ok = typeof v === "number" && !Number.isNaN(v) && (allowInfinity || Number.isFinite(v)) && (open ? v > min : v >= min);
  if (!ok) {
    const bound = min === -Infinity ? "a finite number" : `a ${allowInfinity ? "" : "finite "}number ${open ? ">" : ">="} ${min}`;
    fail("E_VALUE", `${where}: ${name} must be ${bound}, got ${String(v)}`);
  }
  return v as number;
}

export function checkBool(where: string, name: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail("E_VALUE", `${where}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}
