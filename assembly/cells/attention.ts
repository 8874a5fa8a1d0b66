// Soft attention decoder (Bahdanau et al. 2015; Xu et al. 2015, "Show, Attend and Tell"): a GRU
// (gru.ts, reset after) or an LSTM (lstm.ts, FLAG_LSTM) that at every output step looks at L
// annotation vectors a_1..a_L (D each)
// of its batch row. Notation of test/reference/attention64.ts, the float64 reference the tests check
// this file against:
//
//   forward, once per sequence
//   k_i = W_a a_i + b_a                                  keys [B][L][A]: one GEMM over all B*L rows
//   forward, step t = 0 .. T-1 (h_{-1} = h0, y_{-1} the start token given by the caller)
//   q_t = U_a h_{t-1}                                     one GEMM over the batch
//   s_ti = tanh(k_i + q_t),  e_ti = v·s_ti               additive score
//   α_t = softmax over the unmasked i of e_t              masked i get α_ti = 0
//   z_t = Σ_i α_ti a_i                                    context
//   x_t = [E y_{t-1}; z_t]                                embedding and context feed the GRU
//   h_t = GRU(x_t, h_{t-1})                               gru.ts's equations
//   (h_t, c_t) = LSTM(x_t, h_{t-1}, c_{t-1})              with FLAG_LSTM: lstm.ts's (no peepholes)
//   logits_t from [E y_{t-1}; z_t; h_t]                   after the loop: attention-output.ts
//
//   optional doubly stochastic regulariser (Xu et al. 4.2.1), per row, over the counted steps
//   (StepMask: the steps with a target; 0 = all): R = λ' Σ_i (1 - Σ_{t counted} α_ti)²
//
//   backward, given dlogits (all steps)
//   dfeat = [dE y; dz; dh] of every step at once          attention-output.ts
//   step t = T-1 .. 0:
//     dh_t = dfeat_h + (what step t+1 sent back)
//     GRU backward (gru.ts): gate gradients, dh_{t-1} = dh_t ⊙ z + W_hhᵀ dgh, dx_t = W_ihᵀ da
//     (LSTM backward, lstm.ts: da_t and dc_{t-1} from dh_t and dc_t, dh_{t-1} = W_hhᵀ da_t)
//     dz_t = dfeat_z + dx_t's context part
//     dα_ti = dz_t·a_i - 2λ' (1 - Σ_t' α_t'i)              (the λ' term on counted steps only)
//     de_ti = α_ti (dα_ti - Σ_j α_tj dα_tj)                softmax adjoint (zero where masked)
//     da_i += α_ti dz_t,   dv += Σ_i de_ti s_ti
//     dp_ti = de_ti v ⊙ (1 - s_ti²),  dk_i += dp_ti,  dq_t = Σ_i dp_ti
//     dh_{t-1} += U_aᵀ dq_t
//   after the loop, as products over all steps: dW_out, dW_ih, dW_hh, dU_a = Σ_t dq_t h_{t-1}ᵀ,
//   dW_a = Σ_i dk_i a_iᵀ, db_a, da_i += W_aᵀ dk_i, dE rows, the biases (W_ih's embedding
//   columns, b_ih and dE through S[v] = Σ_{t,b: y = v} da_tb, V rows instead of T*B).
//
// Multiplicative scores (Luong et al. 2015), chosen by a Flags bit, replace the additive score;
// there is no v or s_ti, and A = H:
//   "general" with keys:     k_i = W_a a_i (no bias),  e_ti = k_i·h_{t-1}
//     backward: dk_i += de_ti h_{t-1},  dh_{t-1} += Σ_i de_ti k_i,
//     after the loop dW_a = Σ_i dk_i a_iᵀ,  da_i += W_aᵀ dk_i
//   "general" with queries (FLAG_QUERY): q_t = W_aᵀ h_{t-1} (with W_hh's product),  e_ti = a_i·q_t
//     backward: dq_t = Σ_i de_ti a_i,  da_i += de_ti q_t,  dh_{t-1} += W_a dq_t,
//     after the loop dW_a = Σ_t h_{t-1} dq_tᵀ
//   "dot" (D = H):           e_ti = a_i·h_{t-1}
//     backward: dh_{t-1} += Σ_i de_ti a_i,  da_i += de_ti h_{t-1}
//
// The attention width A is padded to Ap (whole groups of 8): the padding columns of the keys, the
// queries and v are zero, so they add nothing. Row r of the decoder reads annotation row r / K
// (K > 1: beam search, K hypotheses of one source share its annotations and keys).
// TypeScript writes the descriptor (attention-desc.ts) and owns every buffer.
import { tanhFast4 as tanh4 } from "../activations";
import { gemmDirect } from "../gemm/direct";
import { gemm, gemmTN } from "../gemm/dispatch";
import { packB, packBT } from "../gemm/pack";
import { madd } from "../simd";
import { Field, FLAG_CTXTAB, FLAG_DEEP, FLAG_DOT, FLAG_GENERAL, FLAG_KEYS, FLAG_LSTM, field, gateBlocks, multiplicative, ptr, rowAt, scoresQueries } from "./attention-desc";
import { outputBackward, outputForward } from "./attention-output";
import { addColumns, at, axpy, dot, load4, round8, zero } from "./common";
import { gruBackward, gruForward } from "./gru";
import { lstmBackward, lstmForward } from "./lstm";
import { packGateRows, packGates, unpackGateRowsAdd } from "./layout";

