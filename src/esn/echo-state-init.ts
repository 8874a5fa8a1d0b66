/**
 * The echo-state initialisation of a trainable recurrent model (Sutskever, Martens, Dahl and
 * Hinton 2013): recurrent weights drawn as an echo state network's reservoir, sparse and rescaled
 * to a chosen spectral radius, then trained like any others. It lives here, beside the
 * spectral-radius solver, so that pages that only run models do not carry the solver.
 */
import { fail } from "../errors.js";
import type { RecurrentModel } from "../models/recurrent.js";
import { createRng, type Rng } from "../random.js";
import { spectralRadius } from "../spectral/arnoldi.js";
import { csrOperator } from "../spectral/operators.js";
import { integer, number, objectArgument } from "../validate.js";

/** Options of `echoStateInit`. */
export interface EchoStateInitOptions {
  /** Spectral radius of each weight_hh gate block (max |λ|). Default 1.1. */
  spectralRadius?: number;
  /** Non-zero weights per unit (row) of each block, at distinct random columns; at most hiddenSize. Default min(15, hiddenSize). */
  connections?: number;
  /** weight_ih is multiplied by this (it keeps the model's own draw otherwise). Default 1. */
  inputScale?: number;
  /** Seed of the sparse draws. Default 0. */
  seed?: number;
}

/**
 * Rewrites every weight_hh of `model` (each gate block, each layer and direction) as a sparse
 * block with `connections` N(0, 1) weights per row, rescaled so that its spectral radius is
 * `spectralRadius` (measured in float64 on the float32 values by the restarted Arnoldi solver);
 * zeroes the biases and scales weight_ih by `inputScale`. Returns the model. Models with a
 * projection (non-square blocks) are refused.
 */
export function echoStateInit<M extends RecurrentModel>(model: M, options: EchoStateInitOptions = {}): M {
  objectArgument("echoStateInit", options);
  const c = model.config;
  if (c.projSize > 0) fail("E_VALUE", `echoStateInit: needs square weight_hh blocks, but projSize = ${c.projSize} makes them [${c.hiddenSize}, ${c.projSize}]`);
  const H = c.hiddenSize;
  const radius = number("echoStateInit", "spectralRadius", options.spectralRadius, { min: 0, open: true }, 1.1);
  const connections = integer("echoStateInit", "connections", options.connections, { min: 1, max: H }, Math.min(15, H));
  const inputScale = number("echoStateInit", "inputScale", options.inputScale, { min: 0 }, 1);
  const rng = createRng(integer("echoStateInit", "seed", options.seed, {}, 0));
  const sd = model.stateDict();
  for (const [name, t] of Object.entries(sd)) {
    if (name.startsWith("weight_hh")) {
      const blocks = t.shape[0] / H;
      for (let g = 0; g < blocks; g++) sparseBlock(t.data.subarray(g * H * H, (g + 1) * H * H), H, connections, radius, rng);
    } else if (name.startsWith("bias")) {
      t.data.fill(0);
    } else if (name.startsWith("weight_ih")) {
      for (let i = 0; i < t.data.length; i++) t.data[i] *= inputScale;
    }
  }
  model.loadStateDict(sd);
  return model;
}

// One n x n block: `connections` N(0, 1) weights per row at distinct columns (CSR, so Arnoldi's
// products cost n * connections), scaled in float64 to the spectral radius asked for.
function sparseBlock(out: Float32Array, n: number, connections: number, radius: number, rng: Rng): void {
  const rowPtr = Int32Array.from({ length: n + 1 }, (_, i) => i * connections);
  const col = new Int32Array(n * connections);
  const vals = new Float64Array(n * connections);
  const cols = Int32Array.from({ length: n }, (_, j) => j);
  for (let attempt = 0; attempt < 8; attempt++) {
    for (let i = 0; i < n; i++) {
      // The first `connections` entries of a partial Fisher-Yates shuffle: distinct columns.
      for (let k = 0; k < connections; k++) {
        const j = k + rng.int(n - k);
        [cols[k], cols[j]] = [cols[j], cols[k]];
        col[i * connections + k] = cols[k];
        vals[i * connections + k] = Math.fround(rng.normal());
      }
    }
    const rho = spectralRadius(csrOperator(n, rowPtr, col, vals), { tol: 1e-12 }).radius;
    // A sparse draw can be nilpotent (radius 0): nothing to rescale, so draw again.
    if (rho > 1e-6) {
      out.fill(0);
      for (let e = 0; e < vals.length; e++) out[Math.floor(e / connections) * n + col[e]] = (vals[e] * radius) / rho;
      return;
    }
  }
  fail("E_VALUE", `echoStateInit: ${connections} connection(s) per unit of ${n} gave a nilpotent W_hh block (spectral radius 0) in 8 draws; use more connections`);
}
