/**
 * recur-nn/hessian-free: Hessian-free optimisation of SequenceModels (Martens 2010; Martens and
 * Sutskever 2011) and the conjugate-gradient solver it runs. The Gauss-Newton products it needs
 * are SequenceModel.gaussNewtonProduct (root).
 */
export { HessianFree, type HessianFreeOptions, type HessianFreeStep } from "../train/hessian-free.js";
export { conjugateGradient, type ConjugateGradientOptions, type CgIterate } from "../train/cg.js";
