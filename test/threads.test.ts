// Threads (issue 6): init({ threads }), the worker pool, and bit-identical results.
//
// Two copies of the library run side by side (vi.resetModules gives each import its own module
// state, hence its own shared runtime): `one` on the default single-thread binary, `two` on the
// threaded binary with 2 threads. Every split in the threaded kernels keeps each output
// element's summation order, so results must match bit for bit, not just closely.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { rng } from "./helpers/random.js";

type Lib = typeof import("../src/index.js") & typeof import("../src/esn/index.js") & typeof import("../src/testing/index.js") & typeof import("../src/hessian-free/index.js");
type RuntimeModule = typeof import("../src/runtime.js");

async function freshLib(): Promise<{ lib: Lib; rt: RuntimeModule }> {
  vi.resetModules();
  const lib = { ...(await import("../src/index.js")), ...(await import("../src/esn/index.js")), ...(await import("../src/testing/index.js")), ...(await import("../src/hessian-free/index.js")) };
  const rt = await import("../src/runtime.js");
  return { lib, rt };
}

function randomData(n: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

/** Index of the first element whose bits differ (NaN-safe), or -1. */
function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function expectIdentical(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const i = firstDiff(a, b);
  expect(i, `${what}: first difference at ${i} (${a[i]} vs ${b[i]}), lengths ${a.length} / ${b.length}`).toBe(-1);
}

describe("bit-identical results on 2 threads and on the single-thread binary", () => {
  let one: { lib: Lib; rt: RuntimeModule };
  let two: { lib: Lib; rt: RuntimeModule };

  beforeAll(async () => {
    one = await freshLib();
    await one.lib.init();
    two = await freshLib();
    const info = await two.lib.init({ threads: 2 });
    expect(info.threads, info.threadsFallback).toBe(2);
    expect(one.lib.backendInfo().threads).toBe(1);
    expect(info.backend).toBe(one.lib.backendInfo().backend);
  });

  afterAll(async () => {
    await two?.lib.shutdown();
  });

  /** Forks the 2-thread runtime made while `fn` ran (so each case shows it really was split). */
  function forks(fn: () => void): number {
    const pool = two.rt.runtime().pool!;
    const before = pool.forks();
    fn();
    return pool.forks() - before;
  }

  it("matmul (split by rows, by panels, and too small to split)", () => {
    const shapes: [number, number, number][] = [
      [512, 512, 512],
      [257, 515, 301], // rows that are no multiple of the 5-row strip, a partial panel
      [64, 1024, 256], // few rows: split by panels
      [3, 2000, 300], // single rows, split by panels
      [1, 4096, 256],
      [7, 9, 11], // below the threshold
    ];
    for (const [m, k, n] of shapes) {
      const a = { shape: [m, k], data: randomData(m * k, m + k + n) };
      const b = { shape: [k, n], data: randomData(k * n, m * k + n) };
      let c2 = new Float32Array();
      const n2 = forks(() => (c2 = two.lib.matmul(a, b).data));
      // The product forks above 2^18 multiply-adds, packing B above 2^16 floats; products of at
      // most 8 rows read B unpacked, block by block, on the calling thread.
      if (m > 8 && m * k * n >= 1 << 18) expect(n2, `forks of matmul ${m}x${k}x${n}`).toBeGreaterThan(0);
      else expect(n2, `forks of matmul ${m}x${k}x${n}`).toBe(0);
      expectIdentical(one.lib.matmul(a, b).data, c2, `matmul ${m}x${k}x${n}`);
    }
  });

  it("gemm with bias and accumulation, gemmTN (the weight-gradient product)", () => {
    for (const [m, n, k] of [
      [300, 72, 200],
      [1024, 128, 640],
      [40, 1000, 100],
    ]) {
      const results = [one, two].map(({ rt }) => {
        const { kernels: kn, heap } = rt.runtime();
        const a = heap.alloc(m * k * 4);
        const b = heap.alloc(k * n * 4);
        const bias = heap.alloc(n * 4);
        const bp = heap.alloc(kn.packedSize(k, n) * 4);
        const c = heap.alloc(m * n * 4);
        heap.f32(a, m * k).set(randomData(m * k, 1));
        heap.f32(b, k * n).set(randomData(k * n, 2));
        heap.f32(bias, n).set(randomData(n, 3));
        kn.packB(b, n, k, n, bias, bp);
        const out: Float32Array[] = [];
        heap.f32(c, m * n).set(randomData(m * n, 4));
        kn.gemm(m, n, k, a, k, bp, c, n, 1);
        out.push(heap.f32(c, m * n).slice());
        kn.gemmTN(m, n, k, a, m, bp, c, n, 0); // A stored k x m
        out.push(heap.f32(c, m * n).slice());
        for (const p of [a, b, bias, bp, c]) heap.release(p);
        return out;
      });
      expectIdentical(results[0][0], results[1][0], `gemm ${m}x${n}x${k}`);
      expectIdentical(results[0][1], results[1][1], `gemmTN ${m}x${n}x${k}`);
    }
  });

  it("LSTM, GRU and RNN forward at batch 64 (split by hidden units), and variants split by rows", () => {
    const [T, B, I, H] = [6, 64, 48, 72];
    const x = { shape: [T, B, I], data: randomData(T * B * I, 11) };
    const lengths = Int32Array.from({ length: B }, (_, b) => 1 + ((b * 7) % T));
    const cases: [string, (lib: Lib) => InstanceType<Lib["LSTM"]> | InstanceType<Lib["GRU"]> | InstanceType<Lib["RNN"]> | InstanceType<Lib["MRNN"]>, boolean][] = [
      ["LSTM", (lib) => new lib.LSTM({ inputSize: I, hiddenSize: H, seed: 1 }), false],
      ["GRU", (lib) => new lib.GRU({ inputSize: I, hiddenSize: H, seed: 2 }), false],
      ["RNN", (lib) => new lib.RNN({ inputSize: I, hiddenSize: H, seed: 3 }), false],
      ["RNN relu, 2 layers, bidirectional, lengths", (lib) => new lib.RNN({ inputSize: I, hiddenSize: H, numLayers: 2, bidirectional: true, nonlinearity: "relu", seed: 4 }), true],
      ["LSTM peepholes, lengths", (lib) => new lib.LSTM({ inputSize: I, hiddenSize: H, peepholes: true, seed: 5 }), true],
      ["LSTM projection (rows)", (lib) => new lib.LSTM({ inputSize: I, hiddenSize: H, projSize: 40, seed: 6 }), false],
      ["GRU reset-before (rows), lengths", (lib) => new lib.GRU({ inputSize: I, hiddenSize: H, resetAfter: false, seed: 7 }), true],
      ["MRNN (rows), lengths", (lib) => new lib.MRNN({ inputSize: I, hiddenSize: H, factorSize: 60, seed: 8 }), true],
    ];
    for (const [name, make, withLengths] of cases) {
      const outs = [one, two].map(({ lib }) => {
        const model = make(lib);
        let r!: ReturnType<typeof model.forward>;
        const n = forks(() => (r = model.forward(x, withLengths ? { lengths } : {})));
        if (lib === two.lib) expect(n, `${name}: forks`).toBeGreaterThan(0);
        model.dispose();
        return r;
      });
      expectIdentical(outs[0].output.data, outs[1].output.data, `${name}: output`);
      expectIdentical(outs[0].hN.data, outs[1].hN.data, `${name}: hN`);
      if (outs[0].cN) expectIdentical(outs[0].cN.data, outs[1].cN!.data, `${name}: cN`);
    }
  });

  it("a training step: loss and every gradient", () => {
    const [T, B, I, H, C] = [8, 32, 40, 96, 10];
    const input = { shape: [T, B, I], data: randomData(T * B * I, 21) };
    const target = { shape: [B], data: Int32Array.from({ length: B }, (_, b) => (b * 3) % C) };
    const variants: [string, Record<string, unknown>][] = [
      ["LSTM", { cell: "LSTM" }],
      ["GRU", { cell: "GRU" }],
      ["RNN", { cell: "RNN" }],
      ["LSTM projection, 2 layers", { cell: "LSTM", projSize: 48, numLayers: 2 }],
      ["LSTM peepholes (time loop not split)", { cell: "LSTM", peepholes: true }],
      ["GRU reset-before, bidirectional", { cell: "GRU", resetAfter: false, bidirectional: true }],
      ["MRNN, 2 layers", { cell: "MRNN", factorSize: 80, numLayers: 2 }],
    ];
    for (const [name, options] of variants) {
      const results = [one, two].map(({ lib }) => {
        const model = new lib.SequenceModel({ inputSize: I, hiddenSize: H, outputSize: C, outputs: "last", seed: 31, ...options });
        let r!: ReturnType<typeof model.lossAndGrad>;
        const n = forks(() => (r = model.lossAndGrad({ input, target })));
        if (lib === two.lib) expect(n, `${name}: forks`).toBeGreaterThan(2);
        const grads = Object.fromEntries(Object.entries(model.gradients()).map(([k, v]) => [k, v.data.slice()]));
        model.dispose();
        return { loss: r.loss, grads };
      });
      expect(results[1].loss, `${name}: loss`).toBe(results[0].loss);
      expect(Object.keys(results[1].grads)).toEqual(Object.keys(results[0].grads));
      for (const k of Object.keys(results[0].grads)) expectIdentical(results[0].grads[k], results[1].grads[k], `${name}: gradient ${k}`);
    }
  });

  it("Gauss-Newton products G v (the forward-mode pass split by rows like the forward)", () => {
    const [T, B, I, H, C] = [8, 32, 40, 96, 10];
    const input = { shape: [T, B, I], data: randomData(T * B * I, 22) };
    const target = { shape: [T, B], data: Int32Array.from({ length: T * B }, (_, i) => (i * 7) % C) };
    const variants: [string, Record<string, unknown>][] = [
      ["LSTM peepholes, projection, learned initial states", { cell: "LSTM", peepholes: true, projSize: 48, trainableInitialState: true }],
      ["GRU reset-before, bidirectional", { cell: "GRU", resetAfter: false, bidirectional: true }],
      ["GRU, hardSigmoid gates", { cell: "GRU", activations: ["hardSigmoid", "tanh"] }],
      ["RNN, 2 layers", { cell: "RNN", numLayers: 2 }],
      ["MRNN", { cell: "MRNN", factorSize: 80 }],
    ];
    for (const [name, options] of variants) {
      const results = [one, two].map(({ lib }) => {
        const model = new lib.SequenceModel({ inputSize: I, hiddenSize: H, outputSize: C, seed: 32, ...options });
        const n = model.parameterRegions().reduce((a, r) => a + r.floats, 0);
        const v = randomData(n, 23);
        let product!: Float32Array;
        const forked = forks(() => (product = lib.gaussNewtonProduct(model, { input, target }, v).product.slice()));
        if (lib === two.lib) expect(forked, `${name}: forks`).toBeGreaterThan(3);
        model.dispose();
        return product;
      });
      expect(Math.max(...results[0].map(Math.abs)), `${name}: not vacuous`).toBeGreaterThan(0);
      expectIdentical(results[0], results[1], `${name}: G v`);
    }
  });

  it("ESN fit (the reservoir product and the Gram accumulation are split) and predict", () => {
    const T = 600;
    const u = Float32Array.from({ length: T + 1 }, (_, t) => Math.sin(t * 0.21) + 0.5 * Math.sin(t * 0.063));
    const inputs = { shape: [T, 1], data: u.subarray(0, T) };
    const targets = { shape: [T, 1], data: u.slice(1) };
    const results = [one, two].map(({ lib }) => {
      const esn = new lib.ESN({ units: 400, seed: 5, ridge: 1e-6, sparse: false }); // dense: the reservoir product forks too
      const n = forks(() => esn.fit(inputs, targets, { washout: 50 }));
      if (lib === two.lib) expect(n, "ESN fit: forks (one per step at least)").toBeGreaterThan(T);
      const readout = esn.getReadout().data.slice();
      const y = esn.predict(inputs).data.slice();
      esn.dispose();
      return { readout, y };
    });
    expectIdentical(results[0].readout, results[1].readout, "ESN readout");
    expectIdentical(results[0].y, results[1].y, "ESN predict");
  });

  it("esnSearch: the trials spread over the workers and find the same losses as on one thread", async () => {
    const T = 400;
    const u = Float32Array.from({ length: T + 1 }, (_, t) => Math.sin(t * 0.21) + 0.5 * Math.sin(t * 0.063));
    const task = { inputs: { shape: [T, 1], data: u.subarray(0, T) }, targets: { shape: [T, 1], data: u.slice(1) }, washout: 30 };
    // Dense reservoirs of 300 units: their packing and their Gram would fork if a kernel inside a
    // trial, or a build on the calling thread while trials run, did not stay on its thread.
    const space = { spectralRadius: [0.3, 1.2] as const, leakRate: [0.1, 1] as const, ridge: [1e-9, 1e-2] as const };
    const options = { trials: 5, folds: 2, seed: 2, reservoir: { units: 300, sparse: false } };
    const a = await one.lib.esnSearch(task, space, options);
    const pool = two.rt.runtime().pool!;
    const before = pool.forks();
    const b = await two.lib.esnSearch(task, space, options);
    // One fork per batch of trials (4 and 1 trials), plus the packing of the first batch's 4
    // reservoirs, built while the pool was idle; the second batch was built while the first ran,
    // with every kernel on the calling thread.
    expect(pool.forks() - before).toBe(2 + 4);
    expect(b.trials).toEqual(a.trials);
    expect(a.trials.every((t) => t.status === "ok")).toBe(true);
  });
});

describe("init({ threads }), setThreads, shutdown", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("init with the same threads is idempotent; another count is refused until shutdown", async () => {
    const { lib, rt } = await freshLib();
    const info = await lib.init({ threads: 2 });
    expect(info.threads).toBe(2);
    expect(info.threadsFallback).toBeUndefined();
    const first = rt.runtime();
    expect(first.pool?.size).toBe(2);
    expect(rt.runtime().kernels.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const [again, unspecified] = await Promise.all([lib.init({ threads: 2 }), lib.init()]);
    expect(again).toEqual(info);
    expect(unspecified.threads).toBe(2);
    expect(rt.runtime()).toBe(first);
    const e = await lib.init({ threads: 1 }).catch((err: { code: string; message: string }) => err);
    expect(e).toMatchObject({ code: "E_STATE" });
    expect((e as Error).message).toMatch(/threads: 2.*threads: 1/);

    expect(lib.setThreads(1).threads).toBe(1);
    expect(lib.backendInfo().threads).toBe(1);
    const a = { shape: [300, 300], data: randomData(90_000, 1) };
    const single = lib.matmul(a, a).data;
    expect(lib.setThreads(2).threads).toBe(2);
    expectIdentical(lib.matmul(a, a).data, single, "matmul after setThreads(2)");
    for (const bad of [0, 3, 1.5, "2", NaN]) {
      expect(() => lib.setThreads(bad as number)).toThrow(expect.objectContaining({ code: "E_VALUE", message: expect.stringContaining(typeof bad === "string" ? `"${bad}"` : String(bad)) }));
    }

    await lib.shutdown();
    expect(() => lib.backendInfo()).toThrow(expect.objectContaining({ code: "E_STATE" }));
    const reloaded = await lib.init({ threads: 1 });
    expect(reloaded.threads).toBe(1);
    expect(rt.runtime()).not.toBe(first);
    await lib.shutdown();
    await lib.shutdown(); // idempotent
  });

  it("a dead worker stops the forks instead of hanging the kernels", async () => {
    const { lib, rt } = await freshLib();
    await lib.init({ threads: 2 });
    const { pool, heap } = rt.runtime();
    const a = { shape: [300, 300], data: randomData(90_000, 3) };
    const before = pool!.forks();
    const ref = lib.matmul(a, a).data;
    expect(pool!.forks()).toBeGreaterThan(before);
    // What a worker's JavaScript does when its Wasm traps (src/pool.ts): the dead flag, word 69.
    Atomics.store(heap.i32(pool!.control, 70), 69, 1);
    expect(lib.backendInfo().threads).toBe(1);
    const forks = pool!.forks();
    expectIdentical(lib.matmul(a, a).data, ref, "matmul after a worker died");
    expect(pool!.forks()).toBe(forks);
    await lib.shutdown();
  });

  it("a kernel that traps in a worker or in the caller throws; it never hangs", async () => {
    const { lib, rt } = await freshLib();
    await lib.init({ threads: 2 });
    const { kernels: kn, heap } = rt.runtime();
    const [m, n, k] = [3200, 64, 64];
    const bp = heap.alloc(kn.packedSize(k, n) * 4);
    const c = heap.alloc(m * n * 4);
    // A's first rows are in memory, its last ones past the end: whichever thread claims those
    // chunks traps (a kernel bug in real use).
    const a = heap.capacityBytes - 100 * k * 4;
    expect(() => kn.gemm(m, n, k, a, k, bp, c, n, 0)).toThrow(WebAssembly.RuntimeError);
    const x = { shape: [200, 200], data: randomData(40_000, 4) };
    const y = lib.matmul(x, x);
    expect(y.data.length).toBe(40_000);
    heap.release(bp);
    heap.release(c);
    await lib.shutdown();
  });

  it("bad threads values reject with E_VALUE naming the value", async () => {
    const { lib } = await freshLib();
    for (const bad of [0, -1, 2.5, 65, NaN, Infinity, "4", "max", null, true]) {
      const e = await lib.init({ threads: bad as number }).catch((err: { code: string; message: string }) => err);
      expect(e, String(bad)).toMatchObject({ code: "E_VALUE" });
      expect((e as Error).message).toContain(typeof bad === "string" ? JSON.stringify(bad) : String(bad));
      const e2 = await lib.createRuntime({ threads: bad as number }).catch((err: { code: string }) => err);
      expect(e2, String(bad)).toMatchObject({ code: "E_VALUE" });
    }
    // Nothing was loaded by the refused calls.
    expect(() => lib.backendInfo()).toThrow(expect.objectContaining({ code: "E_STATE" }));
  });

  it("falls back to one thread (and says why) where SharedArrayBuffer is missing", async () => {
    const { lib, rt } = await freshLib();
    vi.stubGlobal("SharedArrayBuffer", undefined);
    const info = await lib.init({ threads: 2 });
    vi.unstubAllGlobals();
    expect(info.threads).toBe(1);
    expect(info.threadsFallback).toMatch(/SharedArrayBuffer/);
    expect(rt.runtime().pool).toBeUndefined();
    expect(rt.runtime().kernels.memory.buffer).toBeInstanceOf(ArrayBuffer); // the default binary
    const a = { shape: [64, 64], data: randomData(4096, 2) };
    expect(lib.matmul(a, a).data.length).toBe(4096);
    // The request is remembered: asking again is not a conflict.
    expect((await lib.init({ threads: 2 })).threads).toBe(1);
    await lib.shutdown();
  });

  it("falls back to one thread where a shared memory cannot be reserved", async () => {
    const { lib } = await freshLib();
    const Memory = WebAssembly.Memory;
    class NoShared extends Memory {
      constructor(d: WebAssembly.MemoryDescriptor) {
        if (d.shared) throw new RangeError("out of address space");
        super(d);
      }
    }
    WebAssembly.Memory = NoShared as typeof WebAssembly.Memory;
    try {
      const info = await lib.init({ threads: 2 });
      expect(info.threads).toBe(1);
      expect(info.threadsFallback).toMatch(/shared Wasm memory.*out of address space/);
    } finally {
      WebAssembly.Memory = Memory;
      await lib.shutdown();
    }
  });

  it('threads: "auto" takes the hardware count (at most 8)', async () => {
    const { lib } = await freshLib();
    const os = await import("node:os");
    const info = await lib.init({ threads: "auto" });
    expect(info.threads).toBe(Math.max(1, Math.min(8, os.availableParallelism())));
    await lib.shutdown();
  });

  // A child process that loads 2 threads, computes and returns from its module without calling
  // shutdown(): parked workers must not keep it alive.
  const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  it("a Node process with live workers exits on its own", async () => {
    expect(existsSync(dist), "dist/ is built by npm install (npm run build)").toBe(true);
    const script = `
      const { init, matmul, backendInfo } = await import(${JSON.stringify(dist)});
      await init({ threads: 2 });
      const a = { shape: [256, 256], data: new Float32Array(65536).fill(0.5) };
      matmul(a, a);
      console.log(backendInfo().threads);
    `;
    const t0 = performance.now();
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 30_000 }, (err, out) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout: out }),
      );
      child.stdin?.end();
    });
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("2");
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
