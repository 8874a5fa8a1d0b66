// GRU cell (torch.nn.GRU, gate order r, z, n), with the reset gate after the recurrent product
// (PyTorch, cuDNN, ONNX linear_before_reset=1) or before it (Keras reset_after=False, ONNX's
// default): one step of one batch row, forward and backward side by side. Notation of
// test/reference/rnn64.ts, the float64 reference the tests check this cell against, with
// W_hh = [W_hr; W_hz; W_hn] and b_hh = [b_hr; b_hz; b_hn] (row blocks of weight_hh, bias_hh):
//
//   forward
//   a_t = W_ih x_t + b_ih                              blocks a_r, a_z, a_n (H each)
//   r_t = σ(a_r + W_hr h_{t-1} + b_hr)                 reset gate
//   z_t = σ(a_z + W_hz h_{t-1} + b_hz)                 update gate
//   reset after:   ghn_t = W_hn h_{t-1} + b_hn,        n_t = tanh(a_n + r_t ⊙ ghn_t)
//   reset before:  rh_t = r_t ⊙ h_{t-1},               n_t = tanh(a_n + W_hn rh_t + b_hn)
//   h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//
//   backward, given dh_t (all that reaches h_t)
//   da_n = dh_t ⊙ (1 - z_t) ⊙ (1 - n_t²)
//   da_z = dh_t ⊙ (h_{t-1} - n_t) ⊙ z_t (1 - z_t)
//   reset after:   da_r = da_n ⊙ ghn_t ⊙ r_t (1 - r_t);   the W_hn rows see dghn = da_n ⊙ r_t:
//                  dh_{t-1} = dh_t ⊙ z_t + W_hrᵀ da_r + W_hzᵀ da_z + W_hnᵀ dghn,
//                  dW_hn += dghn h_{t-1}ᵀ,  db_hn += dghn
//   reset before:  drh = W_hnᵀ da_n,  da_r = drh ⊙ h_{t-1} ⊙ r_t (1 - r_t),
//                  dh_{t-1} = dh_t ⊙ z_t + drh ⊙ r_t + W_hrᵀ da_r + W_hzᵀ da_z,
//                  dW_hn += da_n rh_tᵀ,  db_hn += da_n
//   dW_ih += da_t x_tᵀ,  db_ih += da_t,  dx_t = W_ihᵀ da_t,
//   dW_h{r,z} += da_{r,z} h_{t-1}ᵀ,  db_h{r,z} += da_{r,z}
//
//   forward mode (R-operator), reset after: with R{a_t} = V_ih x_t + W_ih R{x_t} + V_bih and the
//   recurrent side R{g_t} = V_hh h_{t-1} + V_bhh + W_hh R{h_{t-1}} (blocks r, z, n; the driver,
//   tangent.ts; R{g_n} = R{ghn_t}):
//   R{r} = r(1-r) (R{a_r} + R{g_r}),  R{z} = z(1-z) (R{a_z} + R{g_z})
//   R{n} = (1-n²) (R{a_n} + R{r} ⊙ ghn_t + r_t ⊙ R{g_n})
//   R{h_t} = R{z} ⊙ (h_{t-1} - n_t) + (1 - z_t) ⊙ R{n} + z_t ⊙ R{h_{t-1}}
//   reset before: the recurrent sides of r and z as above, then
//   R{rh_t} = R{r} ⊙ h_{t-1} + r_t ⊙ R{h_{t-1}},
//   R{n} = (1-n²) (R{a_n} + V_hn rh_t + V_bhn + W_hn R{rh_t}),  R{h_t} as above
//
// The products (the input projection for every t at once, W_hh h_{t-1} at each step, W_hn rh_t
// after r_t for the reset-before form, and every product of the backward) are GEMMs in the
// driver, recurrent.ts; this file holds the element-wise part. A row holds groups of 8 units,
// each group's gates as [r 8][z 8][n 8]. The reset-before form's step is two halves around its
// second product: gruResetBeforeForwardRZ (r, z, rh), then gruResetBeforeForwardN (n, h); its
// backward runs their adjoints in reverse, gruResetBeforeBackwardN then gruResetBeforeBackwardRZ.
//
// With cell options (activation.ts: ONNX's activations f, g with alpha and beta, and clip) σ is
// replaced by f and the candidate's tanh by g, each pre-activation clamped to [-clip, clip]
// (the candidate's after the reset gate's product); the backward takes f', g' from the outputs.
// The `...Cell` functions are those paths; the forward-mode steps take the block as an argument.
import { act4, clip4, clipOf, dact4 } from "./activation";
import { CellWord } from "./descriptor";
import { dsigmoid4, dtanh4, sigmoidFast4 as sigmoid4, tanhFast4 as tanh4 } from "../activations";
import { madd } from "../simd";
import { at, emit, gateColumn, load4 } from "./common";

