// Forward mode (the R-operator, Pearlmutter 1994) of one layer and direction over a whole
// sequence, one Wasm call: the directional derivative R{h_t} of every step's output along a
// direction V of the parameters and a tangent R{x} of the input, after a training forward whose
// caches (activated gates, c_t, ghn_t, r_t, m_t, fh_t, f_t) it reads. The cells' tangent
// equations are in rnn.ts, lstm.ts, gru.ts and mrnn.ts, beside their forward and backward.
//
//   1. RX[T*B] = X V_ihᵀ + V_bih + R{X} W_ihᵀ            two GEMMs over all steps
//   2. RH[T*B] = H_prev V_hhᵀ + V_bhh                    one GEMM (MRNN: [H_prev V_fhᵀ | F V_hfᵀ];
//      reset-before GRU: [H_prev V_h{r,z}ᵀ | (r ⊙ H_prev) V_hnᵀ]); LSTM projection: R{H} = M V_hrᵀ
//   3. per step: RH_t += R{h_{t-1}} W_hhᵀ (MRNN: W_fh, then W_hf R{f_t}; reset-before GRU: W_h{r,z},
//      then W_hn R{rh_t}), then the cell's tangent (LSTM projection: then R{h_t} += W_hr R{m_t}).
// R{h0} and R{c0} come in RState and RC (zeros when the initial states are not parameters).
// A Gauss-Newton product is this pass, the loss's Hessian on the output tangents, then the
// ordinary backward (src/train/gauss-newton.ts). Every cell and option the backward supports is
// supported here (a clip is not: the forward does not keep the unclipped pre-activations). Rows
// past their length keep R{h} and output zeros. Threaded binaries split step 3 by batch rows.
import { gemm } from "../gemm/dispatch";
import { argI32, evenBound, fork, taskArg, threadsAvailable } from "../threads";
import { cPrevRow, field, gateWidth, hPrevRow, lengthOf, ptr } from "./access";
import { at, round8, zero } from "./common";
import { Field, Kind } from "./descriptor";
import { fillHPrev } from "./gradients";
import { gruResetBeforeTangentN, gruResetBeforeTangentRZ, gruTangent } from "./gru";
import { lstmTangent } from "./lstm";
import { mrnnFactorsTangent, mrnnHiddenTangent } from "./mrnn";
import { rnnTangent } from "./rnn";

/** The forward-mode pass of the layer and direction described by `desc` (see above). */
export function recurrentTangent(desc: usize): void {
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B), I = field(desc, Field.I);
  const H = field(desc, Field.H), P = field(desc, Field.P), F = field(desc, Field.F);
  const Hp = round8(H), Ps = round8(P), Fp = round8(F);
  const width = gateWidth(desc), TB = T * B;
  const x = ptr(desc, Field.X), ldx = field(desc, Field.Ldx);
  const rx = ptr(desc, Field.RX), rh = ptr(desc, Field.RH), rdx = ptr(desc, Field.RdX);
  const hPrev = ptr(desc, Field.HPrev), aux = ptr(desc, Field.Aux);
  const rOut = ptr(desc, Field.ROut), ldo = field(desc, Field.Ldo);
  const whr = ptr(desc, Field.Whr);
  gemm(TB, width, I, x, ldx, ptr(desc, Field.VWih), rx, width, false);
  if (rdx != 0) gemm(TB, width, I, rdx, ldx, ptr(desc, Field.Wih0), rx, width, true);
  fillHPrev(desc);
  if (kind == Kind.Mrnn) {
    gemm(TB, Fp, P, hPrev, Ps, ptr(desc, Field.VWhh), rh, width, false);
    gemm(TB, Hp, F, ptr(desc, Field.FSeq), Fp, ptr(desc, Field.VWhf), at(rh, Fp), width, false);
  } else if (kind == Kind.GruResetBefore) {
    gemm(TB, 2 * Hp, P, hPrev, Ps, ptr(desc, Field.VWhh), rh, width, false);
    // rh_t = r_t ⊙ h_{t-1} over H_prev (aux: the forward's r_t; P = H for GRUs)
    for (let j = 0; j < TB * Hp; j += 4) v128.store(at(hPrev, j), f32x4.mul(v128.load(at(hPrev, j)), v128.load(at(aux, j))));
    gemm(TB, Hp, H, hPrev, Ps, ptr(desc, Field.VWhn), at(rh, 2 * Hp), width, false);
  } else {
    gemm(TB, width, P, hPrev, Ps, ptr(desc, Field.VWhh), rh, width, false);
  }
  // LSTM projection: R{h_t} starts as V_hr m_t (aux: the forward's m_t, zero on inactive rows).
  if (whr != 0) gemm(TB, P, H, aux, Hp, ptr(desc, Field.VWhr), rOut, ldo, false);
  const chunks = rowChunks(desc);
  if (chunks > 1) {
    store<u32>(taskArg(0), <u32>desc);
    fork(tangentRowsTask, chunks);
  } else {
    tangentRows(desc, 0, B);
  }
}

