// Multiplicative RNN cell (Sutskever, Martens and Hinton, ICML 2011): each input gets its own
// hidden-to-hidden matrix W_hf diag(W_fx x_t) W_fh, factored through F factors. One step of one
// batch row, forward and backward side by side; test/reference/mrnn64.ts is the float64
// reference the tests check it against.
//
//   forward                                       backward, given dh_t (all that reaches h_t)
//   fx_t = W_fx x_t            (all steps: one GEMM)
//   fh_t = W_fh h_{t-1}                           da_t  = dh_t ⊙ (1 - h_t²)
//   f_t  = fx_t ⊙ fh_t                            df_t  = W_hfᵀ da_t
//   a_t  = W_hf f_t + W_hx x_t + b_h              dfx_t = df_t ⊙ fh_t,  dfh_t = df_t ⊙ fx_t
//   h_t  = tanh(a_t)                              dh_{t-1} = W_fhᵀ dfh_t,  dx_t = W_fxᵀ dfx_t + W_hxᵀ da_t
//
//   dW_fx += dfx_t x_tᵀ,  dW_fh += dfh_t h_{t-1}ᵀ,  dW_hf += da_t f_tᵀ,  dW_hx += da_t x_tᵀ,  db_h += da_t
//
//   forward mode (R-operator, Pearlmutter 1994), along parameter directions V and R{x} (tangent.ts):
//   R{fx_t} = V_fx x_t + W_fx R{x_t},   R{fh_t} = V_fh h_{t-1} + W_fh R{h_{t-1}}
//   R{f_t}  = R{fx_t} ⊙ fh_t + fx_t ⊙ R{fh_t}
//   R{a_t}  = V_hf f_t + W_hf R{f_t} + V_hx x_t + W_hx R{x_t} + V_bh,   R{h_t} = (1 - h_t²) ⊙ R{a_t}
//
// A gate row of the driver (recurrent.ts) is [fx_t | W_hx x_t + b_h] (Fp + Hp floats): the
// input projection of both parts is one GEMM. The forward overwrites its second part with h_t;
// the backward overwrites the row with [dfx_t | da_t] and fh_t (cached) with dfh_t, so the
// products after the time loop read the gradients where the forward left the values.
import { at } from "./common";
import { rnnBackward, rnnForward, rnnTangent } from "./rnn";

/** f = fx ⊙ fh for the row's Fp factors (f may be fh: in place). */
export function mrnnFactors(Fp: i32, fx: usize, fh: usize, f: usize): void {
  for (let j = 0; j < Fp; j += 4) v128.store(at(f, j), f32x4.mul(v128.load(at(fx, j)), v128.load(at(fh, j))));
}

/**
 * h_t = tanh(a_t), a_t = `hx` (W_hx x_t + b_h, the second part of the gate row) + `rec`
 * (W_hf f_t); h_t overwrites `hx` and goes to the state row `h` and the output row.
 */
export function mrnnHidden(Hp: i32, H: i32, hx: usize, rec: usize, h: usize, outRow: usize): void {
  rnnForward(Hp, H, hx, rec, h, outRow, false);
}

/** da_t from dh_t and h_t (in `hx`, as mrnnHidden left it); da_t overwrites `hx`. */
export function mrnnHiddenBackward(Hp: i32, hx: usize, dh: usize): void {
  rnnBackward(Hp, hx, dh, false);
}

/** dfx = df ⊙ fh over `fx` and dfh = df ⊙ fx over `fh`, from df (W_hfᵀ da_t). */
export function mrnnFactorsBackward(Fp: i32, fx: usize, fh: usize, df: usize): void {
  for (let j = 0; j < Fp; j += 4) {
    const x = v128.load(at(fx, j)), h = v128.load(at(fh, j)), d = v128.load(at(df, j));
    v128.store(at(fx, j), f32x4.mul(d, h));
    v128.store(at(fh, j), f32x4.mul(d, x));
  }
}

/** Forward mode: R{f} = R{fx} ⊙ fh + fx ⊙ R{fh}, over `rfh`. */
export function mrnnFactorsTangent(Fp: i32, fx: usize, fh: usize, rfx: usize, rfh: usize): void {
  for (let j = 0; j < Fp; j += 4) {
    const a = f32x4.mul(v128.load(at(rfx, j)), v128.load(at(fh, j)));
    v128.store(at(rfh, j), f32x4.add(a, f32x4.mul(v128.load(at(fx, j)), v128.load(at(rfh, j)))));
  }
}

/** Forward mode: R{h_t} = (1 - h_t²) ⊙ (`rx` + `rh`), h_t in `h`; to `rState` and `rOut`. */
export function mrnnHiddenTangent(Hp: i32, H: i32, h: usize, rx: usize, rh: usize, rState: usize, rOut: usize): void {
  rnnTangent(Hp, H, h, rx, rh, rState, rOut, false, 0);
}
