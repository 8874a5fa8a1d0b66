// Workload B: batch 64, T = 50, I = 128, H = 256, sequences per second, for LSTM, GRU
// and RNN, on recur and its peers (see bench/_suite.js), float32, one thread.
//
//   npm run bench -- throughput [--quick] [--json] [--cells=LSTM] [--no-peers] [--threads=2]
//
// Targets: at least 1.8x onnxruntime-web's throughput for LSTM, GRU and RNN; with --threads=2,
// at least 1.8x recur's own single-thread throughput.
import { compare, forwardFlops, formatRatio, loadNote, ratio, tables, threadsOption, threadsTable } from "./_suite.js";

const list = (v, dflt) => (typeof v === "string" ? v.split(",").map((s) => s.trim()) : dflt);

/** The cases of workload B (also run in Chromium by browser.js). */
export function throughputCases(options = {}) {
  const [B, T, I, H] = [64, 50, 128, 256];
  return list(options.cells, ["LSTM", "GRU", "RNN"]).map((cell) => ({ id: `B ${cell}`, kind: "sequence", cell, I, H, T, B, seed: 200, flops: forwardFlops(cell, T, B, I, H), minSamples: 15 }));
}

export async function run(options = {}) {
  const cases = throughputCases(options);
  const [B, T, I, H] = [64, 50, 128, 256];
  const start = loadNote();
  const r = await compare(cases, options);
  const load = { start, end: loadNote() };
  const targets = r.results
    .filter((row) => row.engines["ort-web"])
    .map((row) => {
      const x = ratio(row, "ort-web");
      return { target: `B: ${row.case.cell} >= 1.8x ORT web throughput`, measured: formatRatio(x), pass: x >= 1.8 };
    });
  const seqs = (e) => `${Math.round((B * 1000) / e.median).toLocaleString("en")} seq/s`;
  const title = `B: batch ${B}, T = ${T}, I = ${I}, H = ${H} (sequences per second)`;
  const threads = threadsOption(options);
  return {
    tables: [
      ...tables({
        title,
        short: "B",
        ...r,
        caseColumns: ["cell"],
        caseLabel: (c) => [c.cell],
        display: seqs,
        targets,
        load,
        extraNotes: [`One call = ${B} sequences through forward (outputs and final states as JS arrays). Ratio = peer time / recur time = recur throughput / peer throughput.`],
      }),
      ...threadsTable({ title, short: "B", ...r, caseColumns: ["cell"], caseLabel: (c) => [c.cell], display: seqs, threads, target: threads === 2 ? 1.8 : undefined, load }),
    ],
    detail: r.results,
  };
}
