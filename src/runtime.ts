import type { WasmModule } from "./wasm-types.js";
import { instantiate } from "./instantiate.js";
import { fail } from "./errors.js";
import type { Kernels } from "./kernels.js";
import { Heap } from "./memory.js";
import { checkThreads, hardwareThreads, threadsUnavailable, type ThreadPool } from "./threads.js";
import { importNode, isNode } from "./platform.js";
import { integer, objectArgument, oneOf, show } from "./validate.js";

/** Which Wasm binary computes: plain SIMD128, or relaxed SIMD (fused multiply-add). */
export type Backend = "simd128" | "relaxed";

/** Options of `init`. */
export interface InitOptions {
  /** Which binary: "auto" (default) takes relaxed SIMD when the engine validates it. */
  backend?: Backend | "auto";
  /**
   * Where the Wasm comes from, for bundlers or offline pages that move it: a URL (or string),
   * the bytes, or a compiled module of the chosen backend. Default: the binary beside this
   * package, located with `import.meta.url`: the core (recur-<backend>.wasm), or the full module
   * (recur-<backend>-full.wasm) once recur-nn/esn, recur-nn/attention or recur-nn/hessian-free
   * has been imported, which their models need.
   */
  wasm?: URL | string | ArrayBuffer | Uint8Array | WasmModule;
  /** Skip the warm-up calls (default false). Warm-up moves V8's tier-up out of the first real call. */
  skipWarmup?: boolean;
  /**
   * Threads the kernels may use, the calling thread included (default 1): an integer from 1 to
   * 64, or "auto" (the hardware's count, at most 8). More than 1 loads the threaded build of the
   * backend on a shared memory and starts `threads - 1` workers (Node worker_threads; Web Workers
   * on cross-origin isolated pages). Where that is impossible the runtime runs on one thread and
   * `backendInfo().threadsFallback` says why. With `wasm` given, it must then be the threaded
   * binary (recur-<backend>-threads.wasm).
   */
  threads?: number | "auto";
  /**
   * The GEMM's main register tile: "auto" (default) times both on a 100 x 256 x 256 product at
   * load (about 2 ms) and keeps the faster; "5x8" (A copied into 5-row strips) or "4x8" (A read in
   * place) pins one. Which is faster depends on the engine's code and the CPU. Both give
   * bit-identical results for inner sizes up to 512; beyond, they differ by float rounding.
   * Without warm-up (`skipWarmup`) "auto" takes "5x8" unmeasured.
   */
  gemmTile?: GemmTile | "auto";
  /**
   * The most Wasm memory models, layers and optimizers may hold together, in MB (2^20 bytes): an
   * allocation beyond it throws RecurError E_MEMORY naming the size, before any work. Default
   * 4096, all a 32-bit Wasm memory can address (less where the engine reserves less). A later
   * `init` call with this option changes the limit of the loaded core.
   */
  maxMemoryMB?: number;
}

/** The default of `init({ maxMemoryMB })`: all of a 32-bit Wasm memory. */
export const DEFAULT_MAX_MEMORY_MB = 4096;

function checkMaxMemory(value: unknown, where: string): number {
  return integer(where, "maxMemoryMB", value, { min: 1, max: DEFAULT_MAX_MEMORY_MB }, DEFAULT_MAX_MEMORY_MB);
}

/** The GEMM's main register tile (see `InitOptions.gemmTile`). */
export type GemmTile = "5x8" | "4x8";

