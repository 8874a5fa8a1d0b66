// LSTM cell (torch.nn.LSTM, gate order i, f, g, o) with ONNX-style peepholes and PyTorch's
// projection: one step of one batch row, forward and backward side by side. Notation of
// test/reference/rnn64.ts, the float64 reference the tests check this cell against:
//
//   forward
//   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       blocks a_i, a_f, a_g, a_o (H each)
//   i_t = σ(a_i + p_i ⊙ c_{t-1})                      input gate
//   f_t = σ(a_f + p_f ⊙ c_{t-1})                      forget gate
//   g_t = tanh(a_g)                                   candidate
//   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
//   o_t = σ(a_o + p_o ⊙ c_t)                          output gate (its peephole sees the new c)
//   m_t = o_t ⊙ tanh(c_t)
//   h_t = W_hr m_t      (projection, projSize > 0; without it h_t = m_t)
//
//   backward, given dh_t (all that reaches h_t) and dc_t (from step t+1)
//   dm_t = W_hrᵀ dh_t   (projection; without it dm_t = dh_t),   dW_hr += dh_t m_tᵀ
//   da_o = dm_t ⊙ tanh(c_t) ⊙ o_t (1 - o_t)
//   dc   = dc_t + dm_t ⊙ o_t ⊙ (1 - tanh²(c_t)) + da_o ⊙ p_o
//   da_i = dc ⊙ g_t ⊙ i_t (1 - i_t)
//   da_f = dc ⊙ c_{t-1} ⊙ f_t (1 - f_t)
//   da_g = dc ⊙ i_t ⊙ (1 - g_t²)
//   dc_{t-1} = dc ⊙ f_t + da_i ⊙ p_i + da_f ⊙ p_f
//   dp_i += da_i ⊙ c_{t-1},  dp_f += da_f ⊙ c_{t-1},  dp_o += da_o ⊙ c_t
//   dW_ih += da_t x_tᵀ,  dW_hh += da_t h_{t-1}ᵀ,  db_ih += da_t,  db_hh += da_t,
//   dx_t = W_ihᵀ da_t,   dh_{t-1} = W_hhᵀ da_t
//
//   forward mode (R-operator): R{a_t} = V_ih x_t + W_ih R{x_t} + V_bih + V_hh h_{t-1} + V_bhh
//   + W_hh R{h_{t-1}} (the driver, tangent.ts), then
//   R{i} = i(1-i) (R{a_i} + V_pi ⊙ c_{t-1} + p_i ⊙ R{c_{t-1}}),   R{g} = (1-g²) R{a_g}
//   R{f} = f(1-f) (R{a_f} + V_pf ⊙ c_{t-1} + p_f ⊙ R{c_{t-1}})
//   R{c_t} = R{f} ⊙ c_{t-1} + f_t ⊙ R{c_{t-1}} + R{i} ⊙ g_t + i_t ⊙ R{g}
//   R{o} = o(1-o) (R{a_o} + V_po ⊙ c_t + p_o ⊙ R{c_t})
//   R{m_t} = R{o} ⊙ tanh(c_t) + o_t ⊙ (1 - tanh²(c_t)) ⊙ R{c_t}
//   R{h_t} = V_hr m_t + W_hr R{m_t}   (projection; without it R{h_t} = R{m_t})
//
// Without peepholes p_i = p_f = p_o = 0. They are stored as weight_peephole [3H] in ONNX's order
// (i, o, f) and packed for the cell as [3][Hp] in (i, f, o) order (src/models/params.ts).
// The products (the input projection for every t at once, W_hh h_{t-1} and W_hr m_t at each step,
// and every product of the backward) are GEMMs in the driver, recurrent.ts; this file holds the
// element-wise part. A row holds groups of 8 units, each group's gates as [i 8][f 8][g 8][o 8].
//
// With cell options (activation.ts: ONNX's activations f, g, h with alpha and beta, clip,
// input_forget) the same equations run with σ replaced by f, the candidate's tanh by g and
// tanh(c_t) by h, every gate's pre-activation clamped to [-clip, clip] (not c_t), and with
// input_forget f_t = 1 - i_t (the forget gate's own weights unused). Their backward replaces
// σ', tanh' by the derivatives from the outputs; input_forget makes da_f = 0 and
// da_i = dc ⊙ (g_t - c_{t-1}) ⊙ f'(i). lstmForwardCell and lstmBackwardCell are those paths;
// lstmTangent takes the block as an argument (the same derivatives, and R{f} = -R{i}).
import { act4, clip4, clipOf, dact4, inputForget } from "./activation";
import { CellWord } from "./descriptor";
import { dsigmoid4, dtanh4, one4, sigmoidFast4 as sigmoid4, tanhFast4 as tanh4 } from "../activations";
import { madd } from "../simd";
import { at, emit, gateColumn } from "./common";

