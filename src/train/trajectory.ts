import { fail } from "../errors.js";
import type { ParityCheck, ParityResult } from "../parity.js";
import type { Tensor } from "../tensor.js";
import { clipGradNorm } from "./clip.js";
import { Adagrad, Adam, AdamW, RMSprop, SGD, type Optimizer } from "./optimizers.js";
import { SequenceModel, type SequenceBatch } from "./sequence-model.js";

type Json = Record<string, unknown>;

function tensorOf(v: unknown, what: string): Tensor {
  const t = v as { shape?: unknown; data?: unknown } | undefined;
  if (!t || !Array.isArray(t.shape) || !Array.isArray(t.data)) fail("E_FORMAT", `${what} is not a {shape, data} tensor`);
  return { shape: t.shape as number[], data: Float32Array.from(t.data as number[]) };
}

function optimizerFor(model: SequenceModel, o: Json): Optimizer {
  const num = (k: string): number | undefined => (o[k] === undefined ? undefined : (o[k] as number));
  const common = { lr: o.lr as number, weightDecay: num("weight_decay") };
  switch (o.type) {
    case "SGD":
      return new SGD(model, { ...common, momentum: num("momentum"), dampening: num("dampening"), nesterov: o.nesterov as boolean | undefined });
    case "Adam":
    case "AdamW": {
      const opts = { ...common, betas: o.betas as [number, number] | undefined, eps: num("eps"), amsgrad: o.amsgrad as boolean | undefined };
      return o.type === "Adam" ? new Adam(model, opts) : new AdamW(model, opts);
    }
    case "Adagrad":
      return new Adagrad(model, { ...common, lrDecay: num("lr_decay"), eps: num("eps"), initialAccumulatorValue: num("initial_accumulator_value") });
    case "RMSprop":
      return new RMSprop(model, { ...common, alpha: num("alpha"), eps: num("eps"), momentum: num("momentum"), centered: o.centered as boolean | undefined });
    default:
      fail("E_FORMAT", `unknown optimizer ${JSON.stringify(o.type)}`);
  }
}

// The fixture's model and batch as a SequenceModel and a SequenceBatch (docs/parity.md, "Training trajectories").
function setup(c: Json): { model: SequenceModel; batch: SequenceBatch } {
  const m = c.model as Json;
  const data = c.data as Json;
  if (m.type === "char_lstm_lm") {
    const V = m.vocab_size as number;
    const inputs = data.inputs as number[][];
    const T = inputs.length;
    const B = inputs[0].length;
    const oneHot = new Float32Array(T * B * V);
    for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) oneHot[(t * B + b) * V + inputs[t][b]] = 1;
    const model = new SequenceModel({ cell: "LSTM", inputSize: V, hiddenSize: m.hidden_size as number, outputSize: V });
    return { model, batch: { input: { shape: [T, B, V], data: oneHot }, target: { shape: [T, B], data: (data.targets as number[][]).flat() } } };
  }
  if (m.type === "gru_classifier") {
    const input = tensorOf(data.input, "data.input");
    const labels = data.labels as number[];
    const model = new SequenceModel({ cell: "GRU", inputSize: m.input_size as number, hiddenSize: m.hidden_size as number, outputSize: m.num_classes as number, outputs: "last" });
    return { model, batch: { input, target: { shape: [labels.length], data: labels } } };
  }
  fail("E_FORMAT", `unknown trajectory model ${JSON.stringify(m.type)}`);
}

function worstDiff(got: Record<string, Tensor>, want: Json): number {
  let m = 0;
  for (const [k, v] of Object.entries(want)) {
    const ref = tensorOf(v, k).data;
    const g = got[k]?.data;
    if (!g || g.length !== ref.length) return Infinity;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(g[i] - ref[i]) || 0, Number.isNaN(g[i]) ? Infinity : 0);
  }
  return m;
}

/**
 * Replays a training trajectory: the fixture's model, data, optimizer and clipping for its
 * number of steps; compares every loss, gradient norm and the parameters after the first and
 * the last step at the tolerances of docs/parity.md.
 */
export function runTrajectory(c: Json, name: string): ParityResult {
  const { model, batch } = setup(c);
  let optimizer: Optimizer | undefined;
  try {
    const initial: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(c.initial_params as Json)) initial[k] = tensorOf(v, `initial_params.${k}`);
    model.loadStateDict(initial);
    optimizer = optimizerFor(model, c.optimizer as Json);
    const clip = c.clip_grad_norm as { max_norm: number } | null;
    const steps = c.steps as number;
    const before = c.loss_before_update as number[];
    const after = c.loss_after_update as number[];
    const norms = c.grad_norm_before_clip as number[];
    let lossErr = 0;
    let normErr = 0;
    let afterStep1 = Infinity;
    for (let s = 0; s < steps; s++) {
      model.zeroGrad();
      const { loss } = model.lossAndGrad(batch);
      lossErr = Math.max(lossErr, Math.abs(loss - before[s]));
      // The norm is always measured (clipGradNorm with an infinite bound only measures).
      const norm = clipGradNorm(model, clip ? clip.max_norm : Infinity);
      normErr = Math.max(normErr, Math.abs(norm - norms[s]) / Math.max(1, norms[s]));
      optimizer.step();
      if (s === 0) afterStep1 = worstDiff(model.stateDict(), c.params_after_step_1 as Json);
    }
    model.zeroGrad();
    const finalLoss = model.lossAndGrad(batch).loss;
    lossErr = Math.max(lossErr, Math.abs(finalLoss - after[after.length - 1]));
    const checks: ParityCheck[] = [
      { tensor: "losses", error: lossErr, tolerance: 1e-4 },
      { tensor: "grad norms (rel)", error: normErr, tolerance: 1e-4 },
      { tensor: "params after step 1", error: afterStep1, tolerance: 1e-4 },
      { tensor: "final params", error: worstDiff(model.stateDict(), c.final_params as Json), tolerance: 1e-4 },
    ];
    return { name, passed: checks.every((k) => k.error <= k.tolerance), checks };
  } finally {
    optimizer?.dispose();
    model.dispose();
  }
}