/** What `init` and `backendInfo` report about the loaded core. */
export interface BackendInfo {
  /** The binary in use. */
  backend: Backend;
  /** Threads the kernels use now, the calling thread included. */
  threads: number;
  /** Set when fewer threads run than `init` asked for: the reason. */
  threadsFallback?: string;
  /** Size of the Wasm memory. */
  memoryBytes: number;
  /** Bytes of the Wasm memory that models, layers and optimizers hold now. */
  heapUsedBytes: number;
  /** The GEMM's main register tile (`InitOptions.gemmTile`). */
  gemmTile: GemmTile;
  /** How it was chosen: timed at load, pinned by `init`'s option, or the default without warm-up. */
  gemmTileChosenBy: "calibration" | "option" | "default";
  /** The calibration's GFLOP/s of each tile (best of three), when `gemmTile` was "auto". */
  gemmCalibration?: Record<GemmTile, number>;
}

/** @internal A loaded core: its binary, exports, allocator and worker pool. */
export interface Runtime {
  backend: Backend;
  kernels: Kernels;
  heap: Heap;
  /** The worker pool of a threaded runtime (undefined: single-threaded). */
  pool?: ThreadPool;
  /** Why the runtime has fewer threads than requested. */
  threadsFallback?: string;
  gemmTile: GemmTile;
  gemmTileChosenBy: "calibration" | "option" | "default";
  gemmCalibration?: Record<GemmTile, number>;
}

// f32x4.relaxed_madd on three zero vectors: the smallest module that only validates where relaxed
// SIMD is enabled.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of type 0
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code section, one body of 59 bytes, no locals
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x0c, ...new Array<number>(16).fill(0),
  0xfd, 0x85, 0x02, // f32x4.relaxed_madd
  0x0b,
]);

let enabledRelaxedFlag = false;

async function relaxedSupported(): Promise<boolean> {
  if (WebAssembly.validate(RELAXED_PROBE)) return true;
  if (isNode && !enabledRelaxedFlag) {
    // Node 20 (V8 11.3) ships relaxed SIMD behind a flag that NODE_OPTIONS refuses but V8 accepts
    // at run time, before the module is compiled.
    enabledRelaxedFlag = true;
    const v8 = await importNode<typeof import("node:v8")>("node:v8");
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  }
  return WebAssembly.validate(RELAXED_PROBE);
}

// Where the full module (assembly/full.ts) is, once a module that needs it was imported: set by
// src/full-core.ts, whose literal URLs make bundlers copy the full binaries only for the pages
// that import recur-nn/esn, recur-nn/attention or recur-nn/hessian-free.
let fullUrl: ((backend: Backend) => URL) | undefined;

/** @internal Makes every later load of a single-thread core load the full module (src/full-core.ts). */
export function useFullCore(url: (backend: Backend) => URL): void {
  fullUrl = url;
}

function defaultUrl(backend: Backend, threaded: boolean): URL {
  // Literal `new URL(..., import.meta.url)` calls so bundlers (Vite, webpack) see and copy the files.
  // The threaded builds are always full.
  if (fullUrl !== undefined && !threaded) return fullUrl(backend);
  if (threaded) {
    return backend === "relaxed"
      ? new URL("../build/recur-relaxed-threads.wasm", import.meta.url)
      : new URL("../build/recur-simd128-threads.wasm", import.meta.url);
  }
  return backend === "relaxed"
    ? new URL("../build/recur-relaxed.wasm", import.meta.url)
    : new URL("../build/recur-simd128.wasm", import.meta.url);
}

// Pages of a threaded core's shared memory: a shared memory cannot move, so its maximum is
// reserved up front (address space only); smaller reservations are tried where 4 GiB fails.
const SHARED_MAX_PAGES = [65536, 16384, 4096];

function sharedMemory(): { memory: WebAssembly.Memory; maximum: number } | string {
  let last: unknown;
  for (const maximum of SHARED_MAX_PAGES) {
    try {
      return { memory: new WebAssembly.Memory({ initial: 16, maximum, shared: true }), maximum };
    } catch (err) {
      last = err;
    }
  }
  return `could not reserve a shared Wasm memory (${(last as Error).message})`;
}

