/**
 * The i32 descriptor block that `recurrentForward` (assembly/cells/forward.ts) reads: one call per
 * layer and direction takes its sizes and pointers from here instead of two dozen arguments.
 * Field order must match the D_* constants there.
 */
export enum Field {
  Kind, T, B, I, H, P, X, Ldx, Wih, Whh, Whn, Whr, Peep, HState, CState, Out, Ldo, Lengths, Reverse,
  Gates, Rec, CSeq, Aux, Scratch, Count,
}

export enum Kind {
  RnnTanh = 0,
  RnnRelu = 1,
  Lstm = 2,
  Gru = 3,
  GruResetBefore = 4,
}

export const DESC_BYTES = Field.Count * 4;

export function gateCount(kind: Kind): number {
  return kind === Kind.Lstm ? 4 : kind === Kind.Gru || kind === Kind.GruResetBefore ? 3 : 1;
}

export function round8(n: number): number {
  return (n + 7) & ~7;
}
