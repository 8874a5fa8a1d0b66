// Vanishing and exploding gradients, seen and measured. Backpropagation through time multiplies
// the gradient by one step Jacobian per step, ∂h_t/∂h_{t-1} = diag(act'(a_t)) W_hh for an Elman
// RNN, so ‖∂L_T/∂h_k‖ shrinks or grows roughly geometrically in T - k, at a rate set by the
// spectral radius of W_hh (Bengio, Simard and Frasconi 1994; Pascanu, Mikolov and Bengio 2013).
// An LSTM's cell state is updated additively, c_t = f ⊙ c_{t-1} + i ⊙ g, so while its forget
// gates are open the gradient passes back almost unchanged; a GRU's update gate does the same.
//
// Part 1 records ‖∂L_T/∂h_k‖ for every k with one backward pass per model (backward's
// hiddenGradNorms), and the spectral norms of the step Jacobians (stepJacobianNorms), for tanh
// RNNs whose W_hh is scaled below and above spectral radius 1 (echoStateInit), an
// identity-initialised relu RNN (the "identity" init, IRNN), and LSTMs and GRUs with PyTorch's
// initialisation and with gates that start open ("chrono" biases, Tallec and Ollivier 2018).
// Part 2 trains each on a long-lag memory task: the first of T symbols must be named after the
// T - 1 distracting ones that follow, for T from 10 to 200. Both go in one SVG.
//
//   node examples/gradient-flow.js           (about 2 minutes of CPU)
//   node examples/gradient-flow.js --quick   (a few seconds; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line; --out file.svg (default gradient-flow.svg)
import { writeFileSync } from "node:fs";
import { Adam, GRU, LSTM, RNN, SequenceModel, createRng, init } from "recur-nn";
import { stepJacobianNorms } from "recur-nn/diagnostics";
import { echoStateInit } from "recur-nn/esn";
import { linePlot } from "../dist/cli/svg.js";
import { denseOperator, spectralRadius } from "../dist/spectral/index.js";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const say = json ? () => {} : console.log;
const outIndex = process.argv.indexOf("--out");
const out = outIndex > 0 ? process.argv[outIndex + 1] : "gradient-flow.svg";
await init();

const SYMBOLS = 4; // what must be remembered
const DISTRACTORS = 4; // what fills the steps in between
const FEATURES = SYMBOLS + DISTRACTORS; // one-hot input
const H = 32;
const rng = createRng(7);

// B sequences of T steps, time-major: a symbol at step 0, random distractors after it; the target
// is the symbol.
function memoryBatch(B, T) {
  const x = new Float32Array(T * B * FEATURES);
  const y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    y[b] = rng.int(SYMBOLS);
    x[b * FEATURES + y[b]] = 1;
    for (let t = 1; t < T; t++) x[(t * B + b) * FEATURES + SYMBOLS + rng.int(DISTRACTORS)] = 1;
  }
  return { input: { shape: [T, B, FEATURES], data: x }, target: { shape: [B], data: y } };
}

// Gates that start open (Tallec and Ollivier 2018, "chrono" initialisation): the LSTM's forget
// bias b_f = log(u), u ~ U(1, maxLag - 1), and its input bias -b_f; the GRU's update gate z (which
// keeps h_{t-1}) gets b_z the same way. Rows of PyTorch's layout: i f g o and r z n.
function openGates(rnn, maxLag, seed) {
  const r = createRng(seed);
  const sd = rnn.stateDict();
  const H = rnn.config.hiddenSize;
  const lstm = rnn.config.mode === "LSTM";
  for (let l = 0; l < rnn.config.numLayers; l++) {
    const bi = sd[`bias_ih_l${l}`].data;
    const bh = sd[`bias_hh_l${l}`].data;
    for (let u = 0; u < H; u++) {
      const b = Math.log(1 + r.next() * (maxLag - 2));
      bi[H + u] = b;
      bh[H + u] = 0;
      if (lstm) [bi[u], bh[u]] = [-b, 0];
    }
  }
  rnn.loadStateDict(sd);
}

// max |λ| of W_hh (one gate block: the RNN's only one).
function radiusOf(rnn) {
  const w = rnn.stateDict().weight_hh_l0;
  return spectralRadius(denseOperator(w.shape[1], w.data)).radius;
}

