// Forward pass of one recurrent layer in one direction over a whole sequence, in one call.
//
// The TypeScript side describes the call in a block of i32 fields (see DESC_* and
// src/models/layer-desc.ts): sizes, pointers to the packed weights, the state, the input and
// output rows, optional lengths and the caches training needs. Per call:
//   1. gates[T*B][G*Hp] = X W_ih^T + b_ih          one GEMM over all steps (gate-interleaved)
//   2. for each step: rec[B][G*Hp] = h W_hh^T + b_hh (one GEMM/GEMV), then the cell update,
//      which overwrites the step's gates with the activated gates (kept for backward).
// Rows past a sequence's length (lengths != 0) keep their state and output zeros; the reverse
// direction therefore starts at each sequence's own last step.
import { gemm, evenBound } from "../gemm";
import { TASK_FORWARD_ROWS, fork, taskArg, threadsAvailable } from "../threads";
import { sigmoidFast4 as sigmoid4, tanhFast4 as tanh4, relu4, one4 } from "../activations";
import { madd, storePartial } from "../simd";

export const KIND_RNN_TANH: i32 = 0;
export const KIND_RNN_RELU: i32 = 1;
export const KIND_LSTM: i32 = 2;
export const KIND_GRU: i32 = 3; // reset after the recurrent product (PyTorch, cuDNN)
export const KIND_GRU_RESET_BEFORE: i32 = 4; // Keras reset_after=False, ONNX default

// Descriptor fields (i32 index). Keep in sync with src/models/layer-desc.ts.
const D_KIND = 0, D_T = 1, D_B = 2, D_I = 3, D_H = 4, D_P = 5, D_X = 6, D_LDX = 7;
const D_WIH = 8, D_WHH = 9, D_WHN = 10, D_WHR = 11, D_PEEP = 12, D_HSTATE = 13, D_CSTATE = 14;
const D_OUT = 15, D_LDO = 16, D_LENGTHS = 17, D_REVERSE = 18, D_GATES = 19, D_REC = 20;
const D_CSEQ = 21, D_AUX = 22, D_SCRATCH = 23;

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

export function gateCount(kind: i32): i32 {
  if (kind == KIND_LSTM) return 4;
  if (kind == KIND_GRU || kind == KIND_GRU_RESET_BEFORE) return 3;
  return 1;
}

// @ts-ignore: decorator
@inline
function round8(n: i32): i32 {
  return (n + 7) & ~7;
}

// @ts-ignore: decorator
@inline
function f32at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

// Threaded binaries: the time loop is split by batch rows (every row's recurrence is independent),
// one chunk per thread: one fork per call instead of one per step. (Splitting by hidden units,
// so that each thread keeps only its part of W_hh, was measured as fast on a quiet machine but
// needs two barriers per step, which stall whenever another process takes a core.)
const MIN_ROWS: i32 = 5;
const FORK_MACS: i64 = 1 << 18;

export function recurrentForward(desc: usize): void {
  const kind = field(desc, D_KIND);
  const T = field(desc, D_T), B = field(desc, D_B), I = field(desc, D_I);
  const H = field(desc, D_H), P = field(desc, D_P);
  const width = gateCount(kind) * round8(H); // gate columns per row
  gemm(T * B, width, I, ptr(desc, D_X), field(desc, D_LDX), ptr(desc, D_WIH), ptr(desc, D_GATES), width, false);
  if (ASC_FEATURE_THREADS) {
    const chunks = min(threadsAvailable(), B / MIN_ROWS);
    if (chunks > 1 && <i64>T * <i64>B * <i64>width * <i64>P >= FORK_MACS) {
      store<u32>(taskArg(0), <u32>desc);
      fork(TASK_FORWARD_ROWS, chunks);
      return;
    }
  }
  forwardRange(desc, 0, B);
}

/** Chunk `chunk` of `chunks` of the time loop (an even split of the rows). */
export function forwardRows(desc: usize, chunk: i32, chunks: i32): void {
  const B = field(desc, D_B);
  forwardRange(desc, evenBound(B, chunk, chunks), evenBound(B, chunk + 1, chunks));
}