/**
 * Reset after: one step for the row's Hp units. On entry `gates` holds a_t = W_ih x_t + b_ih and
 * `rec` holds W_hh h_{t-1} + b_hh; on return `gates` holds r_t, z_t, n_t (the backward reads them).
 * h_t replaces h_{t-1} in the state row `h` and goes to the first H floats of `outRow`; `ghn`
 * (0: none) receives ghn_t for the backward.
 */
export function gruForward(Hp: i32, H: i32, gates: usize, rec: usize, h: usize, ghn: usize, outRow: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const r = sigmoid4(f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, col))));
    const z = sigmoid4(f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, col + 8))));
    const gh = v128.load(at(rec, col + 16)); // ghn_t = W_hn h + b_hn: the reset gate scales it whole
    const n = tanh4(madd(r, gh, v128.load(at(gates, col + 16))));
    const hPrev = v128.load(at(h, u));
    const hNew = madd(z, f32x4.sub(hPrev, n), n);
    v128.store(at(gates, col), r);
    v128.store(at(gates, col + 8), z);
    v128.store(at(gates, col + 16), n);
    if (ghn != 0) v128.store(at(ghn, u), gh);
    emit(h, outRow, u, H, hNew);
  }
}

/**
 * Reset after: the step's backward for the row's Hp units. `gates` holds r_t, z_t, n_t and
 * receives da_r, da_z, da_n (the input side's gate gradients); `gh` receives the recurrent
 * side's [da_r, da_z, dghn] (for dh_{t-1} and dW_hh); `dh` is dh_t; `hPrev` is h_{t-1} (P valid
 * floats); `ghn` is ghn_t. `dhPrev` receives dh_t ⊙ z_t, to which the driver adds W_hhᵀ gh.
 */
export function gruBackward(Hp: i32, P: i32, gates: usize, gh: usize, dh: usize, hPrev: usize, ghn: usize, dhPrev: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const r = v128.load(at(gates, col)), z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const hp = load4(hPrev, u, P);
    const dH = v128.load(at(dh, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dtanh4(n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dsigmoid4(z));
    const dR = f32x4.mul(f32x4.mul(dN, v128.load(at(ghn, u))), dsigmoid4(r));
    v128.store(at(gates, col), dR);
    v128.store(at(gates, col + 8), dZ);
    v128.store(at(gates, col + 16), dN);
    v128.store(at(gh, col), dR);
    v128.store(at(gh, col + 8), dZ);
    v128.store(at(gh, col + 16), f32x4.mul(dN, r)); // dghn: the reset gate scales W_hn h + b_hn
    v128.store(at(dhPrev, u), f32x4.mul(dH, z));
  }
}

/**
 * Reset before, first half of the forward step: r_t and z_t from `gates` (a_t, three gates per
 * group) and `rec` (W_hr h + b_hr, W_hz h + b_hz: two gates per group), stored over a_r and a_z;
 * rh_t = r_t ⊙ h_{t-1} to `rh` (the driver multiplies it by W_hn) and r_t to `rSeq` (0: not kept).
 */
export function gruResetBeforeForwardRZ(Hp: i32, gates: usize, rec: usize, h: usize, rh: usize, rSeq: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const r = sigmoid4(f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, rcol))));
    const z = sigmoid4(f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, rcol + 8))));
    v128.store(at(gates, col), r);
    v128.store(at(gates, col + 8), z);
    v128.store(at(rh, u), f32x4.mul(r, v128.load(at(h, u))));
    if (rSeq != 0) v128.store(at(rSeq, u), r); // for dW_hn in the backward
  }
}

