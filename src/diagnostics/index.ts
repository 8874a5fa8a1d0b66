/**
 * recur-nn/diagnostics: what training cannot see by itself. `stepJacobianNorms` gives the
 * spectral norm of each step's Jacobian ∂s_t/∂s_{t-1} along a trajectory. (The per-step gradient
 * norms ‖∂L/∂h_t‖ come with every backward pass: `backward(grads, { hiddenGradNorms: true })`.)
 */
export { stepJacobianNorms, type StepJacobianOptions, type Float64Tensor } from "./step-jacobian.js";
