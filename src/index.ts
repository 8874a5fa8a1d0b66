export { RecurError, type RecurErrorCode } from "./errors.js";
export { type Tensor, tensor, zeros, numel, checkTensor } from "./tensor.js";
export { init, backendInfo, createRuntime, type InitOptions, type BackendInfo, type Backend } from "./runtime.js";
export { matmul } from "./ops.js";
export { readSafetensors, writeSafetensors } from "./io/safetensors.js";
