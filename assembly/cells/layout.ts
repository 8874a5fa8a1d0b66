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

/**
 * Packs W[gates*hidden][n] as a K x N GEMM operand whose K rows follow the gate-interleaved
 * column order (K = gates*Hp): the backward products dH = dG W_hh and dX = dG W_ih then read the
 * interleaved gate gradients directly. Padding rows are zero; the bias row is zero.
 */
export function packGateRows(src: usize, ldw: i32, n: i32, hidden: i32, gates: i32, dst: usize): void {
  const hp = (hidden + PANEL - 1) & ~(PANEL - 1);
  const k = gates * hp;
  const panels = (n + PANEL - 1) / PANEL;
  let out = dst;
  for (let p = 0; p < panels; p++) {
    for (let j = 0; j < PANEL; j++) store<f32>(out + (<usize>j << 2), 0);
    out += PANEL << 2;
    for (let kk = 0; kk < k; kk++) {
      const q = kk / (gates * PANEL);
      const rem = kk - q * gates * PANEL;
      const g = rem / PANEL;
      const u = q * PANEL + (rem - g * PANEL);
      for (let j = 0; j < PANEL; j++) {
        const col = p * PANEL + j;
        store<f32>(out + (<usize>j << 2), u < hidden && col < n ? load<f32>(src + (<usize>((g * hidden + u) * ldw + col) << 2)) : 0);
      }
      out += PANEL << 2;
    }
  }
}

/** dst[g*hidden + u][c] += src[column(g, u)][c] for c < cols: interleaved rows back to PyTorch order. */
export function unpackGateRowsAdd(src: usize, lds: i32, cols: i32, hidden: i32, gates: i32, dst: usize, ldd: i32): void {
  for (let g = 0; g < gates; g++) {
    for (let u = 0; u < hidden; u++) {
      const s = src + (<usize>((((u >> 3) * gates + g) * PANEL + (u & 7)) * lds) << 2);
      const d = dst + (<usize>((g * hidden + u) * ldd) << 2);
      for (let c = 0; c < cols; c++) store<f32>(d + (<usize>c << 2), load<f32>(d + (<usize>c << 2)) + load<f32>(s + (<usize>c << 2)));
    }
  }
}
