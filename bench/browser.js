// The suite in headless Chromium: workloads A (latency), C (step), B (throughput) and GEMM 512
// through `matmul`, on recur, onnxruntime-web and tfjs-wasm loaded in one cross-origin-isolated
// page (bench/browser.html, bench/_browser-page.js), from the same seeded inputs and weights as
// the Node workloads (their case lists, _engines.js's models), outputs checked before timing.
//
//   npm run bench -- browser [--quick] [--json] [--workloads=A,C,B,GEMM] [--cells=LSTM] [--hidden=32]
//                            [--rounds=5] [--time=MS] [--peers=ort-web,tfjs]
//
// Chromium: RECUR_CHROMIUM (a path), else the system's (/usr/bin/chromium, ...), driven by the
// playwright-core dev dependency. Targets (issue 17, in the browser): A at least 1.5x faster than
// onnxruntime-web; C at most half of onnxruntime-web's time (the browser has no native ORT);
// B at least 2x onnxruntime-web's throughput.
import { existsSync } from "node:fs";
import os from "node:os";
import { startServer } from "../web/serve.js";
import { hostCpu } from "./_host.js";
import { ensureInstalled } from "./_peers.js";
import { formatRatio, formatTime, loadNote, ratio, tables } from "./_suite.js";
import { latencyCases } from "./latency.js";
import { stepCases } from "./step.js";
import { throughputCases } from "./throughput.js";

const SYSTEM_CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function chromiumPath() {
  const path = process.env.RECUR_CHROMIUM || SYSTEM_CHROMIUM.find((p) => existsSync(p));
  if (!path || !existsSync(path)) throw new Error("bench browser: no Chromium (install the system's, `apt-get install chromium`, or set RECUR_CHROMIUM to a Chromium binary)");
  return path;
}

const gemmFlops = (n) => 2 * n ** 3;

function workloads(options) {
  const chosen = new Set(String(options.workloads ?? "A,C,B,GEMM").toUpperCase().split(","));
  const all = [
    { key: "A", title: "A: one sequence, batch 1, T = 100, I = 32 (median time per sequence)", cases: latencyCases(options), columns: ["cell", "H"], label: (c) => [c.cell, c.H] },
    { key: "C", title: "C: one stateful step, batch 1, I = 128, H = 256 (median time per step)", cases: stepCases(options), columns: ["cell"], label: (c) => [c.cell] },
    { key: "B", title: "B: batch 64, T = 50, I = 128, H = 256 (median time per call of 64 sequences)", cases: throughputCases(options), columns: ["cell"], label: (c) => [c.cell] },
    { key: "GEMM", title: "GEMM n x n through the public product, a new result per call (median time)", cases: [512].map((n) => ({ id: `GEMM ${n}`, kind: "gemm", n, flops: gemmFlops(n), minSamples: 15 })), columns: ["n"], label: (c) => [c.n] },
  ];
  return all.filter((w) => chosen.has(w.key));
}

function targetsOf(key, results) {
  const out = [];
  for (const row of results) {
    if (!row.engines["ort-web"]) continue;
    const x = ratio(row, "ort-web");
    const xo = row.engines["recur-out"] ? row.engines["ort-web"].median / row.engines["recur-out"].median : NaN;
    const withOut = Number.isFinite(xo) ? `; ${formatRatio(xo)} with out` : "";
    const c = row.case;
    if (key === "A") out.push({ target: `A: ${c.cell} H = ${c.H} >= 1.5x faster than ORT web`, measured: `${formatRatio(x)}${withOut}`, pass: x >= 1.5 });
    if (key === "C") out.push({ target: `C: ${c.cell} step <= 0.5x ORT web's time`, measured: `${formatRatio(1 / x)} of ORT web's time`, pass: 1 / x <= 0.5 });
    if (key === "B") out.push({ target: `B: ${c.cell} >= 2x ORT web throughput`, measured: `${formatRatio(x)}${withOut}`, pass: x >= 2 });
  }
  return out;
}