/**
 * Reset before, second half: n_t from a_n and `wrh` (W_hn rh_t + b_hn), stored over a_n, and h_t,
 * which replaces h_{t-1} in the state row `h` and goes to the first H floats of `outRow`.
 */
export function gruResetBeforeForwardN(Hp: i32, H: i32, gates: usize, wrh: usize, h: usize, outRow: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const n = tanh4(f32x4.add(v128.load(at(gates, col + 16)), v128.load(at(wrh, u))));
    const z = v128.load(at(gates, col + 8));
    const hNew = madd(z, f32x4.sub(v128.load(at(h, u)), n), n);
    v128.store(at(gates, col + 16), n);
    emit(h, outRow, u, H, hNew);
  }
}

/**
 * Reset before, the adjoint of gruResetBeforeForwardN: da_z and da_n from dh_t (`dh`) into
 * `gates` (over z_t, n_t) and into `gh`, whose rows are [r z interleaved (2 Hp) | n (Hp)];
 * `dhPrev` receives dh_t ⊙ z_t. `hPrev` is h_{t-1} (P valid floats).
 */
export function gruResetBeforeBackwardN(Hp: i32, P: i32, gates: usize, gh: usize, dh: usize, hPrev: usize, dhPrev: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const hp = load4(hPrev, u, P);
    const dH = v128.load(at(dh, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dtanh4(n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dsigmoid4(z));
    v128.store(at(gates, col + 8), dZ);
    v128.store(at(gates, col + 16), dN);
    v128.store(at(gh, rcol + 8), dZ);
    v128.store(at(gh, 2 * Hp + u), dN);
    v128.store(at(dhPrev, u), f32x4.mul(dH, z));
  }
}

/**
 * Reset before, the adjoint of gruResetBeforeForwardRZ, once the driver has drh = W_hnᵀ da_n
 * (`drh`): da_r into `gates` (over r_t) and `gh`, and drh ⊙ r_t added to `dhPrev`.
 */
export function gruResetBeforeBackwardRZ(Hp: i32, P: i32, gates: usize, gh: usize, drh: usize, hPrev: usize, dhPrev: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const r = v128.load(at(gates, col));
    const d = v128.load(at(drh, u));
    const dR = f32x4.mul(f32x4.mul(d, load4(hPrev, u, P)), dsigmoid4(r));
    v128.store(at(gates, col), dR);
    v128.store(at(gh, rcol), dR);
    v128.store(at(dhPrev, u), f32x4.add(v128.load(at(dhPrev, u)), f32x4.mul(d, r)));
  }
}

/** gruForward with the cell options at `cell`. */
export function gruForwardCell(Hp: i32, H: i32, gates: usize, rec: usize, h: usize, ghn: usize, outRow: usize, cell: usize): void {
  const clip = clipOf(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const r = act4(cell, CellWord.F, clip4(f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, col))), clip));
    const z = act4(cell, CellWord.F, clip4(f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, col + 8))), clip));
    const gh = v128.load(at(rec, col + 16));
    const n = act4(cell, CellWord.G, clip4(madd(r, gh, v128.load(at(gates, col + 16))), clip));
    const hNew = madd(z, f32x4.sub(v128.load(at(h, u)), n), n);
    v128.store(at(gates, col), r);
    v128.store(at(gates, col + 8), z);
    v128.store(at(gates, col + 16), n);
    if (ghn != 0) v128.store(at(ghn, u), gh);
    emit(h, outRow, u, H, hNew);
  }
}

