/**
 * The full module: the core's kernels and those only recur-nn/esn, recur-nn/attention and
 * recur-nn/hessian-free use (assembly/full.ts). A page that imports only the package root loads
 * the smaller core (assembly/index.ts); importing any module that calls `fullRuntime` registers
 * the full binaries here, and `init()` then loads them instead (the threaded builds are always
 * full). docs/internals.md, "Two binaries per backend".
 */
import { fail } from "./errors.js";
import type { FullKernels } from "./kernels.js";
import { runtime, useFullCore, type Runtime } from "./runtime.js";

/** A runtime on the full module. */
export type FullRuntime = Runtime & { kernels: FullKernels };

// Literal `new URL(..., import.meta.url)` calls so bundlers see and copy the files. Top-level, so
// that the registration runs when the module is imported, before the application's `init()`.
useFullCore((backend) =>
  backend === "relaxed" ? new URL("../build/recur-relaxed-full.wasm", import.meta.url) : new URL("../build/recur-simd128-full.wasm", import.meta.url),
);

/** Whether a runtime runs the full module. */
export function isFull(rt: Runtime): rt is FullRuntime {
  return typeof (rt.kernels as Partial<FullKernels>).esnRun === "function";
}

/**
 * The shared runtime, which must run the full module: it does whenever this module was imported
 * before `init()` (static imports always are), or when `init({ wasm })` was given a full binary.
 */
export function fullRuntime(where: string): FullRuntime {
  return requireFull(runtime(), where);
}

/** `rt` itself, checked to run the full module (see `fullRuntime`). */
export function requireFull(rt: Runtime, where: string): FullRuntime {
  if (!isFull(rt)) {
    fail("E_STATE", `${where} needs recur-${rt.backend}-full.wasm: import its entry point before init() (or call shutdown() and init() again)`);
  }
  return rt;
}
