// Reading the descriptor block of one layer call (descriptor.ts), shared by the driver
// (recurrent.ts) and the weight-gradient products (gradients.ts).
import { at, gateCount, round8 } from "./common";
import { Field, Kind } from "./descriptor";

/** Integer field f of the descriptor. */
// @ts-ignore: decorator
@inline
export function field(desc: usize, f: i32): i32 {
  return load<i32>(desc + (<usize>f << 2));
}

/** Address field f of the descriptor. */
// @ts-ignore: decorator
@inline
export function ptr(desc: usize, f: i32): usize {
  return <usize>load<u32>(desc + (<usize>f << 2));
}

/** Floats of a gate row: G*Hp, or Fp + Hp for the MRNN ([fx | W_hx x + b_h], mrnn.ts). */
export function gateWidth(desc: usize): i32 {
  const kind = field(desc, Field.Kind), Hp = round8(field(desc, Field.H));
  return kind == Kind.Mrnn ? round8(field(desc, Field.F)) + Hp : gateCount(kind) * Hp;
}

// Valid steps of row b.
// @ts-ignore: decorator
@inline
export function lengthOf(desc: usize, b: i32): i32 {
  const lengths = ptr(desc, Field.Lengths);
  return lengths != 0 ? load<i32>(lengths + (<usize>b << 2)) : field(desc, Field.T);
}

// Is step t the first that row b processed (its previous state is h0 / c0)?
// @ts-ignore: decorator
@inline
export function isFirst(desc: usize, t: i32, b: i32): bool {
  return field(desc, Field.Reverse) != 0 ? t == lengthOf(desc, b) - 1 : t == 0;
}

// The step before t in processing order.
// @ts-ignore: decorator
@inline
export function prevStep(desc: usize, t: i32): i32 {
  return field(desc, Field.Reverse) != 0 ? t + 1 : t - 1;
}

// h_{t-1} of row b: the initial state at the row's first step, else the row's output of the
// previous step. P floats of it are valid (the padded h0 row holds zeros past them).
export function hPrevRow(desc: usize, t: i32, b: i32): usize {
  if (isFirst(desc, t, b)) return at(ptr(desc, Field.H0), b * round8(field(desc, Field.P)));
  return at(ptr(desc, Field.Out), (prevStep(desc, t) * field(desc, Field.B) + b) * field(desc, Field.Ldo));
}

// c_{t-1} of row b (LSTM): c0 at the row's first step, else the forward's cached c of the
// previous step.
export function cPrevRow(desc: usize, t: i32, b: i32): usize {
  const Hp = round8(field(desc, Field.H));
  if (isFirst(desc, t, b)) return at(ptr(desc, Field.C0), b * Hp);
  return at(ptr(desc, Field.CSeq), (prevStep(desc, t) * field(desc, Field.B) + b) * Hp);
}

// The recurrent side's gate gradients: a buffer of their own for GRUs, whose W_hh rows see other
// gradients than W_ih's (gru.ts), else the same as the input side's.
export function recurrentGateGrads(desc: usize): usize {
  const dGh = ptr(desc, Field.DGh);
  return dGh != 0 ? dGh : ptr(desc, Field.Gates);
}

