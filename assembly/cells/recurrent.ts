// The time loops of every recurrent cell: the forward pass and backpropagation through time of one
// layer in one direction over a whole sequence, one Wasm call each. The cells' element-wise
// equations are in rnn.ts, lstm.ts, gru.ts and mrnn.ts (each opens with them); this driver runs
// the products (GEMMs) and the loops around them; gradients.ts has the products after the
// backward's time loop.
//
// TypeScript describes a call in the descriptor block (src/models/descriptor.ts; descriptor.ts here
// is its generated copy): sizes, the packed weights, the state, the input and output rows,
// optional lengths, and for training the caches and gradients. Forward, per call:
//   1. gates[T*B][G*Hp] = X W_ih^T + b_ih          one GEMM over all steps (gate-interleaved)
//   2. for each step: rec[B][G*Hp] = h W_hh^T + b_hh (one GEMM/GEMV), then the cell update,
//      which overwrites the step's gates with the activated gates (kept for backward).
// Backward: only the gate gradients and dh_{t-1} = dG W_hh are sequential. Everything else is a
// large product after the time loop: dW_ih += dG^T X, dW_hh += dG^T H_prev, dX += dG W_ih, biases
// as column sums, each computed in the interleaved gate order and added back in PyTorch order.
// Rows past a sequence's length (lengths != 0) keep their state and output zeros, get zero gate
// gradients and carry dh/dc through unchanged; the reverse direction starts at each sequence's
// own last step.
import { gemm } from "../gemm/dispatch";
import { gemvStriped } from "../gemm/gemv";
import { argI32, evenBound, fork, taskArg, threadsAvailable } from "../threads";
import { cPrevRow, field, gateWidth, hPrevRow, lengthOf, ptr, recurrentGateGrads } from "./access";
import { at, round8, zero } from "./common";
import { Field, Kind } from "./descriptor";
import { weightGradients } from "./gradients";
import { gruBackward, gruBackwardCell, gruForward, gruForwardCell, gruResetBeforeBackwardN, gruResetBeforeBackwardNCell, gruResetBeforeBackwardRZ, gruResetBeforeBackwardRZCell, gruResetBeforeForwardN, gruResetBeforeForwardNCell, gruResetBeforeForwardRZ, gruResetBeforeForwardRZCell } from "./gru";
import { lstmBackward, lstmBackwardCell, lstmForward, lstmForwardCell, lstmPeepholeGradAdd } from "./lstm";
import { mrnnFactors, mrnnFactorsBackward, mrnnHidden, mrnnHiddenBackward } from "./mrnn";
import { rnnBackward, rnnBackwardCell, rnnForward, rnnForwardCell } from "./rnn";

// Threaded binaries: the time loop is split by batch rows (every row's recurrence and gradient
// chain is independent), one chunk per thread: one fork per call instead of one per step.
// (Splitting by hidden units, so that each thread keeps only its part of W_hh, was measured as
// fast on a quiet machine but needs two barriers per step, which stall whenever another process
// takes a core.)
const MIN_ROWS: i32 = 5;
const FORK_MACS: i64 = 1 << 18;

