// The multiplicative RNN of Sutskever, Martens and Hinton (2011), trained with Hessian-free
// optimisation, as a character model of English prose (this repository's own documentation,
// code blocks and tables removed). Each training string is a window of the text; as in the
// paper, the loss counts predictions from the 11th character on, so the first ten characters
// only set up the hidden state.
//
// For comparison, an LSTM with (about) the same number of parameters trains with Adam for the
// same wall-clock time. Both report bits per character on held-out text (the last tenth), then
// complete "The meaning of life is" at two temperatures.
//
//   node examples/mrnn-hf.js           (about two minutes per model)
//   node examples/mrnn-hf.js --quick   (a few seconds per model; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
//   add --minutes N to give each model N minutes of wall-clock time (default 2)
import { readFileSync } from "node:fs";
import { Adam, SequenceModel, init } from "recur-nn";
import { HessianFree } from "recur-nn/hessian-free";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const minutesAt = process.argv.indexOf("--minutes");
const minutes = minutesAt >= 0 ? Number(process.argv[minutesAt + 1]) : 2;
if (!(minutes > 0)) throw new Error(`--minutes needs a positive number, got ${process.argv[minutesAt + 1]}`);
const say = json ? () => {} : console.log;
const info = await init();
say(`recur on the ${info.backend} backend`);

// ---- the text ----
const files = ["README.md", "docs/guide.md", "docs/internals.md", "docs/performance.md", "docs/interop.md", "docs/parity.md"];
const prose = files
  .map((f) => readFileSync(new URL(`../${f}`, import.meta.url), "utf8"))
  .join("\n")
  .replace(/```[\s\S]*?```/g, " ")
  .split("\n")
  .filter((line) => !line.trim().startsWith("|"))
  .join(" ")
  .replace(/[^A-Za-z0-9 .,;:'"()?!-]/g, " ")
  .replace(/\s+/g, " ");
const chars = [...new Set(prose)].sort();
const V = chars.length;
const ids = Int32Array.from(prose, (c) => chars.indexOf(c));
const cut = Math.floor(ids.length * 0.9);
say(`text: ${ids.length} characters of the repository's prose, ${V} distinct; the last ${ids.length - cut} held out`);

const L = quick ? 40 : 80; // characters per string
const SKIP = 10; // predictions start at the 11th character
// B windows of the text from `start` to `end`, time-major; targets ignored (-100) for the first SKIP.
function windows(B, seed, start, end) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const input = new Int32Array(L * B), target = new Int32Array(L * B);
  for (let b = 0; b < B; b++) {
    const at = start + Math.floor(rand() * (end - start - L - 1));
    for (let t = 0; t < L; t++) {
      input[t * B + b] = ids[at + t];
      target[t * B + b] = t < SKIP ? -100 : ids[at + t + 1];
    }
  }
  return { input: { shape: [L, B], data: input }, target: { shape: [L, B], data: target } };
}
const heldOut = windows(quick ? 100 : 400, 7, cut, ids.length);
const bpc = (model) => model.loss(heldOut) / Math.LN2;
const params = (model) => Object.values(model.stateDict()).reduce((n, t) => n + t.data.length, 0);

// ---- MRNN + Hessian-free ----
const H = quick ? 48 : 128;
const E = 32;
const mrnn = new SequenceModel({ cell: "MRNN", factorSize: H, vocabSize: V, embeddingDim: E, hiddenSize: H, outputSize: V, seed: 1 });
// Full runs train for a time budget; --quick makes a fixed number of updates (a loaded test
// machine would otherwise get almost none), and the LSTM gets the time they took.
const budgetMs = minutes * 60_000;
const quickUpdates = 4;
const hf = new HessianFree(mrnn, { maxCgIterations: quick ? 20 : 50, structuralDamping: 1 / 30, curvatureBatchSize: quick ? 32 : 50 });
const B = quick ? 128 : 200;
const initialBpc = bpc(mrnn);
say(`\nMRNN: ${H} units, ${H} factors, ${params(mrnn)} parameters; held-out ${initialBpc.toFixed(2)} bits per character before training`);
let start = performance.now();
let cpu = process.cpuUsage(); // CPU seconds too: the host is shared, so wall time alone is unfair
const cpuSeconds = () => { const d = process.cpuUsage(cpu); return (d.user + d.system) / 1e6; };
let updates = 0;
while (quick ? updates < quickUpdates : performance.now() - start < budgetMs) {
  const r = hf.update(windows(B, 1000 + updates, 0, cut));
  updates++;
  if (quick || updates % 10 === 0) say(`  HF update ${updates}: loss ${(r.newLoss / Math.LN2).toFixed(3)} bits/char, ${r.cgIterations} CG iterations, λ ${r.damping.toPrecision(3)}, ρ ${r.rho.toFixed(2)}`);
}
const mrnnSeconds = (performance.now() - start) / 1000;
const mrnnCpu = cpuSeconds();
const mrnnBpc = bpc(mrnn);
say(`MRNN + HF: ${updates} updates in ${mrnnSeconds.toFixed(1)} s, held-out ${mrnnBpc.toFixed(3)} bits per character`);

// ---- LSTM + Adam, same parameter count and time ----
// Parameters of the LSTM model: embedding V E, 4h (E + h) + 8h, head h V + V; the smallest h at least as large.
const lstmParams = (h) => V * E + 4 * h * (E + h) + 8 * h + h * V + V;
let h = 1;
while (lstmParams(h) < params(mrnn)) h++;
const lstm = new SequenceModel({ cell: "LSTM", vocabSize: V, embeddingDim: E, hiddenSize: h, outputSize: V, seed: 1 });
const adam = new Adam(lstm, { lr: 3e-3 });
say(`\nLSTM: ${h} units, ${params(lstm)} parameters`);
start = performance.now();
cpu = process.cpuUsage();
let steps = 0;
while (performance.now() - start < mrnnSeconds * 1000) {
  const r = lstm.trainStep(windows(32, 5000 + steps, 0, cut), adam, { clipGradNorm: 5 });
  steps++;
  if (steps % (quick ? 50 : 500) === 0) say(`  Adam step ${steps}: loss ${(r.loss / Math.LN2).toFixed(3)} bits/char`);
}
const lstmCpu = cpuSeconds();
const lstmBpc = bpc(lstm);
say(`LSTM + Adam: ${steps} steps in ${((performance.now() - start) / 1000).toFixed(1)} s, held-out ${lstmBpc.toFixed(3)} bits per character`);

// ---- completions ----
const prime = "The meaning of life is";
const completions = {};
for (const [name, model] of [["mrnn", mrnn], ["lstm", lstm]]) {
  completions[name] = {};
  for (const temperature of [0.5, 1]) {
    const out = model.sample({ prime: Array.from(prime, (c) => chars.indexOf(c)), length: quick ? 40 : 120, temperature, seed: 3 });
    completions[name][temperature] = prime + out.map((i) => chars[i]).join("");
    say(`\n${name.toUpperCase()}, temperature ${temperature}: ${completions[name][temperature]}`);
  }
}
const result = {
  mrnn: { initialBitsPerChar: initialBpc, bitsPerChar: mrnnBpc, parameters: params(mrnn), updates, seconds: mrnnSeconds, cpuSeconds: mrnnCpu },
  lstm: { bitsPerChar: lstmBpc, parameters: params(lstm), steps, cpuSeconds: lstmCpu },
  uniformBitsPerChar: Math.log2(V),
  completions,
};
if (json) console.log(JSON.stringify(result));
mrnn.dispose();
lstm.dispose();
adam.dispose();
