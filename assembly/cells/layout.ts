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
import { packPanels } from "../gemm/pack";

const PANEL: i32 = 8;

/**
 * Packs the `gates` row blocks of a PyTorch weight W[gates*hidden][k] (row stride `ldw`; rows
 * g*hidden .. g*hidden+hidden-1 belong to gate g) as B = W^T in the panel layout of gemm.ts,
 * columns interleaved as above, with bias[gates*hidden] (0 = none) in the bias row.
 */
export function packGates(src: usize, ldw: i32, k: i32, hidden: i32, gates: i32, bias: usize, dst: usize): void {
  // Gate g's group q is panel q of packBT(W_g) (W_g = rows g*hidden.. of W), stored as panel
  // q*gates + g: packPanels writes panel q at its dst + q*panelBytes.
  const groups = (hidden + PANEL - 1) / PANEL;
  const panelBytes = <usize>(k + 1) * (PANEL << 2);
  for (let g = 0; g < gates; g++) {
    const w = src + (<usize>(g * hidden) * <usize>ldw << 2);
    const b = bias != 0 ? bias + (<usize>(g * hidden) << 2) : 0;
    for (let q = 0; q < groups; q++) {
      packPanels(w, 4, <usize>ldw << 2, k, hidden, b, dst + <usize>(q * (gates - 1) + g) * panelBytes, q, q + 1);
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
  const groups = (hidden + PANEL - 1) / PANEL;
  const panels = (n + PANEL - 1) / PANEL;
  let out = dst;
  for (let p = 0; p < panels; p++) {
    const col0 = p * PANEL;
    v128.store(out, i32x4.splat(0));
    v128.store(out, i32x4.splat(0), 16);
    out += PANEL << 2;
    // Row kk = (q * gates + g) * 8 + j of the operand is row g*hidden + u of W, u = 8q + j.
    for (let q = 0; q < groups; q++) {
      for (let g = 0; g < gates; g++) {
        for (let j = 0; j < PANEL; j++) {
          const u = q * PANEL + j;
          const row = src + (<usize>((g * hidden + u) * ldw + col0) << 2);
          if (u < hidden && col0 + PANEL <= n) {
            v128.store(out, v128.load(row));
            v128.store(out, v128.load(row, 16), 16);
          } else {
            for (let c = 0; c < PANEL; c++) store<f32>(out + (<usize>c << 2), u < hidden && col0 + c < n ? load<f32>(row + (<usize>c << 2)) : 0);
          }
          out += PANEL << 2;
        }
      }
    }
  }
}

/** dst[g*hidden + u][c] += src[column(g, u)][c] for c < cols: interleaved rows back to PyTorch order. */
export function unpackGateRowsAdd(src: usize, lds: i32, cols: i32, hidden: i32, gates: i32, dst: usize, ldd: i32): void {
  for (let g = 0; g < gates; g++) {
    for (let u = 0; u < hidden; u++) {
      const s = src + (<usize>((((u >> 3) * gates + g) * PANEL + (u & 7)) * lds) << 2);
      const d = dst + (<usize>((g * hidden + u) * ldd) << 2);
      let c = 0;
      for (; c + 4 <= cols; c += 4) v128.store(d + (<usize>c << 2), f32x4.add(v128.load(d + (<usize>c << 2)), v128.load(s + (<usize>c << 2))));
      for (; c < cols; c++) store<f32>(d + (<usize>c << 2), load<f32>(d + (<usize>c << 2)) + load<f32>(s + (<usize>c << 2)));
    }
  }
}
