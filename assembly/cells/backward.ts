// Backpropagation through time for one recurrent layer in one direction, in one call; the pair of
// forward.ts, reading the caches its forward wrote (activated gates, cell states, GRU's W_hn h).
//
// Only the gate gradients and dh_{t-1} = dG W_hh are sequential. Everything else is a large
// product after the time loop: dW_ih += dG^T X, dW_hh += dG^T H_prev, dX += dG W_ih, biases as
// column sums, each computed in the interleaved gate order and added back in PyTorch order.
// Rows past a sequence's length get zero gate gradients and carry dh/dc through unchanged,
// matching the forward's frozen state.
import { gemm, gemmTN, packB, packedSize, evenBound } from "../gemm";
import { TASK_BACKWARD_ROWS, fork, taskArg, threadsAvailable } from "../threads";
import { tanhFast4 as tanh4 } from "../activations";
import { loadPartial } from "../simd";
import { unpackGateRowsAdd } from "./layout";
import { KIND_LSTM, KIND_GRU, KIND_GRU_RESET_BEFORE, KIND_RNN_TANH, KIND_RNN_RELU, gateCount } from "./forward";

// Forward descriptor fields used here (see forward.ts), then the backward's own.
const D_KIND = 0, D_T = 1, D_B = 2, D_I = 3, D_H = 4, D_P = 5, D_X = 6, D_LDX = 7;
const D_PEEP = 12, D_OUT = 15, D_LDO = 16, D_LENGTHS = 17, D_REVERSE = 18, D_GATES = 19;
const D_CSEQ = 21, D_AUX = 22;
const D_DOUT = 24, D_DH = 25, D_DC = 26, D_H0 = 27, D_C0 = 28, D_DGH = 29;
const D_WHH_ROWS = 30, D_WHN_ROWS = 31, D_WHR_ROWS = 32, D_WIH_ROWS = 33, D_DX = 34, D_LDDX = 35;
const D_GW_IH = 36, D_GW_HH = 37, D_GB_IH = 38, D_GB_HH = 39, D_GW_HR = 40, D_GPEEP = 41;
const D_HPREV = 42, D_PACK = 43, D_TMPW = 44, D_DHTOT = 45, D_STEP = 46;

