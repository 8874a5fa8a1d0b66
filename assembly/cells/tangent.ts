// Forward mode (the R-operator, Pearlmutter 1994) of one layer and direction over a whole
// sequence, one Wasm call: the directional derivative R{h_t} of every step's output along a
// direction V of the parameters and a tangent R{x} of the input, after a training forward whose
// caches (activated gates, c_t, ghn_t, fh_t, f_t) it reads. The cells' tangent equations are in
// rnn.ts, lstm.ts, gru.ts and mrnn.ts, beside their forward and backward.
//
//   1. RX[T*B] = X V_ihᵀ + V_bih + R{X} W_ihᵀ            two GEMMs over all steps
//   2. RH[T*B] = H_prev V_hhᵀ + V_bhh                    one GEMM (MRNN: [H_prev V_fhᵀ | F V_hfᵀ])
//   3. per step: RH_t += R{h_{t-1}} W_hhᵀ (MRNN: W_fh, then W_hf R{f_t}), then the cell's tangent.
// A Gauss-Newton product is this pass, the loss's Hessian on the output tangents, then the
// ordinary backward (src/train/gauss-newton.ts). Supported: Elman RNN, LSTM without peepholes or
// projection, reset-after GRU, MRNN. Rows past their length keep R{h} and output zeros.
import { gemm } from "../gemm/dispatch";
import { cPrevRow, field, gateWidth, hPrevRow, lengthOf, ptr } from "./access";
import { at, round8, zero } from "./common";
import { Field, Kind } from "./descriptor";
import { fillHPrev } from "./gradients";
import { gruTangent } from "./gru";
import { lstmTangent } from "./lstm";
import { mrnnFactorsTangent, mrnnHiddenTangent } from "./mrnn";
import { rnnTangent } from "./rnn";

/** The forward-mode pass of the layer and direction described by `desc` (see above). */
export function recurrentTangent(desc: usize): void {
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B), I = field(desc, Field.I);
  const H = field(desc, Field.H), P = field(desc, Field.P), F = field(desc, Field.F);
  const Hp = round8(H), Ps = round8(P), Fp = round8(F);
  const width = gateWidth(desc), TB = T * B;
  const x = ptr(desc, Field.X), ldx = field(desc, Field.Ldx);
  const rx = ptr(desc, Field.RX), rh = ptr(desc, Field.RH), rdx = ptr(desc, Field.RdX);
  const hPrev = ptr(desc, Field.HPrev);
  gemm(TB, width, I, x, ldx, ptr(desc, Field.VWih), rx, width, false);
  if (rdx != 0) gemm(TB, width, I, rdx, ldx, ptr(desc, Field.Wih0), rx, width, true);
  fillHPrev(desc);
  if (kind == Kind.Mrnn) {
    gemm(TB, Fp, P, hPrev, Ps, ptr(desc, Field.VWhh), rh, width, false);
    gemm(TB, Hp, F, ptr(desc, Field.FSeq), Fp, ptr(desc, Field.VWhf), at(rh, Fp), width, false);
  } else {
    gemm(TB, width, P, hPrev, Ps, ptr(desc, Field.VWhh), rh, width, false);
  }
  const gates = ptr(desc, Field.Gates), cSeq = ptr(desc, Field.CSeq), aux = ptr(desc, Field.Aux), fhSeq = ptr(desc, Field.FhSeq);
  const rOut = ptr(desc, Field.ROut), ldo = field(desc, Field.Ldo);
  const rState = ptr(desc, Field.RState), rc = ptr(desc, Field.RC);
  const reverse = field(desc, Field.Reverse) != 0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const stepRh = at(rh, t * B * width);
    if (kind == Kind.Mrnn) {
      gemm(B, Fp, H, rState, Ps, ptr(desc, Field.Whh), stepRh, width, true);
      for (let b = 0; b < B; b++) {
        const row = (t * B + b) * width;
        mrnnFactorsTangent(Fp, at(gates, row), at(fhSeq, (t * B + b) * Fp), at(rx, row), at(stepRh, b * width));
      }
      gemm(B, Hp, F, stepRh, width, ptr(desc, Field.Whf), at(stepRh, Fp), width, true);
    } else {
      gemm(B, width, P, rState, Ps, ptr(desc, Field.Whh0), stepRh, width, true);
    }
    for (let b = 0; b < B; b++) {
      const outRow = at(rOut, (t * B + b) * ldo);
      if (t >= lengthOf(desc, b)) {
        zero(outRow, P);
        continue;
      }
      const row = (t * B + b) * width;
      const g = at(gates, row), rxRow = at(rx, row), rhRow = at(rh, row), rs = at(rState, b * Ps);
      if (kind == Kind.Mrnn) {
        mrnnHiddenTangent(Hp, H, at(g, Fp), at(rxRow, Fp), at(rhRow, Fp), rs, outRow);
      } else if (kind == Kind.Lstm) {
        lstmTangent(Hp, H, g, rxRow, rhRow, cPrevRow(desc, t, b), at(cSeq, (t * B + b) * Hp), at(rc, b * Hp), rs, outRow);
      } else if (kind == Kind.Gru) {
        gruTangent(Hp, H, P, g, rxRow, rhRow, hPrevRow(desc, t, b), at(aux, (t * B + b) * Hp), rs, outRow);
      } else {
        rnnTangent(Hp, H, g, rxRow, rhRow, rs, outRow, kind == Kind.RnnRelu);
      }
    }
  }
}
