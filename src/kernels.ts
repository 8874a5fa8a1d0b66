import type { WasmMemory } from "./wasm-types.js";

/**
 * The Wasm core's exports (assembly/index.ts). Every pointer is a byte address in the shared linear memory; every
 * size is an element count. Booleans travel as 0/1.
 */
export interface Kernels {
  memory: WasmMemory;
  heapBase(): number;
  packedSize(k: number, n: number): number;
  packB(src: number, ldb: number, k: number, n: number, bias: number, dst: number): void;
  packBT(src: number, ldw: number, k: number, n: number, bias: number, dst: number): void;
  gemm(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, accumulate: number): void;
  /** C = (accumulate ? C : 0) + A B with B row-major, unpacked (products of at most 8 rows of A). */
  gemmDirect(m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number, c: number, ldc: number, accumulate: number): void;
  gemmTN(m: number, n: number, k: number, a: number, lda: number, bp: number, c: number, ldc: number, accumulate: number): void;
  /** Bytes of scratch the GEMM uses at most; the runtime reserves it once per instance. */
  gemmScratchSize(): number;
  setGemmScratch(ptr: number, bytes: number): void;
  /** The GEMM's main register tile: 0 = 5x8 on packed A strips, 1 = 4x8 on A in place. */
  setGemmTile(tile: number): void;
  gemmTile(): number;
  // Threads (assembly/threads.ts; no-ops in the single-thread binaries): see src/threads.ts.
  threadControlSize(): number;
  setThreadPool(control: number): void;
  workerMain(control: number, index: number): void;
  threadSpinProbe(control: number, iterations: number): number;
  packGates(src: number, ldw: number, k: number, hidden: number, gates: number, bias: number, dst: number): void;
  packedGatesSize(k: number, hidden: number, gates: number): number;
  /** W_hh for batch-1 steps: 32-column stripes in the gate-interleaved column order (assembly/gemm/gemv.ts). */
  packStripes(src: number, ldw: number, k: number, hidden: number, gates: number, bias: number, dst: number): void;
  recurrentForward(desc: number): void;
  packGateRows(src: number, ldw: number, n: number, hidden: number, gates: number, dst: number): void;
  unpackGateRowsAdd(src: number, lds: number, cols: number, hidden: number, gates: number, dst: number, ldd: number): void;
  recurrentBackward(desc: number): void;
  // Training: optimizers (assembly/optimizers.ts), clipping (assembly/clip.ts), losses
  // (assembly/loss.ts), dense layers (assembly/layers.ts).
  sgdStep(p: number, g: number, buf: number, n: number, lr: number, weightDecay: number, momentum: number, oneMinusDampening: number, nesterov: number, first: number, sign: number): void;
  rmspropStep(p: number, g: number, sq: number, gavg: number, buf: number, n: number, lr: number, alpha: number, oneMinusAlpha: number, eps: number, weightDecay: number, momentum: number, sign: number): void;
  adagradStep(p: number, g: number, sum: number, n: number, clr: number, eps: number, weightDecay: number, sign: number): void;
  adamStep(p: number, g: number, m: number, v: number, vmax: number, n: number, stepSize: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, bc2Sqrt: number, eps: number, weightDecay: number, decay: number, sign: number, backup: number, backupStride: number): number;
  sumSquaresF64(x: number, n: number): number;
  maxAbsF32(x: number, n: number): number;
  scaleInPlace(x: number, n: number, s: number): void;
  clampInPlace(x: number, n: number, lo: number, hi: number): void;
  crossEntropyRows(x: number, targets: number, weights: number, rows: number, cols: number, ignoreIndex: number, dx: number, gradScale: number): number;
  mseLoss(p: number, t: number, n: number, dp: number, gradScale: number): number;
  addColumnSums(x: number, rows: number, cols: number, out: number): void;
  embeddingForward(w: number, dim: number, idx: number, n: number, out: number): void;
  embeddingBackward(dy: number, dim: number, idx: number, n: number, paddingIdx: number, dw: number): void;
}