// The time loop for batch rows b0 .. b1-1. Each range works in its own rows of every buffer; the
// step's products go to its own rows of `rec`.
function forwardRange(desc: usize, b0: i32, b1: i32): void {
  if (b1 <= b0) return;
  const kind = field(desc, D_KIND);
  const T = field(desc, D_T), B = field(desc, D_B);
  const H = field(desc, D_H), P = field(desc, D_P);
  const Hp = round8(H), Ps = round8(P);
  const G = gateCount(kind);
  const width = G * Hp; // gate columns per row
  const nb = b1 - b0;
  const gates = ptr(desc, D_GATES), rec = f32at(ptr(desc, D_REC), b0 * width);
  const hState = ptr(desc, D_HSTATE), cState = ptr(desc, D_CSTATE);
  const out = ptr(desc, D_OUT), ldo = field(desc, D_LDO);
  const lengths = ptr(desc, D_LENGTHS);
  const reverse = field(desc, D_REVERSE) != 0;
  const cSeq = ptr(desc, D_CSEQ), aux = ptr(desc, D_AUX), scratch = ptr(desc, D_SCRATCH);
  const whh = ptr(desc, D_WHH), whr = ptr(desc, D_WHR), peep = ptr(desc, D_PEEP);

  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const stepGates = f32at(gates, t * B * width);
    if (kind == KIND_GRU_RESET_BEFORE) {
      gruResetBeforeStep(b0, b1, H, t, B, stepGates, rec, hState, whh, ptr(desc, D_WHN), scratch, out, ldo, lengths, aux);
      continue;
    }
    gemm(nb, width, P, f32at(hState, b0 * Ps), Ps, whh, rec, width, false);
    for (let b = b0; b < b1; b++) {
      const outRow = f32at(out, (t * B + b) * ldo);
      if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
        zeroRow(outRow, P);
        continue;
      }
      const g = f32at(stepGates, b * width);
      const r = f32at(rec, (b - b0) * width);
      const h = f32at(hState, b * Ps);
      if (kind == KIND_LSTM) {
        const cs = cSeq != 0 ? f32at(cSeq, (t * B + b) * Hp) : 0;
        // With a projection the cell writes m = o*tanh(c) to scratch; h = W_hr m follows below.
        const m = whr != 0 ? f32at(scratch, b * Hp) : 0;
        lstmCell(Hp, H, g, r, f32at(cState, b * Hp), peep, cs, m, h, outRow);
      } else if (kind == KIND_GRU) {
        gruCell(Hp, H, g, r, h, aux != 0 ? f32at(aux, (t * B + b) * Hp) : 0, outRow);
      } else {
        rnnCell(Hp, H, g, r, h, outRow, kind == KIND_RNN_RELU);
      }
    }
    if (kind == KIND_LSTM && whr != 0) project(b0, b1, B, H, P, t, scratch, whr, rec, hState, out, ldo, lengths, aux);
  }
}

function zeroRow(row: usize, n: i32): void {
  for (let j = 0; j < n; j++) store<f32>(f32at(row, j), 0);
}

// h (4 units at u) to the state row and, clipped to the real width, to the output row.
// @ts-ignore: decorator
@inline
function emit(h: usize, outRow: usize, u: i32, H: i32, v: v128): void {
  v128.store(f32at(h, u), v);
  if (u + 4 <= H) v128.store(f32at(outRow, u), v);
  else storePartial(f32at(outRow, u), v, H - u);
}

// Vector v of a unit group's gates (i i f f g g o o, two vectors each) is activated as
// tanh(s x) s + (1 - s): s = 1/2 gives the sigmoid (i, f, o), s = 1 the tanh (g).
const GATE_SCALE: usize = memory.data<f32>([0.5, 0.5, 0.5, 0.5, 1, 1, 0.5, 0.5]);