/** gruBackward with the cell options at `cell`. */
export function gruBackwardCell(Hp: i32, P: i32, gates: usize, gh: usize, dh: usize, hPrev: usize, ghn: usize, dhPrev: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const r = v128.load(at(gates, col)), z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const hp = load4(hPrev, u, P);
    const dH = v128.load(at(dh, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dact4(cell, CellWord.G, n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dact4(cell, CellWord.F, z));
    const dR = f32x4.mul(f32x4.mul(dN, v128.load(at(ghn, u))), dact4(cell, CellWord.F, r));
    v128.store(at(gates, col), dR);
    v128.store(at(gates, col + 8), dZ);
    v128.store(at(gates, col + 16), dN);
    v128.store(at(gh, col), dR);
    v128.store(at(gh, col + 8), dZ);
    v128.store(at(gh, col + 16), f32x4.mul(dN, r));
    v128.store(at(dhPrev, u), f32x4.mul(dH, z));
  }
}

/** gruResetBeforeForwardRZ with the cell options at `cell`. */
export function gruResetBeforeForwardRZCell(Hp: i32, gates: usize, rec: usize, h: usize, rh: usize, rSeq: usize, cell: usize): void {
  const clip = clipOf(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const r = act4(cell, CellWord.F, clip4(f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, rcol))), clip));
    const z = act4(cell, CellWord.F, clip4(f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, rcol + 8))), clip));
    v128.store(at(gates, col), r);
    v128.store(at(gates, col + 8), z);
    v128.store(at(rh, u), f32x4.mul(r, v128.load(at(h, u))));
    if (rSeq != 0) v128.store(at(rSeq, u), r);
  }
}

/** gruResetBeforeForwardN with the cell options at `cell`. */
export function gruResetBeforeForwardNCell(Hp: i32, H: i32, gates: usize, wrh: usize, h: usize, outRow: usize, cell: usize): void {
  const clip = clipOf(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const n = act4(cell, CellWord.G, clip4(f32x4.add(v128.load(at(gates, col + 16)), v128.load(at(wrh, u))), clip));
    const z = v128.load(at(gates, col + 8));
    const hNew = madd(z, f32x4.sub(v128.load(at(h, u)), n), n);
    v128.store(at(gates, col + 16), n);
    emit(h, outRow, u, H, hNew);
  }
}

/** gruResetBeforeBackwardN with the cell options at `cell`. */
export function gruResetBeforeBackwardNCell(Hp: i32, P: i32, gates: usize, gh: usize, dh: usize, hPrev: usize, dhPrev: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const hp = load4(hPrev, u, P);
    const dH = v128.load(at(dh, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dact4(cell, CellWord.G, n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dact4(cell, CellWord.F, z));
    v128.store(at(gates, col + 8), dZ);
    v128.store(at(gates, col + 16), dN);
    v128.store(at(gh, rcol + 8), dZ);
    v128.store(at(gh, 2 * Hp + u), dN);
    v128.store(at(dhPrev, u), f32x4.mul(dH, z));
  }
}

/** gruResetBeforeBackwardRZ with the cell options at `cell`. */
export function gruResetBeforeBackwardRZCell(Hp: i32, P: i32, gates: usize, gh: usize, drh: usize, hPrev: usize, dhPrev: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const r = v128.load(at(gates, col));
    const d = v128.load(at(drh, u));
    const dR = f32x4.mul(f32x4.mul(d, load4(hPrev, u, P)), dact4(cell, CellWord.F, r));
    v128.store(at(gates, col), dR);
    v128.store(at(gh, rcol), dR);
    v128.store(at(dhPrev, u), f32x4.add(v128.load(at(dhPrev, u)), f32x4.mul(d, r)));
  }
}

// The derivative of the gate function at its output y: σ' without an options block, else f'.
// @ts-ignore: decorator
@inline
function dgate(cell: usize, y: v128): v128 {
  return cell != 0 ? dact4(cell, CellWord.F, y) : dsigmoid4(y);
}

// The derivative of the candidate's function at its output: tanh' or g'.
// @ts-ignore: decorator
@inline
function dcand(cell: usize, y: v128): v128 {
  return cell != 0 ? dact4(cell, CellWord.G, y) : dtanh4(y);
}

/**
 * Forward mode, reset after: R{h_t} from `rx` (R{a_t}) and `rh` (R{g_t}), the gates as gruForward
 * left them, h_{t-1} (P valid floats) and ghn_t. `rState` holds R{h_{t-1}} and receives R{h_t}
 * (also written to `rOut`). `cell` (0: none) is the options block (f', g' from the outputs).
 */
