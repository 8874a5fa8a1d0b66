// The peer comparison behind the recurrent workloads (bench/latency.js, throughput.js, step.js,
// train.js): recur and its peers run the same case from the same seeded weights and inputs,
// every peer's outputs are checked against recur's, and all engines are timed in interleaved
// rounds so that a noisy machine affects them alike.
//
// Peers live in their own package, bench/peers/ (installed on first use, or with
// `npm run bench:peers-install`), so recur's own install never pulls them:
//   onnxruntime-node  native ORT, CPU provider, intra/inter-op threads 1
//   onnxruntime-web   ORT's Wasm build (SIMD), ort.env.wasm.numThreads = 1
//   tfjs-wasm         @tensorflow/tfjs with @tensorflow/tfjs-backend-wasm, threads off
//   PyTorch           Debian's python3-torch through /usr/bin/python3 (bench/_torch.py), 1 thread
// Options: --no-peers (recur only), --peers=ort-node,ort-web,tfjs,torch (a subset),
// --no-install (never run npm), --rounds=N, --time=MS (per engine and case, split over rounds),
// --quick, --threads=N (also time recur on N threads, as engine "recur-threads", against recur on
// one thread of the same threaded core: see threadsTable).
import os from "node:os";
import { Bench } from "tinybench";
import { backendInfo, init, setThreads } from "../dist/index.js";
import { TOLERANCE, GATES, ENGINES, median, tick, formatTime, formatRatio } from "./_common.js";
import { caseData, maxAbsDiff, prepareOrt, prepareRecur, prepareTfjs, relativeDiff } from "./_engines.js";
import { loadPeers, TorchPeer, prepareTorch } from "./_peers.js";

export { TOLERANCE, ENGINES, random, median, formatTime, formatRatio, loadNote } from "./_common.js";
export { loadPeers } from "./_peers.js";

// ---------------------------------------------------------------- engines per case kind

// The cases' data, recur's models and the JS peers' sessions are made in _engines.js (shared with
// the browser bench). A case: { id, kind: "sequence" | "step" | "train", cell, I, H, T, B, L? (layers, default 1;
// more only for steps on recur and ORT), classes?, lr?, seed }.
// prepare() returns { run | time, check, dispose, baseline? }: run() is timed with tinybench
// (time() for an engine in another process), check() gives named outputs computed from the
// initial weights and state, compared with the baseline engine's (recur by default).

// ---------------------------------------------------------------- timing

