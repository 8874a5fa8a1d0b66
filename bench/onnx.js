// ONNX files in recur (loadOnnx) against onnxruntime-node and onnxruntime-web loading the same
// file: per-call latency (per frame for streaming graphs, the state fed back), load time, and the
// bytes a browser downloads for each engine.
//
//   npm run bench -- onnx [--time=MS] [--rounds=N] [--quick] [--no-peers]
//
// Files: the PyTorch exports of test/fixtures/onnx (written by scripts/onnx-fixtures.py) and
// Silero VAD (v5 and the legacy model, as the @ricky0123/vad-web dev dependency ships them).
// Before timing, every engine's outputs on the first call are compared with recur's (tolerance
// 1e-4 * max(1, |ref|)); a mismatch fails the run. Engines are timed in interleaved rounds;
// each figure is the median of all calls.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { init, backendInfo } from "../dist/index.js";
import { loadOnnx } from "../dist/onnx/index.js";
import { formatRatio, formatTime, loadNote, loadPeers, median } from "./_suite.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = path.join(here, "..");
const require = createRequire(import.meta.url);
const fixtures = path.join(root, "test", "fixtures", "onnx");

function rand(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

/** The cases: a file, the feeds of one call, and the state pairs fed back between calls. */
function cases() {
  const r = rand(3);
  const floats = (n, scale = 1) => Float32Array.from({ length: n }, () => r() * scale);
  const vad = (name) => readFileSync(require.resolve(`@ricky0123/vad-web/dist/${name}`));
  return [
    { name: "PyTorch LSTM 2x8 streaming, one frame", bytes: readFileSync(path.join(fixtures, "torch_lstm_streaming.onnx")), feeds: { x: { type: "float32", shape: [1, 1, 4], data: floats(4) } }, state: { h: "hn", c: "cn" } },
    { name: "PyTorch GRU 1x8 streaming, one frame", bytes: readFileSync(path.join(fixtures, "torch_gru_streaming.onnx")), feeds: { x: { type: "float32", shape: [1, 1, 4], data: floats(4) } }, state: { h: "hn" } },
    {
      name: "PyTorch Embedding-LSTM 2x8-Linear, 50 tokens",
      bytes: readFileSync(path.join(fixtures, "torch_lstm_embedding_linear.onnx")),
      feeds: { ids: { type: "int64", shape: [1, 50], data: BigInt64Array.from({ length: 50 }, (_, i) => BigInt((i * 7) % 12)) } },
      state: {},
    },
    { name: "PyTorch GRU 2x8 bidirectional, 50 steps", bytes: readFileSync(path.join(fixtures, "torch_gru_2layer_bidir_batchfirst.onnx")), feeds: { x: { type: "float32", shape: [1, 50, 4], data: floats(200) } }, state: {} },
    {
      name: "Silero VAD v5, one 512-sample frame",
      bytes: vad("silero_vad_v5.onnx"),
      feeds: { input: { type: "float32", shape: [1, 512], data: floats(512, 0.3) }, sr: { type: "int64", shape: [], data: BigInt64Array.of(16000n) } },
      state: { state: "stateN" },
      stateShapes: { state: [2, 1, 128] },
    },
    {
      name: "Silero VAD v6, one 512-sample frame",
      bytes: vad("silero_vad_v6.onnx"),
      feeds: { input: { type: "float32", shape: [1, 512], data: floats(512, 0.3) }, sr: { type: "int64", shape: [], data: BigInt64Array.of(16000n) } },
      state: { state: "stateN" },
      stateShapes: { state: [2, 1, 128] },
    },
    {
      name: "Silero VAD legacy, one 1536-sample frame",
      bytes: vad("silero_vad_legacy.onnx"),
      feeds: { input: { type: "float32", shape: [1, 1536], data: floats(1536, 0.3) }, sr: { type: "int64", shape: [], data: BigInt64Array.of(16000n) } },
      state: { h: "hn", c: "cn" },
      stateShapes: { h: [2, 1, 64], c: [2, 1, 64] },
    },
  ];
}

function stateShape(c, model, input) {
  if (c.stateShapes?.[input]) return c.stateShapes[input];
  return model.inputs.find((i) => i.name === input).shape.map((d) => (typeof d === "number" ? d : 1));
}

/** recur: a per-call function (sync) and the first call's outputs. */
function recurEngine(c) {
  const model = loadOnnx(c.bytes);
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  if (Object.keys(c.state).length === 0) return { call: () => model.run(feeds), dispose: () => model.dispose() };
  const initial = Object.fromEntries(Object.keys(c.state).map((k) => {
    const shape = stateShape(c, model, k);
    return [k, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }];
  }));
  const stream = model.stream({ pairs: Object.entries(c.state).map(([input, output]) => ({ input, output })), initial });
  return { call: () => stream.step(feeds), reset: () => stream.reset(), dispose: () => model.dispose() };
}

