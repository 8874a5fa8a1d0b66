import { RecurError } from "./errors.js";
import { GRU } from "./models/gru.js";
import { LSTM } from "./models/lstm.js";
import type { RecurrentModel } from "./models/recurrent.js";
import { RNN } from "./models/rnn.js";
import type { Tensor } from "./tensor.js";
import { runTrajectory } from "./train/trajectory.js";

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

type Json = Record<string, unknown>;

/** {shape, data: number[]} -> Tensor, with every value rounded to float32 as the format says. */
function tensorOf(value: unknown, what: string): Tensor {
  const v = value as { shape?: unknown; data?: unknown } | undefined;
  if (!v || !Array.isArray(v.shape) || !Array.isArray(v.data)) throw new RecurError("E_FORMAT", `${what} is not a {shape, data} tensor`);
  return { shape: v.shape as number[], data: Float32Array.from(v.data as number[]) };
}

function worst(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) return Infinity;
  let m = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** The tolerance of docs/parity.md: 1e-5 * max(1, max |ref|). */
function toleranceOf(ref: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return 1e-5 * m;
}

/** The recur model for a fixture case's `module` and PyTorch-style `config` (input_size, ...). */
export function modelFromTorchConfig(module: unknown, config: unknown): RecurrentModel {
  const cfg = (config ?? {}) as Json;
  const base = {
    inputSize: cfg.input_size as number,
    hiddenSize: cfg.hidden_size as number,
    numLayers: cfg.num_layers as number,
    bias: cfg.bias as boolean,
    batchFirst: cfg.batch_first as boolean,
    bidirectional: cfg.bidirectional as boolean,
  };
  switch (module) {
    case "LSTM":
      return new LSTM({ ...base, projSize: (cfg.proj_size as number | undefined) ?? 0 });
    case "GRU":
      return new GRU(base);
    case "RNN":
      return new RNN({ ...base, nonlinearity: (cfg.nonlinearity as "tanh" | "relu" | undefined) ?? "tanh" });
    default:
      throw new RecurError("E_FORMAT", `unknown module ${JSON.stringify(module)} (expected RNN, LSTM or GRU)`);
  }
}

/**
 * Runs one case of the PyTorch fixture format (docs/parity.md) through the public API
 * and compares every stored tensor at its tolerances. Never throws: a case that cannot
 * run is a failed result with the reason.
 */
export function runParityCase(fixture: unknown, options: ParityOptions = {}): ParityResult {
  const c = (fixture ?? {}) as Json;
  const name = typeof c.name === "string" ? c.name : "(unnamed)";
  if (c.kind === "training_trajectory") {
    if (options.forwardOnly) return { name, passed: true, skipped: true, checks: [], reason: "training trajectory (skipped with --forward-only)" };
    return runTrajectoryCase(c, name);
  }
  let model: RecurrentModel | undefined;
  try {
    model = modelFromTorchConfig(c.module, c.config);
    const params: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries((c.params ?? {}) as Json)) params[k] = tensorOf(v, `params.${k}`);
    model.loadStateDict(params);
    const opt = (key: string): Tensor | undefined => (c[key] === undefined ? undefined : tensorOf(c[key], key));
    const run = { h0: opt("h0"), c0: opt("c0"), lengths: c.lengths as number[] | undefined };
    const x = tensorOf(c.input, "input");
    const r = options.forwardOnly ? model.forward(x, run) : model.forwardTrain(x, run);
    const checks: ParityCheck[] = [];
    const check = (tensor: string, got: ArrayLike<number>, ref: ArrayLike<number>): void => {
      checks.push({ tensor, error: worst(got, ref), tolerance: toleranceOf(ref) });
    };
    check("output", r.output.data, tensorOf(c.output, "output").data);
    check("h_n", r.hN.data, tensorOf(c.h_n, "h_n").data);
    if (c.c_n !== undefined) check("c_n", r.cN?.data ?? [], tensorOf(c.c_n, "c_n").data);
    if (!options.forwardOnly && c.grads !== undefined) {
      const dout = tensorOf(c.dout, "dout");
      const dhN = tensorOf(c.dh_n, "dh_n");
      const dcN = opt("dc_n");
      let loss = 0;
      for (let i = 0; i < dout.data.length; i++) loss += r.output.data[i] * dout.data[i];
      for (let i = 0; i < dhN.data.length; i++) loss += r.hN.data[i] * dhN.data[i];
      if (dcN && r.cN) for (let i = 0; i < dcN.data.length; i++) loss += r.cN.data[i] * dcN.data[i];
      const ref = c.loss_value as number;
      checks.push({ tensor: "loss", error: Math.abs(loss - ref), tolerance: 1e-4 * Math.max(1, Math.abs(ref)) });
      model.zeroGrad();
      const d = model.backward({ output: dout, hN: dhN, cN: dcN });
      const grads = model.gradients();
      for (const [key, value] of Object.entries(c.grads as Json)) {
        const want = tensorOf(value, `grads.${key}`).data;
        const got = key === "input" ? d.input?.data : key === "h0" ? d.h0.data : key === "c0" ? d.c0?.data : grads[key]?.data;
        check(`grad ${key}`, got ?? [], want);
      }
    }
    return { name, passed: checks.every((k) => k.error <= k.tolerance), checks };
  } catch (err) {
    return { name, passed: false, checks: [], reason: err instanceof Error ? err.message : String(err) };
  } finally {
    model?.dispose();
  }
}

function runTrajectoryCase(c: Json, name: string): ParityResult {
  try {
    return runTrajectory(c, name);
  } catch (err) {
    return { name, passed: false, checks: [], reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Options of `formatParityResult`. */
export interface ParityFormatOptions {
  /** Every tensor on a line of its own (default: only the failing ones). */
  verbose?: boolean;
  /** Wrap the first line after the name when it would be longer than this. Default 100. */
  width?: number;
}

const sci = (v: number): string => (Number.isFinite(v) ? v.toExponential(1) : String(v));

/**
 * A case's result for a person: one line with the status, the name and the worst tensor
 * (relative to its tolerance), then one indented line per failing tensor, or per tensor with
 * `verbose`. Lines stay short whatever the number of tensors: a long first line wraps after the
 * name.
 */
export function formatParityResult(r: ParityResult, options: ParityFormatOptions = {}): string {
  const status = r.skipped ? "SKIP" : r.passed ? "PASS" : "FAIL";
  if (r.checks.length === 0) return `${status} ${r.name}: ${r.reason ?? ""}`.trimEnd();
  const ratio = (k: ParityCheck): number => (Number.isNaN(k.error) ? Infinity : k.error / k.tolerance);
  const worst = r.checks.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
  const failing = r.checks.filter((k) => !(k.error <= k.tolerance));
  const summary = failing.length
    ? `${failing.length} of ${r.checks.length} tensors over tolerance`
    : `${r.checks.length} tensors, worst ${worst.tensor} ${sci(worst.error)} (tolerance ${sci(worst.tolerance)})`;
  const oneLine = `${status} ${r.name}  ${summary}`;
  const head = oneLine.length <= (options.width ?? 100) ? oneLine : `${status} ${r.name}\n    ${summary}`;
  const listed = options.verbose ? r.checks : failing;
  const width = Math.max(0, ...listed.map((k) => k.tensor.length));
  const lines = listed.map((k) => `    ${k.tensor.padEnd(width)}  ${sci(k.error)} ${k.error <= k.tolerance ? "<=" : ">"} ${sci(k.tolerance)}`);
  return [head, ...lines].join("\n");
}
