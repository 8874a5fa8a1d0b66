/**
 * The i32 descriptor block that `recurrentForward` and `recurrentBackward`
 * (assembly/cells/forward.ts, backward.ts) read: one call per layer and direction takes its
 * sizes and pointers from here instead of dozens of arguments. Field order must match the D_*
 * constants there. Fields from DOut on are read by the backward only.
 */
export enum Field {
  Kind, T, B, I, H, P, X, Ldx, Wih, Whh, Whn, Whr, Peep, HState, CState, Out, Ldo, Lengths, Reverse,
  Gates, Rec, CSeq, Aux, Scratch,
  DOut, DH, DC, H0, C0, DGh, WhhRows, WhnRows, WhrRows, WihRows, DX, LdDx,
  GWih, GWhh, GBih, GBhh, GWhr, GPeep, HPrev, Pack, TmpW, DHTot, Step,
  Count,
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

/** Carves one block into named, 64-byte aligned regions: sizes in bytes in, offsets out. */
export function carve<K extends string>(sizes: Record<K, number>): { offsets: Record<K, number>; total: number } {
  let total = 0;
  const offsets = {} as Record<K, number>;
  for (const key of Object.keys(sizes) as K[]) {
    offsets[key] = total;
    total += Math.ceil(sizes[key] / 64) * 64;
  }
  return { offsets, total };
}