/**
 * One step of the cell for the row's Hp units. On entry `gates` holds W_ih x_t + b_ih and `rec`
 * holds W_hh h_{t-1} + b_hh; on return `gates` holds i_t, f_t, g_t, o_t (the backward reads them)
 * and `c` holds c_t (was c_{t-1}). `peep` is [3][Hp] (i, f, o) or 0; `cSeq` (0: none) receives
 * c_t for the backward. With a projection (`m` != 0) m_t goes to `m` and the driver computes h_t;
 * otherwise h_t = m_t goes to the state row `h` and the first H floats of `outRow`.
 *
 * One pass over the row, four units per iteration. The gates' σ is tanh(a/2)/2 + 1/2 (one
 * rational tanh for all five activations; the peephole o_t keeps sigmoid4). Measured against
 * three vectorised passes (add, activate, update) on the Zen-5-class host: see
 * docs/performance.md.
 */
export function lstmForward(Hp: i32, H: i32, gates: usize, rec: usize, c: usize, peep: usize, cSeq: usize, m: usize, h: usize, outRow: usize): void {
  const half = f32x4.splat(0.5);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 4);
    const cPrev = v128.load(at(c, u));
    let ai = f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, col)));
    let af = f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, col + 8)));
    const ag = f32x4.add(v128.load(at(gates, col + 16)), v128.load(at(rec, col + 16)));
    const ao = f32x4.add(v128.load(at(gates, col + 24)), v128.load(at(rec, col + 24)));
    if (peep != 0) {
      ai = madd(v128.load(at(peep, u)), cPrev, ai);
      af = madd(v128.load(at(peep, Hp + u)), cPrev, af);
    }
    const i = madd(tanh4(f32x4.mul(ai, half)), half, half);
    const f = madd(tanh4(f32x4.mul(af, half)), half, half);
    const g = tanh4(ag);
    const cNew = madd(i, g, f32x4.mul(f, cPrev));
    const o = peep != 0 ? sigmoid4(madd(v128.load(at(peep, 2 * Hp + u)), cNew, ao)) : madd(tanh4(f32x4.mul(ao, half)), half, half);
    const mNew = f32x4.mul(o, tanh4(cNew));
    v128.store(at(gates, col), i);
    v128.store(at(gates, col + 8), f);
    v128.store(at(gates, col + 16), g);
    v128.store(at(gates, col + 24), o);
    v128.store(at(c, u), cNew);
    if (cSeq != 0) v128.store(at(cSeq, u), cNew);
    if (m != 0) v128.store(at(m, u), mNew);
    else emit(h, outRow, u, H, mNew);
  }
}

/**
 * The step's backward for the row's Hp units. `gates` holds i_t, f_t, g_t, o_t as lstmForward
 * left them and receives da_i, da_f, da_g, da_o; `dm` is dm_t; `dc` holds dc_t and receives
 * dc_{t-1}; `cPrev` and `cNow` are c_{t-1} and c_t. With peepholes (`peep` != 0) their gradients
 * are added to `dpeep` ([3][Hp], order i, f, o). `dcTotal` (0: none) receives dc, the total
 * gradient reaching c_t (the backward's gradient-norm diagnostics).
 */
