// The attention decoder's memory: its parameters (one block, PyTorch-style names) and the
// descriptor that tells assembly/cells/attention.ts where every buffer of a call is. Field
// mirrors the enum of assembly/cells/attention-desc.ts, in the same order.
import { carve } from "../memory.js";
import type { ParamSpec } from "../io/state-dict.js";

/** Descriptor fields, in assembly/cells/attention-desc.ts's order. */
export const Field = {
  B: 0, T: 1, L: 2, D: 3, A: 4, E: 5, H: 6, V: 7, K: 8, Flags: 9,
  Annot: 10, Mask: 11, Tokens: 12, Keys: 13, Th: 14, Alpha: 15, Feat: 16, Gates: 17, Ghn: 18, Rec: 19, HState: 20, H0: 21, Logits: 22, Q: 23,
  Emb: 24, VPad: 25, PWa: 26, PUa: 27, PWih: 28, PWhh: 29, PWout: 30, RWa: 31, RUa: 32, RWih: 33, RWhh: 34, RWout: 35,
  DLogits: 36, DFeat: 37, DGh: 38, Dh: 39, DKeys: 40, DQ: 41, DAnnot: 42, HPrev: 43, Pack: 44, Tmp: 45, Cover: 46, Lambda: 47,
  GEmb: 48, GWa: 49, Gba: 50, GUa: 51, Gv: 52, GWih: 53, Gbih: 54, GWhh: 55, Gbhh: 56, GWout: 57, Gbout: 58,
  Wa: 59, Ba: 60, Ua: 61, V_: 62, Wih: 63, Bih: 64, Whh: 65, Bhh: 66, Wout: 67, Bout: 68,
  CState: 69, C0: 70, CSeq: 71, DC: 72, StepMask: 73, Deep: 74, DDeep: 75, Lz: 76, Lh: 77, Bd: 78,
  PLz: 79, PLh: 80, RLz: 81, RLh: 82, GLz: 83, GLh: 84, Gbd: 85,
  PWihE: 86, TokTab: 87, U: 88, RowMap: 89, Uniq: 90, HU: 91, ZU: 92, GZ: 93, RWihE: 94, CtxTab: 95, QSeq: 96,
  Count: 97,
} as const;

/** Flags bit: compute the keys W_a a_i + b_a in this call. */
export const FLAG_KEYS = 1;
/** Flags bit: the context's gate inputs from the table W_ih,z a_i of each annotation (CtxTab), made with the keys. */
export const FLAG_CTXTAB = 32;
/** Flags bit: the "general" score as a_i·(W_aᵀ h_{t-1}) against the annotations instead of the keys (training forwards). */
export const FLAG_QUERY = 64;
/** How the decoder scores an annotation against its state: Bahdanau's additive form, or Luong et al.'s multiplicative "dot" and "general". */
export type AttentionScore = "additive" | "dot" | "general";

/** Flags bits of each score. */
export const SCORE_FLAGS: Record<AttentionScore, number> = { additive: 0, dot: 2, general: 4 };
/** The decoder's recurrent step: torch.nn.GRUCell's or torch.nn.LSTMCell's equations. */
export type AttentionCell = "gru" | "lstm";
/** The output layer: "shallow", logits from [E y_{t-1}; z_t; h_t]; "deep", Xu et al.'s deep output. */
export type AttentionOutput = "shallow" | "deep";
/** Flags bits of the cell and the output layer. */
export const FLAG_LSTM = 8;
export const FLAG_DEEP = 16;

/** The descriptor's Flags word of a decoder (FLAG_KEYS aside). */
export function modelFlags(d: Dims): number {
  return SCORE_FLAGS[d.score] | (d.cell === "lstm" ? FLAG_LSTM : 0) | (d.output === "deep" ? FLAG_DEEP : 0);
}

/**
 * Whether a training call over T steps and L annotations scores "general" against the queries
 * W_aᵀ h_{t-1} (FLAG_QUERY): per row they cost T products of D x H and D-wide scores, the keys L
 * products and H-wide scores, in the forward and twice in the backward.
 */
