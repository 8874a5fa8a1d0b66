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
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { GRU, LSTM, RNN, SGD, SequenceModel, backendInfo, init, readSafetensors, setThreads, writeSafetensors } from "../dist/index.js";
import { recurrentOnnx } from "./_onnx.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const peersDir = path.join(here, "peers");
const PYTHON = "/usr/bin/python3";
export const TOLERANCE = 1e-4;
const MODELS = { LSTM, GRU, RNN };
const GATES = { LSTM: 4, GRU: 3, RNN: 1 };

export const ENGINES = [
  { key: "recur", label: "recur" },
  { key: "ort-node", label: "ORT native" },
  { key: "ort-web", label: "ORT web" },
  { key: "tfjs", label: "tfjs-wasm" },
  { key: "torch", label: "PyTorch" },
];

// ---------------------------------------------------------------- helpers

export function random(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

export const median = (v) => {
  const s = Float64Array.from(v).sort();
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** [T, B, F] time-major <-> [B, T, F] batch-major. */
function swap01(data, A, Bn, F) {
  const out = new Float32Array(data.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < Bn; b++) out.set(data.subarray((a * Bn + b) * F, (a * Bn + b + 1) * F), (b * A + a) * F);
  return out;
}

/** [rows, cols] -> [cols, rows]. */
function transpose(data, rows, cols) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

/** Keras / tfjs gate order from PyTorch's: LSTM i f c o (the same), GRU z r h (PyTorch r z n). */
function kerasGates(cell, data, H, cols) {
  if (cell !== "GRU") return data;
  const out = new Float32Array(data.length);
  [1, 0, 2].forEach((src, dst) => out.set(data.subarray(src * H * cols, (src + 1) * H * cols), dst * H * cols));
  return out;
}

export function formatTime(ms) {
  if (!Number.isFinite(ms)) return "";
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} us`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

export function formatRatio(r) {
  return Number.isFinite(r) ? `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x` : "";
}

export function loadNote() {
  const [l1, l5, l15] = os.loadavg();
  return `${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)} (1, 5, 15 min; ${os.cpus().length} CPUs)`;
}

// ---------------------------------------------------------------- peers

let peersPromise;

/** Loads the peers once per process; returns { engines: { key: module }, versions, notes }. */
export function loadPeers(options) {
  peersPromise ??= doLoadPeers(options);
  return peersPromise;
}

function wantedPeers(options) {
  if (options.noPeers || options.peers === false) return new Set();
  if (typeof options.peers === "string") return new Set(options.peers.split(",").map((s) => s.trim()));
  return new Set(["ort-node", "ort-web", "tfjs", "torch"]);
}

function ensureInstalled(notes, options) {
  const marker = path.join(peersDir, "node_modules", ".package-lock.json");
  if (existsSync(marker)) return true;
  if (options.install === false || options.noInstall) {
    notes.push("JS peers skipped: bench/peers is not installed (run `npm run bench:peers-install`).");
    return false;
  }
  console.error(
    "bench: the peer libraries (onnxruntime-node, onnxruntime-web, @tensorflow/tfjs, @tensorflow/tfjs-backend-wasm)\n" +
      "bench: are not installed; installing them once into bench/peers/node_modules (`npm install` there, about 750 MB).\n" +
      "bench: they are not part of recur's own install. Skip this with --no-peers or --no-install.",
  );
  try {
    execFileSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: peersDir, stdio: ["ignore", 2, 2] });
    return true;
  } catch (e) {
    notes.push(`JS peers skipped: \`npm install\` in bench/peers failed (${e.message.split("\n")[0]}).`);
    return false;
  }
}

