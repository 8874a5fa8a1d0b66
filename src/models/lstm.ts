import { fail } from "../errors.js";
import { boolean, show } from "../validate.js";
import { baseConfig, type RecurrentOptions } from "./config.js";
import { RecurrentModel } from "./recurrent.js";

export interface LSTMOptions extends RecurrentOptions {
  /** Projects h to this size with weight_hr (PyTorch proj_size); 0 = no projection. Default 0. */
  projSize?: number;
  /**
   * Peephole connections (Gers and Schmidhuber 2000) from the cell to the gates: i and f see
   * c_{t-1}, o sees c_t. Stored as weight_peephole_l{k} [3*hiddenSize] in ONNX's P order
   * (i, o, f). PyTorch has no peepholes. Default false.
   */
  peepholes?: boolean;
  /** ONNX's input_forget: the forget gate is 1 - i (its own weights unused). Default false. */
  inputForget?: boolean;
}

/** Long short-term memory with torch.nn.LSTM semantics (gate order i, f, g, o). */
export class LSTM extends RecurrentModel {
  constructor(options: LSTMOptions) {
    const cfg = baseConfig("LSTM", options);
    const projSize = options.projSize ?? 0;
    if (!Number.isInteger(projSize) || projSize < 0 || (projSize > 0 && projSize >= cfg.hiddenSize)) {
      fail("E_VALUE", `LSTM: projSize must be an integer in 0..hiddenSize-1 (${cfg.hiddenSize - 1}), got ${show(projSize)}`);
    }
    super({ ...cfg, projSize, peepholes: boolean("LSTM", "peepholes", options.peepholes, false) }, options);
  }
}
