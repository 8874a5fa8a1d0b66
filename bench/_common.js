// Helpers and constants shared by the benchmark suite (_suite.js) and its peers (_peers.js); the
// ones a browser page needs too live in _engines.js and are re-exported here.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const here = fileURLToPath(new URL(".", import.meta.url));
export const peersDir = path.join(here, "peers");
export const PYTHON = "/usr/bin/python3";
export { TOLERANCE, GATES, random, median, swap01, transpose, kerasGates } from "./_engines.js";

export const ENGINES = [
  { key: "recur", label: "recur" },
  { key: "ort-node", label: "ORT native" },
  { key: "ort-web", label: "ORT web" },
  { key: "tfjs", label: "tfjs-wasm" },
  { key: "torch", label: "PyTorch" },
];


// ---------------------------------------------------------------- helpers

export const tick = () => new Promise((resolve) => setImmediate(resolve));

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
