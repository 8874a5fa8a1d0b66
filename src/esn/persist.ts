/**
 * Reading an ESN's state dict (ESN.loadStateDict): every key checked against the model's config,
 * every problem listed in one RecurError, the weights returned in the form the reservoir is built
 * from.
 */
import { fail } from "../errors.js";
import type { StoredTensor } from "../io/safetensors.js";
import type { LayerSpec } from "./options.js";
import type { StoredLayer } from "./reservoir.js";
import type { Csr } from "./weights.js";

/** What parseStateDict needs to know of the model. */
export interface ModelShape {
  specs: LayerSpec[];
  inputDim: number | undefined;
  outputDim: number | undefined;
  hasFeedback: boolean;
  rin: boolean;
  units: number;
  es: number;
}

/** Validates a state dict against the model and returns it in build form. */
export function parseStateDict(fn: string, sd: Record<string, StoredTensor>, m: ModelShape): { layers: StoredLayer[]; I: number; O: number; fb: number; x: Float64Array; y?: Float64Array; wout?: Float64Array; rng: Uint32Array } {
  const problems: string[] = [];
  const used = new Set<string>();
  const isArray = (d: unknown): d is ArrayLike<number> => ArrayBuffer.isView(d) && !(d instanceof DataView) && !(d instanceof BigInt64Array) && !(d instanceof BigUint64Array);
  // A float tensor of the given shape (-1: any size), finite, as float64 (rounded to float32 first in a float32 model).
  const floats = (key: string, shape: number[], float32 = m.es === 4): Float64Array | undefined => {
    const t = sd[key];
    if (t === undefined) {
      problems.push(`missing key ${key}`);
      return undefined;
    }
    used.add(key);
    if (typeof t !== "object" || t === null || !isArray(t.data) || !Array.isArray(t.shape)) {
      problems.push(`${key} is not a tensor { shape, data }`);
      return undefined;
    }
    const n = t.shape.reduce((a, d) => a * d, 1);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] !== -1 && d !== shape[i]) || n !== t.data.length) {
      problems.push(`${key} has shape [${t.shape.join(", ")}] (${t.data.length} values), expected [${shape.map((d) => (d === -1 ? "*" : d)).join(", ")}]`);
      return undefined;
    }
    const out = Float64Array.from(t.data as ArrayLike<number>, (v) => (float32 ? Math.fround(v) : v));
    const bad = out.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      problems.push(`${key} holds a non-finite value at index ${bad}`);
      return undefined;
    }
    return out;
  };
  const ints = (key: string, shape: number[], lo: number, hi: number): Float64Array | undefined => {
    const v = floats(key, shape, false);
    if (v === undefined) return undefined;
    const bad = v.findIndex((x) => !Number.isInteger(x) || x < lo || x > hi);
    if (bad >= 0) {
      problems.push(`${key}[${bad}] = ${v[bad]} is not an integer in [${lo}, ${hi}]`);
      return undefined;
    }
    return v;
  };
  const L = m.specs.length;
  const win0 = sd["reservoir.0.Win"];
  const I = Array.isArray(win0?.shape) && win0.shape.length === 2 ? win0.shape[1] : m.inputDim ?? 0;
  if (m.inputDim !== undefined && I !== m.inputDim) problems.push(`reservoir.0.Win has ${I} input column(s), the model has inputDim ${m.inputDim}`);
  const wfb = sd["reservoir.0.Wfb"];
  const fb = Array.isArray(wfb?.shape) && wfb.shape.length === 2 ? wfb.shape[1] : 0;
  if (m.hasFeedback && fb === 0) problems.push("missing key reservoir.0.Wfb (the model has output feedback)");
  if (!m.hasFeedback && wfb !== undefined) problems.push("unexpected key reservoir.0.Wfb (the model has no output feedback: feedbackScaling 0)");
  const wout = sd["readout.Wout"];
  const O = Array.isArray(wout?.shape) && wout.shape.length === 2 ? wout.shape[0] : fb > 0 ? fb : m.outputDim ?? 0;
  if (fb > 0 && O !== fb) problems.push(`readout.Wout has ${O} output row(s) but reservoir.0.Wfb feeds back ${fb}`);
  if (m.outputDim !== undefined && O !== 0 && O !== m.outputDim) problems.push(`the state dict has ${O} output(s), the model has outputDim ${m.outputDim}`);
  const layers: StoredLayer[] = [];
  for (let l = 0; l < L; l++) {
    const n = m.specs[l].units;
    const kin = l === 0 ? I : m.specs[l - 1].units;
    const p = `reservoir.${l}.`;
    const dense = sd[`${p}W`] !== undefined;
    const wantSparse = m.specs[l].sparse;
    if (wantSparse !== "auto" && wantSparse === dense) problems.push(`layer ${l} stores W ${wantSparse ? "sparse" : "dense"}: expected ${wantSparse ? `${p}W.crow_indices, ${p}W.col_indices, ${p}W.values` : `${p}W`}`);
    let W: Float64Array | Csr | undefined;
    if (dense) W = floats(`${p}W`, [n, n]);
    else {
      const rowPtr = ints(`${p}W.crow_indices`, [n + 1], 0, 2 ** 31 - 1);
      const col = ints(`${p}W.col_indices`, [-1], 0, n - 1);
      const val = floats(`${p}W.values`, [-1]);
      if (rowPtr && col && val) {
        let ok = rowPtr[0] === 0 && rowPtr[n] === val.length && col.length === val.length;
        for (let i = 0; i < n && ok; i++) ok = rowPtr[i + 1] >= rowPtr[i];
        if (ok) W = { rowPtr: Int32Array.from(rowPtr), col: Int32Array.from(col), val };
        else problems.push(`${p}W: crow_indices must rise from 0 to the number of values (${val.length}), col_indices as many as values`);
      }
    }
    const Win = floats(`${p}Win`, [n, kin]);
    const bias = floats(`${p}bias`, [n]);
    const Wfb = l === 0 && fb > 0 ? floats(`${p}Wfb`, [n, fb]) : undefined;
    if (W && Win && bias) layers.push({ W, Win, bias, ...(Wfb ? { Wfb } : {}) });
  }
  const D = 1 + (m.rin ? I : 0) + m.units;
  const out = wout === undefined ? undefined : floats("readout.Wout", [O, D], false);
  const x = floats("state.x", [m.units]);
  const y = O > 0 ? floats("state.y", [O]) : undefined;
  const rng = ints("state.rng", [4], 0, 2 ** 32 - 1);
  for (const k of Object.keys(sd)) if (!used.has(k)) problems.push(`unexpected key ${k}`);
  if (problems.length) fail("E_KEY", `${fn}: ${problems.join("; ")}`);
  return { layers, I, O, fb, x: x!, ...(y ? { y } : {}), ...(out ? { wout: out } : {}), rng: Uint32Array.from(rng!) };
}
