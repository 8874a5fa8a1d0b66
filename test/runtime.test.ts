// init() / createRuntime(): one shared load, backend choice and validation, errors before init.
// Each test imports a fresh copy of the runtime module (vi.resetModules), so module state (the
// shared runtime) starts empty; errors are checked by `code` and `name` since every fresh copy has
// its own RecurError class.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";

type RuntimeModule = typeof import("../src/runtime.js");

async function fresh(): Promise<RuntimeModule> {
  vi.resetModules();
  return import("../src/runtime.js");
}

function syncError(fn: () => unknown): { code: string; name: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; name: string; message: string };
  }
  throw new Error("expected an error, nothing was thrown");
}

async function asyncError(p: Promise<unknown>): Promise<{ code: string; name: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; name: string; message: string };
  }
  throw new Error("expected a rejection, the promise resolved");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("init / backendInfo / runtime", () => {
  it("backendInfo() and runtime() before init throw E_STATE", async () => {
    const rt = await fresh();
    for (const fn of [rt.backendInfo, rt.runtime]) {
      const e = syncError(fn);
      expect(e.name).toBe("RecurError");
      expect(e.code).toBe("E_STATE");
      expect(e.message).toMatch(/await init\(\)/);
    }
  });

  it("picks relaxed SIMD by default on Node 20 (enabling V8's flag at run time)", async () => {
    const rt = await fresh();
    const info = await rt.init();
    expect(process.versions.node.split(".")[0]).toBe("20");
    expect(info.backend).toBe("relaxed");
    expect(rt.backendInfo().backend).toBe("relaxed");
    expect(info.threads).toBe(1);
    expect(info.memoryBytes).toBe(rt.runtime().heap.capacityBytes);
    // The GEMM scratch is reserved once, at load.
    expect(info.heapUsedBytes).toBeGreaterThanOrEqual(rt.runtime().kernels.gemmScratchSize());
  });

  it("concurrent calls share one load; later calls are idempotent", async () => {
    const rt = await fresh();
    const instantiate = vi.spyOn(WebAssembly, "instantiate");
    const calls = [rt.init(), rt.init(), rt.init({ backend: "auto" })];
    const infos = await Promise.all(calls);
    expect(instantiate).toHaveBeenCalledTimes(1);
    expect(infos[1]).toEqual(infos[0]);
    const first = rt.runtime();
    const again = await rt.init({ backend: infos[0].backend });
    expect(again.backend).toBe(infos[0].backend);
    expect(rt.runtime()).toBe(first);
    expect(instantiate).toHaveBeenCalledTimes(1);
  });

  it("an explicit backend is honoured; asking for the other one afterwards rejects with E_STATE", async () => {
    const rt = await fresh();
    const pending = rt.init({ backend: "simd128" });
    // A conflicting request while the first load is still running is refused too.
    const conflicting = rt.init({ backend: "relaxed" });
    expect((await pending).backend).toBe("simd128");
    const e = await asyncError(conflicting);
    expect(e.code).toBe("E_STATE");
    expect(e.message).toMatch(/already running the simd128 backend; relaxed was requested/);
    const later = await asyncError(rt.init({ backend: "relaxed" }));
    expect(later.code).toBe("E_STATE");
    expect((await rt.init()).backend).toBe("simd128");
  });

  it("backend option validation: E_VALUE naming the option, as a rejection", async () => {
    const rt = await fresh();
    for (const bad of ["gpu", "", 128, "SIMD128"]) {
      const e = await asyncError(rt.init({ backend: bad as never }));
      expect(e.code).toBe("E_VALUE");
      expect(e.message).toMatch(/init: backend must be "auto", "simd128" or "relaxed", got/);
      const c = await asyncError(rt.createRuntime({ backend: bad as never }));
      expect(c.code).toBe("E_VALUE");
      expect(c.message).toMatch(/createRuntime: backend must be/);
    }
    // Nothing was loaded by the failed calls, and init still works.
    expect(syncError(rt.backendInfo).code).toBe("E_STATE");
    expect((await rt.init()).backend).toBe("relaxed");
    // Validation also applies once initialised.
    expect((await asyncError(rt.init({ backend: "wasm" as never }))).code).toBe("E_VALUE");
  });

  it("a failed load rejects with E_FORMAT and may be retried", async () => {
    const rt = await fresh();
    const e = await asyncError(rt.init({ wasm: new URL("../build/no-such-file.wasm", import.meta.url) }));
    expect(e.code).toBe("E_FORMAT");
    expect(e.message).toMatch(/could not load the Wasm core from file:.*no-such-file\.wasm/);
    expect((await rt.init()).backend).toBe("relaxed");
  });

  it("createRuntime: independent instances of both binaries, from the default files or given bytes", async () => {
    const rt = await fresh();
    const a = await rt.createRuntime({ backend: "simd128", skipWarmup: true });
    const b = await rt.createRuntime({ backend: "relaxed" });
    const bytes = readFileSync(new URL("../build/recur-simd128.wasm", import.meta.url));
    const c = await rt.createRuntime({ backend: "simd128", wasm: bytes });
    expect([a.backend, b.backend, c.backend]).toEqual(["simd128", "relaxed", "simd128"]);
    expect(a.kernels.memory).not.toBe(b.kernels.memory);
    // The shared runtime is untouched by createRuntime.
    expect(syncError(rt.backendInfo).code).toBe("E_STATE");
    // Both binaries compute the same thing (to FMA-vs-mul+add rounding).
    for (const r of [a, b, c]) {
      const { kernels: k, heap } = r;
      const p = heap.alloc(64);
      // [1 x 2] times [2 x 2]: [-1 0.5] [[3 1] [0.25 -2]] = [-2.875 -2].
      heap.f32(p, 8).set([-1, 0.5, 3, 1, 0.25, -2, 0, 0]);
      k.gemmDirect(1, 2, 2, p, 2, p + 8, 2, p + 24, 2, 0);
      const got = Array.from(heap.f32(p + 24, 2));
      got.forEach((v, i) => expect(v).toBeCloseTo([-2.875, -2][i], 6));
    }
  });
});
