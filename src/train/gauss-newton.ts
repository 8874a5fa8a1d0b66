/**
 * The Gauss-Newton product of a SequenceModel, G v = Jᵀ H_L J v, computed exactly (Schraudolph
 * 2002; Martens 2010): J v by forward mode through the embedding (a row gather of V), the
 * recurrent layers (their Wasm tangent pass, assembly/cells/tangent.ts) and the head; H_L applied
 * to it per output row (softmax cross-entropy: (diag(p) − p pᵀ)/N, MSE: 2/n); then Jᵀ by the
 * ordinary backward through the same forward. Learned initial states (trainableInitialState) enter
 * the tangent pass as R{h0}, R{c0} (V's rows repeated for every sequence) and take their product
 * from the backward's dh0, dc0. One product costs a training forward, a tangent pass and a backward.
 */
import { fail } from "../errors.js";
import { Linear } from "../layers/linear.js";
import { forwardTangent } from "../models/tangent.js";
import { runtime } from "../runtime.js";
import type { Tensor } from "../tensor.js";
import type { Embedding } from "../layers/embedding.js";
import type { RecurrentModel } from "../models/recurrent.js";
import type { ParameterRegion } from "./module.js";
import type { SequenceModel } from "./sequence-model.js";
import type { GaussNewtonParts, MaskedTargets } from "./sequence-targets.js";
import type { SequenceBatch } from "./sequence-types.js";

const IGNORE = -100;

// A Linear of the head's shape holding the head's part of V, per head (J v needs V_W feats + V_b).
const directionHeads = new WeakMap<Linear, Linear>();

function regionOffsets(regions: ParameterRegion[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const r of regions) {
    out.push(at);
    at += r.floats;
  }
  return out;
}

/**
 * The Gauss-Newton product G v = Jᵀ H_L J v of a SequenceModel on the batch (J: the Jacobian of
 * the head's outputs in every parameter; H_L: the loss's Hessian in those outputs), exactly: a
 * forward-mode pass, then backpropagation. `v` and the product are flat over
 * model.parameterRegions(), in order. `hiddenDamping` adds that multiple of J_hᵀ J_h v for the
 * last layer's hidden states (structural damping). Overwrites the model's gradients. HessianFree
 * uses it.
 */
export function gaussNewtonProduct(
  model: SequenceModel,
  batch: SequenceBatch,
  v: Float32Array,
  options: { out?: Float32Array; hiddenDamping?: number } = {},
): {
  /** The batch's loss. */
  loss: number;
  /** G v (`options.out` when given). */
  product: Float32Array;
} {
  const parts = model.curvatureParts(batch);
  return productOf(parts, batch, v, options);
}