export function gruTangent(Hp: i32, H: i32, P: i32, gates: usize, rx: usize, rh: usize, hPrev: usize, ghn: usize, rState: usize, rOut: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const r = v128.load(at(gates, col)), z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const rR = f32x4.mul(dgate(cell, r), f32x4.add(v128.load(at(rx, col)), v128.load(at(rh, col))));
    const rZ = f32x4.mul(dgate(cell, z), f32x4.add(v128.load(at(rx, col + 8)), v128.load(at(rh, col + 8))));
    const inner = f32x4.add(v128.load(at(rx, col + 16)), f32x4.add(f32x4.mul(rR, v128.load(at(ghn, u))), f32x4.mul(r, v128.load(at(rh, col + 16)))));
    const rN = f32x4.mul(dcand(cell, n), inner);
    emit(rState, rOut, u, H, tangentOut(u, P, z, n, rZ, rN, hPrev, rState));
  }
}

// R{h_t} = R{z} ⊙ (h_{t-1} - n_t) + (1 - z_t) ⊙ R{n} + z_t ⊙ R{h_{t-1}} for units u .. u+3.
// @ts-ignore: decorator
@inline
function tangentOut(u: i32, P: i32, z: v128, n: v128, rZ: v128, rN: v128, hPrev: usize, rState: usize): v128 {
  const hp = load4(hPrev, u, P);
  return f32x4.add(f32x4.add(f32x4.mul(rZ, f32x4.sub(hp, n)), f32x4.mul(f32x4.sub(f32x4.splat(1), z), rN)), f32x4.mul(z, v128.load(at(rState, u))));
}

/**
 * Forward mode, reset before, first half: R{r}, R{z} from `rx` (R{a_t}, three gates per group)
 * and `rh` (its rows [r z interleaved (2 Hp) | n (Hp)]: the recurrent sides V_h{r,z} h_{t-1} +
 * V_bh{r,z} + W_h{r,z} R{h_{t-1}}), stored over rh's r and z parts; R{rh_t} = R{r} ⊙ h_{t-1} +
 * r_t ⊙ R{h_{t-1}} to `rrh` (the driver multiplies it by W_hn).
 */
export function gruResetBeforeTangentRZ(Hp: i32, P: i32, gates: usize, rx: usize, rh: usize, hPrev: usize, rState: usize, rrh: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const r = v128.load(at(gates, col)), z = v128.load(at(gates, col + 8));
    const rR = f32x4.mul(dgate(cell, r), f32x4.add(v128.load(at(rx, col)), v128.load(at(rh, rcol))));
    const rZ = f32x4.mul(dgate(cell, z), f32x4.add(v128.load(at(rx, col + 8)), v128.load(at(rh, rcol + 8))));
    v128.store(at(rh, rcol), rR);
    v128.store(at(rh, rcol + 8), rZ);
    v128.store(at(rrh, u), madd(rR, load4(hPrev, u, P), f32x4.mul(r, v128.load(at(rState, u)))));
  }
}

/**
 * Forward mode, reset before, second half: R{n} = g'(n) (R{a_n} + V_hn rh_t + V_bhn + W_hn R{rh_t})
 * (its recurrent part in rh's n block), then R{h_t} to `rState` and `rOut`.
 */
export function gruResetBeforeTangentN(Hp: i32, H: i32, P: i32, gates: usize, rx: usize, rh: usize, hPrev: usize, rState: usize, rOut: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 3);
    const rcol = gateColumn(u, 2);
    const z = v128.load(at(gates, col + 8)), n = v128.load(at(gates, col + 16));
    const rN = f32x4.mul(dcand(cell, n), f32x4.add(v128.load(at(rx, col + 16)), v128.load(at(rh, 2 * Hp + u))));
    emit(rState, rOut, u, H, tangentOut(u, P, z, n, v128.load(at(rh, rcol + 8)), rN, hPrev, rState));
  }
}
