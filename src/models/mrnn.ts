import { integer } from "../validate.js";
import { baseConfig, type RecurrentOptions } from "./config.js";
import { RecurrentModel } from "./recurrent.js";

/** Options of MRNN: those of every recurrent model, plus the factors. */
export interface MRNNOptions extends RecurrentOptions {
  /** Factors F of the input-dependent transition W_hf diag(W_fx x_t) W_fh. Required, at least 1. */
  factorSize: number;
}

/**
 * Multiplicative RNN (Sutskever, Martens and Hinton 2011): each input x_t selects its own
 * hidden-to-hidden matrix, factored so inputs share parameters.
 *
 *   f_t = (W_fx x_t) ⊙ (W_fh h_{t-1});  h_t = tanh(W_hf f_t + W_hx x_t + b_h)
 *
 * State dict per layer k: `weight_fx_l{k}` [F, I], `weight_fh_l{k}` [F, H], `weight_hf_l{k}`
 * [H, F], `weight_hx_l{k}` [H, I], `bias_h_l{k}` [H] (with `bias`). Initial weights are
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in the matrix's columns. PyTorch has no such module;
 * the tests check it against a float64 reference of the equations and finite differences.
 */
export class MRNN extends RecurrentModel {
  constructor(options: MRNNOptions) {
    const cfg = baseConfig("MRNN", options);
    super({ ...cfg, factorSize: integer("MRNN", "factorSize", options.factorSize, { min: 1 }) }, options);
  }
}