async function ortEngine(ort, c) {
  const session = await ort.InferenceSession.create(c.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" });
  const base = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, new ort.Tensor(v.type, v.data, v.shape)]));
  const model = loadOnnx(c.bytes); // only for declared shapes
  const zeroState = () => Object.fromEntries(Object.keys(c.state).map((k) => {
    const shape = stateShape(c, model, k);
    return [k, new ort.Tensor("float32", new Float32Array(shape.reduce((a, b) => a * b, 1)), shape)];
  }));
  model.dispose();
  let state = zeroState();
  return {
    call: async () => {
      const out = await session.run({ ...base, ...state });
      if (Object.keys(c.state).length) state = Object.fromEntries(Object.entries(c.state).map(([i, o]) => [i, out[o]]));
      return out;
    },
    reset: () => (state = zeroState()),
    dispose: () => session.release(),
  };
}

function maxDiff(a, b) {
  let worst = 0, scale = 1;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(Number(a[i]) - Number(b[i])));
    scale = Math.max(scale, Math.abs(Number(b[i])));
  }
  return worst / scale;
}

async function timeLoad(fn, n = 3) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const e = await fn();
    t.push(performance.now() - s);
    await e.dispose?.();
  }
  return median(t);
}

function browserBytes() {
  const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
  const files = (list) => list.reduce((acc, f) => {
    const b = readFileSync(f);
    return { bytes: acc.bytes + b.length, gzip: acc.gzip + gzipSync(b, { level: 9 }).length };
  }, { bytes: 0, gzip: 0 });
  const rows = [];
  try {
    const dist = path.join(here, "peers", "node_modules", "onnxruntime-web", "dist");
    const web = files([`${dist}/ort.wasm.min.mjs`, `${dist}/ort-wasm-simd-threaded.mjs`, `${dist}/ort-wasm-simd-threaded.wasm`]);
    rows.push(["onnxruntime-web (ort.wasm.min.mjs + ort-wasm-simd-threaded.mjs/.wasm)", kb(web.bytes), kb(web.gzip)]);
  } catch {
    rows.push(["onnxruntime-web", "(bench/peers not installed)", ""]);
  }
  return rows;
}

async function recurBrowserBytes() {
  try {
    const { bundle } = await import("../scripts/size.js");
    const page = await bundle(`export { init } from ${JSON.stringify(path.join(root, "dist", "index.js"))};\nexport { loadOnnx } from ${JSON.stringify(path.join(root, "dist", "onnx", "index.js"))};\n`);
    // loadOnnx runs on the full module (its convolution and element-wise kernels are there).
    const a = page.wasm["simd128-full"] ?? page.wasm.simd128, b = page.wasm["relaxed-full"] ?? page.wasm.relaxed;
    const wasm = a.gzip >= b.gzip ? a : b;
    const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
    return [["recur (init + loadOnnx, Vite-minified, + the full Wasm binary)", kb(page.js.bytes + wasm.bytes), kb(page.js.gzip + wasm.gzip)]];
  } catch (e) {
    return [["recur", `(bundling failed: ${e.message.split("\n")[0]})`, ""]];
  }
}