// Rows to split the time loop into (1: run it on this thread).
function rowChunks(desc: usize): i32 {
  if (ASC_FEATURE_THREADS) {
    const T = field(desc, Field.T), B = field(desc, Field.B), P = field(desc, Field.P);
    const width = gateWidth(desc);
    const chunks = min(threadsAvailable(), B / MIN_ROWS);
    if (chunks > 1 && <i64>T * <i64>B * <i64>width * <i64>P >= FORK_MACS) return chunks;
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Forward

/** The forward pass of one layer and direction described by `desc`. */
export function recurrentForward(desc: usize): void {
  const T = field(desc, Field.T), B = field(desc, Field.B);
  const width = gateWidth(desc);
  gemm(T * B, width, field(desc, Field.I), ptr(desc, Field.X), field(desc, Field.Ldx), ptr(desc, Field.Wih), ptr(desc, Field.Gates), width, false);
  const chunks = rowChunks(desc);
  if (chunks > 1) {
    store<u32>(taskArg(0), <u32>desc);
    fork(forwardRowsTask, chunks);
  } else {
    forwardRows(desc, 0, B);
  }
}

// Chunk `chunk` of `chunks` of the forward time loop: an even split of the rows.
function forwardRowsTask(control: usize, chunk: i32, chunks: i32): void {
  const desc = <usize><u32>argI32(control, 0);
  const B = field(desc, Field.B);
  forwardRows(desc, evenBound(B, chunk, chunks), evenBound(B, chunk + 1, chunks));
}

// The time loop for batch rows b0 .. b1-1. Each range works in its own rows of every buffer; the
// step's products go to its own rows of `rec`.
function forwardRows(desc: usize, b0: i32, b1: i32): void {
  if (b1 <= b0) return;
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B);
  const H = field(desc, Field.H), P = field(desc, Field.P);
  const Hp = round8(H), Ps = round8(P);
  const width = gateWidth(desc); // gate columns per row
  const nb = b1 - b0;
  const gates = ptr(desc, Field.Gates), rec = at(ptr(desc, Field.Rec), b0 * width);
  const hState = ptr(desc, Field.HState), cState = ptr(desc, Field.CState);
  const out = ptr(desc, Field.Out), ldo = field(desc, Field.Ldo);
  const lengths = ptr(desc, Field.Lengths);
  const reverse = field(desc, Field.Reverse) != 0;
  const cSeq = ptr(desc, Field.CSeq), aux = ptr(desc, Field.Aux), scratch = ptr(desc, Field.Scratch);
  const whh = ptr(desc, Field.Whh), whr = ptr(desc, Field.Whr), peep = ptr(desc, Field.Peep);
  const cell = ptr(desc, Field.Cell); // 0: the fused PyTorch cells; else their optioned paths
  // One row: W_hh h_{t-1} + b_hh as a GEMV over W_hh's 32-column stripes (gemm/gemv.ts), when
  // the layer has them; it sums in the same order as the GEMM's single-row kernels.
  const stripes = nb == 1 ? ptr(desc, Field.WhhStripes) : 0;

  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const stepGates = at(gates, t * B * width);
    if (kind == Kind.GruResetBefore) {
      gruResetBeforeStep(b0, b1, H, t, B, stepGates, rec, hState, whh, ptr(desc, Field.Whn), scratch, out, ldo, lengths, aux, cell);
      continue;
    }
    if (kind == Kind.Mrnn) {
      mrnnStep(desc, b0, b1, t, stepGates, rec);
      continue;
    }
    if (stripes != 0) gemvStriped(width, P, at(hState, b0 * Ps), stripes, rec);
    else gemm(nb, width, P, at(hState, b0 * Ps), Ps, whh, rec, width, false);
    for (let b = b0; b < b1; b++) {
      const outRow = at(out, (t * B + b) * ldo);
      if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
        zero(outRow, P);
        continue;
      }
      const g = at(stepGates, b * width);
      const r = at(rec, (b - b0) * width);
      const h = at(hState, b * Ps);
      if (kind == Kind.Lstm) {
        const cs = cSeq != 0 ? at(cSeq, (t * B + b) * Hp) : 0;
        // With a projection the cell writes m_t to scratch; h_t = W_hr m_t follows below.
        const m = whr != 0 ? at(scratch, b * Hp) : 0;
        if (cell != 0) lstmForwardCell(Hp, H, g, r, at(cState, b * Hp), peep, cs, m, h, outRow, cell);
        else lstmForward(Hp, H, g, r, at(cState, b * Hp), peep, cs, m, h, outRow);
      } else if (kind == Kind.Gru) {
        const ghn = aux != 0 ? at(aux, (t * B + b) * Hp) : 0;
        if (cell != 0) gruForwardCell(Hp, H, g, r, h, ghn, outRow, cell);
        else gruForward(Hp, H, g, r, h, ghn, outRow);
      } else if (cell != 0) {
        rnnForwardCell(Hp, H, g, r, h, outRow, cell);
      } else {
        rnnForward(Hp, H, g, r, h, outRow, kind == Kind.RnnRelu);
      }
    }
    if (kind == Kind.Lstm && whr != 0) project(b0, b1, B, H, P, t, scratch, whr, rec, hState, out, ldo, lengths, aux);
  }
}