/**
 * The full module's exports (assembly/full.ts): the core's and the kernels only recur-nn/esn,
 * recur-nn/attention and recur-nn/hessian-free use (src/full-core.ts loads it).
 */
export interface FullKernels extends Kernels {
  // Echo state networks (assembly/reservoir/): descriptor layout in src/esn/layout.ts.
  esnRun(model: number, steps: number, inputs: number, teacher: number, outputs: number, states: number, washout: number, flags: number): number;
  /**
   * Cross-validation trials of esnSearch (record layout in src/esn/search.ts). With a pool the
   * workers run them while the caller returns (1) and must call esnTrialsFinish before any other
   * kernel may use the pool; without one they run at once (0).
   */
  esnTrialsStart(records: number, count: number, recBytes: number): number;
  esnTrialsFinish(count: number): void;
  syrkUpper(c: number, g: number, a: number, rows: number): void;
  ridgeSystem(gram: number, g: number, n: number, o: number, ridge: number, a: number, b: number): void;
  cholSolve(a: number, n: number, b: number, nrhs: number, tol: number): number;
  rowsToColumns(rows: number, stride: number, es: number, count: number, c0: number, cols: number, g: number, dst: number): void;
  dualSystem(a: number, g: number, count: number, ridge: number): void;
  dualReadout(rows: number, stride: number, es: number, count: number, n: number, alpha: number, g: number, o: number, wout: number): void;
  rlsInit(p: number, n: number, alpha: number): void;
  denseMatvec64(n: number, w: number, x: number, y: number): void;
  csrMatvec64(n: number, rowPtr: number, col: number, vals: number, x: number, y: number): void;
  dotsF64(v: number, count: number, n: number, w: number, out: number): void;
  axpyF64(n: number, alpha: number, x: number, y: number): void;
  recurrentTangent(desc: number): void;
  // Soft attention decoder (assembly/cells/attention.ts): descriptor layout in src/attention/layout.ts.
  attentionPack(desc: number): void;
  attentionForward(desc: number): void;
  attentionBackward(desc: number): void;
  // The ONNX executor (recur-nn/onnx). 1-D convolution (assembly/conv1d.ts), one batch element
  // per call: see there for the layouts.
  conv1dDepthwise(x: number, w: number, b: number, y: number, C: number, L: number, Lo: number, K: number, stride: number, dilation: number, padL: number, padR: number, scratch: number, relu: number): void;
  conv1dIm2col(x: number, cols: number, C: number, L: number, Lo: number, K: number, stride: number, dilation: number, padL: number): void;
  transposeF32(src: number, dst: number, rows: number, cols: number): void;
  // Element-wise float32 (assembly/elementwise.ts), whole vectors (blocks of n rounded up to 4):
  // unary op 0 Relu, 1 Sqrt, 2 Neg, 3 Log, 4 x*x; binary op 0 Add, 1 Sub, 2 Mul, 3 Div.
  unaryF32(op: number, x: number, y: number, n: number): void;
  binaryF32(op: number, a: number, b: number, y: number, n: number): void;
}

/**
 * The development module's exports (assembly/dev.ts; build/recur-<backend>-dev.wasm, which tests
 * and benchmarks load with `createRuntime({ wasm })`).
 */
export interface DevKernels extends FullKernels {
  tanhArray(x: number, y: number, n: number): void;
  sigmoidArray(x: number, y: number, n: number): void;
  reluArray(x: number, y: number, n: number): void;
  softmaxRows(x: number, y: number, rows: number, cols: number): void;
  logSoftmaxRows(x: number, y: number, rows: number, cols: number): void;
  /** Benchmark helper: `rounds` x 96 flops of register-only multiply-add chains (assembly/probe.ts). */
  peakProbe(rounds: number, seed: number): number;
}