/**
 * Packs every weight for the forward (B = Wᵀ with its bias row; the GRU's gate-interleaved) and
 * for the backward (B = W, K-rows gate-interleaved for W_ih and W_hh), and v padded to Ap.
 * Run after every parameter change.
 */
export function attentionPack(desc: usize): void {
  const D = field(desc, Field.D), A = field(desc, Field.A), E = field(desc, Field.E);
  const H = field(desc, Field.H), V = field(desc, Field.V);
  const X = E + D, nG = gateBlocks(desc), flags = field(desc, Field.Flags);
  // The output layer reads [E y; z; h] (F wide), or the deep layer's d_t (E wide).
  const Fo = (flags & FLAG_DEEP) != 0 ? E : E + D + H;
  if ((flags & FLAG_DOT) == 0) {
    packBT(ptr(desc, Field.Wa), D, D, A, ptr(desc, Field.Ba), ptr(desc, Field.PWa));
    // B = W_a: dannot += dK W_a, and for "general" also the queries W_aᵀ h_{t-1} (FLAG_QUERY):
    // TypeScript then points RWa at the head of PUa, before W_hh's panels.
    packB(ptr(desc, Field.Wa), D, A, D, 0, ptr(desc, Field.RWa));
  }
  packGates(ptr(desc, Field.Whh), H, H, H, nG, ptr(desc, Field.Bhh), ptr(desc, Field.PWhh));
  packBT(ptr(desc, Field.Wout), Fo, Fo, V, ptr(desc, Field.Bout), ptr(desc, Field.PWout));
  // W_ih's embedding columns act on one of V rows: W_ih,E E[v] + b_ih is a table [V][G] made
  // here, and each step multiplies only the context columns (PWih).
  packGates(at(ptr(desc, Field.Wih), E), X, D, H, nG, 0, ptr(desc, Field.PWih));
  packGates(ptr(desc, Field.Wih), X, E, H, nG, ptr(desc, Field.Bih), ptr(desc, Field.PWihE));
  gemm(V, nG * round8(H), E, ptr(desc, Field.Emb), E, ptr(desc, Field.PWihE), ptr(desc, Field.TokTab), nG * round8(H), false);
  packGateRows(at(ptr(desc, Field.Wih), E), X, D, H, nG, ptr(desc, Field.RWih)); // context columns
  packGateRows(ptr(desc, Field.Wih), X, E, H, nG, ptr(desc, Field.RWihE)); // embedding columns
  packGateRows(ptr(desc, Field.Whh), H, H, H, nG, ptr(desc, Field.RWhh));
  packB(ptr(desc, Field.Wout), Fo, V, Fo, 0, ptr(desc, Field.RWout));
  if ((flags & FLAG_DEEP) != 0) {
    packBT(ptr(desc, Field.Lz), D, D, E, ptr(desc, Field.Bd), ptr(desc, Field.PLz));
    packBT(ptr(desc, Field.Lh), H, H, E, 0, ptr(desc, Field.PLh));
    packB(ptr(desc, Field.Lz), D, E, D, 0, ptr(desc, Field.RLz));
    packB(ptr(desc, Field.Lh), H, E, H, 0, ptr(desc, Field.RLh));
  }
  if (multiplicative(desc)) return;
  packBT(ptr(desc, Field.Ua), H, H, A, 0, ptr(desc, Field.PUa));
  packB(ptr(desc, Field.Ua), H, A, H, 0, ptr(desc, Field.RUa));
  const vPad = ptr(desc, Field.VPad);
  zero(vPad, round8(A));
  memory.copy(vPad, ptr(desc, Field.V_), <usize>A << 2);
}