export function lstmBackward(Hp: i32, gates: usize, dm: usize, dc: usize, cPrev: usize, cNow: usize, peep: usize, dpeep: usize, dcTotal: usize): void {
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 4);
    const i = v128.load(at(gates, col)), f = v128.load(at(gates, col + 8));
    const g = v128.load(at(gates, col + 16)), o = v128.load(at(gates, col + 24));
    const ct = v128.load(at(cNow, u)), cp = v128.load(at(cPrev, u));
    const tc = tanh4(ct);
    const dM = v128.load(at(dm, u));
    const dO = f32x4.mul(f32x4.mul(dM, tc), dsigmoid4(o));
    let dC = f32x4.add(v128.load(at(dc, u)), f32x4.mul(f32x4.mul(dM, o), dtanh4(tc)));
    if (peep != 0) dC = f32x4.add(dC, f32x4.mul(dO, v128.load(at(peep, 2 * Hp + u))));
    if (dcTotal != 0) v128.store(at(dcTotal, u), dC);
    const dI = f32x4.mul(f32x4.mul(dC, g), dsigmoid4(i));
    const dF = f32x4.mul(f32x4.mul(dC, cp), dsigmoid4(f));
    const dG = f32x4.mul(f32x4.mul(dC, i), dtanh4(g));
    backwardTail(Hp, u, col, gates, dc, peep, dpeep, cp, ct, f, dC, dI, dF, dG, dO);
  }
}

// What both backward steps end with: dc_{t-1} = dc ⊙ f_t + da_i ⊙ p_i + da_f ⊙ p_f, the peephole
// gradients, and da_t written over the gates.
// @ts-ignore: decorator
@inline
function backwardTail(Hp: i32, u: i32, col: i32, gates: usize, dc: usize, peep: usize, dpeep: usize, cp: v128, ct: v128, f: v128, dC: v128, dI: v128, dF: v128, dG: v128, dO: v128): void {
  let dCPrev = f32x4.mul(dC, f);
  if (peep != 0) {
    dCPrev = f32x4.add(dCPrev, f32x4.add(f32x4.mul(dI, v128.load(at(peep, u))), f32x4.mul(dF, v128.load(at(peep, Hp + u)))));
    v128.store(at(dpeep, u), f32x4.add(v128.load(at(dpeep, u)), f32x4.mul(dI, cp)));
    v128.store(at(dpeep, Hp + u), f32x4.add(v128.load(at(dpeep, Hp + u)), f32x4.mul(dF, cp)));
    v128.store(at(dpeep, 2 * Hp + u), f32x4.add(v128.load(at(dpeep, 2 * Hp + u)), f32x4.mul(dO, ct)));
  }
  v128.store(at(dc, u), dCPrev);
  v128.store(at(gates, col), dI);
  v128.store(at(gates, col + 8), dF);
  v128.store(at(gates, col + 16), dG);
  v128.store(at(gates, col + 24), dO);
}

/** Adds the peephole gradients dp ([3][Hp], order i, f, o) to weight_peephole's (ONNX order i, o, f). */
export function lstmPeepholeGradAdd(dpeep: usize, H: i32, Hp: i32, grad: usize): void {
  for (let u = 0; u < H; u++) {
    store<f32>(at(grad, u), load<f32>(at(grad, u)) + load<f32>(at(dpeep, u)));
    store<f32>(at(grad, 2 * H + u), load<f32>(at(grad, 2 * H + u)) + load<f32>(at(dpeep, Hp + u)));
    store<f32>(at(grad, H + u), load<f32>(at(grad, H + u)) + load<f32>(at(dpeep, 2 * Hp + u)));
  }
}

