// The peers of the benchmark suite (_suite.js): installing and loading them (bench/peers/, a
// package of its own), and preparing each case on ONNX Runtime (native and Wasm), TensorFlow.js
// (Wasm backend) and PyTorch (a Python process speaking JSON lines, bench/_torch.py).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { GRU, LSTM, SGD, readSafetensors, writeSafetensors } from "../dist/index.js";
import { recurrentOnnx } from "./_onnx.js";
import { here, peersDir, PYTHON, GATES, swap01, transpose, kerasGates } from "./_common.js";

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

export class TorchPeer {
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

export async function prepareOrt(ort, provider, c, d, sd) {
  if (c.kind === "train") return null; // no training API in these packages
  const lstm = c.cell === "LSTM";
  const bytes = recurrentOnnx({ cell: c.cell, sd, inputSize: c.I, hiddenSize: c.H, T: d.steps, batch: c.B, mode: c.kind, layers: c.L ?? 1 });
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
  // A stack of L layers (c.L > 1) has per-layer state inputs and outputs (bench/_onnx.js).
  const L = c.L ?? 1;
  const zeros = () => Array.from({ length: L }, () => new ort.Tensor("float32", new Float32Array(c.B * c.H), [1, c.B, c.H]));
  let h = zeros();
  let cs = zeros();
  const name = (base, l) => (L > 1 ? `${base}${l}` : base);
  const feeds = { X };
  const step = async () => {
    for (let l = 0; l < L; l++) {
      feeds[name("initial_h", l)] = h[l];
      if (lstm) feeds[name("initial_c", l)] = cs[l];
    }
    const r = await session.run(feeds);
    for (let l = 0; l < L; l++) {
      h[l] = r[name("Y_h", l)];
      if (lstm) cs[l] = r[name("Y_c", l)];
    }
  };
  const joined = (ts) => {
    const out = new Float32Array(L * c.B * c.H);
    ts.forEach((t, l) => out.set(t.data, l * c.B * c.H));
    return out;
  };
  return {
    run: step,
    check: async () => {
      h = zeros();
      cs = zeros();
      for (let i = 0; i < 10; i++) await step();
      const out = { h: joined(h), ...(lstm ? { c: joined(cs) } : {}) };
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

export function prepareTfjs(tf, c, d, sd) {
  if ((c.L ?? 1) > 1) return null; // single layers only
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

export async function prepareTorch(torch, c, d, sd) {
  if ((c.L ?? 1) > 1) return null; // single layers only
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
