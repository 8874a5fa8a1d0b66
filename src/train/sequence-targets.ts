// SequenceModel's target helpers (sequence-model.ts): masked MSE and the checks of its options.
import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { mse } from "./losses.js";

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
  if (!Array.isArray(units) || units.length === 0) fail("E_VALUE", `SequenceModel: lossUnits must be a non-empty array of output unit indices, got ${JSON.stringify(units)}`);
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