// ---------------------------------------------------------------------------------------------
// Part 1: ‖∂L_T/∂h_k‖ against T - k, at initialisation.
const T1 = quick ? 60 : 120;
const B1 = 16;
// One colour per kind of model in both plots; an LSTM's cell-state curve is its colour, dashed.
const COLORS = { "tanh RNN, ρ(W_hh) = 0.9": "#1f77b4", "tanh RNN, ρ(W_hh) = 2": "#d62728", "tanh RNN, PyTorch init": "#8c564b", "tanh RNN, echo-state init": "#d62728", IRNN: "#2ca02c", "LSTM, PyTorch": "#ff7f0e", "LSTM, forget": "#9467bd", "GRU, PyTorch": "#e377c2", "GRU, update": "#17becf" };
const colorOf = (name) => Object.entries(COLORS).find(([key]) => name.includes(key))?.[1];
const flowModels = [
  ["tanh RNN, ρ(W_hh) = 0.9", () => echoStateInit(new RNN({ inputSize: FEATURES, hiddenSize: H, seed: 1 }), { spectralRadius: 0.9, seed: 1 })],
  ["tanh RNN, ρ(W_hh) = 2", () => echoStateInit(new RNN({ inputSize: FEATURES, hiddenSize: H, seed: 1 }), { spectralRadius: 2, seed: 1 })],
  ["relu RNN, identity W_hh (IRNN)", () => new RNN({ inputSize: FEATURES, hiddenSize: H, nonlinearity: "relu", init: "identity", seed: 1 })],
  ["LSTM, PyTorch init", () => new LSTM({ inputSize: FEATURES, hiddenSize: H, seed: 1 })],
  ["LSTM, forget gates open", () => { const m = new LSTM({ inputSize: FEATURES, hiddenSize: H, seed: 1 }); openGates(m, T1, 2); return m; }],
  ["GRU, PyTorch init", () => new GRU({ inputSize: FEATURES, hiddenSize: H, seed: 1 })],
  ["GRU, update gates open", () => { const m = new GRU({ inputSize: FEATURES, hiddenSize: H, seed: 1 }); openGates(m, T1, 2); return m; }],
];
const probe = memoryBatch(B1, T1);
// L_T = Σ_b g_b · h_T[b] with a fixed random g: ∂L_T/∂h_k is then (∂h_T/∂h_k)ᵀ g.
const g = { shape: [1, B1, H], data: Float32Array.from({ length: B1 * H }, () => rng.normal()) };
const flow = {};
const flowSeries = [];
say(`Part 1: ‖∂L_T/∂h_k‖ (and an LSTM's ‖∂L_T/∂c_k‖) / ‖∂L_T/∂h_T‖ at initialisation, T = ${T1}, ${H} units, ${B1} sequences of the memory task`);
say(`${"model (h_k unless c_k)".padEnd(40)} ${"ρ(W_hh)".padStart(8)} ${"‖J_t‖₂".padStart(10)} ${"per step".padStart(9)} ${"T-k = 10".padStart(9)} ${`T-k = ${T1 - 1}`.padStart(10)}`);
const lags = Array.from({ length: T1 }, (_, i) => i);
const TJ = 30; // steps of the first sequence whose Jacobians are measured
const firstSequence = { shape: [TJ, FEATURES], data: Float32Array.from({ length: TJ * FEATURES }, (_, i) => probe.input.data[Math.floor(i / FEATURES) * B1 * FEATURES + (i % FEATURES)]) };
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
// One curve: the batch's norm at each step (rows are independent sequences) relative to
// ‖∂L_T/∂h_T‖, by lag; its geometric rate is the least-squares slope of the log against the lag.
function record(name, norms, atT, rho, jacobian) {
  const byStep = Array.from({ length: T1 }, (_, t) => Math.hypot(...norms.subarray(t * B1, (t + 1) * B1)));
  const log10 = lags.map((lag) => Math.log10(byStep[T1 - 1 - lag] / atT));
  const [mx, my] = [mean(lags), mean(log10)];
  const slope = lags.reduce((s, x, i) => s + (x - mx) * (log10[i] - my), 0) / lags.reduce((s, x) => s + (x - mx) ** 2, 0);
  const f = (flow[name] = { perStep: 10 ** slope, at10: 10 ** log10[10], atEnd: 10 ** log10[T1 - 1], ...(rho !== undefined ? { spectralRadius: rho } : {}), ...(jacobian !== undefined ? { stepJacobian: jacobian } : {}) });
  flowSeries.push({ label: name, x: lags, y: log10, color: colorOf(name), dashed: name.includes("c_k") });
  const num = (v, digits) => (v === undefined ? "" : v.toFixed(digits));
  say(`${name.padEnd(40)} ${num(rho, 3).padStart(8)} ${num(jacobian, 3).padStart(10)} ${f.perStep.toFixed(3).padStart(9)} ${f.at10.toExponential(1).padStart(9)} ${f.atEnd.toExponential(1).padStart(10)}`);
  return byStep;
}
for (const [name, make] of flowModels) {
  const model = make();
  model.forwardTrain(probe.input, { output: false });
  const { hiddenGradNorms, cellGradNorms } = model.backward({ hN: g }, { inputGrad: false, hiddenGradNorms: true });
  const rho = model.config.mode === "RNN" ? radiusOf(model) : undefined;
  const atT = Math.hypot(...hiddenGradNorms.data.subarray((T1 - 1) * B1, T1 * B1));
  // The step Jacobians ∂s_t/∂s_{t-1} over the first sequence's first TJ steps: the geometric mean
  // of their spectral norms bounds the factor per step (s = [h; c] for an LSTM).
  const jacobian = stepJacobianNorms(model, firstSequence).data;
  record(name, hiddenGradNorms.data, atT, rho, Math.exp(mean(Array.from(jacobian, Math.log))));
  // The LSTM's cell state: the path the lectures say carries the gradient.
  if (cellGradNorms) record(`${name}, c_k`, cellGradNorms.data, atT);
  model.dispose();
}

