/**
 * What optimizers and gradient clipping need from a trainable module.
 *
 * Like llm.c, a module keeps its parameters in flat float32 regions of Wasm memory and its
 * gradients in regions of exactly the same layout, so an optimizer updates a whole region in one
 * kernel call and keeps its own state (momentum, second moments) in regions of that layout too.
 * Padding between tensors inside a region holds zeros in both parameters and gradients, so it
 * never moves.
 */
export interface ParameterRegion {
  /** Byte address of the parameters (float32, 64-byte aligned). */
  params: number;
  /** Byte address of the gradients, same layout. */
  grads: number;
  /** Float count of the region (padding included). */
  floats: number;
}

/** A module whose parameters an optimizer can update (recurrent models, layers, SequenceModel). */
export interface Trainable {
  /** The regions holding every trainable parameter of this module (allocating gradients on first use). */
  parameterRegions(): ParameterRegion[];
  /** Sets every gradient to zero. */
  zeroGrad(): void;
  /** Called by optimizers after they change parameters (e.g. to rebuild packed weights). */
  parametersChanged(): void;
}
