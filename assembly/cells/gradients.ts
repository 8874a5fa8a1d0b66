// The products after the backward's time loop: the input gradient and every weight gradient,
// each one large product over all steps (see recurrent.ts for the driver and the cells' files for
// what each gradient is).
import { gemm, gemmTN } from "../gemm/dispatch";
import { packB, packedSize } from "../gemm/pack";
import { field, gateWidth, hPrevRow, lengthOf, ptr, recurrentGateGrads } from "./access";
import { at, gateCount, load4, round8, zero } from "./common";
import { Field, Kind } from "./descriptor";
import { unpackGateRowsAdd } from "./layout";

// Column sums of rows [rows][cols] (stride ld) into out[cols].
function columnSums(src: usize, rows: i32, cols: i32, ld: i32, out: usize): void {
  zero(out, cols);
  for (let r = 0; r < rows; r++) {
    const row = at(src, r * ld);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(at(out, j), f32x4.add(v128.load(at(out, j)), v128.load(at(row, j))));
    for (; j < cols; j++) store<f32>(at(out, j), load<f32>(at(out, j)) + load<f32>(at(row, j)));
  }
}

// The products after the time loop: dX, dW_ih, dW_hh, the biases and dW_hr.
export function weightGradients(desc: usize): void {
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B), I = field(desc, Field.I);
  const H = field(desc, Field.H), P = field(desc, Field.P);
  const Hp = round8(H), Ps = round8(P);
  const G = gateCount(kind);
  const width = gateWidth(desc);
  const TB = T * B;
  const gates = ptr(desc, Field.Gates), dGh = recurrentGateGrads(desc), aux = ptr(desc, Field.Aux);
  const x = ptr(desc, Field.X), ldx = field(desc, Field.Ldx);
  const hPrev = ptr(desc, Field.HPrev), pack = ptr(desc, Field.Pack), tmp = ptr(desc, Field.TmpW);
  const gwIh = ptr(desc, Field.GWih), gwHh = ptr(desc, Field.GWhh);
  const gbIh = ptr(desc, Field.GBih), gbHh = ptr(desc, Field.GBhh);

  fillHPrev(desc);

  if (kind == Kind.Mrnn) {
    mrnnWeightGradients(desc, TB, I, H, P, gates, x, ldx, hPrev, pack, tmp);
    return;
  }
  const dx = ptr(desc, Field.DX);
  if (dx != 0) gemm(TB, I, width, gates, width, ptr(desc, Field.WihRows), dx, field(desc, Field.LdDx), true);

  if (dGh == gates) {
    // RNN and LSTM: both weight gradients multiply the same dG^T, so they are one product,
    // dG^T [X | H_prev] (X's columns padded to whole panels): dG^T is packed once, not twice,
    // and the product is wider. Row r of tmp holds dW_ih's row, then dW_hh's.
    const Ip = round8(I);
    packB(x, ldx, TB, I, 0, pack);
    packB(hPrev, Ps, TB, P, 0, at(pack, packedSize(TB, I)));
    gemmTN(width, Ip + P, TB, gates, width, pack, tmp, Ip + P, false);
    unpackGateRowsAdd(tmp, Ip + P, I, H, G, gwIh, I);
    unpackGateRowsAdd(at(tmp, Ip), Ip + P, P, H, G, gwHh, P);
  } else {
    packB(x, ldx, TB, I, 0, pack);
    gemmTN(width, I, TB, gates, width, pack, tmp, I, false);
    unpackGateRowsAdd(tmp, I, I, H, G, gwIh, I);
    packB(hPrev, Ps, TB, P, 0, pack);
    if (kind == Kind.GruResetBefore) {
      // r and z rows from H_prev; n rows from rh = r ⊙ H_prev.
      gemmTN(2 * Hp, P, TB, dGh, width, pack, tmp, P, false);
      unpackGateRowsAdd(tmp, P, P, H, 2, gwHh, P);
      // aux holds r for reset-before GRUs (the forward's rSeq); H_prev becomes rh in place.
      for (let j = 0; j < TB * Hp; j += 4) {
        v128.store(at(hPrev, j), f32x4.mul(v128.load(at(hPrev, j)), v128.load(at(aux, j))));
      }
      packB(hPrev, Ps, TB, H, 0, pack);
      gemmTN(Hp, H, TB, at(dGh, 2 * Hp), width, pack, tmp, H, false);
      unpackGateRowsAdd(tmp, H, H, H, 1, gwHh + (<usize>(2 * H * P) << 2), P);
    } else {
      gemmTN(width, P, TB, dGh, width, pack, tmp, P, false);
      unpackGateRowsAdd(tmp, P, P, H, G, gwHh, P);
    }
  }

  if (gbIh != 0) {
    columnSums(gates, TB, width, width, tmp);
    unpackGateRowsAdd(tmp, 1, 1, H, G, gbIh, 1);
    if (kind == Kind.GruResetBefore) {
      columnSums(dGh, TB, width, width, tmp);
      unpackGateRowsAdd(tmp, 1, 1, H, 2, gbHh, 1);
      unpackGateRowsAdd(at(tmp, 2 * Hp), 1, 1, H, 1, gbHh + (<usize>(2 * H) << 2), 1);
    } else {
      // RNN and LSTM: both biases get the same sums.
      if (dGh != gates) columnSums(dGh, TB, width, width, tmp);
      unpackGateRowsAdd(tmp, 1, 1, H, G, gbHh, 1);
    }
  }

  const gwHr = ptr(desc, Field.GWhr);
  if (gwHr != 0) {
    // dW_hr += dH_total^T M, M = m_t rows cached by the forward in aux.
    packB(aux, Hp, TB, H, 0, pack);
    gemmTN(P, H, TB, ptr(desc, Field.DHTot), Ps, pack, gwHr, H, true);
  }
}

