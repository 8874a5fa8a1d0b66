/**
 * The i32 descriptor block that `recurrentForward` and `recurrentBackward`
 * (assembly/cells/recurrent.ts) read: one call per layer and direction takes its sizes and byte
 * addresses from here instead of dozens of arguments. This file is the only definition of the
 * block: `scripts/gen-descriptor.js` copies the two enums below into assembly/cells/descriptor.ts
 * (run by the Wasm build; a test checks the copy is current), so both sides index it alike.
 *
 * Sizes: T steps, B rows, I input features, H hidden units, P = H_out (projSize or H). Rows of
 * the state and gate buffers are padded: Hp = H rounded up to 8, Ps = P rounded up to 8.
 */

// BEGIN SHARED ENUMS (copied verbatim into AssemblyScript)
/** Which cell a layer runs. */
export enum Kind {
  RnnTanh = 0,
  RnnRelu = 1,
  Lstm = 2,
  /** Reset gate after the recurrent product (PyTorch, cuDNN, ONNX linear_before_reset=1). */
  Gru = 3,
  /** Reset gate before the recurrent product (Keras reset_after=False, ONNX default). */
  GruResetBefore = 4,
  /** Multiplicative RNN (Sutskever, Martens and Hinton 2011): factored input-dependent W_hh. */
  Mrnn = 5,
}

/** Field indices of the descriptor (i32 words). Fields from DOut on are read by the backward only. */
export enum Field {
  Kind, // a Kind
  T,
  B,
  I,
  H,
  P,
  X, // input rows [T*B][ldx], time-major
  Ldx,
  Wih, // W_ih packed gate-interleaved with b_ih (assembly/cells/layout.ts)
  Whh, // W_hh packed with b_hh (reset-before GRU: the r and z blocks only)
  Whn, // reset-before GRU: the n block of W_hh, with b_hn
  Whr, // LSTM projection W_hr packed (0: none)
  Peep, // LSTM peepholes [3][Hp] in the cell's (i, f, o) order (0: none)
  Cell, // the cell's options, CellWord.Count words (0: PyTorch's activations, no clip)
  HState, // running h [B][Ps]: h0 in, h_T out
  CState, // running c [B][Hp] (LSTM)
  Out, // output rows [T*B][ldo] (this direction's columns)
  Ldo,
  Lengths, // i32 [B] valid steps per row (0: all T)
  Reverse, // 1: the reverse direction
  Gates, // [T*B][G*Hp]: the input projection, then the activated gates (kept for backward)
  Rec, // [B][max(G*Hp, Ps)]: one step's recurrent products
  CSeq, // LSTM, training: c_t of every step [T*B][Hp] (0: not kept)
  Aux, // training: W_hn h + b_hn (GRU), r (reset-before GRU) or m = o tanh(c) (LSTM with projection), [T*B][Hp]
  Scratch, // [B][Hp]: m (LSTM with projection) or r h (reset-before GRU)
  DOut, // upstream gradient of the output rows (stride ldo; 0: none)
  DH, // dh [B][Ps]: dh_T in, dh_0 out
  DC, // dc [B][Hp]: dc_T in, dc_0 out (LSTM)
  H0, // initial h [B][Ps], as the forward started
  C0, // initial c [B][Hp]
  DGh, // GRU: gate gradients of the recurrent part [T*B][G*Hp] (0: the same as Gates)
  WhhRows, // W_hh packed for dG W_hh (packGateRows)
  WhnRows, // reset-before GRU: the n block of W_hh, for dn W_hn
  WhrRows, // LSTM projection: W_hr packed for dh W_hr
  WihRows, // W_ih packed for dX = dG W_ih
  DX, // input gradient rows [T*B][lddx] (0: not wanted)
  LdDx,
  GWih, // parameter gradients in PyTorch layout (each 0: none)
  GWhh,
  GBih,
  GBhh,
  GWhr,
  GPeep,
  HPrev, // scratch [T*B][Ps]: the state each step started from
  Pack, // scratch for packing X and H_prev
  TmpW, // scratch for weight gradients in gate-interleaved order
  DHTot, // LSTM projection: the total dh of every step [T*B][Ps] (0: none)
  Step, // per-step scratch: dht [B][Ps] | dm [B][max(Hp, Fp)] | drh [B][Hp] | dpeep [3][Hp]
  HGradNorms, // f32 [T*B]: ‖∂L/∂h_t‖ of every step and row, the total gradient reaching h_t (0: not kept)
  CGradNorms, // LSTM, f32 [T*B]: ‖∂L/∂c_t‖, the total gradient reaching c_t (0: not kept)
  // MRNN (assembly/cells/mrnn.ts). It also reads Wih ([W_fx; W_hx] with b_h), Whh (W_fh),
  // WhhRows (W_fh for dh = dfh W_fh), WihRows (W_fx for dX = dfx W_fx), GWih (weight_fx),
  // GWhh (weight_fh) and GBih (bias_h); its gate rows are [fx | h] ([Fp + Hp] floats).
  F, // factors
  Whf, // W_hf packed
  FhSeq, // W_fh h_{t-1} of every step [T*B][Fp]; the backward leaves its gradient there
  FSeq, // f_t of every step [T*B][Fp] (training)
  WhfRows, // W_hf packed for df = da W_hf
  WhxRows, // W_hx packed for dX += da W_hx
  GWhf,
  GWhx,
  // Forward mode (assembly/cells/tangent.ts), after a training forward: it also reads the
  // forward's caches, H0, C0 and HPrev (scratch).
  VWih, // the direction V's input side packed like Wih (V_ih with V_bih; MRNN [V_fx; V_hx] with V_bh)
  VWhh, // V_hh packed like Whh with V_bhh (MRNN: V_fh)
  VWhf, // MRNN: V_hf packed
  Wih0, // W_ih packed without its bias (MRNN: [W_fx; W_hx])
  Whh0, // W_hh packed without its bias (MRNN: 0, Whh has none)
  RX, // [T*B][gate row]: the input side of R{a_t}
  RH, // [T*B][gate row]: the recurrent side of R{a_t}
  RdX, // R{x} rows [T*B][ldx] (0: zero)
  ROut, // R{h_t} rows [T*B][ldo]
  RState, // R{h} [B][Ps]: R{h0} in, R{h_T} out
  RC, // R{c} [B][Hp] (LSTM)
  VWhn, // reset-before GRU: V's n block of W_hh packed like Whn, with V_bhn
  Whn0, // reset-before GRU: the n block of W_hh packed without b_hn
  VPeep, // LSTM: V's peepholes [3][Hp] in the cell's (i, f, o) order (0: none)
  VWhr, // LSTM projection: V_hr packed like Whr (0: none)
  // Batch 1 (assembly/gemm/gemv.ts): W_hh with b_hh packed in 32-column stripes (0: none)
  WhhStripes,
  Count,
}