// ---------------------------------------------------------------------------------------------
// Part 2: the long-lag memory task. Each model is trained from scratch at each T with the same
// budget and scored on held-out sequences (chance: 1 in SYMBOLS).
const lengths = quick ? [10, 40] : [10, 25, 50, 100, 200];
const maxT = lengths[lengths.length - 1];
const updates = quick ? 150 : 500;
const runs = quick ? 1 : 3; // independent trainings (seeds) per model and T, scores averaged
const memoryModels = [
  ["tanh RNN, PyTorch init", { cell: "RNN" }],
  ["tanh RNN, echo-state init", { cell: "RNN", echoState: true }],
  ["relu RNN, identity init (IRNN)", { cell: "RNN", nonlinearity: "relu", init: "identity" }],
  ["LSTM, PyTorch init", { cell: "LSTM" }],
  ["LSTM, forget gates open", { cell: "LSTM", open: true }],
  ["GRU, update gates open", { cell: "GRU", open: true }],
];
say(`\nPart 2: share of held-out sequences whose first symbol is recalled after T steps (chance ${1 / SYMBOLS}); ${updates} updates of 32 sequences each, mean of ${runs} run(s)`);
say(`${"model".padEnd(32)} ${lengths.map((T) => `T = ${T}`.padStart(8)).join(" ")}`);
const memory = { T: lengths, runs, accuracy: {} };
for (const [name, { open, echoState, ...options }] of memoryModels) {
  const row = [];
  for (const T of lengths) {
    let right = 0;
    for (let run = 1; run <= runs; run++) {
      const model = new SequenceModel({ ...options, inputSize: FEATURES, hiddenSize: H, outputSize: SYMBOLS, outputs: "last", seed: run });
      if (open) openGates(model.rnn, maxT, 1 + run);
      if (echoState) echoStateInit(model.rnn, { seed: run }); // spectral radius 1.1, Sutskever et al.'s
      const optimizer = new Adam(model, { lr: 0.01 });
      for (let step = 0; step < updates; step++) model.trainStep(memoryBatch(32, T), optimizer, { clipGradNorm: 1 });
      const test = memoryBatch(500, T);
      const logits = model.predict(test).data;
      for (let b = 0; b < 500; b++) {
        let best = 0;
        for (let k = 1; k < SYMBOLS; k++) if (logits[b * SYMBOLS + k] > logits[b * SYMBOLS + best]) best = k;
        right += best === test.target.data[b] ? 1 : 0;
      }
      optimizer.dispose();
      model.dispose();
    }
    row.push(right / (500 * runs));
  }
  memory.accuracy[name] = row;
  say(`${name.padEnd(32)} ${row.map((a) => `${(100 * a).toFixed(0)} %`.padStart(8)).join(" ")}`);
}

// ---------------------------------------------------------------------------------------------
// One SVG, two plots stacked.
const width = 820;
const top = linePlot(flowSeries, { title: `Gradient flow at initialisation: log10 ‖∂L_T/∂h_k‖ / ‖∂L_T/∂h_T‖ (T = ${T1})`, xLabel: "T - k (steps back)", yLabel: "log10 ratio", width, height: 480 });
const bottom = linePlot(
  [
    ...Object.entries(memory.accuracy).map(([label, y]) => ({ label, x: lengths, y, color: colorOf(label) })),
    { label: "chance", x: [lengths[0], maxT], y: [1 / SYMBOLS, 1 / SYMBOLS], color: "#999", dashed: true },
  ],
  { title: `Long-lag memory: share of first symbols recalled after T steps (${updates} updates, ${runs} run${runs > 1 ? "s" : ""} each)`, xLabel: "T", yLabel: "share recalled", width, height: 390 },
);
const svg = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="880" viewBox="0 0 ${width} 880">`,
  top.replace("<svg ", '<svg y="0" '),
  bottom.replace("<svg ", '<svg y="490" '),
  "</svg>",
].join("\n");
writeFileSync(out, svg);
say(`\nwrote ${out}`);

if (json) console.log(JSON.stringify({ flow, memory, svg: out }));
