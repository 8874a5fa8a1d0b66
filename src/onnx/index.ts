export { loadOnnx, OnnxModel, OnnxStream, type LoadOnnxOptions, type OnnxFeed, type OnnxValueInfo, type StatePair } from "./model.js";
export { type OnnxTensor, type DType, type TypedData } from "./values.js";
export { type NodeReport } from "./executor.js";
export { fromOnnx, type FromOnnxResult } from "./convert.js";
