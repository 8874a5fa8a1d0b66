// The attention decoder's descriptor (assembly/cells/attention.ts): the i32 fields TypeScript
// writes before each call (src/attention/layout.ts mirrors Field, in the same order), the Flags
// bits, and the accessors the decoder's files read them with.

import { field } from "./access";

// The descriptor's words are read as every descriptor's are (access.ts).
export { field, ptr } from "./access";

export enum Field {
  B, T, L, D, A, E, H, V, K, Flags,
  Annot, Mask, Tokens, Keys, Th, Alpha, Feat, Gates, Ghn, Rec, HState, H0, Logits, Q,
  Emb, VPad, PWa, PUa, PWih, PWhh, PWout, RWa, RUa, RWih, RWhh, RWout,
  DLogits, DFeat, DGh, Dh, DKeys, DQ, DAnnot, HPrev, Pack, Tmp, Cover, Lambda,
  GEmb, GWa, Gba, GUa, Gv, GWih, Gbih, GWhh, Gbhh, GWout, Gbout,
  Wa, Ba, Ua, V_, Wih, Bih, Whh, Bhh, Wout, Bout,
  CState, C0, CSeq, DC, StepMask, Deep, DDeep, Lz, Lh, Bd, PLz, PLh, RLz, RLh, GLz, GLh, Gbd,
  PWihE, TokTab, U, RowMap, Uniq, HU, ZU, GZ, RWihE, CtxTab, QSeq,
  Count,
}

/** Flags: compute the keys in this call (clear when decoding step by step over the same sources). */
export const FLAG_KEYS: i32 = 1;
/** Flags: Luong's "dot" score e_ti = a_i·h_{t-1}. */
export const FLAG_DOT: i32 = 2;
/** Flags: Luong's "general" score e_ti = (W_a a_i)·h_{t-1}. */
export const FLAG_GENERAL: i32 = 4;
/** Flags: an LSTM step (lstm.ts, gates i, f, g, o) instead of the GRU's. */
export const FLAG_LSTM: i32 = 8;
/** Flags: Xu et al.'s deep output layer. */
export const FLAG_DEEP: i32 = 16;
/**
 * Flags: the context's gate inputs as W_ih,z z_t = Σ_i α_ti (W_ih,z a_i), from a table of W_ih,z a_i
 * per annotation (CtxTab [sources][L][G], made with the keys). Decoding K rows per source for many
 * steps multiplies each source's L annotations once instead of every row's z_t at every step.
 */
export const FLAG_CTXTAB: i32 = 32;
/**
 * Flags: Luong's "general" score as e_ti = a_i·q_t with q_t = W_aᵀ h_{t-1} (QSeq keeps every step's
 * for the backward) instead of k_i·h_{t-1} with the keys k_i = W_a a_i. Per row, the queries cost
 * T products of D x H (and D-wide scores), the keys L of them (and H-wide scores), in the forward
 * and twice in the backward: TypeScript sets it for training forwards where the queries cost less
 * (T = 12, L = 16, D = 128, H = 256: ~28 MFLOP fewer per step of 32 rows). Decoding keeps the keys,
 * made once per source. "dot" always scores against the annotations (q_t = h_{t-1}, no keys).
 */
export const FLAG_QUERY: i32 = 64;

// Gate blocks of the decoder's cell.
// @ts-ignore: decorator
@inline
export function gateBlocks(desc: usize): i32 {
  return (field(desc, Field.Flags) & FLAG_LSTM) != 0 ? 4 : 3;
}

// @ts-ignore: decorator
@inline
export function multiplicative(desc: usize): bool {
  return (field(desc, Field.Flags) & (FLAG_DOT | FLAG_GENERAL)) != 0;
}

// Multiplicative scores against the annotations themselves (see FLAG_QUERY).
// @ts-ignore: decorator
@inline
export function scoresQueries(desc: usize): bool {
  return (field(desc, Field.Flags) & (FLAG_DOT | FLAG_QUERY)) != 0;
}

// i32 number `index` of the array at `base`.
// @ts-ignore: decorator
@inline
export function rowAt(base: usize, index: i32): i32 {
  return load<i32>(base + (<usize>index << 2));
}
