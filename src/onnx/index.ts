export { loadOnnx, readOnnx, OnnxModel, OnnxStream, type LoadOnnxOptions, type OnnxFeed, type OnnxValueInfo, type StatePair } from "./model.js";
export { type OnnxTensor, type DType } from "./values.js";
export { type NodeReport } from "./executor.js";
export { fromOnnx, type FromOnnxResult } from "./convert.js";