export async function run(options = {}) {
  await init();
  const quick = Boolean(options.quick);
  const rounds = Number(options.rounds ?? 3);
  const budget = Number(options.time ?? (quick ? 150 : 1500)); // ms per engine and case, over all rounds
  const peers = await loadPeers({ ...options, peers: options.noPeers ? false : "ort-node,ort-web" });
  const engines = [["recur", null], ...["ort-node", "ort-web"].filter((k) => peers.engines[k]).map((k) => [k, peers.engines[k]])];
  const rows = [];
  const loads = [];
  const failures = [];
  const startLoad = loadNote();
  for (const c of cases()) {
    console.error(`bench onnx: ${c.name}`);
    const made = {};
    for (const [key, ort] of engines) made[key] = key === "recur" ? recurEngine(c) : await ortEngine(ort, c);
    // Outputs of the first call, compared with recur's.
    const first = {};
    for (const [key] of engines) {
      first[key] = await made[key].call();
      made[key].reset?.();
    }
    for (const [key] of engines.slice(1)) {
      for (const [name, t] of Object.entries(first[key])) {
        const d = maxDiff(first.recur[name].data, t.data);
        if (!(d <= 1e-4)) failures.push(`${c.name}: ${key} output ${name} differs from recur's by ${d.toExponential(2)} (relative)`);
      }
    }
    const samples = Object.fromEntries(engines.map(([k]) => [k, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [key] of engines) {
        const e = made[key];
        const until = performance.now() + budget / rounds;
        for (let i = 0; i < 3; i++) await e.call(); // warm
        while (performance.now() < until) {
          const s = performance.now();
          const r = e.call();
          if (r instanceof Promise) await r;
          samples[key].push(performance.now() - s);
        }
      }
    }
    const med = Object.fromEntries(engines.map(([k]) => [k, median(samples[k])]));
    rows.push([c.name, formatTime(med.recur), ...engines.slice(1).map(([k]) => `${formatTime(med[k])} (${formatRatio(med[k] / med.recur)})`)]);
    const lt = {};
    lt.recur = await timeLoad(() => {
      const m = loadOnnx(c.bytes);
      return m;
    });
    for (const [key, ort] of engines.slice(1)) lt[key] = await timeLoad(() => ort.InferenceSession.create(c.bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }).then((s) => ({ dispose: () => s.release() })));
    loads.push([c.name, `${(c.bytes.length / 1000).toFixed(1)} kB`, ...engines.map(([k]) => formatTime(lt[k]))]);
    for (const [key] of engines) await made[key].dispose?.();
  }
  if (failures.length) throw new Error(`bench onnx: outputs differ:\n  ${failures.join("\n  ")}`);
  const info = backendInfo();
  return {
    tables: [
      {
        title: "ONNX files: per-call latency (median; in brackets the peer's time / recur's: above 1, recur is faster)",
        columns: ["case", "recur", ...engines.slice(1).map(([k]) => (k === "ort-node" ? "ORT native" : "ORT web"))],
        rows,
        notes: [
          `recur: loadOnnx on the ${info.backend} binary; streaming cases feed the state outputs back with model.stream(). Peers: ${Object.values(peers.versions).join("; ")}. ${peers.notes.join(" ")}`,
          `Load average ${startLoad} at the start, ${loadNote()} at the end.`,
        ],
      },
      { title: "Load time (median of 3: parse, fold constants, build kernels / create the session)", columns: ["case", "file", ...engines.map(([k]) => k)], rows: loads },
      { title: "Bytes a browser downloads for the engine (the model file comes on top)", columns: ["engine", "raw", "gzip -9"], rows: [...(await recurBrowserBytes()), ...browserBytes()] },
    ],
  };
}