// ---------------------------------------------------------------------------------------------
// Forward

/**
 * The decoder over T steps from the state in HState (h0, which it also copies to H0 for the
 * backward; the LSTM's c0 in CState, copied to C0): keys (with FLAG_KEYS), then per step the
 * scores, the masked softmax, the context and the cell's step, then the logits of every step.
 * HState (and CState) end as the state after step T-1.
 */
export function attentionForward(desc: usize): void {
  const B = field(desc, Field.B), T = field(desc, Field.T), L = field(desc, Field.L);
  const D = field(desc, Field.D), A = field(desc, Field.A), E = field(desc, Field.E);
  const H = field(desc, Field.H), V = field(desc, Field.V), K = field(desc, Field.K);
  const Ap = round8(A), Hp = round8(H), X = E + D, F = E + D + H, G = gateBlocks(desc) * Hp;
  const annot = ptr(desc, Field.Annot), keys = ptr(desc, Field.Keys);
  const feat = ptr(desc, Field.Feat), hState = ptr(desc, Field.HState);
  const flags = field(desc, Field.Flags), mult = multiplicative(desc);
  const ctxTab = (flags & FLAG_CTXTAB) != 0 ? ptr(desc, Field.CtxTab) : 0;
  const queries = scoresQueries(desc), general = (flags & FLAG_GENERAL) != 0;
  if ((flags & FLAG_KEYS) != 0) {
    if (!queries) gemm((B / K) * L, Ap, D, annot, D, ptr(desc, Field.PWa), keys, Ap, false);
    if (ctxTab != 0) {
      gemm((B / K) * L, G, D, annot, D, ptr(desc, Field.PWih), ctxTab, G, false);
      // Masked annotations get α = 0; zero rows keep whatever they hold (even NaN) out of the sums.
      const mask = ptr(desc, Field.Mask);
      for (let r = 0; mask != 0 && r < (B / K) * L; r++) if (load<f32>(at(mask, r)) == 0) zero(at(ctxTab, r * G), G);
    }
  }
  memory.copy(ptr(desc, Field.H0), hState, <usize>(B * Hp) << 2);
  const lstm = (flags & FLAG_LSTM) != 0, cState = ptr(desc, Field.CState), cSeq = ptr(desc, Field.CSeq);
  if (lstm) memory.copy(ptr(desc, Field.C0), cState, <usize>(B * Hp) << 2);
  // U_a's panels (W_a's for "general") and W_hh's follow each other in memory (TypeScript packs
  // them so): one product gives both [U_a h_{t-1} | W_hh h_{t-1} + b_hh] per row, QW floats wide.
  // Other multiplicative scores have no query product (Aq = 0): the product is W_hh's alone.
  const Dp = round8(D), qSeq = ptr(desc, Field.QSeq);
  const Aq = !mult ? Ap : queries && general ? Dp : 0, QW = Aq + G, q = ptr(desc, Field.Q);
  const panels = Aq != 0 ? ptr(desc, Field.PUa) : ptr(desc, Field.PWhh);
  // Beam rows that continue the same hypothesis hold the same state: with a RowMap (decoding,
  // T = 1; row b's state is distinct state RowMap[b], whose first row is Uniq[u], u <= b) the
  // products and the attention run once per distinct state, U rows, then feed every row. Alpha
  // holds the U states' weights (the caller copies them to the rows).
  const map = ptr(desc, Field.RowMap), uniq = ptr(desc, Field.Uniq), zu = ptr(desc, Field.ZU), gz = ptr(desc, Field.GZ);
  const R = map != 0 ? field(desc, Field.U) : B, hRows = map != 0 ? ptr(desc, Field.HU) : hState;
  for (let t = 0; t < T; t++) {
    for (let u = 0; map != 0 && u < R; u++) memory.copy(at(hRows, u * Hp), at(hState, rowAt(uniq, u) * Hp), <usize>Hp << 2);
    gemm(R, QW, H, hRows, Hp, panels, q, QW, false);
    const featT = at(feat, t * B * F), gatesT = at(ptr(desc, Field.Gates), t * B * G);
    for (let u = 0; u < R; u++) {
      const b = map != 0 ? rowAt(uniq, u) : u;
      let query = at(q, u * QW);
      if (mult && Aq == 0) query = at(hRows, u * Hp);
      else if (mult) {
        // Training only (no RowMap): the backward reads q_t again.
        query = at(qSeq, (t * B + u) * Dp);
        memory.copy(query, at(q, u * QW), <usize>Dp << 2);
      }
      attend(desc, t, u, b / K, query, map != 0 ? at(zu, u * D) : at(featT, b * F + E));
    }
    // The context's gate inputs of each distinct state, GZ [R][G] (without a table or sharing: the
    // product over the rows' z_t below, added to the token table's rows).
    const alphaT = at(ptr(desc, Field.Alpha), t * B * L);
    if (ctxTab != 0) {
      // One product per source over its (consecutive) distinct states: α [rows][L] times its table.
      for (let u0 = 0; u0 < R; ) {
        const src = (map != 0 ? rowAt(uniq, u0) : u0) / K;
        let u1 = u0 + 1;
        while (u1 < R && (map != 0 ? rowAt(uniq, u1) : u1) / K == src) u1++;
        gemmDirect(u1 - u0, G, L, at(alphaT, u0 * L), L, at(ctxTab, src * L * G), G, at(gz, u0 * G), G, false);
        u0 = u1;
      }
    } else if (map != 0) gemm(R, G, D, zu, D, ptr(desc, Field.PWih), gz, G, false);
    const viaGz = map != 0 || ctxTab != 0;
    for (let b = 0; b < B; b++) {
      const tok = rowAt(ptr(desc, Field.Tokens), t * B + b);
      const g = at(gatesT, b * G), tab = at(ptr(desc, Field.TokTab), tok * G);
      memory.copy(at(featT, b * F), at(ptr(desc, Field.Emb), tok * E), <usize>E << 2);
      if (!viaGz) {
        memory.copy(g, tab, <usize>G << 2);
        continue;
      }
      const u = map != 0 ? rowAt(map, b) : b;
      if (map != 0) memory.copy(at(featT, b * F + E), at(zu, u * D), <usize>D << 2);
      for (let j = 0; j < G; j += 4) v128.store(at(g, j), f32x4.add(v128.load(at(tab, j)), v128.load(at(gz, u * G + j))));
    }
    if (!viaGz) gemm(B, G, D, at(featT, E), F, ptr(desc, Field.PWih), gatesT, G, true);
    for (let b = 0; b < B; b++) {
      const rec = at(q, (map != 0 ? rowAt(map, b) : b) * QW + Aq);
      if (lstm) lstmForward(Hp, H, at(gatesT, b * G), rec, at(cState, b * Hp), 0, at(cSeq, (t * B + b) * Hp), 0, at(hState, b * Hp), at(featT, b * F + X));
      else gruForward(Hp, H, at(gatesT, b * G), rec, at(hState, b * Hp), at(ptr(desc, Field.Ghn), (t * B + b) * Hp), at(featT, b * F + X));
    }
  }
  outputForward(desc);
}