async function timeJs(name, fn, { ms, min, warmup, callMs }) {
  if (warmup) {
    // Wasm tiers up between calls (no on-stack replacement): many short calls with event-loop
    // turns before the first measurement, for recur and the Wasm peers alike.
    const start = performance.now();
    const end = start + Math.min(300, ms);
    let i = 0;
    for (; i < 3 || performance.now() < end; i++) {
      await fn();
      if (i % 8 === 7) await tick();
    }
    callMs = (performance.now() - start) / i;
  }
  // A very slow engine (a call of a second or more) gets fewer than `min` samples, at least 3.
  if (callMs > 0) min = Math.max(3, Math.min(min, Math.ceil((3 * ms) / callMs)));
  const bench = new Bench({ time: ms, iterations: min, warmup: false, retainSamples: true, throws: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw r.error ?? new Error(`${name}: ${r.state}`);
  return Array.from(r.latency.samples);
}

/**
 * Runs the cases on recur and every loaded peer. Returns { results: [{ case, engines: { key:
 * { median, min, samples, gflops, diff? } } }], versions, notes, failures }.
 */
export async function compare(cases, options = {}) {
  const threads = threadsOption(options);
  const info = await init(threads > 1 ? { threads } : {});
  if (threads > 1 && info.threads < threads) throw new Error(`bench: --threads=${threads}: only ${info.threads} thread(s) started (${info.threadsFallback})`);
  const peers = await loadPeers(options);
  const quick = options.quick === true;
  const rounds = Number(options.rounds ?? (quick ? 1 : 3));
  const totalMs = Number(options.time ?? (quick ? 150 : 1500));
  const ms = Math.max(20, totalMs / rounds);
  const torch = peers.engines.torch ? new TorchPeer() : null;
  const failures = [];
  const results = [];
  const versions = { recur: `recur (${backendInfo().backend} binary)`, ...peers.versions };
  if (torch) {
    const info = await torch.request({ op: "info" });
    versions.torch = `PyTorch ${info.torch} (Debian python3-torch, Python ${info.python}, ${info.threads} thread, BLAS ${info.blas})`;
  }
  try {
    for (const c of cases) {
      console.error(`  ${c.id}`);
      const d = caseData(c);
      const prepared = {};
      prepared.recur = prepareRecur(c, d);
      const sd = prepared.recur.model.stateDict();
      if (threads > 1) prepared["recur-threads"] = onThreads(prepareRecur(c, d, { sd }), threads);
      if (c.cell === "GRU" && c.kind !== "train" && peers.engines.tfjs) prepared["recur-rb"] = prepareRecur(c, d, { resetAfter: false, sd });
      const e = peers.engines;
      if (e["ort-node"]) prepared["ort-node"] = await prepareOrt(e["ort-node"], "cpu", c, d, sd);
      if (e["ort-web"]) prepared["ort-web"] = await prepareOrt(e["ort-web"], "wasm", c, d, sd);
      if (e.tfjs) prepared.tfjs = prepareTfjs(e.tfjs, c, d, sd);
      if (torch) prepared.torch = await prepareTorch(torch, c, d, sd);
      for (const k of Object.keys(prepared)) if (!prepared[k]) delete prepared[k];

      // Same numbers first: every peer against recur from the same initial weights and state.
      const outputs = {};
      for (const [k, p] of Object.entries(prepared)) outputs[k] = await p.check();
      const row = { case: c, engines: {} };
      for (const [k, p] of Object.entries(prepared)) {
        row.engines[k] = {};
        if (k === "recur" || k === "recur-rb") continue;
        const base = p.baseline ?? "recur";
        let diff;
        try {
          diff = maxAbsDiff(outputs[base], outputs[k]);
        } catch (err) {
          diff = Infinity;
          console.error(`bench: ${c.id} ${k}: ${err.message}`);
        }
        row.engines[k].diff = diff;
        row.engines[k].relative = Number.isFinite(diff) ? relativeDiff(outputs[base], outputs[k]) : Infinity;
        row.engines[k].baseline = base;
        if (!(diff <= TOLERANCE)) {
          failures.push(`${c.id} ${k}: max |diff| ${diff} vs ${base} > ${TOLERANCE}`);
          console.error(`\nbench: *** MISMATCH *** ${c.id}: ${k} differs from ${base} by ${diff} (tolerance ${TOLERANCE})\n`);
          process.exitCode = 1;
        }
      }

      // Interleaved rounds, engine order rotated each round.
      const keys = Object.keys(prepared);
      const samples = Object.fromEntries(keys.map((k) => [k, []]));
      const spent = Object.fromEntries(keys.map((k) => [k, 0]));
      const min = quick ? 3 : Math.max(3, Math.ceil((c.minSamples ?? 15) / rounds));
      for (let r = 0; r < rounds; r++) {
        const order = keys.map((_, i) => keys[(i + r) % keys.length]);
        for (const k of order) {
          const p = prepared[k];
          const t0 = performance.now();
          const got = p.time ? await p.time(ms, min, r === 0) : await timeJs(`${c.id} ${k}`, p.run, { ms, min, warmup: r === 0, callMs: median(samples[k]) });
          spent[k] += performance.now() - t0;
          for (const v of got) samples[k].push(v); // not push(...got): a 1-us call gives 10^5 samples
          await tick();
        }
      }
      for (const k of keys) {
        const med = median(samples[k]);
        Object.assign(row.engines[k], { median: med, min: samples[k].reduce((a, b) => Math.min(a, b), Infinity), samples: samples[k].length, gflops: c.flops ? c.flops / med / 1e6 : undefined });
      }
      console.error(`    ${keys.map((k) => `${k} ${formatTime(row.engines[k].median)} (${samples[k].length} samples, ${(spent[k] / 1000).toFixed(1)} s)`).join(", ")}`);
      results.push(row);
      for (const p of Object.values(prepared)) await p.dispose();
      globalThis.gc?.();
    }
  } finally {
    await torch?.close();
  }
  return { results, versions, notes: peers.notes, failures };
}

/** The --threads option: 1 (default) or an integer >= 2. */
export function threadsOption(options) {
  const n = options.threads === undefined || options.threads === false ? 1 : Number(options.threads);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --threads must be an integer >= 1, got ${options.threads}`);
  return n;
}

// A prepared recur engine whose calls run on `threads` threads; every other engine (recur
// included) runs with one thread of the same core.
function onThreads(p, threads) {
  const wrap = (fn) => () => {
    setThreads(threads);
    try {
      return fn();
    } finally {
      setThreads(1);
    }
  };
  return { ...p, run: wrap(p.run), check: wrap(p.check) };
}

/**
 * With --threads=N: recur on N threads against recur on one thread, per case (both on the
 * threaded core, timed in the same interleaved rounds). `target` is the ratio to reach, if any.
 */
export function threadsTable({ title, short = title, results, caseLabel, caseColumns, display = (e) => formatTime(e.median), threads, target, load }) {
  const rows = results.filter((r) => r.engines["recur-threads"]);
  if (!rows.length) return [];
  return [
    {
      title: `${short}: recur on ${threads} threads vs 1`,
      columns: [...caseColumns, "1 thread", `${threads} threads`, "ratio (median)", "ratio (best)", "max |difference|", ...(target ? ["target", "verdict"] : [])],
      rows: rows.map((r) => {
        const one = r.engines.recur;
        const many = r.engines["recur-threads"];
        const x = one.median / many.median;
        return [
          ...caseLabel(r.case),
          display(one, r.case),
          display(many, r.case),
          formatRatio(x),
          formatRatio(one.min / many.min),
          many.diff === 0 ? "0 (bit-identical)" : String(many.diff),
          ...(target ? [`>= ${target}x`, x >= target ? "met" : "MISSED"] : []),
        ];
      }),
      notes: [
        `Both columns run on the threaded core (init({ threads: ${threads} })), the 1-thread column after setThreads(1); calls alternate in the same interleaved rounds. Ratio = 1-thread time / ${threads}-thread time (median over all samples; best = fastest samples). The machine has ${os.cpus().length} CPUs and is shared: the ratio needs them idle.`,
        ...(load ? [`Load average at the start: ${load.start}; at the end: ${load.end}.`] : []),
      ],
    },
  ];
}

/** Forward flops of a single-layer cell over T steps and B sequences (the two products only). */
export function forwardFlops(cell, T, B, I, H) {
  return 2 * T * B * GATES[cell] * H * (I + H);
}

/** Ratio of a peer to recur (peer time / recur time: above 1, recur is faster). */
export function ratio(row, key) {
  const base = key === "tfjs" && row.engines.tfjs?.baseline === "recur-rb" ? "recur-rb" : "recur";
  const p = row.engines[key];
  const r = row.engines[base];
  return p && r ? p.median / r.median : NaN;
}

/**
 * The standard tables: times with ratios, the cross-check, the targets. `value(row, key)` gives
 * a displayed number for an engine (default its median time).
 */
export function tables({ title, short = title, results, versions, notes, failures, caseLabel, caseColumns, display = (e) => formatTime(e.median), gflops = true, targets = [], extraNotes = [], load }) {
  const engines = ENGINES.filter((e) => results.some((r) => r.engines[e.key]));
  const peers = engines.filter((e) => e.key !== "recur");
  const main = {
    title,
    columns: [...caseColumns, "recur", ...(gflops ? ["recur GFLOP/s"] : []), ...peers.map((p) => `${p.label} (ratio)`)],
    rows: results.map((r) => [
      ...caseLabel(r.case),
      display(r.engines.recur, r.case),
      ...(gflops ? [r.engines.recur.gflops?.toFixed(1) ?? ""] : []),
      ...peers.map((p) => (r.engines[p.key] ? `${display(r.engines[p.key], r.case)} (${formatRatio(ratio(r, p.key))})` : "n/a")),
    ]),
    notes: [
      "Ratio = peer time / recur time (above 1: recur is faster). Medians over all samples of interleaved rounds; float32, one thread everywhere.",
      ...(results.some((r) => r.engines["recur-rb"])
        ? ["GRU and tfjs: tfjs's GRU is the reset-before form (Keras reset_after=False), so its ratio is against recur's GRU({ resetAfter: false }) timed in the same rounds: " +
            results.filter((r) => r.engines["recur-rb"]).map((r) => `${caseLabel(r.case).join(" ")}: ${display(r.engines["recur-rb"], r.case)}`).join("; ") + ". ORT (linear_before_reset=1) and PyTorch run the reset-after GRU, recur's default."]
        : []),
      ...extraNotes,
      `Engines: ${Object.entries(versions).filter(([k]) => results.some((r) => r.engines[k])).map(([, v]) => v).join("; ")}.`,
      ...notes,
      ...(load ? [`Load average at the start: ${load.start}; at the end: ${load.end}.`] : []),
    ],
  };
  const check = {
    title: `${short}: same outputs as recur (max |difference|; tolerance ${TOLERANCE})`,
    columns: [...caseColumns, ...peers.map((p) => p.label)],
    rows: results.map((r) => [
      ...caseLabel(r.case),
      ...peers.map((p) => {
        const e = r.engines[p.key];
        if (!e) return "n/a";
        return `${e.diff === 0 ? "0" : e.diff.toExponential(1)} (rel ${e.relative === 0 ? "0" : e.relative.toExponential(0)})${e.diff <= TOLERANCE ? "" : " FAIL"}`;
      }),
    ]),
    notes: [
      "rel = the largest, over the compared outputs (sequence, final states; or loss and each gradient), of max |difference| / max |recur's value|.",
      ...(failures.length ? [`MISMATCHES: ${failures.join("; ")}`] : []),
    ],
  };
  const out = [main, check];
  if (targets.length) {
    out.push({ title: `${short}: targets`, columns: ["target", "measured", "verdict"], rows: targets.map((t) => [t.target, t.measured, t.pass === undefined ? "n/a" : t.pass ? "met" : "MISSED"]) });
  }
  return out;
}