async function loadSource(source: URL | string): Promise<Uint8Array | Response> {
  let url: URL;
  try {
    url = typeof source === "string" ? new URL(source, import.meta.url) : source;
  } catch {
    fail("E_VALUE", `createRuntime: wasm ${JSON.stringify(source)} is not a URL`);
  }
  let response: Response;
  try {
    if (url.protocol === "file:" && isNode) {
      const { readFile } = await importNode<typeof import("node:fs/promises")>("node:fs/promises");
      return await readFile(url);
    }
    response = await fetch(url);
  } catch (err) {
    fail("E_FORMAT", `could not load the Wasm core from ${url.href}: ${(err as Error).message}`);
  }
  if (!response.ok) fail("E_FORMAT", `could not fetch the Wasm core from ${url.href}: HTTP ${response.status}`);
  return response;
}

async function compileBytes(bytes: BufferSource): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (err) {
    fail("E_FORMAT", `createRuntime: the Wasm given does not compile (${(err as Error).message})`);
  }
}

async function compileResponse(response: Response): Promise<WebAssembly.Module> {
  if (typeof WebAssembly.compileStreaming === "function" && response.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return compileBytes(await response.arrayBuffer());
}

function checkBackend(value: unknown, where: string): Backend | "auto" {
  return oneOf(where, "backend", value, ["auto", "simd128", "relaxed"] as const);
}

/**
 * Instantiates one core on a fresh memory. Most code wants `init()`, which keeps a single shared
 * runtime; this is for tests and tools that compare both binaries (or thread counts) side by side.
 * A threaded runtime's workers are stopped by `runtime.pool.shutdown()`; they never keep a Node
 * process alive.
 *
 * @internal
 */
export async function createRuntime(options: InitOptions = {}): Promise<Runtime> {
  objectArgument("createRuntime", options);
  const requested = checkBackend(options.backend ?? "auto", "createRuntime");
  const maxBytes = checkMaxMemory(options.maxMemoryMB, "createRuntime") * 2 ** 20;
  const threadsOption = checkThreads(options.threads === undefined ? 1 : options.threads, "createRuntime");
  const relaxedOk = await relaxedSupported();
  if (requested === "relaxed" && !relaxedOk) {
    fail("E_UNSUPPORTED", "createRuntime: backend \"relaxed\" requested but this engine does not validate relaxed SIMD");
  }
  const backend: Backend = requested === "auto" ? (relaxedOk ? "relaxed" : "simd128") : requested;
  let threads = threadsOption === "auto" ? Math.max(1, Math.min(8, await hardwareThreads())) : threadsOption;
  let threadsFallback: string | undefined;
  let memory: WebAssembly.Memory | undefined;
  let reservable: number | undefined;
  if (threads > 1) {
    const shared = threadsUnavailable() ?? sharedMemory();
    if (typeof shared === "string") {
      threadsFallback = shared;
      threads = 1;
    } else {
      memory = shared.memory;
      reservable = shared.maximum * 65536;
    }
  }
  const threaded = threads > 1;
  let source: BufferSource | Response | WebAssembly.Module;
  const given = options.wasm;
  if (given instanceof WebAssembly.Module || given instanceof ArrayBuffer || given instanceof Uint8Array) source = given;
  else if (given !== undefined && typeof given !== "string" && !(given instanceof URL)) fail("E_TYPE", `createRuntime: wasm must be a URL, a string, the bytes or a WebAssembly.Module, got ${Object.prototype.toString.call(given)}`);
  else source = await loadSource(given ?? defaultUrl(backend, threaded));
  // Bytes are compiled here so instantiate() takes its Module path: its Response check reads the
  // global `Response`, which in Node 20 first loads the whole fetch implementation (~80 ms).
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) source = await compileBytes(source as BufferSource);
  // Workers instantiate the same compiled module: a fetched threaded core is compiled here too.
  if (threaded && !(source instanceof WebAssembly.Module)) source = await compileResponse(source as Response);
  const module = source instanceof WebAssembly.Module ? source : undefined;

  memory ??= new WebAssembly.Memory({ initial: 16 });
  let exports: Record<string, unknown>;
  try {
    ({ exports } = await instantiate<Record<string, unknown>>(source as never, { env: { memory } }));
  } catch (err) {
    if (threaded && err instanceof WebAssembly.LinkError) {
      fail("E_FORMAT", `createRuntime: the Wasm given for threads: ${threads} is not a threaded core (recur-${backend}-threads.wasm): ${err.message}`);
    }
    if (err instanceof WebAssembly.LinkError || err instanceof WebAssembly.RuntimeError) {
      fail("E_FORMAT", `createRuntime: the Wasm given is not recur's core (${err.message})`);
    }
    throw err;
  }
  if (typeof exports.heapBase !== "function" || typeof exports.gemm !== "function") fail("E_FORMAT", "createRuntime: the Wasm given is not recur's core (it lacks heapBase and gemm)");
  const kernels = { ...(exports as object), memory } as unknown as Kernels;
  const heap = new Heap(memory, kernels.heapBase(), maxBytes, reservable);
  // The GEMM packs rows of A into this region on every call; reserved once, for the instance's
  // life, and written once now so its pages are mapped (first-touch faults cost a first large call
  // ~1 ms otherwise). Each worker gets its own (src/pool.ts).
  const scratchBytes = kernels.gemmScratchSize();
  const scratch = heap.alloc(scratchBytes);
  heap.f32(scratch, scratchBytes >> 2).fill(0);
  kernels.setGemmScratch(scratch, scratchBytes);
  const tileOption = oneOf("createRuntime", "gemmTile", options.gemmTile, ["auto", "5x8", "4x8"] as const, "auto");
  const runtime: Runtime = { backend, kernels, heap, gemmTile: "5x8", gemmTileChosenBy: "default" };
  if (!options.skipWarmup) await warmUp(runtime);
  if (tileOption !== "auto") {
    runtime.gemmTile = tileOption;
    runtime.gemmTileChosenBy = "option";
  } else if (!options.skipWarmup) {
    // One measurement per backend and process (kept on globalThis, so copies of the library loaded
    // side by side agree): every runtime of a process then sums its products alike.
    const calibrations = ((globalThis as Record<symbol, unknown>)[CALIBRATIONS] ??= {}) as Partial<Record<Backend, Record<GemmTile, number>>>;
    const calibration = (calibrations[backend] ??= calibrateTiles(runtime));
    runtime.gemmCalibration = calibration;
    runtime.gemmTile = calibration["4x8"] > 1.03 * calibration["5x8"] ? "4x8" : "5x8";
    runtime.gemmTileChosenBy = "calibration";
  }
  kernels.setGemmTile(TILE_CODES[runtime.gemmTile]); // before the workers start: they copy it
  if (threaded) {
    try {
      if (module === undefined) throw new Error("no compiled module to share with workers");
      // Loaded here, not imported: a page that never asks for threads does not download the pool.
      const { startPool } = await import("./pool.js");
      runtime.pool = await startPool(module, kernels, heap, threads);
    } catch (err) {
      threadsFallback = `the workers did not start: ${(err as Error).message}`;
    }
  }
  if (threadsFallback !== undefined) runtime.threadsFallback = threadsFallback;
  return runtime;
}