// Scores, masked softmax and context of row b at step t (q: the row's U_a h_{t-1}; for
// multiplicative scores q_t, or h_{t-1} against the keys); writes s_ti to Th (additive), α_t to
// Alpha and z_t to `z`.
function attend(desc: usize, t: i32, b: i32, src: i32, q: usize, z: usize): void {
  const B = field(desc, Field.B), L = field(desc, Field.L), D = field(desc, Field.D);
  const Ap = round8(field(desc, Field.A));
  const mask = ptr(desc, Field.Mask), vPad = ptr(desc, Field.VPad);
  const alpha = at(ptr(desc, Field.Alpha), (t * B + b) * L);
  const th = at(ptr(desc, Field.Th), (t * B + b) * L * Ap);
  const mult = multiplicative(desc), queries = scoresQueries(desc), annot = ptr(desc, Field.Annot);
  // What q is scored against: the annotations (D wide) or the keys (H wide, padded to Ap).
  const against = queries ? annot : ptr(desc, Field.Keys), width = queries ? D : field(desc, Field.H), stride = queries ? D : Ap;
  let m: f32 = -Infinity;
  for (let i = 0; i < L; i++) {
    if (mask != 0 && load<f32>(at(mask, src * L + i)) == 0) {
      store<f32>(at(alpha, i), -Infinity);
      continue;
    }
    const k = at(against, (src * L + i) * stride), s = at(th, i * Ap);
    if (mult) {
      const e = dot(k, q, width);
      store<f32>(at(alpha, i), e);
      if (e > m) m = e;
      continue;
    }
    let acc = f32x4.splat(0);
    for (let j = 0; j < Ap; j += 4) {
      const y = tanh4(f32x4.add(v128.load(at(k, j)), v128.load(at(q, j))));
      v128.store(at(s, j), y);
      acc = madd(y, v128.load(at(vPad, j)), acc);
    }
    const e = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
    store<f32>(at(alpha, i), e);
    if (e > m) m = e;
  }
  let sum: f32 = 0;
  for (let i = 0; i < L; i++) {
    const e = load<f32>(at(alpha, i));
    const w = e == -Infinity ? <f32>0 : Mathf.exp(e - m);
    store<f32>(at(alpha, i), w);
    sum += w;
  }
  const inv: f32 = 1 / sum;
  zero(z, D);
  for (let i = 0; i < L; i++) {
    const w = load<f32>(at(alpha, i)) * inv;
    store<f32>(at(alpha, i), w);
    if (w != 0) axpy(w, at(annot, (src * L + i) * D), z, D);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

/**
 * Backpropagation through the last forward (K = 1), given DLogits [T*B][V]: adds every
 * parameter's gradient to its G* region and, when DAnnot != 0, the annotations' gradient to
 * DAnnot; Dh ends as dh0 (and DC as dc0). Lambda (f32) scales the doubly stochastic term (0:
 * none); with it, Cover holds each row's Σ_t α_ti over the counted steps (StepMask).
 */
export function attentionBackward(desc: usize): void {
  const B = field(desc, Field.B), T = field(desc, Field.T), L = field(desc, Field.L);
  const D = field(desc, Field.D), A = field(desc, Field.A), E = field(desc, Field.E);
  const H = field(desc, Field.H), nG = gateBlocks(desc);
  const Ap = round8(A), Hp = round8(H), X = E + D, F = E + D + H, G = nG * Hp, TB = T * B;
  const feat = ptr(desc, Field.Feat), dfeat = ptr(desc, Field.DFeat);
  const pack = ptr(desc, Field.Pack), tmp = ptr(desc, Field.Tmp);
  const flags = field(desc, Field.Flags), mult = multiplicative(desc), lstm = (flags & FLAG_LSTM) != 0;
  const queries = scoresQueries(desc), general = (flags & FLAG_GENERAL) != 0;
  // dq_t's width: A (padded) for the additive score and against the keys, D against the annotations.
  const Dp = round8(D), Qp = queries ? Dp : Ap, qSeq = ptr(desc, Field.QSeq);
  outputBackward(desc);
  // Cover holds Σ_t α_ti over the counted steps (the caller sums it), for the doubly stochastic term.
  const stepMask = ptr(desc, Field.StepMask), lambda = reinterpret<f32>(field(desc, Field.Lambda));

  const dh = ptr(desc, Field.Dh), dkeys = ptr(desc, Field.DKeys), gates = ptr(desc, Field.Gates);
  const dGh = ptr(desc, Field.DGh), dq = ptr(desc, Field.DQ), rec = ptr(desc, Field.Rec);
  const dc = ptr(desc, Field.DC), cSeq = ptr(desc, Field.CSeq), dannot = ptr(desc, Field.DAnnot);
  zero(dh, B * Hp);
  if (lstm) zero(dc, B * Hp);
  if (!queries) zero(dkeys, B * L * Ap);
  for (let t = T - 1; t >= 0; t--) {
    const featT = at(feat, t * B * F), dfeatT = at(dfeat, t * B * F);
    const gatesT = at(gates, t * B * G), dGhT = at(dGh, t * B * G);
    for (let b = 0; b < B; b++) {
      // rec's rows take the total dh_t; dh receives dh_t ⊙ z (GRU), then the products' terms.
      const dht = at(rec, b * Hp), dfh = at(dfeatT, b * F + X);
      for (let u = 0; u < Hp; u += 4) v128.store(at(dht, u), f32x4.add(v128.load(at(dh, b * Hp + u)), load4(dfh, u, H)));
      if (lstm) {
        const cPrev = t == 0 ? at(ptr(desc, Field.C0), b * Hp) : at(cSeq, ((t - 1) * B + b) * Hp);
        lstmBackward(Hp, at(gatesT, b * G), dht, at(dc, b * Hp), cPrev, at(cSeq, (t * B + b) * Hp), 0, 0, 0);
        continue;
      }
      const hPrev = t == 0 ? at(ptr(desc, Field.H0), b * Hp) : at(feat, ((t - 1) * B + b) * F + X);
      gruBackward(Hp, H, at(gatesT, b * G), at(dGhT, b * G), dht, hPrev, at(ptr(desc, Field.Ghn), (t * B + b) * Hp), at(dh, b * Hp));
    }
    // dh_{t-1} = W_hhᵀ da_t (LSTM: the gates' gradients are the recurrent side's too).
    if (lstm) gemm(B, H, G, gatesT, G, ptr(desc, Field.RWhh), dh, Hp, false);
    else gemm(B, H, G, dGhT, G, ptr(desc, Field.RWhh), dh, Hp, true);
    gemm(B, D, G, gatesT, G, ptr(desc, Field.RWih), at(dfeatT, E), F, true); // the loop needs dz_t only
    const dqT = at(dq, t * B * Qp);
    for (let b = 0; b < B; b++) {
      // What the scores multiplied: h_{t-1}, or the query q_t of "general" against the annotations.
      let q = t == 0 ? at(ptr(desc, Field.H0), b * Hp) : at(feat, ((t - 1) * B + b) * F + X);
      if (queries && general) q = at(qSeq, (t * B + b) * Dp);
      const counted = lambda != 0 && (stepMask == 0 || load<f32>(at(stepMask, t * B + b)) != 0);
      attendBackward(desc, t, b, at(dfeatT, b * F + E), at(dqT, b * Qp), dannot, q, counted ? lambda : 0);
    }
    // dh_{t-1} += U_aᵀ dq_t (additive), W_a dq_t ("general" with queries), or dq_t itself.
    if (!mult) gemm(B, H, A, dqT, Ap, ptr(desc, Field.RUa), dh, Hp, true);
    else if (queries && general) gemm(B, H, D, dqT, Dp, ptr(desc, Field.PWa), dh, Hp, true);
    else for (let b = 0; b < B; b++) axpy(1, at(dqT, b * Qp), at(dh, b * Hp), H);
  }

  // H_prev rows [T*B][Hp]: h0, then h_t of every step but the last.
  const hPrev = ptr(desc, Field.HPrev);
  memory.copy(hPrev, ptr(desc, Field.H0), <usize>(B * Hp) << 2);
  for (let r = B; r < TB; r++) {
    const dst = at(hPrev, r * Hp), src = at(feat, (r - B) * F + X);
    for (let u = 0; u < Hp; u += 4) v128.store(at(dst, u), load4(src, u, H));
  }
  // The cell's weights: dW_ih += dAᵀ X, dW_hh += dGhᵀ H_prev (LSTM: dAᵀ H_prev), biases as column sums.
  // W_ih's embedding columns (and b_ih) see one of V inputs: the steps' dA summed by token first,
  // S[v] = Σ_{y_r = v} dA_r (after Tmp's G x max(X, H) floats), makes dW_ih,E = Sᵀ E, db_ih and
  // dE = S W_ih,E products over V rows instead of T*B.
  const dRec = lstm ? gates : dGh, V = field(desc, Field.V), tokens = ptr(desc, Field.Tokens);
  const byTok = at(tmp, G * (X > H ? X : H)), gWih = ptr(desc, Field.GWih), emb = ptr(desc, Field.Emb);
  zero(byTok, V * G);
  for (let r = 0; r < TB; r++) axpy(1, at(gates, r * G), at(byTok, rowAt(tokens, r) * G), G);
  packB(at(feat, E), F, TB, D, 0, pack);
  gemmTN(G, D, TB, gates, G, pack, tmp, D, false);
  unpackGateRowsAdd(tmp, D, D, H, nG, at(gWih, E), X);
  packB(emb, E, V, E, 0, pack);
  gemmTN(G, E, V, byTok, G, pack, tmp, E, false);
  unpackGateRowsAdd(tmp, E, E, H, nG, gWih, X);
  packB(hPrev, Hp, TB, H, 0, pack);
  gemmTN(G, H, TB, dRec, G, pack, tmp, H, false);
  unpackGateRowsAdd(tmp, H, H, H, nG, ptr(desc, Field.GWhh), H);
  zero(tmp, G);
  addColumns(byTok, V, G, G, tmp);
  unpackGateRowsAdd(tmp, 1, 1, H, nG, ptr(desc, Field.Gbih), 1);
  if (!lstm) {
    zero(tmp, G);
    addColumns(dGh, TB, G, G, tmp);
  }
  unpackGateRowsAdd(tmp, 1, 1, H, nG, ptr(desc, Field.Gbhh), 1);
  // dU_a += dQᵀ H_prev (H_prev still packed).
  if (!mult) gemmTN(A, H, TB, dq, Ap, pack, ptr(desc, Field.GUa), H, true);
  // Embedding rows: the output layer's dE y of every step row by row, then W_ih's part, S W_ih,E.
  const gEmb = ptr(desc, Field.GEmb);
  for (let r = 0; r < TB; r++) axpy(1, at(dfeat, r * F), at(gEmb, rowAt(tokens, r) * E), E);
  gemm(V, E, G, byTok, G, ptr(desc, Field.RWihE), gEmb, E, true);
  if (queries) {
    // "general": dW_a += Σ_t h_{t-1} dq_tᵀ (the annotations' gradient is complete already).
    if (general) {
      packB(dq, Dp, TB, D, 0, pack);
      gemmTN(A, D, TB, hPrev, Hp, pack, ptr(desc, Field.GWa), D, true);
    }
    return;
  }
  // Keys: dW_a += dKᵀ annot, db_a, dannot += dK W_a.
  packB(ptr(desc, Field.Annot), D, B * L, D, 0, pack);
  gemmTN(A, D, B * L, dkeys, Ap, pack, ptr(desc, Field.GWa), D, true);
  if (!mult) addColumns(dkeys, B * L, A, Ap, ptr(desc, Field.Gba));
  if (dannot != 0) gemm(B * L, D, A, dkeys, Ap, ptr(desc, Field.RWa), dannot, D, true);
}

// The attention's adjoint for row b at step t: dz (the row's context gradient) to the scores,
// the keys (DKeys), v (Gv), the annotations (dannot, 0: none) and dq (the row's dq_t; for
// multiplicative scores Σ_i de_ti times what q was scored against: k_i, or a_i). q: what the
// scores multiplied the keys or annotations with (h_{t-1}, or "general"'s q_t). lambda: the
// doubly stochastic term's λ' if this step counts, else 0.
function attendBackward(desc: usize, t: i32, b: i32, dz: usize, dq: usize, dannot: usize, q: usize, lambda: f32): void {
  const B = field(desc, Field.B), L = field(desc, Field.L), D = field(desc, Field.D);
  const Ap = round8(field(desc, Field.A));
  const alpha = at(ptr(desc, Field.Alpha), (t * B + b) * L);
  const th = at(ptr(desc, Field.Th), (t * B + b) * L * Ap);
  const annot = ptr(desc, Field.Annot), cover = ptr(desc, Field.Cover);
  const da = ptr(desc, Field.Rec) + (<usize>(B * round8(field(desc, Field.H))) << 2); // L floats of scratch past dh_t's rows
  let s: f32 = 0;
  for (let i = 0; i < L; i++) {
    const w = load<f32>(at(alpha, i));
    let g: f32 = 0;
    if (w != 0) {
      g = dot(dz, at(annot, (b * L + i) * D), D);
      if (lambda != 0) g -= 2 * lambda * (1 - load<f32>(at(cover, b * L + i)));
      if (dannot != 0) axpy(w, dz, at(dannot, (b * L + i) * D), D);
    }
    store<f32>(at(da, i), g);
    s += w * g;
  }
  const vPad = ptr(desc, Field.VPad), gv = ptr(desc, Field.Gv), dkeys = ptr(desc, Field.DKeys);
  const A = field(desc, Field.A), mult = multiplicative(desc), queries = scoresQueries(desc);
  // Multiplicative scores: e_ti = x_i·q with x the annotations (D wide) or the keys (H wide).
  const x = queries ? annot : ptr(desc, Field.Keys), dx = queries ? dannot : dkeys;
  const width = queries ? D : field(desc, Field.H), stride = queries ? D : Ap;
  zero(dq, queries ? round8(D) : Ap);
  for (let i = 0; i < L; i++) {
    const w = load<f32>(at(alpha, i));
    if (w == 0) continue;
    const de = w * (load<f32>(at(da, i)) - s);
    if (mult) {
      axpy(de, at(x, (b * L + i) * stride), dq, width);
      if (dx != 0) axpy(de, q, at(dx, (b * L + i) * stride), width);
      continue;
    }
    const s4 = at(th, i * Ap), dk = at(dkeys, (b * L + i) * Ap);
    const de4 = f32x4.splat(de);
    for (let j = 0; j < Ap; j += 4) {
      const y = v128.load(at(s4, j));
      const dp = f32x4.mul(f32x4.mul(de4, v128.load(at(vPad, j))), f32x4.sub(f32x4.splat(1), f32x4.mul(y, y)));
      v128.store(at(dk, j), f32x4.add(v128.load(at(dk, j)), dp));
      v128.store(at(dq, j), f32x4.add(v128.load(at(dq, j)), dp));
    }
    axpy(de, s4, gv, A);
  }
}