export function queriesCheaper(d: Dims, T: number, L: number): boolean {
  return d.score === "general" && T * d.D * (d.H + L) < L * d.H * (d.D + T);
}

/** Gate blocks of the cell: r, z, n (GRU) or i, f, g, o (LSTM). */
export const gateBlocks = (d: Dims): number => (d.cell === "lstm" ? 4 : 3);

/** The decoder's sizes. */
export interface Dims {
  /** Vocabulary. */
  V: number;
  /** Annotation features. */
  D: number;
  /** Attention width (H for multiplicative scores). */
  A: number;
  /** Embedding width. */
  E: number;
  /** Hidden units. */
  H: number;
  /** The score function. */
  score: AttentionScore;
  /** The recurrent step. */
  cell: AttentionCell;
  /** The output layer. */
  output: AttentionOutput;
}

export const round8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Parameter tensors in state-dict order, with their Field for the descriptor. */
export function paramSpecs(d: Dims): { specs: ParamSpec[]; fields: number[]; bytes: number } {
  const { V, D, A, E, H, score } = d;
  const nG = gateBlocks(d), deep = d.output === "deep";
  const attention: [string, number[], number][] =
    score === "additive"
      ? [["attention.key.weight", [A, D], Field.Wa], ["attention.key.bias", [A], Field.Ba], ["attention.query.weight", [A, H], Field.Ua], ["attention.v", [A], Field.V_]]
      : score === "general" ? [["attention.key.weight", [A, D], Field.Wa]] : [];
  const list: [string, number[], number][] = [
    ["embedding.weight", [V, E], Field.Emb],
    ...attention,
    ["cell.weight_ih", [nG * H, E + D], Field.Wih],
    ["cell.bias_ih", [nG * H], Field.Bih],
    ["cell.weight_hh", [nG * H, H], Field.Whh],
    ["cell.bias_hh", [nG * H], Field.Bhh],
    ...(deep ? ([["deep.context.weight", [E, D], Field.Lz], ["deep.hidden.weight", [E, H], Field.Lh], ["deep.bias", [E], Field.Bd]] as [string, number[], number][]) : []),
    ["out.weight", [V, deep ? E : E + D + H], Field.Wout],
    ["out.bias", [V], Field.Bout],
  ];
  const sizes: Record<string, number> = {};
  for (const [name, shape] of list) sizes[name] = shape.reduce((a, b) => a * b, 1) * 4;
  const { offsets, total } = carve(sizes);
  return { specs: list.map(([name, shape]) => ({ name, shape, offset: offsets[name] })), fields: list.map((l) => l[2]), bytes: total };
}

/** The gradient field of each parameter field. */
export const GRAD_FIELD: Record<number, number> = {
  [Field.Emb]: Field.GEmb, [Field.Wa]: Field.GWa, [Field.Ba]: Field.Gba, [Field.Ua]: Field.GUa, [Field.V_]: Field.Gv,
  [Field.Wih]: Field.GWih, [Field.Bih]: Field.Gbih, [Field.Whh]: Field.GWhh, [Field.Bhh]: Field.Gbhh, [Field.Wout]: Field.GWout, [Field.Bout]: Field.Gbout,
  [Field.Lz]: Field.GLz, [Field.Lh]: Field.GLh, [Field.Bd]: Field.Gbd,
};

/**
 * Floats of the query panels at the start of PUa: U_a's, or W_a's for "general"; W_hh's follow
 * (PWhh points there), so that one product computes both.
 */
export function queryPanels(d: Dims, packedSize: (k: number, n: number) => number): number {
  return d.score === "additive" ? packedSize(d.H, d.A) : d.score === "general" ? packedSize(d.H, d.D) : 0;
}

