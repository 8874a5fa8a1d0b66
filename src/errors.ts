/**
 * Every error recur throws on purpose is a RecurError with a stable `code`, so callers can branch
 * on the kind of failure without parsing messages. Messages name the argument, the expected and
 * the actual value.
 */
export type RecurErrorCode =
  | "E_SHAPE" // a tensor has the wrong rank or dimensions
  | "E_TYPE" // a value has the wrong JavaScript type (e.g. not a Float32Array)
  | "E_VALUE" // a value is out of range, non-finite or otherwise invalid
  | "E_KEY" // state dict keys missing, unexpected or misshaped
  | "E_FORMAT" // a file (safetensors, JSON) is truncated or corrupt
  | "E_STATE" // an object used in the wrong state (disposed, not initialised)
  | "E_NUMERIC" // a computation produced NaN/inf or a system was singular
  | "E_MEMORY" // a size that Wasm memory (4 GiB, or init's maxMemoryMB) or a JS array cannot hold
  | "E_UNSUPPORTED"; // a valid request this build cannot serve

/** The error recur throws for bad input or a failed computation; `code` says which kind. */
export class RecurError extends Error {
  /** The kind of failure (see RecurErrorCode). */
  readonly code: RecurErrorCode;
  constructor(code: RecurErrorCode, message: string) {
    super(message);
    this.name = "RecurError";
    this.code = code;
  }
}

export function fail(code: RecurErrorCode, message: string): never {
  throw new RecurError(code, message);
}
