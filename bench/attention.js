// The attention decoder (recur-nn/attention) against PyTorch 1.13 on one thread, same model, same
// weights, same inputs, in the same run:
//   training step   B = 32, L = 16 annotations of D = 128, T = 12 output steps, H = 256,
//                   vocabulary 32 (A = 256, E = 64): forward, cross-entropy, backward (every
//                   parameter and the annotations), Adam step
//   beam decoding   32 sources, width 4, 12 steps (no end token, so both do the same work)
// The cross-check compares the loss of the first training step. PyTorch runs through Debian's
// /usr/bin/python3 (bench/_attention_torch.py) with OPENBLAS_CORETYPE unset.
//
//   npm run bench -- attention [--quick] [--json]
import { spawn } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { Adam, createRng, init } from "../dist/index.js";
import { AttentionDecoder } from "../dist/attention/index.js";
import { PYTHON } from "./_common.js";

const dims = { B: 32, L: 16, D: 128, T: 12, H: 256, V: 32, A: 256, E: 64 };
const beamCase = { sources: 32, width: 4, steps: 12 };

function torchPeer(request) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE;
    const child = spawn(PYTHON, [fileURLToPath(new URL("./_attention_torch.py", import.meta.url))], { env, stdio: ["pipe", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`PyTorch peer failed (${code}): ${err}`))));
    child.stdin.end(JSON.stringify(request));
  });
}

async function median(name, fn, ms) {
  const bench = new Bench({ time: ms, iterations: 5, warmup: true, warmupIterations: 2, warmupTime: 0 });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw r.error ?? new Error(`${name}: ${r.state}`);
  return { ms: r.latency.p50, samples: r.latency.samplesCount };
}

export async function run(options = {}) {
  await init();
  const ms = options.quick ? 500 : 3000;
  const { B, L, D, T, H, V, A, E } = dims;
  const rng = createRng(5);
  const annotations = { shape: [B, L, D], data: Float32Array.from({ length: B * L * D }, () => rng.normal()) };
  // Variable L: the last annotations of every other row are padding.
  const mask = { shape: [B, L], data: Float32Array.from({ length: B * L }, (_, i) => (Math.floor(i / L) % 2 === 1 && i % L >= 12 ? 0 : 1)) };
  const targets = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
  const inputs = targets.map((row) => [0, ...row.slice(0, -1)]);
  const dec = new AttentionDecoder({ vocabSize: V, annotationSize: D, hiddenSize: H, attentionSize: A, embeddingSize: E, seed: 3 });
  const weights = Object.fromEntries(Object.entries(dec.stateDict()).map(([k, t]) => [k, Array.from(t.data)]));
  const opt = new Adam(dec, { lr: 1e-3 });
  let firstLoss;
  const trainStep = () => {
    dec.zeroGrad();
    dec.forward({ annotations, mask }, inputs);
    const { loss } = dec.backwardLoss(targets);
    opt.step();
    firstLoss ??= loss;
  };
  const beamInput = { annotations: { shape: [beamCase.sources, L, D], data: annotations.data.subarray(0, beamCase.sources * L * D) }, mask: { shape: [beamCase.sources, L], data: mask.data.subarray(0, beamCase.sources * L) } };
  const beam = () => dec.beamSearch(beamInput, { start: 0, maxLength: beamCase.steps, width: beamCase.width });

  console.error("attention: PyTorch ...");
  const torch = await torchPeer({ dims, weights, annotations: Array.from(annotations.data), mask: Array.from(mask.data), inputs: inputs.flat(), targets: targets.flat(), beam: beamCase, ms });
  console.error("attention: recur ...");
  const train = await median("train", trainStep, ms);
  const decode = await median("beam", beam, ms);
  opt.dispose();
  dec.dispose();
  const cpu = os.cpus()[0]?.model ?? "unknown";
  const load = os.loadavg().map((x) => x.toFixed(1)).join(" ");
  const row = (name, ours, theirs, n) => [name, ours.ms, theirs, theirs / ours.ms, `${ours.samples} / ${n}`];
  return {
    tables: [
      {
        title: `attention decoder: B = ${B}, L = ${L} x ${D}, T = ${T}, H = ${H}, V = ${V}, A = ${A}, E = ${E} (median ms)`,
        columns: ["case", "recur", "PyTorch 1 thread", "PyTorch / recur", "samples (recur / PyTorch)"],
        rows: [
          row("training step (forward, loss, backward, Adam)", train, torch.train, torch.trainSamples),
          row(`beam search: ${beamCase.sources} sources, width ${beamCase.width}, ${beamCase.steps} steps`, decode, torch.beam, torch.beamSamples),
        ],
        notes: [
          `Host: ${cpu} (${os.cpus().length} CPUs, shared; load average ${load}). PyTorch ${torch.torch}, ${torch.threads} thread; recur 1 thread.`,
          `Cross-check: first training step's loss recur ${firstLoss.toFixed(6)}, PyTorch ${torch.loss.toFixed(6)} (difference ${Math.abs(firstLoss - torch.loss).toExponential(1)}).`,
          "Target: faster than PyTorch on one thread (PyTorch / recur > 1).",
        ],
      },
    ],
  };
}
