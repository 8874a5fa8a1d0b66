// The whole run of an ESN over T steps in one call (driven, teacher-forced or closed-loop), with
// the readout, the ridge statistics and the online RLS readout of every step. src/esn/ lays out
// every buffer; nothing here allocates.
//
// Precision: a float32 model's states are float32 (assembly/reservoir/step.ts); every quantity of
// the readout is float64: the features are widened once per step, the readout dot products, the
// Gram matrix [Z Y]^T [Z Y] and the RLS matrix P are float64. A product of two float32 numbers is
// exact in float64, so the Gram only rounds in its sums; this matters because Z^T Z + ridge I
// reaches condition numbers of 1e11 (a float32 solve would be meaningless). A float64 model
// (precision: "float64") keeps states, inputs and outputs of the loop in float64.
import { axpy64, dot64, syrkUpper } from "./linalg";
import { reservoirStep, reservoirStep64 } from "./step";
import {
  FLAG_CLOSED, FLAG_FB_IS_INPUT, FLAG_GRAM, FLAG_NOISE, FLAG_OUTPUT, FLAG_RLS, FLAG_TEACHER, M_EXT, M_F, M_FB, M_FEAT,
  M_FILLED, M_FORGET, M_G, M_GRAM, M_IN, M_K, M_OUT, M_P, M_PREC, M_RIN, M_ROWS, M_ROWS_CAP, M_WOUT, M_Y, M_YPREV, M_Z,
  copy32, field, ptr,
} from "./layout";

// z (f64) = f (f32), n values.
function widen(f: usize, z: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    v128.store(z + (<usize>i << 3), f64x2.promote_low_f32x4(v128.load64_zero(f + (<usize>i << 2))));
  }
  if (i < n) store<f64>(z + (<usize>i << 3), <f64>load<f32>(f + (<usize>i << 2)));
}

// f (f32) = z (f64), n values.
function narrow(z: usize, f: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(f + (<usize>i << 2), <f32>load<f64>(z + (<usize>i << 3)));
}

// RLS towards target t (f32, O values) with features z (f64, D): prior error e = W z - t,
// k = P z, c = 1/(lambda + z^T k), W -= c e k^T, P = (P - c k k^T) / lambda. P is kept full
// (both triangles) so P z is a plain row-major product; c (k_i k_j) rounds the same for (i, j)
// and (j, i), so P stays exactly symmetric and rounding cannot drift it towards indefinite.
function rlsUpdate(m: usize, z: usize, y: usize, target: usize): void {
  const D = field(m, M_FEAT);
  const O = field(m, M_OUT);
  const P = ptr(m, M_P);
  const k = ptr(m, M_K);
  const W = ptr(m, M_WOUT);
  const lambda = load<f64>(m + (<usize>M_FORGET << 2));
  const rowBytes = <usize>D << 3;
  for (let i = 0; i < D; i++) store<f64>(k + (<usize>i << 3), dot64(P + <usize>i * rowBytes, z, D));
  const zk = dot64(z, k, D);
  const c = 1.0 / (lambda + zk);
  for (let o = 0; o < O; o++) {
    const yo = y + (<usize>o << 3);
    const e = load<f64>(yo) - <f64>load<f32>(target + (<usize>o << 2));
    axpy64(D, -c * e, k, W + <usize>o * rowBytes);
    // y becomes the output of the updated readout, W_new z = y - c e z^T k: what FORCE feeds back
    // (Sussillo & Abbott's post-update output, whose error is already small).
    store<f64>(yo, load<f64>(yo) - c * e * zk);
  }
  const inv = f64x2.splat(1.0 / lambda);
  const cv = f64x2.splat(c);
  const scale = lambda != 1.0;
  for (let i = 0; i < D; i++) {
    const row = P + <usize>i * rowBytes;
    const ki = load<f64>(k + (<usize>i << 3));
    const kv = f64x2.splat(ki);
    let j = 0;
    for (; j + 2 <= D; j += 2) {
      const off = <usize>j << 3;
      let v = f64x2.sub(v128.load(row + off), f64x2.mul(cv, f64x2.mul(kv, v128.load(k + off))));
      if (scale) v = f64x2.mul(v, inv);
      v128.store(row + off, v);
    }
    if (j < D) {
      const off = <usize>j << 3;
      let v = load<f64>(row + off) - c * (ki * load<f64>(k + off));
      if (scale) v *= 1.0 / lambda;
      store<f64>(row + off, v);
    }
  }
}


/**
 * Runs the model described at `m` for `steps` steps in one call.
 *
 * inputs:  [steps][I] f32 (ignored with FLAG_CLOSED)
 * teacher: [steps][O] f32 targets (teacher forcing, ridge and RLS targets), or 0
 * outputs: [steps][O] f32 readout per step (with FLAG_OUTPUT), or 0
 * states:  [steps][units] f32 concatenated layer states per step, or 0
 * washout: steps at the start of this call that are not added to the ridge statistics / RLS
 *
 * With FLAG_GRAM every step's row [1; u; x; teacher] goes to the row buffer (M_ROWS, M_FILLED
 * rows in it of M_ROWS_CAP). With a Gram matrix (M_G > 0: its stride) the rows are float64 and
 * a full buffer is added to the Gram's upper triangle by syrkUpper (the primal ridge problem);
 * with M_G = 0 the rows stay, in the model's precision, D + O values apart (the dual problem).
 *
 * Returns -1, or the first step whose state or output was not finite (the run stops there).
 */