/** lstmForward with the cell options at `cell` (see the top of this file). */
export function lstmForwardCell(Hp: i32, H: i32, gates: usize, rec: usize, c: usize, peep: usize, cSeq: usize, m: usize, h: usize, outRow: usize, cell: usize): void {
  const clip = clipOf(cell);
  const coupled = inputForget(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 4);
    const cPrev = v128.load(at(c, u));
    let ai = f32x4.add(v128.load(at(gates, col)), v128.load(at(rec, col)));
    let af = f32x4.add(v128.load(at(gates, col + 8)), v128.load(at(rec, col + 8)));
    const ag = f32x4.add(v128.load(at(gates, col + 16)), v128.load(at(rec, col + 16)));
    let ao = f32x4.add(v128.load(at(gates, col + 24)), v128.load(at(rec, col + 24)));
    if (peep != 0) {
      ai = madd(v128.load(at(peep, u)), cPrev, ai);
      af = madd(v128.load(at(peep, Hp + u)), cPrev, af);
    }
    const i = act4(cell, CellWord.F, clip4(ai, clip));
    const f = coupled ? f32x4.sub(one4(), i) : act4(cell, CellWord.F, clip4(af, clip));
    const g = act4(cell, CellWord.G, clip4(ag, clip));
    const cNew = madd(i, g, f32x4.mul(f, cPrev));
    if (peep != 0) ao = madd(v128.load(at(peep, 2 * Hp + u)), cNew, ao);
    const o = act4(cell, CellWord.F, clip4(ao, clip));
    const mNew = f32x4.mul(o, act4(cell, CellWord.H, cNew));
    v128.store(at(gates, col), i);
    v128.store(at(gates, col + 8), f);
    v128.store(at(gates, col + 16), g);
    v128.store(at(gates, col + 24), o);
    v128.store(at(c, u), cNew);
    if (cSeq != 0) v128.store(at(cSeq, u), cNew);
    if (m != 0) v128.store(at(m, u), mNew);
    else emit(h, outRow, u, H, mNew);
  }
}

/** lstmBackward with the cell options at `cell` (no clip: a clipped model is not trained). */
export function lstmBackwardCell(Hp: i32, gates: usize, dm: usize, dc: usize, cPrev: usize, cNow: usize, peep: usize, dpeep: usize, cell: usize, dcTotal: usize): void {
  const coupled = inputForget(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 4);
    const i = v128.load(at(gates, col)), f = v128.load(at(gates, col + 8));
    const g = v128.load(at(gates, col + 16)), o = v128.load(at(gates, col + 24));
    const ct = v128.load(at(cNow, u)), cp = v128.load(at(cPrev, u));
    const hc = act4(cell, CellWord.H, ct);
    const dM = v128.load(at(dm, u));
    const dO = f32x4.mul(f32x4.mul(dM, hc), dact4(cell, CellWord.F, o));
    let dC = f32x4.add(v128.load(at(dc, u)), f32x4.mul(f32x4.mul(dM, o), dact4(cell, CellWord.H, hc)));
    if (peep != 0) dC = f32x4.add(dC, f32x4.mul(dO, v128.load(at(peep, 2 * Hp + u))));
    if (dcTotal != 0) v128.store(at(dcTotal, u), dC);
    const dIn = coupled ? f32x4.sub(g, cp) : g; // c_t = (1 - i) c_{t-1} + i g when coupled
    const dI = f32x4.mul(f32x4.mul(dC, dIn), dact4(cell, CellWord.F, i));
    const dF = coupled ? f32x4.splat(0) : f32x4.mul(f32x4.mul(dC, cp), dact4(cell, CellWord.F, f));
    const dG = f32x4.mul(f32x4.mul(dC, i), dact4(cell, CellWord.G, g));
    backwardTail(Hp, u, col, gates, dc, peep, dpeep, cp, ct, f, dC, dI, dF, dG, dO);
  }
}

