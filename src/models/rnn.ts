import { fail } from "../errors.js";
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
    let nonlinearity = oneOf("RNN", "nonlinearity", options.nonlinearity, ["tanh", "relu"] as const, "tanh");
    if (options.activations !== undefined && options.nonlinearity !== undefined) fail("E_VALUE", "RNN: give nonlinearity or activations, not both");
    // activations ["relu"] without a clip is PyTorch's relu RNN: the fused cell.
    const relu = cfg.cell?.clip === undefined && cfg.cell?.activations.every((fns) => fns[0].name === "relu");
    if (relu) nonlinearity = "relu";
    super({ ...cfg, nonlinearity, cell: relu ? undefined : cfg.cell }, options);
  }
}
