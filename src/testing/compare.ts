/** What a parity case reports, and the reading of the format's tensors. */
import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";

/** One compared tensor: worst absolute error and the tolerance it must stay under. */
export interface ParityCheck {
  /** What was compared: "output", "h_n", "grad weight_ih_l0", "losses", ... */
  tensor: string;
  /** Largest absolute difference from the reference (Infinity for a shape mismatch or NaN). */
  error: number;
  /** The largest error that passes. */
  tolerance: number;
}

/** What `runParityCase` returns for one case. */
export interface ParityResult {
  /** The case's name. */
  name: string;
  /** Every check within its tolerance (and the case could run). */
  passed: boolean;
  /** Empty when the case could not be run (see reason). */
  checks: ParityCheck[];
  /** Why the case failed to run, or was skipped. */
  reason?: string;
  /** The case was not run (a training trajectory with `forwardOnly`). */
  skipped?: boolean;
}

/** Options of `runParityCase`. */
export interface ParityOptions {
  /** Check outputs and final states only (no gradients, no training trajectories). Default false. */
  forwardOnly?: boolean;
}

/** {shape, data: number[]} -> Tensor, with every value rounded to float32 as the format says. */
export function tensorOf(value: unknown, what: string): Tensor {
  const v = value as { shape?: unknown; data?: unknown } | undefined;
  if (!v || !Array.isArray(v.shape) || !Array.isArray(v.data)) fail("E_FORMAT", `${what} is not a {shape, data} tensor`);
  return { shape: v.shape as number[], data: Float32Array.from(v.data as number[]) };
}