export function esnRun(m: usize, steps: i32, inputs: usize, teacher: usize, outputs: usize, states: usize, washout: i32, flags: i32): i32 {
  const wide = field(m, M_PREC) != 0;
  const es = wide ? 8 : 4; // bytes per state value
  const words = es >> 2;
  const I = field(m, M_IN);
  const O = field(m, M_OUT);
  const D = field(m, M_FEAT);
  const rin = field(m, M_RIN) != 0;
  const fb = field(m, M_FB);
  const F = ptr(m, M_F);
  const ext = ptr(m, M_EXT);
  const yPrev = ptr(m, M_YPREV);
  const yv = ptr(m, M_Y);
  const W = ptr(m, M_WOUT);
  // The readout's float64 features: F itself in a float64 model.
  const z = wide ? F : ptr(m, M_Z);
  const units = D - 1 - (rin ? I : 0);
  const xs = F + <usize>(D - units) * es;
  const closed = (flags & FLAG_CLOSED) != 0;
  const fbIsInput = (flags & FLAG_FB_IS_INPUT) != 0;
  const teach = (flags & FLAG_TEACHER) != 0;
  const gram = (flags & FLAG_GRAM) != 0;
  const rls = (flags & FLAG_RLS) != 0;
  const noise = (flags & FLAG_NOISE) != 0;
  const out = (flags & FLAG_OUTPUT) != 0 || rls;
  const rows = ptr(m, M_ROWS);
  const cap = field(m, M_ROWS_CAP);
  const G = field(m, M_G);
  const keep = G == 0;
  const rowBytes = keep ? <usize>(D + O) * es : <usize>G << 3;
  let filled = field(m, M_FILLED);
  let failed = -1;
  if (wide) store<f64>(F, 1);
  else store<f32>(F, 1);
  for (let t = 0; t < steps; t++) {
    // ext[0..I) = u(t): the previous output (closed loop) or the f32 input row.
    const u = inputs + <usize>t * (<usize>I << 2);
    if (closed) copy32(ext, yPrev, I * words);
    else if (wide) widen(u, ext, I);
    else copy32(ext, u, I);
    if (fbIsInput) copy32(yPrev, ext, O * words);
    if (fb > 0) copy32(ext + <usize>I * es, yPrev, fb * words);
    if (rin) copy32(F + es, ext, I * words);
    if (!(wide ? reservoirStep64(m, noise) : reservoirStep(m, noise))) {
      failed = t;
      break;
    }
    if (out && !wide) widen(F, z, D);
    if (out) {
      for (let o = 0; o < O; o++) {
        const v = dot64(W + <usize>o * (<usize>D << 3), z, D);
        store<f64>(yv + (<usize>o << 3), v);
        if (!(v - v == 0)) failed = t;
      }
      if (failed >= 0) break;
      if (outputs != 0) narrow(yv, outputs + <usize>t * (<usize>O << 2), O);
    }
    if (states != 0) {
      const dst = states + <usize>t * (<usize>units << 2);
      if (wide) narrow(xs, dst, units);
      else memory.copy(dst, xs, <usize>units << 2);
    }
    const target = teacher + <usize>t * (<usize>O << 2);
    if (t >= washout) {
      if (gram && filled < cap) {
        const row = rows + <usize>filled * rowBytes;
        if (keep) {
          memory.copy(row, F, <usize>D * es);
          if (wide) widen(target, row + (<usize>D << 3), O);
          else copy32(row + (<usize>D << 2), target, O);
        } else {
          if (out || wide) memory.copy(row, z, <usize>D << 3);
          else widen(F, row, D);
          widen(target, row + (<usize>D << 3), O);
        }
        filled++;
        if (!keep && filled == cap) {
          syrkUpper(ptr(m, M_GRAM), G, rows, filled);
          filled = 0;
        }
      }
      if (rls) rlsUpdate(m, z, yv, target);
    }
    // The previous output seen by the next step: the teacher, or what the readout just said.
    if (teach) {
      if (wide) widen(target, yPrev, O);
      else copy32(yPrev, target, O);
    } else if (out) {
      if (wide) copy32(yPrev, yv, 2 * O);
      else narrow(yv, yPrev, O);
    }
  }
  // Rows gathered before a failure are flushed too; the caller discards the statistics on failure.
  if (gram && !keep && filled > 0) {
    syrkUpper(ptr(m, M_GRAM), G, rows, filled);
    filled = 0;
  }
  store<i32>(m + (<usize>M_FILLED << 2), filled);
  return failed;
}
