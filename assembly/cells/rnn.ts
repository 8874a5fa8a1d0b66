// Elman RNN cell (torch.nn.RNN): one step of one batch row, forward and backward side by side.
// Notation of test/reference/rnn64.ts, the float64 reference the tests check this cell against:
//
//   forward                                        backward, given dh_t (all that reaches h_t)
//   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
//   h_t = tanh(a_t)       (nonlinearity "tanh")    da_t = dh_t ⊙ (1 - h_t²)
//   h_t = max(a_t, 0)     (nonlinearity "relu")    da_t = dh_t ⊙ [h_t > 0]
//
//   dW_ih += da_t x_tᵀ,  dW_hh += da_t h_{t-1}ᵀ,  db_ih += da_t,  db_hh += da_t,
//   dx_t = W_ihᵀ da_t,   dh_{t-1} = W_hhᵀ da_t
//
//   forward mode (R-operator, Pearlmutter 1994), along parameter directions V and input tangent R{x}:
//   R{a_t} = V_ih x_t + W_ih R{x_t} + V_bih + V_hh h_{t-1} + V_bhh + W_hh R{h_{t-1}}
//   R{h_t} = R{a_t} ⊙ (1 - h_t²)  (tanh),   R{a_t} ⊙ [h_t > 0]  (relu)
//
// The products (W_ih x_t for every t at once, W_hh h_{t-1} at each step, and every product of the
// backward) are GEMMs in the driver, recurrent.ts; this file holds the element-wise part. One
// gate per unit: unit u's pre-activation is column u of the row. With cell options (activation.ts)
// the activation is the block's f, its input clamped to [-clip, clip]: rnnForwardCell and
// rnnBackwardCell (f' from the output). tangent.ts drives the forward mode.
import { act4, clip4, clipOf, dact4 } from "./activation";
import { CellWord } from "./descriptor";
import { dtanh4, relu4, tanhFast4 as tanh4 } from "../activations";
import { at, emit } from "./common";

/**
 * h_t = act(g + rec) for the row's Hp units, where `g` holds W_ih x_t + b_ih and `rec` holds
 * W_hh h_{t-1} + b_hh. h_t overwrites `g` (the backward reads it) and goes to the state row `h`
 * and the first H floats of `outRow`.
 */
export function rnnForward(Hp: i32, H: i32, g: usize, rec: usize, h: usize, outRow: usize, relu: bool): void {
  for (let u = 0; u < Hp; u += 4) {
    const a = f32x4.add(v128.load(at(g, u)), v128.load(at(rec, u)));
    const hNew = relu ? relu4(a) : tanh4(a);
    v128.store(at(g, u), hNew);
    emit(h, outRow, u, H, hNew);
  }
}

/** da_t from dh_t (`dh`) and h_t (in `g`, as rnnForward left it); da_t overwrites `g`. */
export function rnnBackward(Hp: i32, g: usize, dh: usize, relu: bool): void {
  for (let u = 0; u < Hp; u += 4) {
    const h = v128.load(at(g, u));
    const dH = v128.load(at(dh, u));
    const da = relu ? v128.and(dH, f32x4.gt(h, f32x4.splat(0))) : f32x4.mul(dH, dtanh4(h));
    v128.store(at(g, u), da);
  }
}

/** rnnForward with the cell options at `cell`. */
export function rnnForwardCell(Hp: i32, H: i32, g: usize, rec: usize, h: usize, outRow: usize, cell: usize): void {
  const clip = clipOf(cell);
  for (let u = 0; u < Hp; u += 4) {
    const hNew = act4(cell, CellWord.F, clip4(f32x4.add(v128.load(at(g, u)), v128.load(at(rec, u))), clip));
    v128.store(at(g, u), hNew);
    emit(h, outRow, u, H, hNew);
  }
}

/** rnnBackward with the cell options at `cell`. */
export function rnnBackwardCell(Hp: i32, g: usize, dh: usize, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) v128.store(at(g, u), f32x4.mul(v128.load(at(dh, u)), dact4(cell, CellWord.F, v128.load(at(g, u)))));
}

/**
 * Forward mode: R{h_t} from `rx` (the input side of R{a_t}), `rh` (the recurrent side) and h_t
 * (in `g`, as rnnForward left it), to the tangent state row `rState` and `rOut`. `cell` (0: none)
 * is the options block: R{h_t} = f'(a_t) R{a_t}, f' from the output as in rnnBackwardCell.
 */
export function rnnTangent(Hp: i32, H: i32, g: usize, rx: usize, rh: usize, rState: usize, rOut: usize, relu: bool, cell: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const h = v128.load(at(g, u));
    const ra = f32x4.add(v128.load(at(rx, u)), v128.load(at(rh, u)));
    let r: v128;
    if (cell != 0) r = f32x4.mul(ra, dact4(cell, CellWord.F, h));
    else r = relu ? v128.and(ra, f32x4.gt(h, f32x4.splat(0))) : f32x4.mul(ra, dtanh4(h));
    emit(rState, rOut, u, H, r);
  }
}