// @ts-ignore: decorator
@inline
function field(desc: usize, i: i32): i32 {
  return load<i32>(desc + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function ptr(desc: usize, i: i32): usize {
  return <usize>load<u32>(desc + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// @ts-ignore: decorator
@inline
function round8(n: i32): i32 {
  return (n + 7) & ~7;
}

// @ts-ignore: decorator
@inline
function dsig(s: v128): v128 {
  return f32x4.mul(s, f32x4.sub(f32x4.splat(1), s));
}

// @ts-ignore: decorator
@inline
function dtanh(y: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.mul(y, y));
}

function zero(p: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(p, j), i32x4.splat(0));
  for (; j < n; j++) store<f32>(at(p, j), 0);
}

// Per-call context, so the step helpers do not take thirty arguments.
let kind: i32, T: i32, B: i32, H: i32, P: i32, Hp: i32, Ps: i32, G: i32, width: i32;
let reverse: bool, lengths: usize, gates: usize, dGh: usize, outRows: usize, ldo: i32;
let h0: usize, c0: usize, cSeq: usize, aux: usize, peep: usize;

// @ts-ignore: decorator
@inline
function lengthOf(b: i32): i32 {
  return lengths != 0 ? load<i32>(lengths + (<usize>b << 2)) : T;
}

// Is step t the first this row processed (its previous state is h0/c0)?
// @ts-ignore: decorator
@inline
function isFirst(t: i32, b: i32): bool {
  return reverse ? t == lengthOf(b) - 1 : t == 0;
}

// The step before t in processing order.
// @ts-ignore: decorator
@inline
function prevStep(t: i32): i32 {
  return reverse ? t + 1 : t - 1;
}

// h_{t-1} of row b, 4 units from u (out rows are P wide, so the tail is loaded partially).
// @ts-ignore: decorator
@inline
function hPrev4(t: i32, b: i32, u: i32): v128 {
  if (isFirst(t, b)) return v128.load(at(h0, b * Ps + u));
  const row = at(outRows, (prevStep(t) * B + b) * ldo + u);
  return u + 4 <= P ? v128.load(row) : loadPartial(row, P - u);
}

// Sets the per-call context from the descriptor (each instance has its own globals: a worker
// thread loads them itself).
function loadContext(desc: usize): void {
  kind = field(desc, D_KIND);
  T = field(desc, D_T);
  B = field(desc, D_B);
  H = field(desc, D_H);
  P = field(desc, D_P);
  Hp = round8(H);
  Ps = round8(P);
  G = gateCount(kind);
  width = G * Hp;
  reverse = field(desc, D_REVERSE) != 0;
  lengths = ptr(desc, D_LENGTHS);
  gates = ptr(desc, D_GATES);
  outRows = ptr(desc, D_OUT);
  ldo = field(desc, D_LDO);
  h0 = ptr(desc, D_H0);
  c0 = ptr(desc, D_C0);
  cSeq = ptr(desc, D_CSEQ);
  aux = ptr(desc, D_AUX);
  peep = ptr(desc, D_PEEP);
  dGh = ptr(desc, D_DGH) != 0 ? ptr(desc, D_DGH) : gates;
}

// Threaded binaries: the time loop is split by batch rows (each row's gradient chain is
// independent), one chunk per thread. Not with peepholes: their gradient sums over the rows of
// every step, and a split would change that order.
const MIN_ROWS: i32 = 5;
const FORK_MACS: i64 = 1 << 18;

export function recurrentBackward(desc: usize): void {
  loadContext(desc);
  const I = field(desc, D_I);
  // Step scratch: dht [B][Ps] | dm [B][Hp] | drh [B][Hp] | dpeep [3][Hp]
  const dpeep = at(ptr(desc, D_STEP), B * (Ps + 2 * Hp));
  if (peep != 0) zero(dpeep, 3 * Hp);
  let forked = false;
  if (ASC_FEATURE_THREADS) {
    const chunks = min(threadsAvailable(), B / MIN_ROWS);
    if (chunks > 1 && peep == 0 && <i64>T * <i64>B * <i64>width * <i64>P >= FORK_MACS) {
      store<u32>(taskArg(0), <u32>desc);
      fork(TASK_BACKWARD_ROWS, chunks);
      forked = true;
    }
  }
  if (!forked) backwardRange(desc, 0, B);

  if (peep != 0) {
    // Kernel order (i, f, o) back to ONNX's (i, o, f).
    const gp = ptr(desc, D_GPEEP);
    for (let u = 0; u < H; u++) {
      store<f32>(at(gp, u), load<f32>(at(gp, u)) + load<f32>(at(dpeep, u)));
      store<f32>(at(gp, 2 * H + u), load<f32>(at(gp, 2 * H + u)) + load<f32>(at(dpeep, Hp + u)));
      store<f32>(at(gp, H + u), load<f32>(at(gp, H + u)) + load<f32>(at(dpeep, 2 * Hp + u)));
    }
  }
  weightGradients(desc, I);
}

/** Chunk `chunk` of `chunks` of the time loop (an even split of the rows). */
export function backwardRows(desc: usize, chunk: i32, chunks: i32): void {
  loadContext(desc);
  backwardRange(desc, evenBound(B, chunk, chunks), evenBound(B, chunk + 1, chunks));
}

// The time loop for batch rows b0 .. b1-1: every buffer is used in these rows only.
function backwardRange(desc: usize, b0: i32, b1: i32): void {
  if (b1 <= b0) return;
  const nb = b1 - b0;
  const dOut = ptr(desc, D_DOUT);
  const dh = ptr(desc, D_DH), dc = ptr(desc, D_DC);
  const whr = ptr(desc, D_WHR_ROWS);
  const step = ptr(desc, D_STEP);
  // Step scratch: dht [B][Ps] | dm [B][Hp] | drh [B][Hp] | dpeep [3][Hp]
  const dht = step;
  const dm = at(step, B * Ps);
  const drh = at(dm, B * Hp);
  const dpeep = at(drh, B * Hp);
  const dhTotAll = ptr(desc, D_DHTOT);
  // dh_{t-1} of LSTM and RNN cells is dG W_hh alone: without lengths (an inactive row carries dh
  // through unchanged) the product overwrites dh instead of adding to a zeroed row.
  const overwrite = lengths == 0 && (kind == KIND_LSTM || kind == KIND_RNN_TANH || kind == KIND_RNN_RELU);

  for (let s = T - 1; s >= 0; s--) {
    const t = reverse ? T - 1 - s : s;
    // Total gradient reaching h_t: from the future (dh) and from this step's output.
    // dOut = 0: no gradient reaches the outputs (only h_T's, through dh).
    for (let b = b0; b < b1; b++) {
      const src = at(dh, b * Ps), dst = at(dht, b * Ps), out = at(dOut, (t * B + b) * ldo);
      if (t >= lengthOf(b)) {
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
    let dhCell = dht;
    if (kind == KIND_LSTM && whr != 0) {
      if (dhTotAll != 0) for (let j = b0 * Ps; j < b1 * Ps; j++) store<f32>(at(dhTotAll, t * B * Ps + j), load<f32>(at(dht, j)));
      gemm(nb, H, P, at(dht, b0 * Ps), Ps, whr, at(dm, b0 * Hp), Hp, false); // dm = dh W_hr: the gradient of o*tanh(c)
      dhCell = dm;
    }
    for (let b = b0; b < b1; b++) {
      const gRow = at(gates, (t * B + b) * width);
      const hRow = at(dGh, (t * B + b) * width);
      if (t >= lengthOf(b)) {
        zero(gRow, width);
        if (dGh != gates) zero(hRow, width);
        continue;
      }
      const dhRow = at(dh, b * Ps);
      if (kind == KIND_LSTM) {
        lstmCellBackward(t, b, gRow, at(dhCell, b * Hp), at(dc, b * Hp), dpeep);
        if (!overwrite) zero(dhRow, Ps);
      } else if (kind == KIND_GRU) {
        gruCellBackward(t, b, gRow, hRow, at(dht, b * Ps), dhRow);
      } else if (kind == KIND_GRU_RESET_BEFORE) {
        gruBeforeBackward1(t, b, gRow, hRow, at(dht, b * Ps), dhRow);
      } else {
        rnnCellBackward(gRow, at(dht, b * Ps), kind == KIND_RNN_RELU);
        if (!overwrite) zero(dhRow, Ps);
      }
    }
    const stepRows = at(dGh, (t * B + b0) * width);
    if (kind == KIND_GRU_RESET_BEFORE) {
      // d(r*h) = dn W_hn, then the r-gate gradient and the r*h path into dh.
      gemm(nb, H, Hp, at(stepRows, 2 * Hp), width, ptr(desc, D_WHN_ROWS), at(drh, b0 * Hp), Hp, false);
      for (let b = b0; b < b1; b++) {
        if (t >= lengthOf(b)) continue;
        gruBeforeBackward2(t, b, at(gates, (t * B + b) * width), at(stepRows, (b - b0) * width), at(drh, b * Hp), at(dh, b * Ps));
      }
      gemm(nb, P, 2 * Hp, stepRows, width, ptr(desc, D_WHH_ROWS), at(dh, b0 * Ps), Ps, true);
    } else {
      gemm(nb, P, width, stepRows, width, ptr(desc, D_WHH_ROWS), at(dh, b0 * Ps), Ps, !overwrite);
    }
  }
}

function lstmCellBackward(t: i32, b: i32, g: usize, dhv: usize, dcRow: usize, dpeep: usize): void {
  const first = isFirst(t, b);
  const cNow = at(cSeq, (t * B + b) * Hp);
  const cBefore = first ? at(c0, b * Hp) : at(cSeq, (prevStep(t) * B + b) * Hp);
  for (let u = 0; u < Hp; u += 4) {
    const col = (u >> 3) * 32 + (u & 7);
    const i = v128.load(at(g, col)), f = v128.load(at(g, col + 8));
    const n = v128.load(at(g, col + 16)), o = v128.load(at(g, col + 24));
    const ct = v128.load(at(cNow, u)), cp = v128.load(at(cBefore, u));
    const tc = tanh4(ct);
    const dH = v128.load(at(dhv, u));
    const dO = f32x4.mul(f32x4.mul(dH, tc), dsig(o));
    let dC = f32x4.add(v128.load(at(dcRow, u)), f32x4.mul(f32x4.mul(dH, o), dtanh(tc)));
    if (peep != 0) dC = f32x4.add(dC, f32x4.mul(dO, v128.load(at(peep, 2 * Hp + u))));
    const dI = f32x4.mul(f32x4.mul(dC, n), dsig(i));
    const dF = f32x4.mul(f32x4.mul(dC, cp), dsig(f));
    const dN = f32x4.mul(f32x4.mul(dC, i), dtanh(n));
    let dCp = f32x4.mul(dC, f);
    if (peep != 0) {
      dCp = f32x4.add(dCp, f32x4.add(f32x4.mul(dI, v128.load(at(peep, u))), f32x4.mul(dF, v128.load(at(peep, Hp + u)))));
      v128.store(at(dpeep, u), f32x4.add(v128.load(at(dpeep, u)), f32x4.mul(dI, cp)));
      v128.store(at(dpeep, Hp + u), f32x4.add(v128.load(at(dpeep, Hp + u)), f32x4.mul(dF, cp)));
      v128.store(at(dpeep, 2 * Hp + u), f32x4.add(v128.load(at(dpeep, 2 * Hp + u)), f32x4.mul(dO, ct)));
    }
    v128.store(at(dcRow, u), dCp);
    v128.store(at(g, col), dI);
    v128.store(at(g, col + 8), dF);
    v128.store(at(g, col + 16), dN);
    v128.store(at(g, col + 24), dO);
  }
}

function gruCellBackward(t: i32, b: i32, g: usize, gh: usize, dhv: usize, dhRow: usize): void {
  const recN = at(aux, (t * B + b) * Hp);
  for (let u = 0; u < Hp; u += 4) {
    const col = (u >> 3) * 24 + (u & 7);
    const r = v128.load(at(g, col)), z = v128.load(at(g, col + 8)), n = v128.load(at(g, col + 16));
    const hp = hPrev4(t, b, u);
    const dH = v128.load(at(dhv, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dtanh(n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dsig(z));
    const dR = f32x4.mul(f32x4.mul(dN, v128.load(at(recN, u))), dsig(r));
    v128.store(at(g, col), dR);
    v128.store(at(g, col + 8), dZ);
    v128.store(at(g, col + 16), dN);
    v128.store(at(gh, col), dR);
    v128.store(at(gh, col + 8), dZ);
    v128.store(at(gh, col + 16), f32x4.mul(dN, r)); // the reset gate scales W_hn h + b_hn
    v128.store(at(dhRow, u), f32x4.mul(dH, z));
  }
}

// Reset-before GRU, first half: z and n gradients. dGh rows hold [r z interleaved (2Hp) | n (Hp)].
function gruBeforeBackward1(t: i32, b: i32, g: usize, gh: usize, dhv: usize, dhRow: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = (u >> 3) * 24 + (u & 7);
    const rcol = (u >> 3) * 16 + (u & 7);
    const z = v128.load(at(g, col + 8)), n = v128.load(at(g, col + 16));
    const hp = hPrev4(t, b, u);
    const dH = v128.load(at(dhv, u));
    const dN = f32x4.mul(f32x4.mul(dH, f32x4.sub(f32x4.splat(1), z)), dtanh(n));
    const dZ = f32x4.mul(f32x4.mul(dH, f32x4.sub(hp, n)), dsig(z));
    v128.store(at(g, col + 8), dZ);
    v128.store(at(g, col + 16), dN);
    v128.store(at(gh, rcol + 8), dZ);
    v128.store(at(gh, 2 * Hp + u), dN);
    v128.store(at(dhRow, u), f32x4.mul(dH, z));
  }
}

// Second half, once d(r*h) = dn W_hn is known: the r gradient and the r*h path into dh.
function gruBeforeBackward2(t: i32, b: i32, g: usize, gh: usize, drh: usize, dhRow: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = (u >> 3) * 24 + (u & 7);
    const rcol = (u >> 3) * 16 + (u & 7);
    const r = v128.load(at(g, col));
    const d = v128.load(at(drh, u));
    const dR = f32x4.mul(f32x4.mul(d, hPrev4(t, b, u)), dsig(r));
    v128.store(at(g, col), dR);
    v128.store(at(gh, rcol), dR);
    v128.store(at(dhRow, u), f32x4.add(v128.load(at(dhRow, u)), f32x4.mul(d, r)));
  }
}

function rnnCellBackward(g: usize, dhv: usize, relu: bool): void {
  for (let u = 0; u < Hp; u += 4) {
    const h = v128.load(at(g, u));
    const dH = v128.load(at(dhv, u));
    const d = relu ? v128.and(dH, f32x4.gt(h, f32x4.splat(0))) : f32x4.mul(dH, dtanh(h));
    v128.store(at(g, u), d);
  }
}

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

function weightGradients(desc: usize, I: i32): void {
  const TB = T * B;
  const x = ptr(desc, D_X), ldx = field(desc, D_LDX);
  const hPrev = ptr(desc, D_HPREV), pack = ptr(desc, D_PACK), tmp = ptr(desc, D_TMPW);
  const gwIh = ptr(desc, D_GW_IH), gwHh = ptr(desc, D_GW_HH);
  const gbIh = ptr(desc, D_GB_IH), gbHh = ptr(desc, D_GB_HH);

  // H_prev rows: the state each step started from (zeros where the row was inactive).
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const dst = at(hPrev, (t * B + b) * Ps);
      if (t >= lengthOf(b)) {
        zero(dst, Ps);
        continue;
      }
      for (let u = 0; u < Ps; u += 4) v128.store(at(dst, u), hPrev4(t, b, u));
    }
  }

  const dx = ptr(desc, D_DX);
  if (dx != 0) gemm(TB, I, width, gates, width, ptr(desc, D_WIH_ROWS), dx, field(desc, D_LDDX), true);

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
    if (kind == KIND_GRU_RESET_BEFORE) {
      // r and z rows from H_prev; n rows from (r * H_prev).
      gemmTN(2 * Hp, P, TB, dGh, width, pack, tmp, P, false);
      unpackGateRowsAdd(tmp, P, P, H, 2, gwHh, P);
      // aux holds r for reset-before GRUs (forward.ts); H_prev becomes r * H_prev in place.
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
    if (kind == KIND_GRU_RESET_BEFORE) {
      columnSums(dGh, TB, width, width, tmp);
      unpackGateRowsAdd(tmp, 1, 1, H, 2, gbHh, 1);
      unpackGateRowsAdd(at(tmp, 2 * Hp), 1, 1, H, 1, gbHh + (<usize>(2 * H) << 2), 1);
    } else {
      // RNN and LSTM: both biases get the same sums.
      if (dGh != gates) columnSums(dGh, TB, width, width, tmp);
      unpackGateRowsAdd(tmp, 1, 1, H, G, gbHh, 1);
    }
  }

  const gwHr = ptr(desc, D_GW_HR);
  if (gwHr != 0) {
    // dW_hr += dH_total^T M, M = o * tanh(c) rows cached by the forward in aux.
    packB(aux, Hp, TB, H, 0, pack);
    gemmTN(P, H, TB, ptr(desc, D_DHTOT), Ps, pack, gwHr, H, true);
  }
}
