import { boolean } from "../validate.js";
import { baseConfig, type RecurrentOptions } from "./config.js";
import { RecurrentModel } from "./recurrent.js";

export interface GRUOptions extends RecurrentOptions {
  /**
   * Where the reset gate applies. true: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), the
   * PyTorch/cuDNN form (ONNX linear_before_reset=1). false: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn),
   * the Keras reset_after=False / ONNX default form. Default true.
   */
  resetAfter?: boolean;
}

/** Gated recurrent unit with torch.nn.GRU semantics (gate order r, z, n). */
export class GRU extends RecurrentModel {
  constructor(options: GRUOptions) {
    const cfg = baseConfig("GRU", options);
    super({ ...cfg, resetAfter: boolean("GRU", "resetAfter", options.resetAfter, true) }, options);
  }
}
