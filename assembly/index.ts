// The core module's exports (assembly/full.ts adds the kernels only subpath entry points use):
// every kernel takes pointers into linear memory (byte addresses) and sizes, and never allocates.
// TypeScript (src/) owns the layout.
export { gemm, gemmTN, gemmScratchSize, setGemmScratch, setGemmTile, gemmTile } from "./gemm/dispatch";
export { packedSize, packB, packBT } from "./gemm/pack";
export { gemmDirect } from "./gemm/direct";
export { packStripes } from "./gemm/gemv";

/** First byte after the module's static data: the TypeScript allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}
export { packGates, packedGatesSize, packGateRows, unpackGateRowsAdd } from "./cells/layout";
export { recurrentForward, recurrentBackward } from "./cells/recurrent";
export { sgdStep, rmspropStep, adagradStep, adamStep } from "./optimizers";
export { sumSquaresF64, maxAbsF32, scaleInPlace, clampInPlace } from "./clip";
export { crossEntropyRows, mseLoss } from "./loss";
export { addColumnSums, embeddingForward, embeddingBackward } from "./layers";
export { threadControlSize, setThreadPool, workerMain, threadSpinProbe } from "./threads";