// Three passes over the row's gates (2 kB per row at H = 128: all in L1). In one loop body the
// five activations of four units took ~60 broadcasts of constants, which TurboFan schedules at
// the top of the body and spills to the stack; a body with one activation keeps them in registers.
function lstmCell(Hp: i32, H: i32, g: usize, r: usize, c: usize, peep: usize, cs: usize, m: usize, h: usize, outRow: usize): void {
  // 1. Pre-activations g + r, with the peepholes of i and f on c_{t-1}.
  const width = Hp << 2;
  for (let j = 0; j < width; j += 4) v128.store(f32at(g, j), f32x4.add(v128.load(f32at(g, j)), v128.load(f32at(r, j))));
  if (peep != 0) {
    for (let u = 0; u < Hp; u += 4) {
      const col = (u >> 3) * 32 + (u & 7);
      const cPrev = v128.load(f32at(c, u));
      v128.store(f32at(g, col), madd(v128.load(f32at(peep, u)), cPrev, v128.load(f32at(g, col))));
      v128.store(f32at(g, col + 8), madd(v128.load(f32at(peep, Hp + u)), cPrev, v128.load(f32at(g, col + 8))));
    }
  }
  // 2. Activations of i, f, g and (without peepholes, where it needs c_t) o.
  const vectors = peep != 0 ? 6 : 8;
  for (let q = 0; q < width; q += 32) {
    for (let v = 0; v < vectors; v++) {
      const p = f32at(g, q + (v << 2));
      const scale = v128.load32_splat(GATE_SCALE + (<usize>v << 2));
      v128.store(p, madd(tanh4(f32x4.mul(v128.load(p), scale)), scale, f32x4.sub(one4(), scale)));
    }
  }
  // 3. c_t and h_t.
  for (let u = 0; u < Hp; u += 4) {
    // Unit u sits in group u/8 at lane offset u%8; the gates of that group follow each other.
    const col = (u >> 3) * 32 + (u & 7);
    const i = v128.load(f32at(g, col)), f = v128.load(f32at(g, col + 8)), n = v128.load(f32at(g, col + 16));
    const cNew = madd(i, n, f32x4.mul(f, v128.load(f32at(c, u))));
    let o = v128.load(f32at(g, col + 24));
    if (peep != 0) {
      o = sigmoid4(madd(v128.load(f32at(peep, 2 * Hp + u)), cNew, o));
      v128.store(f32at(g, col + 24), o);
    }
    const hNew = f32x4.mul(o, tanh4(cNew));
    v128.store(f32at(c, u), cNew);
    if (cs != 0) v128.store(f32at(cs, u), cNew);
    if (m != 0) v128.store(f32at(m, u), hNew);
    else emit(h, outRow, u, H, hNew);
  }
}

function gruCell(Hp: i32, H: i32, g: usize, r: usize, h: usize, aux: usize, outRow: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = (u >> 3) * 24 + (u & 7);
    const rg = sigmoid4(f32x4.add(v128.load(f32at(g, col)), v128.load(f32at(r, col))));
    const z = sigmoid4(f32x4.add(v128.load(f32at(g, col + 8)), v128.load(f32at(r, col + 8))));
    const recN = v128.load(f32at(r, col + 16)); // W_hn h + b_hn: reset multiplies it whole
    const n = tanh4(madd(rg, recN, v128.load(f32at(g, col + 16))));
    const hPrev = v128.load(f32at(h, u));
    const hNew = madd(z, f32x4.sub(hPrev, n), n);
    v128.store(f32at(g, col), rg);
    v128.store(f32at(g, col + 8), z);
    v128.store(f32at(g, col + 16), n);
    if (aux != 0) v128.store(f32at(aux, u), recN);
    emit(h, outRow, u, H, hNew);
  }
}

function rnnCell(Hp: i32, H: i32, g: usize, r: usize, h: usize, outRow: usize, relu: bool): void {
  for (let u = 0; u < Hp; u += 4) {
    const pre = f32x4.add(v128.load(f32at(g, u)), v128.load(f32at(r, u)));
    const hNew = relu ? relu4(pre) : tanh4(pre);
    v128.store(f32at(g, u), hNew);
    emit(h, outRow, u, H, hNew);
  }
}

