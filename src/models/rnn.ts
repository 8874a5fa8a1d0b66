import { fail } from "../errors.js";
import { baseConfig, RecurrentModel, type RecurrentOptions } from "./recurrent.js";

export interface RNNOptions extends RecurrentOptions {
  /** h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). Default "tanh". */
  nonlinearity?: "tanh" | "relu";
}

/** Elman recurrent network with torch.nn.RNN semantics. */
export class RNN extends RecurrentModel {
  constructor(options: RNNOptions) {
    const cfg = baseConfig("RNN", options);
    const act = options.nonlinearity ?? "tanh";
    if (act !== "tanh" && act !== "relu") fail("E_VALUE", `RNN: nonlinearity must be "tanh" or "relu", got ${JSON.stringify(act)}`);
    super({ ...cfg, nonlinearity: act }, options);
  }
}
