// The page side of `npm run bench -- browser` (browser.js drives it): recur, onnxruntime-web and
// tfjs-wasm loaded in one cross-origin-isolated page (browser.html), running the Node suite's
// cases from the same seeded inputs and weights (_engines.js builds both), outputs checked against
// recur's before any timing, then timed in interleaved rounds with the engine order rotated.
//
// Timing: performance.now() in an isolated page ticks in 5 us (coarser elsewhere), the size of a
// batch-1 call's overhead, so a sample is a batch of k back-to-back calls lasting >= 2 ms, divided
// by k; an event-loop turn separates samples (GC and the peers' promise jobs run there, charged to
// nobody's batch but paid by every engine alike).
import { backendInfo, init, matmul } from "../dist/index.js";
import { TOLERANCE, caseData, maxAbsDiff, median, prepareOrt, prepareRecur, prepareTfjs, random, relativeDiff } from "./_engines.js";
import { encodeModel } from "./_onnx.js";
import * as ort from "./peers/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

const tf = globalThis.tf; // the UMD scripts of browser.html (tfjs has no browser ESM build without a bundler)
const peersUrl = new URL("./peers/node_modules/", import.meta.url).href;

const turn = () =>
  new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(0);
  });

async function setup() {
  await init();
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.logLevel = "error";
  ort.env.wasm.wasmPaths = `${peersUrl}onnxruntime-web/dist/`;
  tf.wasm.setWasmPaths(`${peersUrl}@tensorflow/tfjs-backend-wasm/dist/`);
  tf.wasm.setThreadsCount(1);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // the single-threaded SIMD binary, as in Node
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
  await tf.ready();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return {
    crossOriginIsolated: globalThis.crossOriginIsolated,
    userAgent: navigator.userAgent,
    versions: {
      recur: `recur (${backendInfo().backend} binary)`,
      "ort-web": `onnxruntime-web ${ort.env.versions?.web ?? "?"} (wasm backend, SIMD, numThreads 1)`,
      tfjs: `@tensorflow/tfjs ${tf.version.tfjs} + tfjs-backend-wasm (${simd ? "SIMD" : "no SIMD"}, 1 thread)`,
    },
  };
}

/** GEMM n x n through each engine's public product, a new result array per call. */
async function prepareGemm(c) {
  const { n } = c;
  const next = random(n); // kernels.js's GEMM inputs
  const a = Float32Array.from({ length: n * n }, next);
  const b = Float32Array.from({ length: n * n }, next);
  const ta = { shape: [n, n], data: a };
  const tb = { shape: [n, n], data: b };
  const recur = { run: () => matmul(ta, tb), check: () => ({ c: matmul(ta, tb).data }), dispose: () => {} };
  const bytes = encodeModel({
    node: { opType: "MatMul", inputs: ["A", "B"], outputs: ["C"] },
    inputs: [{ name: "A", dims: [n, n] }, { name: "B", dims: [n, n] }],
    outputs: [{ name: "C", dims: [n, n] }],
  });
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" });
  const feeds = { A: new ort.Tensor("float32", a, [n, n]), B: new ort.Tensor("float32", b, [n, n]) };
  const ortWeb = { run: () => session.run(feeds), check: async () => ({ c: (await session.run(feeds)).C.data }), dispose: () => session.release() };
  const xa = tf.tensor2d(a, [n, n]);
  const xb = tf.tensor2d(b, [n, n]);
  const product = () => {
    const p = tf.matMul(xa, xb);
    const data = p.dataSync();
    p.dispose();
    return data;
  };
  const tfjs = { run: product, check: () => ({ c: product() }), dispose: () => tf.dispose([xa, xb]) };
  return { recur, "ort-web": ortWeb, tfjs };
}