// h = W_hr m for the active rows b0 .. b1-1; m (rows of Hp) was written by lstmCell to scratch.
// The product goes to `tmp` (this range's rows of rec, free again after the cell update) so
// inactive rows keep their state.
function project(b0: i32, b1: i32, B: i32, H: i32, P: i32, t: i32, m: usize, whr: usize, tmp: usize, hState: usize, out: usize, ldo: i32, lengths: usize, mSeq: usize): void {
  const Hp = round8(H), Ps = round8(P);
  gemm(b1 - b0, P, H, f32at(m, b0 * Hp), Hp, whr, tmp, Ps, false);
  for (let b = b0; b < b1; b++) {
    if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
      // The backward's dW_hr product reads every row of the m cache.
      if (mSeq != 0) for (let j = 0; j < Hp; j++) store<f32>(f32at(mSeq, (t * B + b) * Hp + j), 0);
      continue;
    }
    const src = f32at(tmp, (b - b0) * Ps);
    const h = f32at(hState, b * Ps);
    const outRow = f32at(out, (t * B + b) * ldo);
    for (let j = 0; j < P; j++) {
      const v = load<f32>(f32at(src, j));
      store<f32>(f32at(h, j), v);
      store<f32>(f32at(outRow, j), v);
    }
    if (mSeq != 0) {
      const dst = f32at(mSeq, (t * B + b) * Hp);
      for (let j = 0; j < Hp; j += 4) v128.store(f32at(dst, j), v128.load(f32at(m, b * Hp + j)));
    }
  }
}

// Reset-before GRU: n needs W_hn (r * h), so the step takes two products: [r z] first, then n.
// whh holds the r and z blocks (2 gates interleaved), whn the n block. Rows b0 .. b1-1; `rec` is
// this range's part of the product buffer (3 Hp floats per row: room for both products).
function gruResetBeforeStep(b0: i32, b1: i32, H: i32, t: i32, B: i32, g: usize, rec: usize, hState: usize, whh: usize, whn: usize, rh: usize, out: usize, ldo: i32, lengths: usize, rSeq: usize): void {
  const Hp = round8(H);
  const nb = b1 - b0;
  gemm(nb, 2 * Hp, H, f32at(hState, b0 * Hp), Hp, whh, rec, 2 * Hp, false);
  for (let b = b0; b < b1; b++) {
    const gb = f32at(g, b * 3 * Hp), rb = f32at(rec, (b - b0) * 2 * Hp), h = f32at(hState, b * Hp), rhb = f32at(rh, b * Hp);
    for (let u = 0; u < Hp; u += 4) {
      const col = (u >> 3) * 24 + (u & 7);
      const rcol = (u >> 3) * 16 + (u & 7);
      const rg = sigmoid4(f32x4.add(v128.load(f32at(gb, col)), v128.load(f32at(rb, rcol))));
      const z = sigmoid4(f32x4.add(v128.load(f32at(gb, col + 8)), v128.load(f32at(rb, rcol + 8))));
      v128.store(f32at(gb, col), rg);
      v128.store(f32at(gb, col + 8), z);
      v128.store(f32at(rhb, u), f32x4.mul(rg, v128.load(f32at(h, u))));
      if (rSeq != 0) v128.store(f32at(rSeq, (t * B + b) * Hp + u), rg); // for dW_hn in backward
    }
  }
  gemm(nb, Hp, H, f32at(rh, b0 * Hp), Hp, whn, rec, Hp, false);
  for (let b = b0; b < b1; b++) {
    const outRow = f32at(out, (t * B + b) * ldo);
    if (lengths != 0 && t >= load<i32>(lengths + (<usize>b << 2))) {
      zeroRow(outRow, H);
      continue;
    }
    const gb = f32at(g, b * 3 * Hp), nr = f32at(rec, (b - b0) * Hp), h = f32at(hState, b * Hp);
    for (let u = 0; u < Hp; u += 4) {
      const col = (u >> 3) * 24 + (u & 7);
      const n = tanh4(f32x4.add(v128.load(f32at(gb, col + 16)), v128.load(f32at(nr, u))));
      const z = v128.load(f32at(gb, col + 8));
      const hNew = madd(z, f32x4.sub(v128.load(f32at(h, u)), n), n);
      v128.store(f32at(gb, col + 16), n);
      emit(h, outRow, u, H, hNew);
    }
  }
}
