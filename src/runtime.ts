import { instantiate } from "./instantiate.js";
import { fail } from "./errors.js";
import type { Kernels } from "./kernels.js";
import { Heap } from "./memory.js";

export type Backend = "simd128" | "relaxed";

export interface InitOptions {
  /** Which binary: "auto" (default) takes relaxed SIMD when the engine validates it. */
  backend?: Backend | "auto";
  /**
   * Where the Wasm comes from, for bundlers or offline pages that move it: a URL (or string),
   * the bytes, or a compiled module of the chosen backend. Default: the binary beside this
   * package, located with `import.meta.url`.
   */
  wasm?: URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module;
  /** Skip the warm-up calls (default false). Warm-up moves V8's tier-up out of the first real call. */
  skipWarmup?: boolean;
}

export interface BackendInfo {
  backend: Backend;
  threads: number;
  memoryBytes: number;
  heapUsedBytes: number;
}

export interface Runtime {
  backend: Backend;
  kernels: Kernels;
  heap: Heap;
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

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

let enabledRelaxedFlag = false;

async function relaxedSupported(): Promise<boolean> {
  if (WebAssembly.validate(RELAXED_PROBE)) return true;
  if (isNode && !enabledRelaxedFlag) {
    // Node 20 (V8 11.3) ships relaxed SIMD behind a flag that NODE_OPTIONS refuses but V8 accepts
    // at run time, before the module is compiled.
    enabledRelaxedFlag = true;
    const v8 = await import(/* @vite-ignore */ "node:v8");
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  }
  return WebAssembly.validate(RELAXED_PROBE);
}

function defaultUrl(backend: Backend): URL {
  // Literal `new URL(..., import.meta.url)` calls so bundlers (Vite, webpack) see and copy the files.
  return backend === "relaxed"
    ? new URL("../build/recur-relaxed.wasm", import.meta.url)
    : new URL("../build/recur-simd128.wasm", import.meta.url);
}

async function loadSource(source: URL | string): Promise<Uint8Array | Response> {
  const url = typeof source === "string" ? new URL(source, import.meta.url) : source;
  let response: Response;
  try {
    if (url.protocol === "file:" && isNode) {
      const { readFile } = await import(/* @vite-ignore */ "node:fs/promises");
      return await readFile(url);
    }
    response = await fetch(url);
  } catch (err) {
    fail("E_FORMAT", `could not load the Wasm core from ${url.href}: ${(err as Error).message}`);
  }
  if (!response.ok) fail("E_FORMAT", `could not fetch the Wasm core from ${url.href}: HTTP ${response.status}`);
  return response;
}

function checkBackend(value: unknown, where: string): Backend | "auto" {
  if (value !== "auto" && value !== "simd128" && value !== "relaxed") {
    fail("E_VALUE", `${where}: backend must be "auto", "simd128" or "relaxed", got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Instantiates one core on a fresh memory. Most code wants `init()`, which keeps a single shared
 * runtime; this is for tests and tools that compare both binaries side by side.
 */
export async function createRuntime(options: InitOptions = {}): Promise<Runtime> {
  const requested = checkBackend(options.backend ?? "auto", "createRuntime");
  const relaxedOk = await relaxedSupported();
  if (requested === "relaxed" && !relaxedOk) {
    fail("E_UNSUPPORTED", "createRuntime: backend \"relaxed\" requested but this engine does not validate relaxed SIMD");
  }
  const backend: Backend = requested === "auto" ? (relaxedOk ? "relaxed" : "simd128") : requested;
  let source: BufferSource | Response | WebAssembly.Module;
  const given = options.wasm;
  if (given instanceof WebAssembly.Module || given instanceof ArrayBuffer || given instanceof Uint8Array) source = given;
  else source = await loadSource(given ?? defaultUrl(backend));
  // Bytes are compiled here so instantiate() takes its Module path: its Response check reads the
  // global `Response`, which in Node 20 first loads the whole fetch implementation (~80 ms).
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) source = await WebAssembly.compile(source as BufferSource);

  const memory = new WebAssembly.Memory({ initial: 16 });
  const { exports } = await instantiate<Record<string, unknown>>(source as never, { env: { memory } });
  const kernels = { ...(exports as object), memory } as unknown as Kernels;
  const heap = new Heap(memory, kernels.heapBase());
  // The GEMM packs rows of A into this region on every call; reserved once, for the instance's
  // life, and written once now so its pages are mapped (first-touch faults cost a first large call
  // ~1 ms otherwise).
  const scratchBytes = kernels.gemmScratchSize();
  const scratch = heap.alloc(scratchBytes);
  heap.f32(scratch, scratchBytes >> 2).fill(0);
  kernels.setGemmScratch(scratch, scratchBytes);
  const runtime = { backend, kernels, heap };
  if (!options.skipWarmup) await warmUp(runtime);
  return runtime;
}

let shared: Promise<Runtime> | undefined;
let current: Runtime | undefined;

/**
 * Loads the Wasm core once; later and concurrent calls share the same load (their `wasm` and
 * `skipWarmup` options are ignored) and reject with E_STATE if they ask for another backend.
 * Resolves to `backendInfo()`; errors always arrive as a rejected promise.
 */
export function init(options: InitOptions = {}): Promise<BackendInfo> {
  let wanted: Backend | "auto";
  try {
    wanted = checkBackend(options.backend ?? "auto", "init");
  } catch (err) {
    return Promise.reject(err);
  }
  if (shared === undefined) {
    shared = createRuntime(options).then(
      (rt) => (current = rt),
      (err: unknown) => {
        shared = undefined; // a failed load may be retried (e.g. with another `wasm` source)
        throw err;
      },
    );
  }
  return shared.then((rt) => {
    if (wanted !== "auto" && wanted !== rt.backend) {
      fail("E_STATE", `init: the core is already running the ${rt.backend} backend; ${wanted} was requested`);
    }
    return backendInfo();
  });
}

/** The shared runtime; throws a clear error when `init()` has not finished. */
export function runtime(): Runtime {
  if (current === undefined) fail("E_STATE", "recur is not initialised: call `await init()` first");
  return current;
}

export function backendInfo(): BackendInfo {
  const rt = runtime();
  return { backend: rt.backend, threads: 1, memoryBytes: rt.heap.capacityBytes, heapUsedBytes: rt.heap.usedBytes };
}

// V8 runs a fresh module in Liftoff and tiers a function up to TurboFan only once it has used up a
// budget of executed code (~1.8 MB of Liftoff code per function in V8 11.3), compiling it in the
// background; there is no on-stack replacement for wasm, so a first large call that starts in
// Liftoff runs unoptimised to its end (several times slower). Warm-up therefore
// 1. calls every GEMM path (packed 5x8 tile direct and through its merge buffer, unpacked 4x8
//    tile, single-row kernels, both packings) and the element-wise kernels on small problems, with
//    loops long enough (k = 128) that every function exhausts its budget within the rounds
//    (n = 24, k = 24 left packPanels in Liftoff: a first 512 matmul then spent 9 ms packing B
//    instead of 0.2 ms);
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
    k.gemmTN(N, N, 20, a, N, bp, c, N, 0);
    k.gemmTN(9, 20, K, a, 9, bp, c, N, 1);
    k.tanhArray(c, c, N * N);
    k.sigmoidArray(c, c, N * N);
    k.reluArray(c, c, N * N);
    k.softmaxRows(c, c, N, N);
    k.logSoftmaxRows(c, c, N, N);
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
