/**
 * The WebAssembly objects as recur's published types name them. TypeScript declares the
 * `WebAssembly` namespace only in its DOM library, and a Node project compiled without it (`--lib
 * es2023 --types node`) must still compile recur's declarations, so they use these structural
 * types; the objects are the engine's own.
 */

/** A `WebAssembly.Memory`: what recur reads of it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(delta: number): number;
}

/** A compiled `WebAssembly.Module` (from `WebAssembly.compile`), passed through to instantiation. */
export type WasmModule = object;