// forward(x) (new result arrays per call, the main table's recur) beside forward(x, { out }).
function outTable(w, results) {
  const rows = results.filter((r) => r.engines["recur-out"]);
  if (!rows.length) return [];
  const peer = (r, k, base) => (r.engines[k] ? `${formatTime(r.engines[k].median)} (${formatRatio(r.engines[k].median / r.engines[base].median)})` : "n/a");
  return [
    {
      title: `Chromium ${w.key}: recur with new result arrays vs into the caller's (forward(x, { out }))`,
      columns: [...w.columns, "recur forward(x)", "recur forward(x, { out })", "ORT web (ratio to out)", "tfjs-wasm (ratio to out)"],
      rows: rows.map((r) => [...w.label(r.case), formatTime(r.engines.recur.median), formatTime(r.engines["recur-out"].median), peer(r, "ort-web", "recur-out"), peer(r, "tfjs", "recur-out")]),
      notes: ["Both recur columns timed in the same interleaved rounds. tfjs's GRU is the reset-before form; its ratio here is to recur's reset-after GRU with out."],
    },
  ];
}

export async function run(options = {}) {
  const quick = options.quick === true;
  const pageOptions = { rounds: Number(options.rounds ?? (quick ? 2 : 5)), time: Number(options.time ?? (quick ? 200 : 1500)), peers: options.noPeers ? "" : String(options.peers ?? "ort-web,tfjs") };
  if (pageOptions.peers && !ensureInstalled([], options)) throw new Error("bench browser: the peers in bench/peers are not installed (`npm run bench:peers-install`), or pass --no-peers");
  const { chromium } = await import("playwright-core");
  const server = await startServer({ port: 0, isolated: true, paths: ["/dist/", "/build/", "/bench/"] });
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ARGS });
  const start = loadNote();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("console", (m) => console.error(`  ${m.text()}`));
    page.on("pageerror", (e) => errors.push(e));
    page.on("response", (r) => r.status() >= 400 && console.error(`  ${r.status()} ${r.url()}`));
    await page.goto(`${server.url}bench/browser.html`);
    await page.waitForFunction(() => globalThis.recurBench !== undefined || undefined, undefined, { timeout: 60_000 }).catch((e) => {
      throw errors[0] ?? e;
    });
    const info = await page.evaluate(() => globalThis.recurBench.setup());
    if (!info.crossOriginIsolated) throw new Error("bench browser: the page is not cross-origin isolated");
    const host = `${hostCpu().text}; ${os.cpus().length} CPUs; Chromium ${browser.version()} (headless, system binary ${chromiumPath()})`;
    const out = [];
    const detail = {};
    for (const w of workloads(options)) {
      const r = await page.evaluate(([cases, o]) => globalThis.recurBench.compare(cases, o), [w.cases, pageOptions]);
      for (const f of r.failures) console.error(`\nbench: *** MISMATCH *** ${f}\n`);
      if (r.failures.length) process.exitCode = 1;
      detail[w.key] = r.results;
      out.push(
        ...tables({
          title: `Chromium, ${w.title}`,
          short: `Chromium ${w.key}`,
          results: r.results,
          versions: info.versions,
          notes: [`Host: ${host}.`, `Each sample is a batch of back-to-back calls lasting >= 2 ms, divided by its calls (calls per sample: ${r.results.map((x) => Object.entries(x.engines).map(([k, e]) => `${k} ${e.callsPerSample}`).join(", ")).join("; ")}); ${pageOptions.rounds} interleaved rounds, ${pageOptions.time} ms per engine and case.`],
          failures: r.failures,
          caseColumns: w.columns,
          caseLabel: w.label,
          gflops: w.key !== "C",
          targets: targetsOf(w.key, r.results),
          load: { start, end: loadNote() },
          extraNotes: w.key === "GEMM" ? ["recur: matmul(a, b), both operands copied in and a new result out per call; ORT web: a MatMul model with both as inputs; tfjs: tensors made once (kept in its Wasm memory), tf.matMul + dataSync + dispose."] : [],
        }),
      );
      out.push(...outTable(w, r.results));
    }
    return { tables: out, detail, host, load: { start, end: loadNote() }, times: Object.fromEntries(Object.entries(detail).flatMap(([, rows]) => rows.map((r) => [r.case.id, Object.fromEntries(Object.entries(r.engines).map(([k, e]) => [k, formatTime(e.median)]))]))) };
  } finally {
    await browser.close();
    await server.close();
  }
}
