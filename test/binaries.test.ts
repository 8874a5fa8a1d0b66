// The two single-thread binaries of a backend (docs/internals.md, "Two binaries per backend"): the
// core, loaded by default, and the full module, loaded once recur-nn/esn, recur-nn/attention or
// recur-nn/hessian-free (src/full-core.ts) has been imported. The order matters here: the
// registration happens when full-core is imported, so the first runtimes are made before that.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRuntime, type Runtime } from "../src/runtime.js";
import { expectRecurError } from "./helpers/errors.js";

const exported = (rt: Runtime, name: string) => typeof (rt.kernels as unknown as Record<string, unknown>)[name] === "function";

describe("core and full binaries", () => {
  it("loads the core until a module that needs the full one is imported; a core is refused by its kernels; then the full module loads", async () => {
    const core = await createRuntime({ backend: "simd128", skipWarmup: true });
    expect(exported(core, "recurrentForward")).toBe(true);
    for (const name of ["esnRun", "attentionForward", "recurrentTangent", "peakProbe", "tanhArray"]) expect(exported(core, name), name).toBe(false);

    const { fullRuntime, isFull, requireFull } = await import("../src/full-core.js");
    expect(isFull(core)).toBe(false);
    expectRecurError(() => requireFull(core, "ESN"), "E_STATE", "ESN needs recur-simd128-full.wasm", "before init()");
    expectRecurError(() => fullRuntime("ESN"), "E_STATE", "init()"); // no shared runtime yet

    // Importing full-core registered the full binaries: later loads take them.
    for (const backend of ["simd128", "relaxed"] as const) {
      const full = await createRuntime({ backend, skipWarmup: true });
      expect(isFull(full), backend).toBe(true);
      for (const name of ["esnRun", "attentionForward", "recurrentTangent"]) expect(exported(full, name), name).toBe(true);
      // The development-only kernels are in neither.
      for (const name of ["peakProbe", "tanhArray", "softmaxRows"]) expect(exported(full, name), name).toBe(false);
    }
    // A binary given explicitly still wins: the core bytes give a core.
    const given = await createRuntime({ backend: "simd128", skipWarmup: true, wasm: readFileSync(new URL("../build/recur-simd128.wasm", import.meta.url)) });
    expect(isFull(given)).toBe(false);
  });
});
