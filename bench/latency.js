// Workload A: one whole sequence at batch 1 -- T = 100, I = 32, H = 32 / 128 / 512 --
// for LSTM, GRU and RNN, on recur and its peers (see bench/_suite.js), float32, one thread.
//
//   npm run bench -- latency [--quick] [--json] [--cells=LSTM,GRU] [--hidden=32,128] [--no-peers]
//
// recur: model.forward(x) with x [T, 1, I] -> the output sequence and the final state(s).
// Targets: every cell and H faster than onnxruntime-node (native) and at least 1.5x faster than
// onnxruntime-web, both on one thread.
import { compare, forwardFlops, formatRatio, loadNote, ratio, tables } from "./_suite.js";

const list = (v, dflt) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : dflt);

/** The cases of workload A (also run in Chromium by browser.js). */
export function latencyCases(options = {}) {
  const cells = list(options.cells, ["LSTM", "GRU", "RNN"]);
  const hidden = list(options.hidden, ["32", "128", "512"]).map(Number);
  const [T, I] = [100, 32];
  return cells.flatMap((cell) =>
    hidden.map((H) => ({ id: `A ${cell} H=${H}`, kind: "sequence", cell, I, H, T, B: 1, seed: 100 + H, flops: forwardFlops(cell, T, 1, I, H), minSamples: 30 })),
  );
}

export async function run(options = {}) {
  const cases = latencyCases(options);
  const { T, I } = cases[0] ?? { T: 100, I: 32 };
  const start = loadNote();
  const r = await compare(cases, options);
  const load = { start, end: loadNote() };
  // Issue targets: faster than ORT native at every H, at least 1.5x faster than ORT web.
  const targets = [];
  for (const row of r.results) {
    const { cell, H } = row.case;
    if (row.engines["ort-node"]) {
      const x = ratio(row, "ort-node");
      targets.push({ target: `A: ${cell} H = ${H} faster than ORT native`, measured: `${formatRatio(x)} (ORT time / recur time)`, pass: x > 1 });
    }
    if (row.engines["ort-web"]) {
      const x = ratio(row, "ort-web");
      targets.push({ target: `A: ${cell} H = ${H} >= 1.5x faster than ORT web`, measured: formatRatio(x), pass: x >= 1.5 });
    }
  }
  return {
    tables: tables({
      title: `A: one sequence, batch 1, T = ${T}, I = ${I} (median time per sequence)`,
      short: "A",
      ...r,
      caseColumns: ["cell", "H"],
      caseLabel: (c) => [c.cell, c.H],
      targets,
      load,
      extraNotes: ["Each call returns the whole output sequence and the final state(s) as JS arrays. GFLOP/s counts the two products, 2 T G H (I + H)."],
    }),
    detail: r.results,
  };
}