let shared: Promise<Runtime> | undefined;
let current: Runtime | undefined;
let sharedThreads: number | "auto" = 1;

/**
 * Loads the Wasm core once; later and concurrent calls share the same load (their `wasm`,
 * `skipWarmup` and `gemmTile` options are ignored) and reject with E_STATE if they ask for another backend or
 * another `threads` value than the load (call `shutdown()` first to load again). Resolves to
 * `backendInfo()`; errors always arrive as a rejected promise.
 */
export function init(options: InitOptions = {}): Promise<BackendInfo> {
  let wanted: Backend | "auto";
  let threads: number | "auto" | undefined;
  try {
    objectArgument("init", options);
    wanted = checkBackend(options.backend ?? "auto", "init");
    if (options.threads !== undefined) threads = checkThreads(options.threads, "init");
    checkMaxMemory(options.maxMemoryMB, "init");
  } catch (err) {
    return Promise.reject(err);
  }
  if (shared === undefined) {
    sharedThreads = threads ?? 1;
    shared = createRuntime(options).then(
      (rt) => (current = rt),
      (err: unknown) => {
        shared = undefined; // a failed load may be retried (e.g. with another `wasm` source)
        throw err;
      },
    );
  } else if (threads !== undefined && threads !== sharedThreads) {
    const loaded = sharedThreads;
    return shared.then(() =>
      fail("E_STATE", `init: the core is already loaded with threads: ${JSON.stringify(loaded)}; threads: ${JSON.stringify(threads)} was requested (call shutdown() first)`),
    );
  }
  return shared.then((rt) => {
    if (wanted !== "auto" && wanted !== rt.backend) {
      fail("E_STATE", `init: the core is already running the ${rt.backend} backend; ${wanted} was requested`);
    }
    if (options.maxMemoryMB !== undefined) rt.heap.limitBytes = Math.min(options.maxMemoryMB * 2 ** 20, rt.heap.reservableBytes);
    return backendInfo();
  });
}