/** Bytes of the packed weights (forward and backward forms) and padded v, by field. */
export function packSizes(d: Dims, packedSize: (k: number, n: number) => number): Record<string, number> {
  const { V, D, A, E, H } = d;
  const X = E + D, Fo = d.output === "deep" ? E : E + D + H, Hp = round8(H), nG = gateBlocks(d);
  const gates = (k: number): number => (Hp / 8) * nG * (k + 1) * 8;
  const rows = (n: number): number => Math.ceil(n / 8) * (nG * Hp + 1) * 8;
  const out: Record<string, number> = {
    [Field.VPad]: round8(A) * 4,
    [Field.PWa]: packedSize(D, A) * 4, [Field.PUa]: (queryPanels(d, packedSize) + gates(H)) * 4, [Field.PWih]: gates(D) * 4, [Field.PWihE]: gates(E) * 4, [Field.TokTab]: V * nG * Hp * 4, [Field.PWout]: packedSize(Fo, V) * 4,
    [Field.RWa]: (d.score === "additive" ? packedSize(A, D) : 0) * 4, [Field.RUa]: packedSize(A, H) * 4, [Field.RWih]: rows(D) * 4, [Field.RWihE]: rows(E) * 4, [Field.RWhh]: rows(H) * 4, [Field.RWout]: packedSize(V, Fo) * 4,
  };
  if (d.output === "deep") Object.assign(out, { [Field.PLz]: packedSize(D, E) * 4, [Field.PLh]: packedSize(H, E) * 4, [Field.RLz]: packedSize(E, D) * 4, [Field.RLh]: packedSize(E, H) * 4 });
  return out;
}

/** Bytes of each buffer of a call over B rows (K per source), T steps, L annotations. */
export function workSizes(d: Dims, B: number, T: number, L: number, K: number, train: boolean, packedSize: (k: number, n: number) => number): Record<string, number> {
  const { V, D, A, E, H } = d;
  const Ap = round8(A), Hp = round8(H), F = E + D + H, G = gateBlocks(d) * Hp, X = E + D, S = B / K;
  const lstm = d.cell === "lstm", deep = d.output === "deep", Dp = round8(D), keys = d.score !== "dot";
  const s: Record<number, number> = {
    [Field.Annot]: S * L * D, [Field.Mask]: S * L, [Field.Tokens]: T * B, [Field.Keys]: keys ? S * L * Ap : 1, [Field.Th]: d.score === "additive" ? T * B * L * Ap : 1,
    [Field.Alpha]: T * B * L, [Field.Feat]: T * B * F, [Field.Gates]: T * B * G, [Field.Ghn]: lstm ? 1 : T * B * Hp, [Field.Rec]: B * G + L + 4,
    [Field.HState]: B * Hp, [Field.H0]: B * Hp, [Field.Logits]: T * B * V, [Field.Q]: B * (Math.max(Ap, Dp) + G),
  };
  if (lstm) Object.assign(s, { [Field.CState]: B * Hp, [Field.C0]: B * Hp, [Field.CSeq]: T * B * Hp });
  if (deep) s[Field.Deep] = T * B * E;
  // Decoding: the distinct states of beam rows (see attentionForward).
  if (!train) Object.assign(s, { [Field.RowMap]: B, [Field.Uniq]: B, [Field.HU]: B * Hp, [Field.ZU]: B * D, [Field.GZ]: B * G });
  // Beam rows (K > 1) take the context's gate inputs from a table per annotation (FLAG_CTXTAB).
  if (!train && K > 1) s[Field.CtxTab] = S * L * G;
  if (train) {
    Object.assign(s, {
      [Field.DLogits]: T * B * V, [Field.DFeat]: T * B * F, [Field.DGh]: lstm ? 1 : T * B * G, [Field.Dh]: B * Hp, [Field.DKeys]: keys ? B * L * Ap : 1,
      [Field.DQ]: T * B * Math.max(Ap, Dp), [Field.DAnnot]: B * L * D, [Field.HPrev]: T * B * Hp, [Field.Cover]: B * L, [Field.StepMask]: T * B,
      [Field.Pack]: Math.max(packedSize(T * B, F), packedSize(B * L, D), packedSize(T * B, H), packedSize(V, E)), [Field.Tmp]: G * Math.max(X, H, 1) + V * G,
    });
    if (lstm) s[Field.DC] = B * Hp;
    if (deep) s[Field.DDeep] = T * B * E;
    if (d.score === "general") s[Field.QSeq] = T * B * Dp;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) out[k] = v * 4;
  return out;
}
