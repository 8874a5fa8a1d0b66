// Tiny streaming cells, the shape of real-time audio models: GRU or LSTM with H = 4 ... 64,
// three layers, batch 1, one frame (one step of every layer) per call, the state fed back call
// after call, on recur and on ONNX Runtime (native and Wasm) with the same weights (see
// bench/_suite.js; the ONNX model is the three operators chained, each layer's Y_h the next
// one's X).
//
//   npm run bench -- streaming [--quick] [--json] [--cells=GRU,LSTM] [--hidden=4,16,32,64] [--layers=3]
//
// recur: state = model.initialState(1) once, then model.step(x, state, out) per frame.
// Target: per frame at most half the time of the faster ONNX Runtime.
import { compare, formatRatio, loadNote, ratio, tables } from "./_suite.js";

const list = (v, dflt) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : dflt);

export async function run(options = {}) {
  const cells = list(options.cells, ["GRU", "LSTM"]);
  const hidden = list(options.hidden, ["4", "16", "32", "64"]).map(Number);
  const L = Number(options.layers ?? 3);
  const I = 16;
  const cases = cells.flatMap((cell) =>
    hidden.map((H) => ({ id: `S ${cell} H=${H}`, kind: "step", cell, I, H, L, T: 1, B: 1, seed: 500 + H, minSamples: 60 })),
  );
  // Only ORT runs stacked layers in one call; tfjs and PyTorch are left out unless asked for.
  const start = loadNote();
  const r = await compare(cases, { peers: "ort-node,ort-web", ...options });
  const load = { start, end: loadNote() };
  const targets = [];
  for (const row of r.results) {
    const peers = ["ort-node", "ort-web"].filter((k) => row.engines[k]);
    if (!peers.length) continue;
    const best = Math.min(...peers.map((k) => ratio(row, k)));
    targets.push({
      target: `streaming ${row.case.cell} H = ${row.case.H}: <= 0.5x the faster ORT's time per frame`,
      measured: `${formatRatio(1 / best)} of its time`,
      pass: 1 / best <= 0.5,
    });
  }
  return {
    tables: tables({
      title: `Streaming: one frame through ${L} layers, batch 1, I = ${I} (median time per frame)`,
      short: "Streaming",
      ...r,
      gflops: false,
      caseColumns: ["cell", "H"],
      caseLabel: (c) => [c.cell, c.H],
      targets,
      load,
      extraNotes: ["The cross-check compares every layer's state after 10 frames from zeros."],
    }),
    detail: r.results,
  };
}
