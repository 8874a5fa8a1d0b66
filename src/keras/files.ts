// Keras files: `.keras` (Keras 3: a zip of config.json, metadata.json and model.weights.h5) and
// legacy `.h5` (Keras 2: the config in the root attribute "model_config", weights under
// model_weights/<layer>/ in the order of each layer group's "weight_names" attribute).
import { fail } from "../errors.js";
import type { KerasWeight, WeightSource } from "./model.js";

export interface KerasFile {
  config: unknown;
  weights: WeightSource;
  format: string;
}

export function readKerasFile(bytes: Uint8Array): KerasFile {
  fail("E_UNSUPPORTED", `loadKeras: Keras files (.keras, .h5) are not readable in this build (got ${bytes.length} bytes); load a tfjs layers model`);
}

export type { KerasWeight };
