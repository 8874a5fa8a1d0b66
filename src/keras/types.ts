/** The shapes a Keras file's contents take once read (files.ts reads them, model.ts runs them). */

/** A weight as a file stores it: its name in the file, shape and float32 values. */
export interface KerasWeight {
  /** Its name or path in the file. */
  name: string;
  /** Sizes as stored (Keras layout, e.g. kernel [in, G*units]). */
  shape: number[];
  /** The values, row-major. */
  data: Float32Array;
}

/** A layer's config as Keras serialises it: class name and (snake_case) config. */
export interface LayerConfig {
  className: string;
  config: Record<string, unknown>;
}

export type WeightSource = (layer: string) => KerasWeight[];