// Threaded binaries: the time loop is split by batch rows, one chunk per thread, as the forward's
// (recurrent.ts): each row's tangent recurrence is independent, and each chunk's products are
// its own rows of the per-step GEMMs, so results are bit-identical on any thread count.
function rowChunks(desc: usize): i32 {
  if (ASC_FEATURE_THREADS) {
    const T = field(desc, Field.T), B = field(desc, Field.B), P = field(desc, Field.P);
    const chunks = min(threadsAvailable(), B / MIN_ROWS);
    if (chunks > 1 && <i64>T * <i64>B * <i64>gateWidth(desc) * <i64>P >= FORK_MACS) return chunks;
  }
  return 1;
}
const MIN_ROWS: i32 = 5;
const FORK_MACS: i64 = 1 << 18;

function tangentRowsTask(control: usize, chunk: i32, chunks: i32): void {
  const desc = <usize><u32>argI32(control, 0);
  const B = field(desc, Field.B);
  tangentRows(desc, evenBound(B, chunk, chunks), evenBound(B, chunk + 1, chunks));
}

// Step 3 for batch rows b0 .. b1-1: each range works in its own rows of RH, RState, RC and the
// scratch.
function tangentRows(desc: usize, b0: i32, b1: i32): void {
  if (b1 <= b0) return;
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B);
  const H = field(desc, Field.H), P = field(desc, Field.P), F = field(desc, Field.F);
  const Hp = round8(H), Ps = round8(P), Fp = round8(F);
  const width = gateWidth(desc), nb = b1 - b0;
  const rx = ptr(desc, Field.RX), rh = ptr(desc, Field.RH), aux = ptr(desc, Field.Aux);
  const rOut = ptr(desc, Field.ROut), ldo = field(desc, Field.Ldo);
  const whr = ptr(desc, Field.Whr);
  const gates = ptr(desc, Field.Gates), cSeq = ptr(desc, Field.CSeq), fhSeq = ptr(desc, Field.FhSeq);
  const rState = ptr(desc, Field.RState), rc = ptr(desc, Field.RC), scratch = ptr(desc, Field.Scratch);
  const peep = ptr(desc, Field.Peep), vpeep = ptr(desc, Field.VPeep), cell = ptr(desc, Field.Cell);
  const reverse = field(desc, Field.Reverse) != 0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const stepRh = at(rh, (t * B + b0) * width); // this range's rows of the step
    if (kind == Kind.Mrnn) {
      gemm(nb, Fp, H, at(rState, b0 * Ps), Ps, ptr(desc, Field.Whh), stepRh, width, true);
      for (let b = b0; b < b1; b++) {
        const row = (t * B + b) * width;
        mrnnFactorsTangent(Fp, at(gates, row), at(fhSeq, (t * B + b) * Fp), at(rx, row), at(rh, row));
      }
      gemm(nb, Hp, F, stepRh, width, ptr(desc, Field.Whf), at(stepRh, Fp), width, true);
    } else if (kind == Kind.GruResetBefore) {
      gruResetBeforeTangentStep(desc, t, b0, b1, H, width, stepRh, scratch, cell);
      continue;
    } else {
      gemm(nb, width, P, at(rState, b0 * Ps), Ps, ptr(desc, Field.Whh0), stepRh, width, true);
    }
    for (let b = b0; b < b1; b++) {
      const outRow = at(rOut, (t * B + b) * ldo);
      if (t >= lengthOf(desc, b)) {
        zero(outRow, P);
        if (whr != 0) zero(at(scratch, b * Hp), Hp); // R{m} of an inactive row adds nothing
        continue;
      }
      const row = (t * B + b) * width;
      const g = at(gates, row), rxRow = at(rx, row), rhRow = at(rh, row), rs = at(rState, b * Ps);
      if (kind == Kind.Mrnn) {
        mrnnHiddenTangent(Hp, H, at(g, Fp), at(rxRow, Fp), at(rhRow, Fp), rs, outRow);
      } else if (kind == Kind.Lstm) {
        const m = whr != 0 ? at(scratch, b * Hp) : 0;
        lstmTangent(Hp, H, g, rxRow, rhRow, cPrevRow(desc, t, b), at(cSeq, (t * B + b) * Hp), at(rc, b * Hp), peep, vpeep, m, rs, outRow, cell);
      } else if (kind == Kind.Gru) {
        gruTangent(Hp, H, P, g, rxRow, rhRow, hPrevRow(desc, t, b), at(aux, (t * B + b) * Hp), rs, outRow, cell);
      } else {
        rnnTangent(Hp, H, g, rxRow, rhRow, rs, outRow, kind == Kind.RnnRelu, cell);
      }
    }
    if (whr != 0) project(desc, t, b0, b1, P, scratch, whr, rOut, ldo, rState);
  }
}