function productOf(parts: GaussNewtonParts, batch: SequenceBatch, v: Float32Array, options: { out?: Float32Array; hiddenDamping?: number }): { loss: number; product: Float32Array } {
  const { model, x, T, B, states } = parts;
  const o = model.options;
  const { heap } = runtime();
  const regions = model.parameterRegions();
  const total = regions.reduce((s, r) => s + r.floats, 0);
  if (!(v instanceof Float32Array) || v.length !== total) fail("E_SHAPE", `gaussNewtonProduct: v must be a Float32Array of ${total} floats (the parameter regions), got ${v instanceof Float32Array ? v.length : typeof v}`);
  const out = options.out ?? new Float32Array(total);
  if (out.length !== total) fail("E_SHAPE", `gaussNewtonProduct: out must hold ${total} floats`);
  const offsets = regionOffsets(regions);
  const slice = (k: number): Float32Array => v.subarray(offsets[k], offsets[k] + regions[k].floats);
  const emb = model.embedding;
  const k0 = emb ? 1 : 0; // region index of the recurrent layers (each module has one region)
  const rnn = model.rnn, head = model.head;

  const r = rnn.forwardTrain(x, { h0: states.h0, c0: states.c0, lengths: batch.lengths, output: o.outputs !== "last" });
  // R{x}: the embedding rows of V for each token (the condition part is constant).
  let rdx: Tensor | undefined;
  if (emb) {
    const E = o.embeddingDim, I = x.shape[2];
    const vE = slice(0);
    const ids = batch.input.data;
    const data = new Float32Array(T * B * I);
    for (let row = 0; row < T * B; row++) data.set(vE.subarray(ids[row] * E, ids[row] * E + E), row * I);
    rdx = { shape: [T, B, I], data };
  }
  const initial = parts.initial ? parts.initial.expand(B, slice(k0 + 2)) : undefined;
  const rt = forwardTangent(rnn, slice(k0), { input: rdx, h0: initial?.h0, c0: initial?.c0 });
  const feats = parts.headInput(r);
  const rFeats = parts.headInput(rt);
  // R{z} = R{feats} Wᵀ + feats V_Wᵀ + V_b: the head's forward on R{feats} less its bias, plus a
  // Linear holding V's head part on feats. The head's forward on feats comes last: its backward
  // reads the last input.
  let vHead = directionHeads.get(head);
  if (!vHead) {
    vHead = new Linear({ inFeatures: head.inFeatures, outFeatures: head.outFeatures, bias: head.hasBias });
    directionHeads.set(head, vHead);
  }
  const vRegion = vHead.parameterRegions()[0];
  heap.f32(vRegion.params, vRegion.floats).set(slice(k0 + 1));
  vHead.parametersChanged();
  const rz = head.forward(rFeats).data;
  const fromV = vHead.forward(feats).data;
  const bias = head.hasBias ? head.stateDict().bias.data : undefined;
  const O = o.outputSize;
  const rows = rz.length / O;
  for (let i = 0; i < rz.length; i++) rz[i] += fromV[i] - (bias ? bias[i % O] : 0);
  const y = head.forward(feats).data;
  const { loss, u } = applyLossHessian(o.loss, y, rz, rows, O, parts.targets);

  model.zeroGrad();
  const dFeats = head.backward({ shape: [rows, O], data: u });
  const grads: { output?: Tensor; hN?: Tensor } = {};
  if (o.outputs === "last") grads.hN = parts.lastToHN(dFeats);
  else grads.output = { shape: r.output!.shape, data: dFeats.data };
  const mu = options.hiddenDamping ?? 0;
  if (mu > 0) {
    // Structural damping: the penalty ½ μ Σ |Δh_t|² on the last layer's states has Gauss-Newton
    // product μ J_hᵀ J_h v, i.e. μ R{h} added to the states' gradient.
    if (grads.output) for (let i = 0; i < grads.output.data.length; i++) grads.output.data[i] += mu * rt.output.data[i];
    else for (let i = 0; i < grads.hN!.data.length; i++) grads.hN!.data[i] += mu * rt.hN.data[i];
  }
  const d = rnn.backward(grads, { inputGrad: emb !== undefined });
  if (parts.initial) parts.initial.accumulate(d.h0, d.c0, B);
  if (emb && d.input) {
    const E = o.embeddingDim, I = x.shape[2];
    const dEmb = new Float32Array(T * B * E);
    for (let row = 0; row < T * B; row++) dEmb.set(d.input.data.subarray(row * I, row * I + E), row * E);
    emb.backward({ shape: [T * B, E], data: dEmb });
  }
  const fresh = model.parameterRegions(); // the backward may have grown memory: read the regions again
  for (let k = 0; k < fresh.length; k++) out.set(heap.f32(fresh[k].grads, fresh[k].floats), offsets[k]);
  return { loss, product: out };
}

// The loss at outputs y and H_L R{z}, per row: cross-entropy (mean over the counted rows N)
// p ⊙ (R{z} − pᵀR{z}) / N; MSE (mean over n entries, or over the masked-in ones) 2 R{z} / n.
function applyLossHessian(loss: "crossEntropy" | "mse", y: Float32Array, rz: Float32Array, rows: number, O: number, targets: Int32Array | Float32Array | MaskedTargets): { loss: number; u: Float32Array } {
  const u = new Float32Array(rows * O);
  let total = 0;
  if (loss === "crossEntropy") {
    const ids = targets as Int32Array;
    let N = 0;
    for (let r = 0; r < rows; r++) if (ids[r] !== IGNORE) N++;
    if (N === 0) return { loss: 0, u };
    const p = new Float64Array(O);
    for (let r = 0; r < rows; r++) {
      if (ids[r] === IGNORE) continue;
      let max = -Infinity;
      for (let j = 0; j < O; j++) max = Math.max(max, y[r * O + j]);
      let sum = 0;
      for (let j = 0; j < O; j++) sum += p[j] = Math.exp(y[r * O + j] - max);
      let dot = 0;
      for (let j = 0; j < O; j++) {
        p[j] /= sum;
        dot += p[j] * rz[r * O + j];
      }
      total -= Math.log(Math.max(p[ids[r]], 1e-300));
      for (let j = 0; j < O; j++) u[r * O + j] = (p[j] * (rz[r * O + j] - dot)) / N;
    }
    return { loss: total / N, u };
  }
  const masked = !(targets instanceof Float32Array);
  const t = masked ? (targets as MaskedTargets).target : (targets as Float32Array);
  const mask = masked ? (targets as MaskedTargets).mask : undefined;
  let n = 0;
  for (let i = 0; i < rows * O; i++) if (!mask || mask[i]) n++;
  if (n === 0) return { loss: 0, u };
  for (let i = 0; i < rows * O; i++) {
    if (mask && !mask[i]) continue;
    total += (y[i] - t[i]) ** 2;
    u[i] = (2 * rz[i]) / n;
  }
  return { loss: total / n, u };
}
