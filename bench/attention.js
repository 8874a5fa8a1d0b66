// The attention decoder (recur-nn/attention) against PyTorch 1.13 on one thread, same model, same
// weights, same inputs, in the same run:
//   training step   B = 32, L = 16 annotations of D = 128, T = 12 output steps, H = 256,
//                   vocabulary 32 (A = 256, E = 64): forward, cross-entropy, backward (every
//                   parameter and the annotations), Adam step
//   beam decoding   32 sources, width 4, 12 steps (no end token, so both do the same work)
// for three decoders: GRU with the additive score, LSTM with the additive score, LSTM with
// Luong's "general" score. The cross-check compares the loss of each first training step. PyTorch runs through Debian's
// /usr/bin/python3 (bench/_attention_torch.py) with OPENBLAS_CORETYPE unset and
// OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = 1.
//
//   npm run bench -- attention [--quick] [--json]
import { spawn } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Adam, createRng, init } from "../dist/index.js";
import { AttentionDecoder } from "../dist/attention/index.js";
import { PYTHON } from "./_common.js";

const dims = { B: 32, L: 16, D: 128, T: 12, H: 256, V: 32, A: 256, E: 64 };
const beamCase = { sources: 32, width: 4, steps: 12 };
const models = [
  { cell: "gru", score: "additive" },
  { cell: "lstm", score: "additive" },
  { cell: "lstm", score: "general" },
];

// The PyTorch peer as a child process answering one JSON line per request.
function torchPeer(first) {
  // One thread: OpenBLAS and OpenMP pools held to one besides torch.set_num_threads(1).
  const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1" };
  delete env.OPENBLAS_CORETYPE;
  const child = spawn(PYTHON, [fileURLToPath(new URL("./_attention_torch.py", import.meta.url))], { env, stdio: ["pipe", "pipe", "pipe"] });
  let buffer = "", err = "";
  const waiting = [];
  child.stdout.on("data", (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiting.shift()?.resolve(JSON.parse(line));
    }
  });
  child.stderr.on("data", (d) => (err += d));
  child.on("close", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`PyTorch peer exited (${code}): ${err}`));
  });
  const ask = (msg) => new Promise((resolve, reject) => {
    waiting.push({ resolve, reject });
    child.stdin.write(JSON.stringify(msg) + "\n");
  });
  return { ready: ask(first), ask, close: () => child.stdin.end() };
}

// Wall and CPU times (ms) of as many calls of fn as fit in ms (at least 3), after a warm-up call.
// CPU time is what this process itself spent: on a machine shared with other work, wall time
// mostly measures the other work (tinybench, used elsewhere, times wall clock only).
function samples(fn, ms) {
  fn();
  const wall = [], cpu = [];
  const end = performance.now() + ms;
  while (wall.length < 3 || performance.now() < end) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Alternating rounds of the training step and beam search of one decoder, recur and PyTorch.
async function measure(model, ms, data) {
  const { B, L, D, T, H, V, A, E } = dims;
  const { annotations, mask, inputs, targets } = data;
  const dec = new AttentionDecoder({ vocabSize: V, annotationSize: D, hiddenSize: H, attentionSize: A, embeddingSize: E, seed: 3, ...model });
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
  console.error(`attention: ${model.cell} / ${model.score}: PyTorch peer starting ...`);
  const peer = torchPeer({ dims, ...model, weights, annotations: Array.from(annotations.data), mask: Array.from(mask.data), inputs: inputs.flat(), targets: targets.flat(), beam: beamCase });
  const torch = await peer.ready;
  // Rounds alternate between the engines, so both see the same (shared, changing) load.
  const rounds = 4, per = ms / rounds;
  const empty = () => ({ recur: { wall: [], cpu: [] }, torch: { wall: [], cpu: [] } });
  const times = { train: empty(), beam: empty() };
  const add = (into, got) => {
    into.wall.push(...got.wall);
    into.cpu.push(...got.cpu);
  };
  for (let r = 0; r < rounds; r++) {
    console.error(`attention: ${model.cell} / ${model.score}: round ${r + 1} of ${rounds}`);
    add(times.train.torch, await peer.ask({ op: "train", ms: per }));
    add(times.train.recur, samples(trainStep, per));
    add(times.beam.torch, await peer.ask({ op: "beam", ms: per }));
    add(times.beam.recur, samples(beam, per));
  }
  peer.close();
  opt.dispose();
  dec.dispose();
  return { times, torch, firstLoss };
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
  const rows = [], checks = [];
  let torchInfo;
  const row = (name, t) => {
    const [rc, tc, rw, tw] = [t.recur.cpu, t.torch.cpu, t.recur.wall, t.torch.wall].map(median);
    return [name, rc, tc, tc / rc, rw, tw, tw / rw, `${t.recur.cpu.length} / ${t.torch.cpu.length}`];
  };
  for (const model of models) {
    const { times, torch, firstLoss } = await measure(model, ms, { annotations, mask, inputs, targets });
    torchInfo = torch;
    const name = `${model.cell.toUpperCase()}, ${model.score}`;
    rows.push(row(`${name}: training step (forward, loss, backward, Adam)`, times.train));
    rows.push(row(`${name}: beam search, ${beamCase.sources} sources, width ${beamCase.width}, ${beamCase.steps} steps`, times.beam));
    checks.push(`${name} recur ${firstLoss.toFixed(6)}, PyTorch ${torch.loss.toFixed(6)} (difference ${Math.abs(firstLoss - torch.loss).toExponential(1)})`);
  }
  const cpu = os.cpus()[0]?.model ?? "unknown";
  const load = os.loadavg().map((x) => x.toFixed(1)).join(" ");
  return {
    tables: [
      {
        title: `attention decoder: B = ${B}, L = ${L} x ${D}, T = ${T}, H = ${H}, V = ${V}, A = ${A}, E = ${E} (median ms per call)`,
        columns: ["case", "recur CPU", "PyTorch CPU", "PyTorch / recur (CPU)", "recur wall", "PyTorch wall", "PyTorch / recur (wall)", "calls (recur / PyTorch)"],
        rows,
        notes: [
          `Host: ${cpu} (${os.cpus().length} CPUs, shared; load average ${load}). PyTorch ${torchInfo.torch}, ${torchInfo.threads} thread; recur 1 thread.`,
          `Cross-check, first training step's loss: ${checks.join("; ")}.`,
          `Times: medians over 4 alternating rounds per engine; CPU = the process's own CPU time per call. Target: faster than PyTorch on one thread (PyTorch / recur > 1).`,
        ],
      },
    ],
  };
}