// The LSTM projection h_t = W_hr m_t (lstm.ts) for the active rows b0 .. b1-1; m_t (rows of Hp)
// was written by lstmForward to `m`. The product goes to `tmp` (this range's rows of rec, free
// again after the cell update) so inactive rows keep their state; `mSeq` (0: none) keeps m_t for
// the backward's dW_hr.
function project(b0: i32, b1: i32, B: i32, H: i32, P: i32, t: i32, m: usize, whr: usize, tmp: usize, hState: usize, out: usize, ldo: i32, lengths: usize, mSeq: usize): void {
  const Hp = round8(H), Ps = round8(P);
  gemm(b1 - b0, P, H, at(m, b0 * Hp), Hp, whr, tmp, Ps, false);
  for (let b = b0; b < b1; b++) {
    if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
      // The backward's dW_hr product reads every row of the m cache.
      if (mSeq != 0) for (let j = 0; j < Hp; j++) store<f32>(at(mSeq, (t * B + b) * Hp + j), 0);
      continue;
    }
    const src = at(tmp, (b - b0) * Ps);
    const h = at(hState, b * Ps);
    const outRow = at(out, (t * B + b) * ldo);
    for (let j = 0; j < P; j++) {
      const v = load<f32>(at(src, j));
      store<f32>(at(h, j), v);
      store<f32>(at(outRow, j), v);
    }
    if (mSeq != 0) {
      const dst = at(mSeq, (t * B + b) * Hp);
      for (let j = 0; j < Hp; j += 4) v128.store(at(dst, j), v128.load(at(m, b * Hp + j)));
    }
  }
}

// The reset-before GRU's step (gru.ts): n_t needs W_hn (r_t ⊙ h_{t-1}), so it takes two
// products: [r z] first, then n. whh holds the r and z blocks (2 gates interleaved), whn the n
// block. Rows b0 .. b1-1; `rec` is this range's part of the product buffer (3 Hp floats per row:
// room for both products); `rh` holds r_t ⊙ h_{t-1}; `rSeq` (0: none) keeps r_t for the backward.
function gruResetBeforeStep(b0: i32, b1: i32, H: i32, t: i32, B: i32, g: usize, rec: usize, hState: usize, whh: usize, whn: usize, rh: usize, out: usize, ldo: i32, lengths: usize, rSeq: usize, cell: usize): void {
  const Hp = round8(H);
  const nb = b1 - b0;
  gemm(nb, 2 * Hp, H, at(hState, b0 * Hp), Hp, whh, rec, 2 * Hp, false);
  for (let b = b0; b < b1; b++) {
    const rs = rSeq != 0 ? at(rSeq, (t * B + b) * Hp) : 0;
    if (cell != 0) gruResetBeforeForwardRZCell(Hp, at(g, b * 3 * Hp), at(rec, (b - b0) * 2 * Hp), at(hState, b * Hp), at(rh, b * Hp), rs, cell);
    else gruResetBeforeForwardRZ(Hp, at(g, b * 3 * Hp), at(rec, (b - b0) * 2 * Hp), at(hState, b * Hp), at(rh, b * Hp), rs);
  }
  gemm(nb, Hp, H, at(rh, b0 * Hp), Hp, whn, rec, Hp, false);
  for (let b = b0; b < b1; b++) {
    const outRow = at(out, (t * B + b) * ldo);
    if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
      zero(outRow, H);
      continue;
    }
    if (cell != 0) gruResetBeforeForwardNCell(Hp, H, at(g, b * 3 * Hp), at(rec, (b - b0) * Hp), at(hState, b * Hp), outRow, cell);
    else gruResetBeforeForwardN(Hp, H, at(g, b * 3 * Hp), at(rec, (b - b0) * Hp), at(hState, b * Hp), outRow);
  }
}