/** The shared runtime; throws a clear error when `init()` has not finished. */
export function runtime(): Runtime {
  if (current === undefined) fail("E_STATE", "recur is not initialised: call `await init()` first");
  return current;
}

/** Which binary runs, how many threads, and how much Wasm memory is in use. Needs `init()` first. */
export function backendInfo(): BackendInfo {
  const rt = runtime();
  const info: BackendInfo = {
    backend: rt.backend,
    threads: rt.pool?.active ?? 1,
    memoryBytes: rt.heap.capacityBytes,
    heapUsedBytes: rt.heap.usedBytes,
    gemmTile: rt.gemmTile,
    gemmTileChosenBy: rt.gemmTileChosenBy,
  };
  if (rt.gemmCalibration !== undefined) info.gemmCalibration = { ...rt.gemmCalibration };
  if (rt.threadsFallback !== undefined) info.threadsFallback = rt.threadsFallback;
  return info;
}

/**
 * Changes how many threads the kernels use, from 1 to the count `init` started (no worker is
 * started or stopped: idle workers park). Results do not depend on it: every split keeps the
 * single-thread summation order.
 */
export function setThreads(threads: number): BackendInfo {
  const rt = runtime();
  const max = rt.pool?.size ?? 1;
  if (typeof threads !== "number" || !Number.isInteger(threads) || threads < 1 || threads > max) {
    fail("E_VALUE", `setThreads: threads must be an integer from 1 to ${max} (the count init started), got ${show(threads)}`);
  }
  rt.pool?.setActive(threads);
  return backendInfo();
}

/**
 * Stops the shared runtime's workers and forgets it: models built on it must not be used
 * afterwards, and the next `init()` loads the core again (with any `threads`). Workers never keep
 * a Node process alive, so this is only needed to change the thread count or free the threads.
 */
export async function shutdown(): Promise<void> {
  const pending = shared;
  shared = undefined;
  current = undefined;
  sharedThreads = 1;
  if (pending === undefined) return;
  let rt: Runtime;
  try {
    rt = await pending;
  } catch {
    return;
  }
  await rt.pool?.shutdown();
}

