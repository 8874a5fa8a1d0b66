// The worker pool of a threaded runtime (see ThreadPool in threads.ts and assembly/threads.ts).
import type { WasmModule } from "./wasm-types.js";
import type { Kernels } from "./kernels.js";
import type { Heap } from "./memory.js";
import type { ThreadPool } from "./threads.js";
import { importNode, isNode } from "./platform.js";

// Control block words (i32 index; byte offsets in assembly/threads.ts / 4).
const C_GEN = 0;
const C_THREADS = 64;
const C_SPIN = 65;
const C_STOP = 66;
const C_CALLER_WAITS = 67;
const C_FORKS = 68;
const C_DEAD = 69;
const C_DONE = 48;
const CONTROL_WORDS = 112;

/** How long a worker keeps spinning after a task before it parks. */
const SPIN_US = 100;
/** A worker that has not started within this time fails the pool (the runtime stays single-threaded). */
const START_TIMEOUT_MS = 20_000;

// The worker's whole program, self-contained so it runs from a string (Node's `eval` workers)
// or a Blob URL (browsers): nothing to locate or bundle. It instantiates the module on the shared
// memory, takes its own GEMM scratch, reports ready and enters the core's loop, which returns only
// when the pool stops.
const WORKER_BODY = `
function start(d, post) {
  WebAssembly.instantiate(d.module, { env: { memory: d.memory } }).then(function (instance) {
    var k = instance.exports;
    k.setGemmScratch(d.scratch, d.scratchBytes);
    k.setGemmTile(d.gemmTile);
    post({ ready: true });
    try {
      k.workerMain(d.control, d.index);
      post({ stopped: true });
    } catch (e) {
      // Tell the caller's kernels (which may be waiting for this worker's chunk) that it is gone.
      var w = new Int32Array(d.memory.buffer, d.control, ${CONTROL_WORDS});
      Atomics.store(w, ${C_DEAD}, 1);
      Atomics.notify(w, ${C_DONE});
      post({ error: String(e && e.message || e) });
    }
  }, function (e) {
    post({ error: String(e && e.message || e) });
  });
}
`;

// Dynamic import works whether Node evaluates the string as CommonJS or as ESM (a worker inherits
// --input-type=module from its process); the data comes as workerData.
const NODE_WORKER = `${WORKER_BODY}
import("node:worker_threads").then(function (w) { start(w.workerData, function (m) { w.parentPort.postMessage(m); }); });
`;

const WEB_WORKER = `${WORKER_BODY}
self.onmessage = function (e) { self.onmessage = null; start(e.data, function (m) { self.postMessage(m); }); };
`;

interface Handle {
  /** Resolves with the worker's first message ({ ready } or { error }). */
  first: Promise<{ ready?: boolean; error?: string }>;
  terminate(): Promise<unknown> | void;
}

// Atomics.wait (and memory.atomic.wait32) throws on a browser's main thread; Node's main thread
// and every worker may block.
function callerMayBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { WorkerGlobalScope?: new () => unknown };
  return typeof g.WorkerGlobalScope === "function" && globalThis instanceof g.WorkerGlobalScope;
}

// `died` runs if the worker ends on its own after starting (a crash: its JavaScript could not run).
async function spawn(index: number, data: Record<string, unknown>, died: () => void): Promise<Handle> {
  if (isNode) {
    const { Worker } = await importNode<typeof import("node:worker_threads")>("node:worker_threads");
    const worker = new Worker(NODE_WORKER, { eval: true, name: `recur-${index}`, workerData: data });
    const first = new Promise<{ ready?: boolean; error?: string }>((resolve) => {
      worker.once("message", resolve);
      worker.once("error", (e: Error) => resolve({ error: e.message }));
      worker.once("exit", (code: number) => {
        resolve({ error: `worker exited (code ${code})` });
        died();
      });
    });
    // Parked or spinning workers never keep the process alive: the main thread's work is done
    // by then, and nothing a worker does is observable once the caller has returned.
    first.then(() => worker.unref());
    return { first, terminate: () => worker.terminate() };
  }
  const url = URL.createObjectURL(new Blob([WEB_WORKER], { type: "text/javascript" }));
  const worker = new Worker(url, { name: `recur-${index}` });
  const first = new Promise<{ ready?: boolean; error?: string }>((resolve) => {
    worker.onmessage = (e: MessageEvent) => resolve(e.data as { ready?: boolean; error?: string });
    worker.onerror = (e: ErrorEvent) => {
      resolve({ error: e.message || "worker failed to start" });
      died();
    };
  });
  worker.postMessage(data);
  first.then(() => URL.revokeObjectURL(url));
  return { first, terminate: () => worker.terminate() };
}

