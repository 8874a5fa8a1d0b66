/**
 * recur-nn/wasm: the pointer-level API over the core's linear memory, for composing layers and
 * losses without copies (Linear.forwardPtr, Embedding.forwardPtr, then these on the same rows).
 * `runtime()` gives the loaded core: its `heap` allocates and views blocks (`alloc`, `release`,
 * `f32`), its `kernels` are the Wasm exports. Addresses are byte offsets into the heap's memory;
 * views are made fresh after every call that may grow it.
 */
export { runtime, type Runtime } from "../runtime.js";
export { crossEntropyPtr, msePtr } from "../train/losses.js";