/** The activations a cell may run (ONNX's list for LSTM, GRU and RNN; Keras's hard sigmoid). */
export enum Activation {
  Sigmoid = 0,
  Tanh = 1,
  Relu = 2,
  HardSigmoid = 3, // min(max(alpha x + beta, 0), 1)
  Affine = 4, // alpha x + beta
  LeakyRelu = 5, // x >= 0 ? x : alpha x
  ThresholdedRelu = 6, // x > alpha ? x : 0
  ScaledTanh = 7, // alpha tanh(beta x)
  Elu = 8, // x >= 0 ? x : alpha (e^x - 1)
  Softsign = 9, // x / (1 + |x|)
  Softplus = 10, // log(1 + e^x)
}

/**
 * Words of a cell-options block (Field.Cell): for each of the cell's activations f (gates), g
 * (candidate), h (LSTM cell output) its Activation, alpha and beta (f32); the clip (f32, +inf:
 * none), applied to every activation's input but h's; input_forget (LSTM: f = 1 - i).
 */
export enum CellWord {
  F = 0,
  G = 3,
  H = 6,
  Clip = 9,
  InputForget = 10,
  Count = 12,
}
// END SHARED ENUMS

export const DESC_BYTES = Field.Count * 4;

/** Gate blocks per unit: i f g o (LSTM), r z n (GRU), one for the Elman RNN. */
export function gateCount(kind: Kind): number {
  return kind === Kind.Mrnn ? 1 : kind === Kind.Lstm ? 4 : kind === Kind.Gru || kind === Kind.GruResetBefore ? 3 : 1;
}

/** n rounded up to a whole GEMM panel (8 floats): the padded width of state and gate rows. */
export function round8(n: number): number {
  return (n + 7) & ~7;
}