// The MRNN's step (mrnn.ts) for rows b0 .. b1-1: fh = h W_fhᵀ, f = fx ⊙ fh, then W_hf f and the
// hidden update. `rec` is this range's part of the product buffer (nb (Fp + Hp) floats): fh and f
// go there at inference and to the FhSeq / FSeq caches in training; W_hf f follows them.
function mrnnStep(desc: usize, b0: i32, b1: i32, t: i32, g: usize, rec: usize): void {
  const B = field(desc, Field.B), H = field(desc, Field.H), F = field(desc, Field.F);
  const Hp = round8(H), Fp = round8(F), width = Fp + Hp;
  const nb = b1 - b0;
  const hState = ptr(desc, Field.HState), out = ptr(desc, Field.Out), ldo = field(desc, Field.Ldo);
  const fhSeq = ptr(desc, Field.FhSeq), fSeq = ptr(desc, Field.FSeq);
  const fh = fhSeq != 0 ? at(fhSeq, (t * B + b0) * Fp) : rec;
  const f = fSeq != 0 ? at(fSeq, (t * B + b0) * Fp) : rec;
  const af = at(rec, nb * Fp);
  gemm(nb, Fp, H, at(hState, b0 * Hp), Hp, ptr(desc, Field.Whh), fh, Fp, false);
  for (let b = 0; b < nb; b++) mrnnFactors(Fp, at(g, (b0 + b) * width), at(fh, b * Fp), at(f, b * Fp));
  gemm(nb, Hp, F, f, Fp, ptr(desc, Field.Whf), af, Hp, false);
  for (let b = b0; b < b1; b++) {
    const outRow = at(out, (t * B + b) * ldo);
    if (t >= lengthOf(desc, b)) {
      zero(outRow, H);
      continue;
    }
    mrnnHidden(Hp, H, at(g, b * width + Fp), at(af, (b - b0) * Hp), at(hState, b * Hp), outRow);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

/** Backpropagation through the last forward of the layer and direction described by `desc`. */
export function recurrentBackward(desc: usize): void {
  const B = field(desc, Field.B);
  const Hp = round8(field(desc, Field.H)), Ps = round8(field(desc, Field.P));
  const peep = ptr(desc, Field.Peep);
  // Step scratch: dht [B][Ps] | dm [B][Hp] | drh [B][Hp] | dpeep [3][Hp]
  const dpeep = at(ptr(desc, Field.Step), B * (Ps + 2 * Hp));
  if (peep != 0) zero(dpeep, 3 * Hp);
  // Not split with peepholes: their gradient sums over the rows of every step, and a split would
  // change that order.
  const chunks = peep == 0 ? rowChunks(desc) : 1;
  if (chunks > 1) {
    store<u32>(taskArg(0), <u32>desc);
    fork(backwardRowsTask, chunks);
  } else {
    backwardRows(desc, 0, B);
  }
  if (peep != 0) lstmPeepholeGradAdd(dpeep, field(desc, Field.H), Hp, ptr(desc, Field.GPeep));
  weightGradients(desc);
}

// Chunk `chunk` of `chunks` of the backward time loop: an even split of the rows.
function backwardRowsTask(control: usize, chunk: i32, chunks: i32): void {
  const desc = <usize><u32>argI32(control, 0);
  const B = field(desc, Field.B);
  backwardRows(desc, evenBound(B, chunk, chunks), evenBound(B, chunk + 1, chunks));
}

// The time loop for batch rows b0 .. b1-1: every buffer is used in these rows only.
function backwardRows(desc: usize, b0: i32, b1: i32): void {
  if (b1 <= b0) return;
  const kind = field(desc, Field.Kind);
  const T = field(desc, Field.T), B = field(desc, Field.B);
  const H = field(desc, Field.H), P = field(desc, Field.P);
  const Hp = round8(H), Ps = round8(P);
  const width = gateWidth(desc);
  const nb = b1 - b0;
  const reverse = field(desc, Field.Reverse) != 0;
  const lengths = ptr(desc, Field.Lengths);
  const gates = ptr(desc, Field.Gates), dGh = recurrentGateGrads(desc);
  const ldo = field(desc, Field.Ldo);
  const cSeq = ptr(desc, Field.CSeq), aux = ptr(desc, Field.Aux), peep = ptr(desc, Field.Peep);
  const cell = ptr(desc, Field.Cell);
  const dOut = ptr(desc, Field.DOut);
  const dh = ptr(desc, Field.DH), dc = ptr(desc, Field.DC);
  const whr = ptr(desc, Field.WhrRows);
  const step = ptr(desc, Field.Step);
  // Step scratch: dht [B][Ps] | dm [B][Hp] | drh [B][Hp] | dpeep [3][Hp]
  const dht = step;
  const dm = at(step, B * Ps);
  const drh = at(dm, B * Hp);
  const dpeep = at(drh, B * Hp);
  const dhTotAll = ptr(desc, Field.DHTot);
  const hGradNorms = ptr(desc, Field.HGradNorms);
  const cGradNorms = ptr(desc, Field.CGradNorms); // LSTM: the total dc_t of each row goes to drh first
  // dh_{t-1} of LSTM and RNN cells is dG W_hh alone: without lengths (an inactive row carries dh
  // through unchanged) the product overwrites dh instead of adding to a zeroed row.
  const overwrite = lengths == 0 && (kind == Kind.Lstm || kind == Kind.RnnTanh || kind == Kind.RnnRelu || kind == Kind.Mrnn);

  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    // Total gradient reaching h_t: from the future (dh) and from this step's output.
    // dOut = 0: no gradient reaches the outputs (only h_T's, through dh).
    for (let b = b0; b < b1; b++) {
      const src = at(dh, b * Ps), dst = at(dht, b * Ps), out = at(dOut, (t * B + b) * ldo);
      if (t >= lengthOf(desc, b)) {
        zero(dst, Ps);
        continue;
      }
      let j = 0;
      if (dOut == 0) {
        // dh rows are zero past P, as dht must be.
        for (; j < Ps; j += 4) v128.store(at(dst, j), v128.load(at(src, j)));
        continue;
      }
      for (; j + 4 <= P; j += 4) v128.store(at(dst, j), f32x4.add(v128.load(at(src, j)), v128.load(at(out, j))));
      for (; j < P; j++) store<f32>(at(dst, j), load<f32>(at(src, j)) + load<f32>(at(out, j)));
      for (; j < Ps; j++) store<f32>(at(dst, j), 0);
    }
    if (hGradNorms != 0) {
      for (let b = b0; b < b1; b++) store<f32>(hGradNorms + ((<usize>(t * B + b)) << 2), <f32>rowNorm(at(dht, b * Ps), P));
    }
    let dhCell = dht;
    if (kind == Kind.Lstm && whr != 0) {
      if (dhTotAll != 0) for (let j = b0 * Ps; j < b1 * Ps; j++) store<f32>(at(dhTotAll, t * B * Ps + j), load<f32>(at(dht, j)));
      gemm(nb, H, P, at(dht, b0 * Ps), Ps, whr, at(dm, b0 * Hp), Hp, false); // dm_t = W_hrᵀ dh_t
      dhCell = dm;
    }
    for (let b = b0; b < b1; b++) {
      const gRow = at(gates, (t * B + b) * width);
      const hRow = at(dGh, (t * B + b) * width);
      if (t >= lengthOf(desc, b)) {
        zero(gRow, width);
        if (dGh != gates) zero(hRow, width);
        if (cGradNorms != 0) store<f32>(cGradNorms + ((<usize>(t * B + b)) << 2), 0);
        continue;
      }
      const dhRow = at(dh, b * Ps);
      if (kind == Kind.Mrnn) {
        mrnnHiddenBackward(Hp, at(gRow, width - Hp), at(dht, b * Ps));
        if (!overwrite) zero(dhRow, Ps);
      } else if (kind == Kind.Lstm) {
        const dcTotal = cGradNorms != 0 ? at(drh, b * Hp) : 0;
        if (cell != 0) lstmBackwardCell(Hp, gRow, at(dhCell, b * Hp), at(dc, b * Hp), cPrevRow(desc, t, b), at(cSeq, (t * B + b) * Hp), peep, dpeep, cell, dcTotal);
        else lstmBackward(Hp, gRow, at(dhCell, b * Hp), at(dc, b * Hp), cPrevRow(desc, t, b), at(cSeq, (t * B + b) * Hp), peep, dpeep, dcTotal);
        if (cGradNorms != 0) store<f32>(cGradNorms + ((<usize>(t * B + b)) << 2), <f32>rowNorm(at(drh, b * Hp), H));
        if (!overwrite) zero(dhRow, Ps);
      } else if (kind == Kind.Gru) {
        if (cell != 0) gruBackwardCell(Hp, P, gRow, hRow, at(dht, b * Ps), hPrevRow(desc, t, b), at(aux, (t * B + b) * Hp), dhRow, cell);
        else gruBackward(Hp, P, gRow, hRow, at(dht, b * Ps), hPrevRow(desc, t, b), at(aux, (t * B + b) * Hp), dhRow);
      } else if (kind == Kind.GruResetBefore) {
        if (cell != 0) gruResetBeforeBackwardNCell(Hp, P, gRow, hRow, at(dht, b * Ps), hPrevRow(desc, t, b), dhRow, cell);
        else gruResetBeforeBackwardN(Hp, P, gRow, hRow, at(dht, b * Ps), hPrevRow(desc, t, b), dhRow);
      } else {
        if (cell != 0) rnnBackwardCell(Hp, gRow, at(dht, b * Ps), cell);
        else rnnBackward(Hp, gRow, at(dht, b * Ps), kind == Kind.RnnRelu);
        if (!overwrite) zero(dhRow, Ps);
      }
    }
    const stepRows = at(dGh, (t * B + b0) * width);
    if (kind == Kind.GruResetBefore) {
      // drh = W_hnᵀ da_n, then da_r and the rh path into dh.
      gemm(nb, H, Hp, at(stepRows, 2 * Hp), width, ptr(desc, Field.WhnRows), at(drh, b0 * Hp), Hp, false);
      for (let b = b0; b < b1; b++) {
        if (t >= lengthOf(desc, b)) continue;
        const gRow = at(gates, (t * B + b) * width), hRow = at(stepRows, (b - b0) * width);
        if (cell != 0) gruResetBeforeBackwardRZCell(Hp, P, gRow, hRow, at(drh, b * Hp), hPrevRow(desc, t, b), at(dh, b * Ps), cell);
        else gruResetBeforeBackwardRZ(Hp, P, gRow, hRow, at(drh, b * Hp), hPrevRow(desc, t, b), at(dh, b * Ps));
      }
      gemm(nb, P, 2 * Hp, stepRows, width, ptr(desc, Field.WhhRows), at(dh, b0 * Ps), Ps, true);
    } else if (kind == Kind.Mrnn) {
      mrnnBackwardProducts(desc, b0, b1, t, stepRows, dm, !overwrite);
    } else {
      gemm(nb, P, width, stepRows, width, ptr(desc, Field.WhhRows), at(dh, b0 * Ps), Ps, !overwrite);
    }
  }
}

// Euclidean norm of n floats, summed in f64: a vanishing gradient's squares underflow f32 long
// before the gradient itself does.
function rowNorm(row: usize, n: i32): f64 {
  let sum: f64 = 0;
  for (let j = 0; j < n; j++) {
    const v = <f64>load<f32>(at(row, j));
    sum += v * v;
  }
  return Math.sqrt(sum);
}

// The MRNN's backward step after da_t (mrnn.ts) for rows b0 .. b1-1: df = da W_hf (into `df`, the
// step scratch), [dfx | dfh] over [fx | fh], then dh_{t-1} (+)= dfh W_fh. Inactive rows have
// da = 0 and get dfx = dfh = 0.
function mrnnBackwardProducts(desc: usize, b0: i32, b1: i32, t: i32, rows: usize, df: usize, accumulate: bool): void {
  const B = field(desc, Field.B), H = field(desc, Field.H), P = field(desc, Field.P), F = field(desc, Field.F);
  const Hp = round8(H), Fp = round8(F), Ps = round8(P), width = Fp + Hp;
  const nb = b1 - b0;
  const fh = at(ptr(desc, Field.FhSeq), (t * B + b0) * Fp);
  gemm(nb, Fp, Hp, at(rows, Fp), width, ptr(desc, Field.WhfRows), at(df, b0 * Fp), Fp, false);
  for (let b = 0; b < nb; b++) mrnnFactorsBackward(Fp, at(rows, b * width), at(fh, b * Fp), at(df, (b0 + b) * Fp));
  gemm(nb, P, Fp, fh, Fp, ptr(desc, Field.WhhRows), at(ptr(desc, Field.DH), b0 * Ps), Ps, accumulate);
}