// The MRNN's products (mrnn.ts): the gate rows hold [dfx | da], FhSeq holds dfh, FSeq f.
function mrnnWeightGradients(desc: usize, TB: i32, I: i32, H: i32, P: i32, gates: usize, x: usize, ldx: i32, hPrev: usize, pack: usize, tmp: usize): void {
  const F = field(desc, Field.F);
  const Fp = round8(F), Hp = round8(H), Ps = round8(P);
  const width = Fp + Hp;
  const dfh = ptr(desc, Field.FhSeq), fSeq = ptr(desc, Field.FSeq);
  const dx = ptr(desc, Field.DX);
  if (dx != 0) {
    const lddx = field(desc, Field.LdDx);
    gemm(TB, I, Fp, gates, width, ptr(desc, Field.WihRows), dx, lddx, true);
    gemm(TB, I, Hp, at(gates, Fp), width, ptr(desc, Field.WhxRows), dx, lddx, true);
  }
  // dW_fx and dW_hx: one product [dfx | da]ᵀ X.
  packB(x, ldx, TB, I, 0, pack);
  gemmTN(width, I, TB, gates, width, pack, tmp, I, false);
  unpackGateRowsAdd(tmp, I, I, F, 1, ptr(desc, Field.GWih), I);
  unpackGateRowsAdd(at(tmp, Fp * I), I, I, H, 1, ptr(desc, Field.GWhx), I);
  packB(hPrev, Ps, TB, P, 0, pack);
  gemmTN(Fp, P, TB, dfh, Fp, pack, tmp, P, false);
  unpackGateRowsAdd(tmp, P, P, F, 1, ptr(desc, Field.GWhh), P);
  packB(fSeq, Fp, TB, F, 0, pack);
  gemmTN(Hp, F, TB, at(gates, Fp), width, pack, tmp, F, false);
  unpackGateRowsAdd(tmp, F, F, H, 1, ptr(desc, Field.GWhf), F);
  const gb = ptr(desc, Field.GBih);
  if (gb != 0) {
    columnSums(at(gates, Fp), TB, Hp, width, tmp);
    unpackGateRowsAdd(tmp, 1, 1, H, 1, gb, 1);
  }
}

/** H_prev rows in the HPrev scratch: the state each step started from (zeros where the row was inactive). */
export function fillHPrev(desc: usize): void {
  const T = field(desc, Field.T), B = field(desc, Field.B), P = field(desc, Field.P), Ps = round8(P);
  const hPrev = ptr(desc, Field.HPrev);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const dst = at(hPrev, (t * B + b) * Ps);
      if (t >= lengthOf(desc, b)) {
        zero(dst, Ps);
        continue;
      }
      const src = hPrevRow(desc, t, b);
      for (let u = 0; u < Ps; u += 4) v128.store(at(dst, u), load4(src, u, P));
    }
  }
}
