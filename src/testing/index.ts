/**
 * recur-nn/testing: checking recur against references. PyTorch parity cases (the format `recur
 * parity` reads) and runtimes of their own, to compare both binaries or thread counts in one
 * process.
 */
export { runParityCase, formatParityResult, modelFromTorchConfig, type ParityResult, type ParityCheck, type ParityOptions, type ParityFormatOptions } from "./parity.js";
export { createRuntime, type Runtime } from "../runtime.js";
export { matmulOn } from "../ops.js";
export { packMatrixOn } from "../packed-matrix.js";
