// Gate-interleaved weight packing shared by every recurrent cell.
//
// A layer with G gates and H hidden units computes G*H pre-activations per step. Units are taken
// in groups of 8 (one GEMM panel) and, within a group, the gates follow each other:
//
//   column(g, u) = (u / 8) * (G * 8) + g * 8 + (u % 8)          Hp = H rounded up to 8
//
// so packed panel (q*G + g) holds gate g of units 8q..8q+7, the projection X W_ih^T and the
// recurrent product h W_hh^T both come out in this order, and a cell reads the gates of 8 units
// as adjacent vectors. Padding units have zero weights and bias; they stay at zero state.
const PANEL: i32 = 8;

/**
 * Packs the `gates` row blocks of a PyTorch weight W[gates*hidden][k] (row stride `ldw`; rows
 * g*hidden .. g*hidden+hidden-1 belong to gate g) as B = W^T in the panel layout of gemm.ts,
 * columns interleaved as above, with bias[gates*hidden] (0 = none) in the bias row.
 */
export function packGates(src: usize, ldw: i32, k: i32, hidden: i32, gates: i32, bias: usize, dst: usize): void {
  const groups = (hidden + PANEL - 1) / PANEL;
  let out = dst;
  for (let q = 0; q < groups; q++) {
    for (let g = 0; g < gates; g++) {
      for (let j = 0; j < PANEL; j++) {
        const u = q * PANEL + j;
        store<f32>(out + (<usize>j << 2), bias != 0 && u < hidden ? load<f32>(bias + (<usize>(g * hidden + u) << 2)) : 0);
      }
      out += PANEL << 2;
      for (let kk = 0; kk < k; kk++) {
        for (let j = 0; j < PANEL; j++) {
          const u = q * PANEL + j;
          store<f32>(out + (<usize>j << 2), u < hidden ? load<f32>(src + (<usize>((g * hidden + u) * ldw + kk) << 2)) : 0);
        }
        out += PANEL << 2;
      }
    }
  }
}

/** Floats packGates writes. */
export function packedGatesSize(k: i32, hidden: i32, gates: i32): i32 {
  return ((hidden + PANEL - 1) / PANEL) * gates * (k + 1) * PANEL;
}