async function doLoadPeers(options) {
  const wanted = wantedPeers(options);
  const engines = {};
  const versions = {};
  const notes = [];
  const js = ["ort-node", "ort-web", "tfjs"].filter((k) => wanted.has(k));
  if (js.length && ensureInstalled(notes, options)) {
    const require = createRequire(path.join(peersDir, "package.json"));
    const version = (name) => JSON.parse(readFileSync(path.join(peersDir, "node_modules", name, "package.json"), "utf8")).version;
    if (wanted.has("ort-node")) {
      try {
        engines["ort-node"] = require("onnxruntime-node");
        versions["ort-node"] = `onnxruntime-node ${version("onnxruntime-node")} (CPU provider, intra/inter-op threads 1)`;
      } catch (e) {
        notes.push(`ORT native skipped: ${e.message.split("\n")[0]}`);
      }
    }
    if (wanted.has("ort-web")) {
      try {
        const ort = await import(require.resolve("onnxruntime-web"));
        ort.env.wasm.numThreads = 1;
        ort.env.wasm.simd = true;
        ort.env.logLevel = "error";
        engines["ort-web"] = ort;
        versions["ort-web"] = `onnxruntime-web ${version("onnxruntime-web")} (wasm backend, SIMD, numThreads 1)`;
      } catch (e) {
        notes.push(`ORT web skipped: ${e.message.split("\n")[0]}`);
      }
    }
    if (wanted.has("tfjs")) {
      try {
        const tf = require("@tensorflow/tfjs");
        const wasm = require("@tensorflow/tfjs-backend-wasm");
        wasm.setWasmPaths(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm")) + path.sep);
        wasm.setThreadsCount(1);
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // the single-threaded SIMD binary
        if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
        await tf.ready();
        const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
        engines.tfjs = tf;
        versions.tfjs = `@tensorflow/tfjs ${tf.version.tfjs} + tfjs-backend-wasm ${version("@tensorflow/tfjs-backend-wasm")} (${simd ? "SIMD" : "no SIMD"}, 1 thread)`;
      } catch (e) {
        notes.push(`tfjs-wasm skipped: ${e.message.split("\n")[0]}`);
      }
    }
  }
  if (wanted.has("torch")) {
    const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" }) : null;
    if (probe?.status === 0) {
      engines.torch = true; // a Python process is started per workload (startTorch)
      versions.torch = `PyTorch ${probe.stdout.trim()} (Debian python3-torch, torch.set_num_threads(1))`;
    } else {
      notes.push(
        existsSync(PYTHON)
          ? "PyTorch skipped: /usr/bin/python3 has no torch (`apt-get install -y python3-torch` adds it)."
          : "PyTorch skipped: no /usr/bin/python3.",
      );
    }
  }
  return { engines, versions, notes };
}

class TorchPeer {
  constructor() {
    // One thread in PyTorch (set in the script) and in the BLAS it calls.
    const env = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
    this.child = spawn(PYTHON, [path.join(here, "_torch.py")], { stdio: ["pipe", "pipe", "inherit"], env });
    this.pending = [];
    this.dead = null;
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const p = this.pending.shift();
      if (!p) return;
      const reply = JSON.parse(line);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(`PyTorch: ${reply.error}`));
    });
    this.child.on("exit", (code) => {
      this.dead = new Error(`PyTorch process exited (${code})`);
      for (const p of this.pending.splice(0)) p.reject(this.dead);
    });
    this.dir = mkdtempSync(path.join(os.tmpdir(), "recur-bench-"));
    this.files = 0;
  }
  request(obj) {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(obj) + "\n");
    });
  }
  file() {
    return path.join(this.dir, `t${this.files++}.safetensors`);
  }
  async close() {
    if (!this.dead) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.stdin.end();
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- engines per case kind

// A case: { id, kind: "sequence" | "step" | "train", cell, I, H, T, B, classes?, lr?, seed }.
// prepare() returns { run | time, check, dispose, baseline? }: run() is timed with tinybench
// (time() for an engine in another process), check() gives named outputs computed from the
// initial weights and state, compared with the baseline engine's (recur by default).

function caseData(c) {
  const next = random(c.seed * 7919 + 17);
  const steps = c.kind === "step" ? 1 : c.T;
  const x = Float32Array.from({ length: steps * c.B * c.I }, next);
  const target = c.kind === "train" ? Int32Array.from({ length: c.B }, () => Math.floor(((next() + 1) / 2) * c.classes) % c.classes) : undefined;
  return { x, target, steps };
}

function recurModel(c, resetAfter = true) {
  if (c.kind === "train") {
    return new SequenceModel({ cell: c.cell, inputSize: c.I, hiddenSize: c.H, outputSize: c.classes, outputs: "last", seed: c.seed });
  }
  const Cls = MODELS[c.cell];
  return new Cls({ inputSize: c.I, hiddenSize: c.H, seed: c.seed, ...(c.cell === "GRU" ? { resetAfter } : {}) });
}

/** recur, and for GRU also its reset-before form (tfjs's GRU) as "recur-rb". */
function prepareRecur(c, d, { resetAfter = true, sd } = {}) {
  const model = recurModel(c, resetAfter);
  if (sd) model.loadStateDict(sd);
  const lstm = c.cell === "LSTM";
  if (c.kind === "sequence") {
    const x = { shape: [c.T, c.B, c.I], data: d.x };
    return {
      model,
      run: () => model.forward(x),
      check: () => {
        const r = model.forward(x);
        return { y: r.output.data, h: r.hN.data, ...(lstm ? { c: r.cN.data } : {}) };
      },
      dispose: () => model.dispose(),
    };
  }
  if (c.kind === "step") {
    const xt = { shape: [1, c.B, c.I], data: d.x };
    const state = model.initialState(c.B);
    const out = new Float32Array(c.B * c.H);
    return {
      model,
      run: () => model.step(xt, state, out),
      check: () => {
        const s = model.initialState(c.B);
        for (let i = 0; i < 10; i++) model.step(xt, s, out);
        return { h: s.h.data, ...(lstm ? { c: s.c.data } : {}) };
      },
      dispose: () => model.dispose(),
    };
  }
  const optimizer = new SGD(model, { lr: c.lr });
  const batch = { input: { shape: [c.T, c.B, c.I], data: d.x }, target: { shape: [c.B], data: d.target } };
  return {
    model,
    run: () => model.trainStep(batch, optimizer),
    check: () => {
      model.zeroGrad();
      const r = model.lossAndGrad(batch);
      const out = { loss: Float32Array.of(r.loss) };
      for (const [k, v] of Object.entries(model.gradients())) out[k] = v.data.slice();
      model.zeroGrad();
      return out;
    },
    dispose: () => model.dispose(),
  };
}

async function prepareOrt(ort, provider, c, d, sd) {
  if (c.kind === "train") return null; // no training API in these packages
  const lstm = c.cell === "LSTM";
  const bytes = recurrentOnnx({ cell: c.cell, sd, inputSize: c.I, hiddenSize: c.H, T: d.steps, batch: c.B, mode: c.kind });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [provider],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const X = new ort.Tensor("float32", d.x, [d.steps, c.B, c.I]);
  if (c.kind === "sequence") {
    const feeds = { X };
    return {
      run: async () => {
        await session.run(feeds);
      },
      check: async () => {
        const r = await session.run(feeds);
        return { y: r.Y.data, h: r.Y_h.data, ...(lstm ? { c: r.Y_c.data } : {}) };
      },
      dispose: () => session.release(),
    };
  }
  const zeros = () => new ort.Tensor("float32", new Float32Array(c.B * c.H), [1, c.B, c.H]);
  let h = zeros();
  let cs = zeros();
  const step = async () => {
    const r = await session.run(lstm ? { X, initial_h: h, initial_c: cs } : { X, initial_h: h });
    h = r.Y_h;
    if (lstm) cs = r.Y_c;
  };
  return {
    run: step,
    check: async () => {
      h = zeros();
      cs = zeros();
      for (let i = 0; i < 10; i++) await step();
      const out = { h: h.data.slice(), ...(lstm ? { c: cs.data.slice() } : {}) };
      h = zeros();
      cs = zeros();
      return out;
    },
    dispose: () => session.release(),
  };
}

function tfLayer(tf, c, extra) {
  const common = { units: c.H, kernelInitializer: "zeros", recurrentInitializer: "zeros", biasInitializer: "zeros", ...extra };
  if (c.cell === "LSTM") return tf.layers.lstm({ ...common, recurrentActivation: "sigmoid", unitForgetBias: false });
  if (c.cell === "GRU") return tf.layers.gru({ ...common, recurrentActivation: "sigmoid" });
  return tf.layers.simpleRNN({ ...common, activation: "tanh" });
}

/** tfjs weights [kernel [I, G*H], recurrentKernel [H, G*H], bias [G*H] = b_ih + b_hh] from PyTorch's. */
function tfRecurrentWeights(tf, cell, sd, prefix, I, H) {
  const G = GATES[cell];
  const bias = new Float32Array(G * H);
  for (let i = 0; i < G * H; i++) bias[i] = sd[`${prefix}bias_ih_l0`].data[i] + sd[`${prefix}bias_hh_l0`].data[i];
  return [
    tf.tensor2d(transpose(kerasGates(cell, sd[`${prefix}weight_ih_l0`].data, H, I), G * H, I), [I, G * H]),
    tf.tensor2d(transpose(kerasGates(cell, sd[`${prefix}weight_hh_l0`].data, H, H), G * H, H), [H, G * H]),
    tf.tensor1d(kerasGates(cell, bias, H, 1)),
  ];
}

function prepareTfjs(tf, c, d, sd) {
  // tfjs layers are batch-major; its GRU is the reset-before form (checked against recur-rb).
  const lstm = c.cell === "LSTM";
  if (c.kind === "sequence") {
    const layer = tfLayer(tf, c, { returnSequences: true, returnState: true });
    const x = tf.tensor3d(swap01(d.x, c.T, c.B, c.I), [c.B, c.T, c.I]);
    tf.tidy(() => layer.apply(x));
    const w = tfRecurrentWeights(tf, c.cell, sd, "", c.I, c.H);
    layer.setWeights(w);
    tf.dispose(w);
    const forward = () =>
      tf.tidy(() => {
        const outs = layer.apply(x);
        return outs.map((o) => o.dataSync());
      });
    return {
      baseline: c.cell === "GRU" ? "recur-rb" : "recur",
      run: forward,
      check: () => {
        const [y, h, cs] = forward();
        return { y: swap01(y, c.B, c.T, c.H), h, ...(lstm ? { c: cs } : {}) };
      },
      dispose: () => {
        x.dispose();
        layer.dispose();
      },
    };
  }
  if (c.kind === "step") {
    const layer = tfLayer(tf, c, { returnState: true });
    const x = tf.tensor3d(d.x, [c.B, 1, c.I]);
    const zeros = () => (lstm ? [tf.zeros([c.B, c.H]), tf.zeros([c.B, c.H])] : [tf.zeros([c.B, c.H])]);
    let state = zeros();
    tf.tidy(() => layer.apply(x, { initialState: state }));
    const w = tfRecurrentWeights(tf, c.cell, sd, "", c.I, c.H);
    layer.setWeights(w);
    tf.dispose(w);
    const step = () => {
      const [out, ...next] = tf.tidy(() => layer.apply(x, { initialState: state }));
      out.dataSync(); // the step's output in JS, as recur's step writes it
      if (!next.includes(out)) out.dispose(); // the output may be the new h itself
      tf.dispose(state);
      state = next;
    };
    return {
      baseline: c.cell === "GRU" ? "recur-rb" : "recur",
      run: step,
      check: () => {
        tf.dispose(state);
        state = zeros();
        for (let i = 0; i < 10; i++) step();
        const out = { h: state[0].dataSync().slice(), ...(lstm ? { c: state[1].dataSync().slice() } : {}) };
        tf.dispose(state);
        state = zeros();
        return out;
      },
      dispose: () => {
        tf.dispose(state);
        x.dispose();
        layer.dispose();
      },
    };
  }
  // Training: the recurrent layer (last state) and a Dense head, softmax cross-entropy, SGD.
  if (c.cell === "GRU") return null;
  const rnnKey = c.cell.toLowerCase();
  const rnn = tfLayer(tf, c, {});
  const head = tf.layers.dense({ units: c.classes, kernelInitializer: "zeros" });
  const x = tf.tensor3d(swap01(d.x, c.T, c.B, c.I), [c.B, c.T, c.I]);
  const onehot = tf.oneHot(tf.tensor1d(d.target, "int32"), c.classes).toFloat();
  const logits = () => head.apply(rnn.apply(x));
  tf.tidy(logits);
  const w = [...tfRecurrentWeights(tf, c.cell, sd, `${rnnKey}.`, c.I, c.H), tf.tensor2d(transpose(sd["head.weight"].data, c.classes, c.H), [c.H, c.classes]), tf.tensor1d(sd["head.bias"].data)];
  rnn.setWeights(w.slice(0, 3));
  head.setWeights(w.slice(3));
  tf.dispose(w);
  const vars = [...rnn.trainableWeights, ...head.trainableWeights].map((v) => v.read());
  const optimizer = tf.train.sgd(c.lr);
  const loss = () => tf.losses.softmaxCrossEntropy(onehot, logits());
  return {
    run: () => optimizer.minimize(loss, false, vars),
    check: () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      const g = vars.map((v) => grads[v.name].dataSync().slice());
      const out = {
        loss: Float32Array.of(value.dataSync()[0]),
        [`${rnnKey}.weight_ih_l0`]: transpose(g[0], c.I, 4 * c.H),
        [`${rnnKey}.weight_hh_l0`]: transpose(g[1], c.H, 4 * c.H),
        [`${rnnKey}.bias_ih_l0`]: g[2],
        [`${rnnKey}.bias_hh_l0`]: g[2],
        "head.weight": transpose(g[3], c.H, c.classes),
        "head.bias": g[4],
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    },
    dispose: () => {
      tf.dispose([x, onehot]);
      optimizer.dispose();
      rnn.dispose();
      head.dispose();
    },
  };
}

async function prepareTorch(torch, c, d, sd) {
  const prefix = `${c.id}/`;
  const t = {};
  if (c.kind === "train") {
    const rnnKey = c.cell.toLowerCase();
    for (const [k, v] of Object.entries(sd)) t[prefix + k.replace(`${rnnKey}.`, "rnn.")] = v;
    t[`${prefix}target`] = { shape: [c.B], data: Float32Array.from(d.target) };
  } else {
    for (const [k, v] of Object.entries(sd)) t[prefix + k] = v;
  }
  t[`${prefix}x`] = { shape: [d.steps, c.B, c.I], data: d.x };
  const file = torch.file();
  writeFileSync(file, writeSafetensors(t));
  await torch.request({ op: "load", path: file });
  rmSync(file);
  await torch.request({ op: "prepare", id: c.id, kind: c.kind, cell: c.cell, I: c.I, H: c.H, T: d.steps, B: c.B, prefix, classes: c.classes, lr: c.lr });
  return {
    time: async (ms, min, warmup) => (await torch.request({ op: "time", id: c.id, ms, min, warmup })).samples,
    check: async () => {
      const out = torch.file();
      await torch.request({ op: "check", id: c.id, path: out });
      const r = readSafetensors(readFileSync(out)).tensors;
      rmSync(out);
      return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data]));
    },
    dispose: () => torch.request({ op: "drop", id: c.id }),
  };
}

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

/** The largest over outputs of max |difference| / max |recur's value| of that output. */
function relativeDiff(ref, got) {
  let worst = 0;
  for (const [k, a] of Object.entries(ref)) {
    let d = 0;
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - got[k][i]));
      m = Math.max(m, Math.abs(a[i]));
    }
    worst = Math.max(worst, m > 0 ? d / m : d);
  }
  return worst;
}

function maxAbsDiff(ref, got) {
  let worst = 0;
  for (const [k, a] of Object.entries(ref)) {
    const b = got[k];
    if (!b) throw new Error(`missing output ${k}`);
    if (b.length !== a.length) throw new Error(`output ${k}: ${b.length} values, recur has ${a.length}`);
    for (let i = 0; i < a.length; i++) {
      const e = Math.abs(a[i] - b[i]);
      if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
    }
  }
  return worst;
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
          samples[k].push(...got);
          await tick();
        }
      }
      for (const k of keys) {
        const med = median(samples[k]);
        Object.assign(row.engines[k], { median: med, min: Math.min(...samples[k]), samples: samples[k].length, gflops: c.flops ? c.flops / med / 1e6 : undefined });
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
