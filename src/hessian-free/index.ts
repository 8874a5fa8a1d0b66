/**
 * recur-nn/hessian-free: Hessian-free optimisation of SequenceModels (Martens 2010; Martens and
 * Sutskever 2011), the conjugate-gradient solver it runs and the exact Gauss-Newton products it
 * needs.
 */
export { gaussNewtonProduct } from "../train/gauss-newton.js";
export { forwardTangent } from "../models/tangent.js";
export { HessianFree, type HessianFreeOptions, type HessianFreeStep } from "../train/hessian-free.js";
export { conjugateGradient, type ConjugateGradientOptions, type CgIterate } from "../train/cg.js";
