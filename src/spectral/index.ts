/** Spectral radius of a real non-symmetric matrix (see arnoldi.ts for the method and its accuracy). */
export { spectralRadius, type SpectralRadiusOptions, type SpectralRadiusResult } from "./arnoldi.js";
export { denseEigenvalues, hessenbergEigenvalues, toHessenberg } from "./hessenberg.js";
export { csrOperator, denseOperator, jsWorkspace, type KrylovWorkspace, type LinearOperator } from "./operators.js";
