// SequenceModel's helpers (sequence-model.ts): the head's input and loss, its targets (masks,
// unit subsets, how a bad target is named), option checks.
import { fail } from "../errors.js";
import { show } from "../validate.js";
import type { Embedding } from "../layers/embedding.js";
import type { Linear } from "../layers/linear.js";
import type { RecurrentModel } from "../models/recurrent.js";
import type { ParameterRegion } from "./module.js";
import type { InitialState } from "./initial-state.js";
import type { Tensor } from "../tensor.js";
import { crossEntropy, mse, type LossResult } from "./losses.js";

/** The head's loss on flat outputs [rows, outputSize] for targets as checkTarget returns them. */
export function headLoss(loss: "crossEntropy" | "mse", flat: Tensor, targets: Int32Array | Float32Array | MaskedTargets): LossResult {
  if (loss === "crossEntropy") return crossEntropy(flat, targets as Int32Array);
  return targets instanceof Float32Array ? mse(flat, { shape: flat.shape, data: targets }) : maskedMse(flat, targets as MaskedTargets);
}

/** The head's input: the last layer's outputs [T*B, D*P], or its final states [B, D*P] (outputs "last"). */
export function headInput(rnn: RecurrentModel, outputs: "sequence" | "last", r: { output?: Tensor; hN: Tensor }, T: number, B: number): Tensor {
  // outputs "sequence" asked forwardTrain for the output sequence.
  if (outputs === "sequence") return { shape: [T * B, r.output!.shape[2]], data: r.output!.data };
  // Final state of the last layer, both directions: [B, D*P].
  const D = rnn.directions;
  const P = rnn.outputSize;
  const L = rnn.config.numLayers;
  const out = new Float32Array(B * D * P);
  for (let d = 0; d < D; d++) {
    for (let b = 0; b < B; b++) out.set(r.hN.data.subarray(((L - 1) * D + d) * B * P + b * P, ((L - 1) * D + d) * B * P + (b + 1) * P), b * D * P + d * P);
  }
  return { shape: [B, D * P], data: out };
}

/** A gradient of the head's input [B, D*P] as the gradient of hN (outputs "last"). */
export function lastToHN(rnn: RecurrentModel, dFeats: Tensor, B: number): Tensor {
  const D = rnn.directions;
  const P = rnn.outputSize;
  const L = rnn.config.numLayers;
  const dh = new Float32Array(L * D * B * P);
  for (let d = 0; d < D; d++) {
    for (let b = 0; b < B; b++) dh.set(dFeats.data.subarray(b * D * P + d * P, b * D * P + (d + 1) * P), ((L - 1) * D + d) * B * P + b * P);
  }
  return { shape: [L * D, B, P], data: dh };
}

/** MSE targets with a mask: only entries with mask 1 count. */
export interface MaskedTargets {
  target: Float32Array;
  mask: Uint8Array;
}

// Mean squared error over the masked-in entries only. Masked-out entries get the prediction as
// their target, so they add nothing to the sum and get a zero gradient; the mean divides by the
// number of counted entries (none counted: loss 0, gradient 0).
export function maskedMse(pred: Tensor, m: MaskedTargets): { loss: number; grad: Tensor } {
  const target = m.target;
  let count = 0;
  for (let i = 0; i < target.length; i++) {
    if (m.mask[i]) count++;
    else target[i] = pred.data[i];
  }
  const r = mse(pred, { shape: pred.shape, data: target }, { reduction: "sum" });
  if (count === 0) return { loss: 0, grad: { shape: r.grad.shape, data: r.grad.data.fill(0) } };
  const scale = 1 / count;
  for (let i = 0; i < r.grad.data.length; i++) r.grad.data[i] *= scale;
  return { loss: r.loss / count, grad: r.grad };
}

export function checkLossUnits(units: unknown, outputSize: number, loss: string): number[] {
  if (loss !== "mse") fail("E_VALUE", "SequenceModel: lossUnits needs loss \"mse\" (a softmax spreads over every class)");
  if (!Array.isArray(units) || units.length === 0) fail("E_VALUE", `SequenceModel: lossUnits must be a non-empty array of output unit indices, got ${show(units)}`);
  const seen = new Set<number>();
  for (const u of units) {
    if (!Number.isInteger(u) || u < 0 || u >= outputSize) fail("E_VALUE", `SequenceModel: lossUnits entry ${JSON.stringify(u)} is not an output unit index in [0, ${outputSize})`);
    if (seen.has(u)) fail("E_VALUE", `SequenceModel: lossUnits lists unit ${u} twice`);
    seen.add(u);
  }
  return [...units] as number[];
}

export function describeShape(t: unknown): string {
  const s = (t as { shape?: unknown } | undefined)?.shape;
  return Array.isArray(s) ? `[${s.join(", ")}]` : String(t);
}

/** The parts of a SequenceModel the product uses. */
interface Model {
  options: { loss: "crossEntropy" | "mse"; outputs: "sequence" | "last"; embeddingDim: number; outputSize: number };
  embedding: Embedding | undefined;
  rnn: RecurrentModel;
  head: Linear;
  parameterRegions(): ParameterRegion[];
  zeroGrad(): void;
}

/** What SequenceModel hands over: its checked inputs and views of its internals. @internal */
export interface GaussNewtonParts {
  model: Model;
  x: Tensor;
  T: number;
  B: number;
  states: { h0?: Tensor; c0?: Tensor };
  targets: Int32Array | Float32Array | MaskedTargets;
  headInput: (r: { output?: Tensor; hN: Tensor }) => Tensor;
  lastToHN: (d: Tensor) => Tensor;
  /** The learned initial states (trainableInitialState), the model's last parameter region. */
  initial?: InitialState;
}
