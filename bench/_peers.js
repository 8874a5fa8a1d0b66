// The peers of the benchmark suite (_suite.js): installing and loading them (bench/peers/, a
// package of its own), and preparing each case on PyTorch (a Python process speaking JSON lines,
// bench/_torch.py); ONNX Runtime's and tfjs's preparation is in _engines.js (browser too).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { readSafetensors, writeSafetensors } from "../dist/index.js";
import { here, peersDir, PYTHON } from "./_common.js";

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

export function ensureInstalled(notes, options) {
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
    // A core type forced by the environment (e.g. Haswell on an AVX-512 host) would hold OpenBLAS
    // below its best kernels and flatter recur.
    delete env.OPENBLAS_CORETYPE;
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
