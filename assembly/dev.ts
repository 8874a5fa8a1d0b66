// The development module, for tests and benchmarks only (the library never loads it): the full
// module (assembly/full.ts) and kernels no library path calls: the element-wise activations and
// softmax over arrays, which the tests use to check the cells' activation functions over the
// whole float range, and the benchmarks' peak probe.
export * from "./full";
export { peakProbe } from "./probe";
export { tanhArray, sigmoidArray, reluArray } from "./activations";
export { softmaxRows, logSoftmaxRows } from "./softmax";