async function prepare(c, wanted) {
  if (c.kind === "gemm") return prepareGemm(c);
  const d = caseData(c);
  const out = { recur: prepareRecur(c, d) };
  const sd = out.recur.model.stateDict();
  if (c.kind === "sequence") out["recur-out"] = prepareRecur(c, d, { sd, out: true });
  if (c.cell === "GRU" && wanted.has("tfjs")) out["recur-rb"] = prepareRecur(c, d, { resetAfter: false, sd });
  if (wanted.has("ort-web")) out["ort-web"] = await prepareOrt(ort, "wasm", c, d, sd);
  if (wanted.has("tfjs")) out.tfjs = prepareTfjs(tf, c, d, sd);
  return out;
}

// One sample: k calls back to back, per-call ms. A sync engine is not awaited (an await per call
// would charge it a microtask turn it does not need).
async function batch(fn, sync, k) {
  const t0 = performance.now();
  if (sync) for (let i = 0; i < k; i++) fn();
  else for (let i = 0; i < k; i++) await fn();
  return (performance.now() - t0) / k;
}

async function warm(fn, ms) {
  // Wasm tiers up between calls (no on-stack replacement): short calls with event-loop turns.
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < ms; i++) {
    await fn();
    if (i % 8 === 7) await turn();
  }
}

/** Runs `cases` on every engine; returns rows as _suite.js's compare() does, plus failures. */
async function compare(cases, { rounds = 5, time = 1500, peers = "ort-web,tfjs", batchMs = 2 } = {}) {
  const wanted = new Set(String(peers).split(",").filter(Boolean));
  const ms = Math.max(20, time / rounds);
  const results = [];
  const failures = [];
  for (const c of cases) {
    console.log(c.id);
    const prepared = await prepare(c, wanted);
    for (const k of Object.keys(prepared)) if (!prepared[k]) delete prepared[k];
    const outputs = {};
    for (const [k, p] of Object.entries(prepared)) outputs[k] = await p.check();
    const row = { case: c, engines: {} };
    for (const k of Object.keys(prepared)) {
      row.engines[k] = {};
      if (k === "recur" || k === "recur-rb" || k === "recur-out") continue;
      const base = prepared[k].baseline ?? "recur";
      let diff;
      try {
        diff = maxAbsDiff(outputs[base], outputs[k]);
      } catch (err) {
        diff = Infinity;
        console.log(`${c.id} ${k}: ${err.message}`);
      }
      Object.assign(row.engines[k], { diff, relative: Number.isFinite(diff) ? relativeDiff(outputs[base], outputs[k]) : Infinity, baseline: base });
      if (!(diff <= TOLERANCE)) failures.push(`${c.id} ${k}: max |diff| ${diff} vs ${base} > ${TOLERANCE}`);
    }
    const keys = Object.keys(prepared);
    const plan = {};
    const min = Math.max(3, Math.ceil((c.minSamples ?? 15) / rounds));
    for (const k of keys) {
      const fn = prepared[k].run;
      await warm(fn, Math.min(300, ms));
      const sync = !(fn() instanceof Promise);
      let calls = 1; // doubled until a batch lasts batchMs
      let callMs;
      while ((callMs = await batch(fn, sync, calls)) * calls < batchMs && calls < 1 << 16) calls *= 2;
      // A call longer than a round's time (tfjs on workload B) gets one sample per round.
      plan[k] = { fn, sync, k: calls, min: callMs * calls > ms ? 1 : min, samples: [] };
      await turn();
    }
    for (let r = 0; r < rounds; r++) {
      for (const key of keys.map((_, i) => keys[(i + r) % keys.length])) {
        const p = plan[key];
        const start = performance.now();
        for (let s = 0; s < p.min || performance.now() - start < ms; s++) {
          p.samples.push(await batch(p.fn, p.sync, p.k));
          await turn();
        }
      }
    }
    for (const k of keys) {
      const v = plan[k].samples;
      const med = median(v);
      Object.assign(row.engines[k], { median: med, min: Math.min(...v), samples: v.length, callsPerSample: plan[k].k, gflops: c.flops ? c.flops / med / 1e6 : undefined });
      await prepared[k].dispose();
    }
    results.push(row);
  }
  return { results, failures };
}

globalThis.recurBench = { setup, compare };