// V8 runs a fresh module in Liftoff and tiers a function up to TurboFan only once it has used up a
// budget of executed code (~1.8 MB of Liftoff code per function in V8 11.3), compiling it in the
// background; there is no on-stack replacement for wasm, so a first large call that starts in
// Liftoff runs unoptimised to its end (several times slower). Warm-up therefore
// 1. calls every GEMM path (packed 5x8 tile direct and through its merge buffer, unpacked 4x8
//    tile, 2-row tiles, single-row kernels, both packings) on small problems, with loops long
//    enough (k = 128) that every function exhausts its budget within the rounds (n = 24, k = 24
//    left packPanels in Liftoff: a first 512 matmul then spent 9 ms packing B instead of 0.2 ms);
// 2. then yields to the event loop and repeats one round until its time stops improving, so the
//    background compilations have finished before init resolves.
async function warmUp({ kernels: k, heap }: Runtime): Promise<void> {
  const K = 128;
  const N = 32;
  const a = heap.alloc(K * N * 4);
  const bp = heap.alloc(k.packedSize(K, N) * 4);
  const c = heap.alloc(N * N * 4);
  heap.f32(a, K * N).fill(0.5);
  const round = () => {
    k.packBT(a, K, K, N, 0, bp); // W [32][128]: 4 x 4 transposes
    k.packB(a, N, K, N, a, bp); // B [128][32] with a bias row
    k.gemm(20, N, K, a, K, bp, c, N, 0); // packed A, full panels
    k.gemm(9, 20, K, a, K, bp, c, N, 1); // packed through the merge buffer, then one 4x8 tile
    k.gemm(3, N, K, a, K, bp, c, N, 0); // single rows, three panels at once
    k.gemm(1, 20, K, a, K, bp, c, N, 1); // single row, one panel at a time, partial panel
    k.gemm(2, 20, K, a, K, bp, c, N, 1); // two rows: a 2 x 16 tile, then a partial 2 x 8
    k.gemmDirect(7, 27, K, a, K, a, N, c, N, 0); // unpacked B: every tile, then the column tail
    k.gemmTN(N, N, 20, a, N, bp, c, N, 0);
    k.gemmTN(9, 20, K, a, 9, bp, c, N, 1);
  };
  for (let i = 0; i < 60; i++) round();
  let best = Infinity;
  for (let i = 0, stable = 0; i < 40 && stable < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const t = performance.now();
    round();
    const dt = performance.now() - t;
    stable = dt <= 1.25 * best ? stable + 1 : 0;
    best = Math.min(best, dt);
  }
  heap.release(a);
  heap.release(bp);
  heap.release(c);
}

const TILE_CODES: Record<GemmTile, number> = { "5x8": 0, "4x8": 1 };
const CALIBRATIONS = Symbol.for("recur-nn.gemmTileCalibrations");

// Times both tiles on one product, alternating, best of three each (~2 ms in all): the fastest
// sample is the one least disturbed by other processes. Runs after warm-up, so both paths run
// optimised code.
function calibrateTiles({ kernels: k, heap }: Runtime): Record<GemmTile, number> {
  const [m, n, K] = [100, 256, 256];
  const a = heap.alloc(m * K * 4);
  const bp = heap.alloc(k.packedSize(K, n) * 4);
  const c = heap.alloc(m * n * 4);
  const best: Record<GemmTile, number> = { "5x8": Infinity, "4x8": Infinity };
  try {
    const av = heap.f32(a, m * K);
    for (let i = 0; i < av.length; i++) av[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    k.packB(a, n, K, n, 0, bp); // the first K x n floats of A serve as B
    for (let round = 0; round < 3; round++) {
      for (const tile of ["5x8", "4x8"] as const) {
        k.setGemmTile(TILE_CODES[tile]);
        const t = performance.now();
        k.gemm(m, n, K, a, K, bp, c, n, 0);
        best[tile] = Math.min(best[tile], performance.now() - t);
      }
    }
  } finally {
    heap.release(a);
    heap.release(bp);
    heap.release(c);
  }
  const gflops = (ms: number) => Math.round((2 * m * n * K) / ms / 1e5) / 10;
  return { "5x8": gflops(best["5x8"]), "4x8": gflops(best["4x8"]) };
}
