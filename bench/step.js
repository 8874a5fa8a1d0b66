// Workload C: one stateful step, batch 1, I = 128, H = 256, the state fed back call
// after call, for LSTM, GRU and RNN, on recur and its peers (see bench/_suite.js).
//
//   npm run bench -- step [--quick] [--json] [--cells=LSTM] [--no-peers]
//
// recur: state = model.initialState(1) once, then model.step(xt, state, out) per call. ORT: the
// operator with initial_h/initial_c inputs, Y_h/Y_c fed back; tfjs: the layer with initialState;
// PyTorch: module(x, state). Target: at most half of onnxruntime-node's time per step.
import { compare, forwardFlops, formatRatio, loadNote, ratio, tables } from "./_suite.js";

const list = (v, dflt) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : dflt);

/** The cases of workload C (also run in Chromium by browser.js). */
export function stepCases(options = {}) {
  const [I, H] = [128, 256];
  return list(options.cells, ["LSTM", "GRU", "RNN"]).map((cell) => ({ id: `C ${cell}`, kind: "step", cell, I, H, T: 1, B: 1, seed: 300, flops: forwardFlops(cell, 1, 1, I, H), minSamples: 60 }));
}

export async function run(options = {}) {
  const cases = stepCases(options);
  const [I, H] = [128, 256];
  const start = loadNote();
  const r = await compare(cases, options);
  const load = { start, end: loadNote() };
  const targets = r.results
    .filter((row) => row.engines["ort-node"])
    .map((row) => {
      const x = ratio(row, "ort-node");
      return { target: `C: ${row.case.cell} step <= 0.5x ORT native's time`, measured: `${formatRatio(1 / x)} of ORT's time`, pass: 1 / x <= 0.5 };
    });
  return {
    tables: tables({
      title: `C: one stateful step, batch 1, I = ${I}, H = ${H} (median time per step)`,
      short: "C",
      ...r,
      caseColumns: ["cell"],
      caseLabel: (c) => [c.cell],
      targets,
      load,
      extraNotes: ["The cross-check compares the state after 10 steps from zeros."],
    }),
    detail: r.results,
  };
}
