import { fail } from "./errors.js";
import { importNode, isNode } from "./platform.js";
import { show } from "./validate.js";

/**
 * The worker pool of a threaded runtime. Every worker instantiates the same compiled module on
 * the runtime's shared memory and runs the core's `workerMain` loop; the kernels fork and join
 * inside Wasm (assembly/threads.ts), so no call site in TypeScript knows about threads. The
 * calling thread always computes a share; it waits for the workers by spinning, then parks where
 * it may block (never on a browser's main thread). Workers spin ~100 us after each task, then
 * park. The pool itself is in pool.ts.
 */
export interface ThreadPool {
  /** Threads the pool was started with, the caller included. */
  readonly size: number;
  /** Threads the kernels use now (1 .. size; 1 once a worker died or the pool stopped). */
  readonly active: number;
  setActive(threads: number): void;
  /** Address of the control block in the core's memory (assembly/threads.ts). */
  readonly control: number;
  /** Tasks the kernels have split between threads so far (a statistic for tests and benchmarks). */
  forks(): number;
  /** Stops the workers (the runtime then runs single-threaded); idempotent. */
  shutdown(): Promise<void>;
}

/** Why threads cannot run here, or undefined when they can. */
export function threadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === "undefined") return "SharedArrayBuffer is not available (a page needs cross-origin isolation: COOP same-origin and COEP require-corp)";
  if (!isNode) {
    const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown; Blob?: unknown };
    if (g.crossOriginIsolated !== true) return "the page is not cross-origin isolated (serve it with COOP same-origin and COEP require-corp)";
    if (typeof g.Worker !== "function" || typeof g.Blob !== "function") return "Web Workers are not available";
  }
  return undefined;
}

/** Threads the hardware offers (for `threads: "auto"`). */
export async function hardwareThreads(): Promise<number> {
  if (isNode) {
    const os = await importNode<typeof import("node:os")>("node:os");
    return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

/** Validates a `threads` option: a positive integer up to 64, or "auto". */
export function checkThreads(value: unknown, where: string): number | "auto" {
  if (value === "auto") return value;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 64) {
    fail("E_VALUE", `${where}: threads must be an integer from 1 to 64 or "auto", got ${show(value)}`);
  }
  return value;
}
