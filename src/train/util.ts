import { show } from "../validate.js";
import { fail } from "../errors.js";
import type { Runtime } from "../runtime.js";
import type { ParameterRegion, Trainable } from "./module.js";

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
    fail("E_VALUE", `${where}: ${name} must be a 4-byte aligned address of ${bytes} bytes inside Wasm memory (size ${top}), got ${show(ptr)}`);
  }
  return ptr;
}
