// The attention decoder's output layer (assembly/cells/attention.ts runs it after its loop), over
// all T*B step rows at once; F = E + D + H, feat_t = [E y_{t-1}; z_t; h_t]:
//
//   forward   logits_t = W_out feat_t + b_out
//             deep (Xu et al. eq. 7, with the tanh of the authors' code):
//             d_t = tanh(E y_{t-1} + L_z z_t + L_h h_t + b_d),  logits_t = W_out d_t + b_out
//   backward  dfeat_t = W_outᵀ dlogits_t,  dW_out += Σ_t dlogits_t feat_tᵀ,  db_out += Σ_t dlogits_t
//             deep: dd_t = (W_outᵀ dlogits_t) ⊙ (1 - d_t²),  dfeat_t = [dd_t; L_zᵀ dd_t; L_hᵀ dd_t],
//             dW_out += Σ_t dlogits_t d_tᵀ,  dL_z += Σ_t dd_t z_tᵀ,  dL_h += Σ_t dd_t h_tᵀ,  db_d += Σ_t dd_t
import { gemm, gemmTN } from "../gemm/dispatch";
import { packB } from "../gemm/pack";
import { Field, FLAG_DEEP, field, ptr } from "./attention-desc";
import { addColumns, at, axpy } from "./common";

/** The logits of every step (Logits [T*B][V]) from Feat, after the decoder's loop. */
export function outputForward(desc: usize): void {
  const TB = field(desc, Field.T) * field(desc, Field.B), V = field(desc, Field.V);
  const D = field(desc, Field.D), E = field(desc, Field.E), H = field(desc, Field.H);
  const X = E + D, F = E + D + H, feat = ptr(desc, Field.Feat);
  if ((field(desc, Field.Flags) & FLAG_DEEP) == 0) return gemm(TB, V, F, feat, F, ptr(desc, Field.PWout), ptr(desc, Field.Logits), V, false);
  // d_t = tanh(E y + L_z z + b_d + L_h h), then the logits from d_t.
  const deep = ptr(desc, Field.Deep);
  gemm(TB, E, D, at(feat, E), F, ptr(desc, Field.PLz), deep, E, false);
  gemm(TB, E, H, at(feat, X), F, ptr(desc, Field.PLh), deep, E, true);
  for (let r = 0; r < TB; r++) axpy(1, at(feat, r * F), at(deep, r * E), E);
  // tanh x = 1 - 2 / (e^{2x} + 1) with the exp the softmax uses: no second inlined tanh in the binary.
  for (let j = 0; j < TB * E; j++) store<f32>(at(deep, j), 1 - 2 / (Mathf.exp(2 * load<f32>(at(deep, j))) + 1));
  gemm(TB, V, E, deep, E, ptr(desc, Field.PWout), ptr(desc, Field.Logits), V, false);
}

/**
 * The output layer's backward over every step at once: DFeat = [dE y; dz; dh] of every step from
 * DLogits, and the gradients of W_out, b_out (and of the deep layer's L_z, L_h, b_d).
 */
export function outputBackward(desc: usize): void {
  const TB = field(desc, Field.T) * field(desc, Field.B), V = field(desc, Field.V);
  const D = field(desc, Field.D), E = field(desc, Field.E), H = field(desc, Field.H), F = E + D + H;
  const feat = ptr(desc, Field.Feat), dfeat = ptr(desc, Field.DFeat), dlogits = ptr(desc, Field.DLogits);
  const pack = ptr(desc, Field.Pack);
  addColumns(dlogits, TB, V, V, ptr(desc, Field.Gbout));
  if ((field(desc, Field.Flags) & FLAG_DEEP) == 0) {
    gemm(TB, F, V, dlogits, V, ptr(desc, Field.RWout), dfeat, F, false);
    packB(feat, F, TB, F, 0, pack);
    gemmTN(V, F, TB, dlogits, V, pack, ptr(desc, Field.GWout), F, true);
    return;
  }
  // dd = (dlogits W_out) ⊙ (1 - d²); dfeat = [dd; dd L_z; dd L_h].
  const deep = ptr(desc, Field.Deep), dd = ptr(desc, Field.DDeep);
  gemm(TB, E, V, dlogits, V, ptr(desc, Field.RWout), dd, E, false);
  packB(deep, E, TB, E, 0, pack);
  gemmTN(V, E, TB, dlogits, V, pack, ptr(desc, Field.GWout), E, true);
  for (let r = 0; r < TB; r++) {
    for (let j = 0; j < E; j++) {
      const y = load<f32>(at(deep, r * E + j));
      const g = load<f32>(at(dd, r * E + j)) * (1 - y * y);
      store<f32>(at(dd, r * E + j), g);
      store<f32>(at(dfeat, r * F + j), g);
    }
  }
  gemm(TB, D, E, dd, E, ptr(desc, Field.RLz), at(dfeat, E), F, false);
  gemm(TB, H, E, dd, E, ptr(desc, Field.RLh), at(dfeat, E + D), F, false);
  addColumns(dd, TB, E, E, ptr(desc, Field.Gbd));
  packB(at(feat, E), F, TB, D, 0, pack);
  gemmTN(E, D, TB, dd, E, pack, ptr(desc, Field.GLz), D, true);
  packB(at(feat, E + D), F, TB, H, 0, pack);
  gemmTN(E, H, TB, dd, E, pack, ptr(desc, Field.GLh), H, true);
}
