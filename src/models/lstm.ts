import { fail } from "../errors.js";
import { baseConfig, RecurrentModel, type RecurrentOptions } from "./recurrent.js";

export interface LSTMOptions extends RecurrentOptions {
  /** Projects h to this size with weight_hr (PyTorch proj_size); 0 = no projection. Default 0. */
  projSize?: number;
  /**
   * Peephole connections (Gers and Schmidhuber 2000) from the cell to the gates: i and f see
   * c_{t-1}, o sees c_t. Stored as weight_peephole_l{k} [3*hiddenSize] in ONNX's P order
   * (i, o, f). PyTorch has no peepholes. Default false.
   */
  peepholes?: boolean;
}

/** Long short-term memory with torch.nn.LSTM semantics (gate order i, f, g, o). */
export class LSTM extends RecurrentModel {
  constructor(options: LSTMOptions) {
    const cfg = baseConfig("LSTM", options);
    const proj = options.projSize ?? 0;
    if (!Number.isInteger(proj) || proj < 0 || (proj > 0 && proj >= cfg.hiddenSize)) {
      fail("E_VALUE", `LSTM: projSize must be an integer in 0..hiddenSize-1 (${cfg.hiddenSize - 1}), got ${proj}`);
    }
    if (options.peepholes !== undefined && typeof options.peepholes !== "boolean") fail("E_VALUE", `LSTM: peepholes must be a boolean, got ${String(options.peepholes)}`);
    super({ ...cfg, projSize: proj, peepholes: options.peepholes ?? false }, options);
  }
}
