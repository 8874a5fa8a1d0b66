import { expect } from "vitest";
import { createRng } from "../../src/random.js";
import type { Tensor } from "../../src/tensor.js";
import type { SequenceBatch, SequenceModel } from "../../src/train/sequence-model.js";

/**
 * Directional finite differences of a SequenceModel's loss: for each parameter tensor, a random
 * unit direction u and (L(p + eps u) - L(p - eps u)) / 2 eps against g . u. Float32 forward noise
 * stays ~1e-6 relative at this eps, far below the errors a wrong gradient makes.
 */
export function directionalCheck(model: SequenceModel, batch: SequenceBatch, seed = 7): void {
  model.zeroGrad();
  model.lossAndGrad(batch);
  const grads = model.gradients();
  const base = model.stateDict();
  const rng = createRng(seed);
  const eps = 1e-2;
  for (const [name, p] of Object.entries(base)) {
    const u = new Float32Array(p.data.length).map(() => rng.normal());
    const norm = Math.hypot(...u);
    u.forEach((v, i) => (u[i] = v / norm));
    const at = (s: number): number => {
      const sd: Record<string, Tensor> = { ...base, [name]: { shape: p.shape, data: p.data.map((v, i) => v + s * eps * u[i]) } };
      model.loadStateDict(sd);
      model.zeroGrad();
      return model.lossAndGrad(batch).loss;
    };
    const numeric = (at(1) - at(-1)) / (2 * eps);
    let analytic = 0;
    grads[name].data.forEach((g, i) => (analytic += g * u[i]));
    expect(Math.abs(numeric - analytic), `${name}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThanOrEqual(1e-2 * Math.abs(analytic) + 2e-5);
    model.loadStateDict(base);
  }
}