/**
 * Starts `threads - 1` workers on the memory of a threaded core. Rejects (after stopping any
 * worker that did start) if a worker cannot start.
 */
export async function startPool(module: WasmModule, kernels: Kernels, heap: Heap, threads: number): Promise<ThreadPool> {
  const controlBytes = kernels.threadControlSize();
  const control = heap.alloc(controlBytes);
  heap.i32(control, controlBytes >> 2).fill(0);
  const words = () => heap.i32(control, controlBytes >> 2);
  Atomics.store(words(), C_SPIN, spinIterations(kernels, control, words));
  Atomics.store(words(), C_THREADS, threads);
  Atomics.store(words(), C_CALLER_WAITS, callerMayBlock() ? 1 : 0);

  const scratchBytes = kernels.gemmScratchSize();
  const scratches: number[] = [];
  const handles: Handle[] = [];
  let stopped = false;
  // A worker that dies leaves its chunks undone: no more forks, and a kernel waiting for it fails.
  const markDead = () => {
    if (stopped) return;
    const w = words();
    Atomics.store(w, C_DEAD, 1);
    Atomics.notify(w, C_DONE);
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    kernels.setThreadPool(0);
    const w = words();
    Atomics.store(w, C_STOP, 1);
    Atomics.add(w, C_GEN, 1);
    Atomics.notify(w, C_GEN);
    await Promise.all(handles.map((h) => h.terminate()));
    for (const s of scratches) heap.release(s);
    heap.release(control);
  };
  try {
    for (let i = 1; i < threads; i++) {
      const scratch = heap.alloc(scratchBytes);
      heap.f32(scratch, scratchBytes >> 2).fill(0); // map the pages now, not in the first product
      scratches.push(scratch);
      handles.push(await spawn(i, { module, memory: kernels.memory, control, index: i, scratch, scratchBytes, gemmTile: kernels.gemmTile() }, markDead));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<{ ready?: boolean; error?: string }>((resolve) => {
      timer = setTimeout(() => resolve({ error: `a worker did not start within ${START_TIMEOUT_MS / 1000} s` }), START_TIMEOUT_MS);
    });
    const firsts = await Promise.race([Promise.all(handles.map((h) => h.first)), timeout.then((e) => [e])]);
    clearTimeout(timer);
    const failed = firsts.find((m) => !m.ready);
    if (failed) throw new Error(failed.error ?? "a worker failed to start");
  } catch (err) {
    await stop();
    throw err;
  }
  kernels.setThreadPool(control);
  let active = threads;
  return {
    size: threads,
    control,
    get active() {
      return stopped || words()[C_DEAD] !== 0 ? 1 : active;
    },
    setActive(n: number) {
      active = n;
      if (!stopped) Atomics.store(words(), C_THREADS, n);
    },
    forks: () => (stopped ? 0 : words()[C_FORKS]),
    async shutdown() {
      await stop();
    },
  };
}

// Iterations of the workers' spin loop in SPIN_US, timed on this thread.
function spinIterations(kernels: Kernels, control: number, words: () => Int32Array): number {
  Atomics.store(words(), C_SPIN, 0x7fffffff);
  let rounds = 1 << 14;
  let ms = 0;
  for (;;) {
    const t = performance.now();
    kernels.threadSpinProbe(control, rounds);
    ms = performance.now() - t;
    if (ms >= 2 || rounds >= 1 << 28) break;
    rounds *= 4;
  }
  return Math.max(1000, Math.min(0x7fffffff, Math.round((rounds / (ms * 1000)) * SPIN_US)));
}
