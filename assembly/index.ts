// The module's exports: every kernel takes pointers into linear memory (byte addresses) and sizes,
// and never allocates. TypeScript (src/) owns the layout.
export { packedSize, packB, packBT, gemm, gemmTN, gemmScratchSize, setGemmScratch } from "./gemm";
export { tanhArray, sigmoidArray, reluArray } from "./activations";
export { softmaxRows, logSoftmaxRows } from "./softmax";

/** First byte after the module's static data: the TypeScript allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}
export { peakProbe } from "./probe";
export { packGates, packedGatesSize } from "./cells/layout";
export { recurrentForward } from "./cells/forward";
export { esnRun } from "./reservoir/run";
export { esnTrialsStart, esnTrialsFinish } from "./reservoir/trials";
export { syrkUpper, ridgeSystem, cholSolve, rowsToColumns, dualSystem, dualReadout, rlsInit, denseMatvec64, csrMatvec64, dotsF64, axpyF64 } from "./reservoir/linalg";
export { packGateRows, unpackGateRowsAdd } from "./cells/layout";
export { recurrentBackward } from "./cells/backward";
export { sgdStep, rmspropStep, adagradStep, adamStep } from "./optimizers";
export { sumSquaresF64, maxAbsF32, scaleInPlace, clampInPlace } from "./clip";
export { crossEntropyRows, mseLoss } from "./loss";
export { addColumnSums, embeddingForward, embeddingBackward } from "./layers";
export { threadControlSize, setThreadPool, workerMain, threadSpinProbe } from "./threads";
