// The full module: the core's exports (assembly/index.ts) and the kernels only subpath entry
// points use: echo state networks (recur-nn/esn), the attention decoder (recur-nn/attention) and
// the forward-mode (tangent) passes (recur-nn/hessian-free). The
// threaded builds are always full; the single-thread core leaves these out so a page that imports
// only the package root downloads less (docs/internals.md, "Two binaries per backend").
export * from "./index";
export { recurrentTangent } from "./cells/tangent";
export { esnRun } from "./reservoir/run";
export { esnTrialsStart, esnTrialsFinish } from "./reservoir/trials";
export { syrkUpper, ridgeSystem, cholSolve, rowsToColumns, dualSystem, dualReadout, rlsInit, denseMatvec64, csrMatvec64, dotsF64, axpyF64 } from "./reservoir/linalg";
export { attentionPack, attentionForward, attentionBackward } from "./cells/attention";
