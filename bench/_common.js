// Helpers and constants shared by the benchmark suite (_suite.js) and its peers (_peers.js).
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const here = fileURLToPath(new URL(".", import.meta.url));
export const peersDir = path.join(here, "peers");
export const PYTHON = "/usr/bin/python3";
export const TOLERANCE = 1e-4;
export const GATES = { LSTM: 4, GRU: 3, RNN: 1 };

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

export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** [T, B, F] time-major <-> [B, T, F] batch-major. */
export function swap01(data, A, Bn, F) {
  const out = new Float32Array(data.length);
  for (let a = 0; a < A; a++) for (let b = 0; b < Bn; b++) out.set(data.subarray((a * Bn + b) * F, (a * Bn + b + 1) * F), (b * A + a) * F);
  return out;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(data, rows, cols) {
  const out = new Float32Array(data.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j];
  return out;
}

/** Keras / tfjs gate order from PyTorch's: LSTM i f c o (the same), GRU z r h (PyTorch r z n). */
export function kerasGates(cell, data, H, cols) {
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