// LSTM projection, step t: R{h_t} = V_hr m_t (already in the output rows) + W_hr R{m_t} (R{m_t}
// rows in `rm`), copied to the tangent state of the active rows.
function project(desc: usize, t: i32, b0: i32, b1: i32, P: i32, rm: usize, whr: usize, rOut: usize, ldo: i32, rState: usize): void {
  const H = field(desc, Field.H), Hp = round8(H), Ps = round8(P), B = field(desc, Field.B);
  gemm(b1 - b0, P, H, at(rm, b0 * Hp), Hp, whr, at(rOut, (t * B + b0) * ldo), ldo, true);
  for (let b = b0; b < b1; b++) {
    if (t >= lengthOf(desc, b)) continue;
    const src = at(rOut, (t * B + b) * ldo), dst = at(rState, b * Ps);
    for (let j = 0; j < P; j++) store<f32>(at(dst, j), load<f32>(at(src, j)));
  }
}

// The reset-before GRU's tangent step (gru.ts): R{r}, R{z} and R{rh_t} = R{r} ⊙ h_{t-1} + r_t ⊙
// R{h_{t-1}} (to `rrh`), then W_hn R{rh_t} and R{n}, R{h_t}. The step's rows of RH are
// [r z interleaved (2 Hp) | n (Hp)]; `stepRh` is row b0's. Rows b0 .. b1-1.
function gruResetBeforeTangentStep(desc: usize, t: i32, b0: i32, b1: i32, H: i32, width: i32, stepRh: usize, rrh: usize, cell: usize): void {
  const Hp = round8(H), B = field(desc, Field.B), nb = b1 - b0;
  const gates = ptr(desc, Field.Gates), rx = ptr(desc, Field.RX), rState = ptr(desc, Field.RState);
  const rOut = ptr(desc, Field.ROut), ldo = field(desc, Field.Ldo);
  gemm(nb, 2 * Hp, H, at(rState, b0 * Hp), Hp, ptr(desc, Field.Whh0), stepRh, width, true);
  for (let b = b0; b < b1; b++) {
    if (t >= lengthOf(desc, b)) {
      zero(at(rrh, b * Hp), Hp);
      continue;
    }
    const row = (t * B + b) * width;
    gruResetBeforeTangentRZ(Hp, H, at(gates, row), at(rx, row), at(stepRh, (b - b0) * width), hPrevRow(desc, t, b), at(rState, b * Hp), at(rrh, b * Hp), cell);
  }
  gemm(nb, Hp, H, at(rrh, b0 * Hp), Hp, ptr(desc, Field.Whn0), at(stepRh, 2 * Hp), width, true);
  for (let b = b0; b < b1; b++) {
    const outRow = at(rOut, (t * B + b) * ldo);
    if (t >= lengthOf(desc, b)) {
      zero(outRow, H);
      continue;
    }
    const row = (t * B + b) * width;
    gruResetBeforeTangentN(Hp, H, H, at(gates, row), at(rx, row), at(stepRh, (b - b0) * width), hPrevRow(desc, t, b), at(rState, b * Hp), outRow, cell);
  }
}
