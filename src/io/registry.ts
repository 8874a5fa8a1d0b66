/**
 * Model types that loadModel can rebuild besides the built-in recurrent models. A module adds
 * its own type here when it is loaded (src/esn/esn.ts does), so a page that never imports that
 * module does not carry its code; the built-ins are listed in model-file.ts.
 */
import type { StoredTensor } from "./safetensors.js";

/** A model that can be written to a weight file. */
export interface SaveableModel {
  /** Every parameter (and, for an ESN, its state), by name: PyTorch's where it has one. */
  stateDict(): Record<string, StoredTensor>;
  /** Replaces the parameters (all or nothing). */
  loadStateDict(sd: Record<string, StoredTensor>): void;
  /** The type name and constructor options that rebuild the model. */
  modelSpec(): {
    /** The name `loadModel` looks up (see ModelTypes). */
    type: string;
    /** The options the model is rebuilt from. */
    config: Record<string, unknown>;
  };
  /** Frees the model's Wasm memory. */
  dispose(): void;
}

/** Builds a model of one type from the config its file recorded. */
export type ModelFactory<M extends SaveableModel = SaveableModel> = (config: Record<string, unknown>) => M;

export interface RegisteredType {
  create: ModelFactory;
  /** loadStateDict takes float64 and integer tensors as the file stores them (else float32). */
  keepTypes: boolean;
}

const types = new Map<string, RegisteredType>();

/**
 * Lets `loadModel` rebuild another model kind (e.g. a composed model) from files whose
 * `modelSpec().type` is `type`. Add the type to `ModelTypes` for typed results. With
 * `keepTypes`, the model's loadStateDict receives float64, int32 and uint32 tensors as the file
 * stores them (readSafetensors' keepTypes); otherwise every tensor is float32. Returns `type`.
 */
export function registerModelType(type: string, factory: ModelFactory, options: { keepTypes?: boolean } = {}): string {
  types.set(type, { create: factory, keepTypes: options.keepTypes === true });
  return type;
}

export function registeredType(type: string): RegisteredType | undefined {
  return types.get(type);
}

export function registeredTypeNames(): string[] {
  return [...types.keys()];
}
