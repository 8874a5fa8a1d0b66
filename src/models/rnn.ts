import { oneOf } from "../validate.js";
import { baseConfig, type RecurrentOptions } from "./config.js";
import { RecurrentModel } from "./recurrent.js";

export interface RNNOptions extends RecurrentOptions {
  /** h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). Default "tanh". */
  nonlinearity?: "tanh" | "relu";
}

/** Elman recurrent network with torch.nn.RNN semantics. */
export class RNN extends RecurrentModel {
  constructor(options: RNNOptions) {
    const cfg = baseConfig("RNN", options);
    super({ ...cfg, nonlinearity: oneOf("RNN", "nonlinearity", options.nonlinearity, ["tanh", "relu"] as const, "tanh") }, options);
  }
}