/**
 * Forward mode: R{m_t} and R{c_t} from `rx` + `rh` (R{a_t}, input and recurrent sides), the gates
 * as the forward left them, c_{t-1} and c_t. `rc` holds R{c_{t-1}} and receives R{c_t}. With
 * peepholes `peep` and `vpeep` are p and V_p ([3][Hp], order i, f, o; both 0 without). With a
 * projection (`m` != 0) R{m_t} goes to `m` and the driver computes R{h_t}; otherwise R{h_t} =
 * R{m_t} goes to `rState` and `rOut`. `cell` (0: none) is the options block: f', g', h' from the
 * outputs as in lstmBackwardCell, and R{f} = -R{i} with input_forget.
 */
export function lstmTangent(Hp: i32, H: i32, gates: usize, rx: usize, rh: usize, cPrev: usize, cNow: usize, rc: usize, peep: usize, vpeep: usize, m: usize, rState: usize, rOut: usize, cell: usize): void {
  const coupled = cell != 0 && inputForget(cell);
  for (let u = 0; u < Hp; u += 4) {
    const col = gateColumn(u, 4);
    const i = v128.load(at(gates, col)), f = v128.load(at(gates, col + 8));
    const g = v128.load(at(gates, col + 16)), o = v128.load(at(gates, col + 24));
    const cp = v128.load(at(cPrev, u)), ct = v128.load(at(cNow, u)), rcp = v128.load(at(rc, u));
    let rAi = f32x4.add(v128.load(at(rx, col)), v128.load(at(rh, col)));
    let rAf = f32x4.add(v128.load(at(rx, col + 8)), v128.load(at(rh, col + 8)));
    const rAg = f32x4.add(v128.load(at(rx, col + 16)), v128.load(at(rh, col + 16)));
    let rAo = f32x4.add(v128.load(at(rx, col + 24)), v128.load(at(rh, col + 24)));
    if (peep != 0) {
      // R{p ⊙ c_{t-1}} = V_p ⊙ c_{t-1} + p ⊙ R{c_{t-1}} (i and f)
      rAi = f32x4.add(rAi, madd(v128.load(at(vpeep, u)), cp, f32x4.mul(v128.load(at(peep, u)), rcp)));
      rAf = f32x4.add(rAf, madd(v128.load(at(vpeep, Hp + u)), cp, f32x4.mul(v128.load(at(peep, Hp + u)), rcp)));
    }
    let rI: v128, rF: v128, rG: v128, hc: v128, dh: v128;
    if (cell != 0) {
      rI = f32x4.mul(dact4(cell, CellWord.F, i), rAi);
      rF = coupled ? f32x4.neg(rI) : f32x4.mul(dact4(cell, CellWord.F, f), rAf);
      rG = f32x4.mul(dact4(cell, CellWord.G, g), rAg);
      hc = act4(cell, CellWord.H, ct);
      dh = dact4(cell, CellWord.H, hc);
    } else {
      rI = f32x4.mul(dsigmoid4(i), rAi);
      rF = f32x4.mul(dsigmoid4(f), rAf);
      rG = f32x4.mul(dtanh4(g), rAg);
      hc = tanh4(ct);
      dh = dtanh4(hc);
    }
    const rC = f32x4.add(madd(rF, cp, f32x4.mul(f, rcp)), madd(rI, g, f32x4.mul(i, rG)));
    // o's peephole sees the new c: R{a_o} += V_po ⊙ c_t + p_o ⊙ R{c_t}
    if (peep != 0) rAo = f32x4.add(rAo, madd(v128.load(at(vpeep, 2 * Hp + u)), ct, f32x4.mul(v128.load(at(peep, 2 * Hp + u)), rC)));
    const rO = f32x4.mul(cell != 0 ? dact4(cell, CellWord.F, o) : dsigmoid4(o), rAo);
    const rM = madd(rO, hc, f32x4.mul(f32x4.mul(o, dh), rC));
    v128.store(at(rc, u), rC);
    if (m != 0) v128.store(at(m, u), rM);
    else emit(rState, rOut, u, H, rM);
  }
}
