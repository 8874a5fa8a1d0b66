/** Where recur runs: Node (file reads, worker_threads, V8 flags) or a browser. */
export const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/**
 * Loads a Node built-in on demand. The specifier is a variable on purpose: bundlers then leave the
 * import alone, so a browser bundle neither resolves `node:*` nor gains a preload helper for it.
 */
export function importNode<T>(id: `node:${string}`): Promise<T> {
  return import(/* @vite-ignore */ id) as Promise<T>;
}
