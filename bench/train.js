// Workload D: one training step -- LSTM, B = 32, T = 50, I = 64, H = 128, a Linear
// head of 64 classes on h_T, softmax cross-entropy, SGD -- on recur, PyTorch (native, 1 thread)
// and tfjs-wasm (see bench/_suite.js). ONNX Runtime has no training API in these packages.
//
//   npm run bench -- train [--quick] [--json] [--no-peers] [--threads=2]
//
// recur: SequenceModel({ cell: "LSTM", inputSize: 64, hiddenSize: 128, outputSize: 64,
// outputs: "last" }).trainStep(batch, new SGD(model, { lr })). Target: faster than PyTorch.
import { compare, formatRatio, loadNote, ratio, tables, threadsOption, threadsTable } from "./_suite.js";

export async function run(options = {}) {
  const [B, T, I, H, classes] = [32, 50, 64, 128, 64];
  const G = 4;
  // Forward: X W_ih^T and h W_hh^T over T steps; backward without the input gradient: dh = dG W_hh,
  // dW_ih = dG^T X, dW_hh = dG^T H; the head forward + backward.
  const flops = 2 * T * B * G * H * (I + H) + 2 * T * B * G * H * (H + I + H) + 3 * 2 * B * H * classes;
  const cases = [{ id: "D LSTM", kind: "train", cell: "LSTM", I, H, T, B, classes, lr: 0.05, seed: 400, flops, minSamples: 15 }];
  const start = loadNote();
  const r = await compare(cases, options);
  const load = { start, end: loadNote() };
  const targets = r.results
    .filter((row) => row.engines.torch)
    .map((row) => {
      const x = ratio(row, "torch");
      return { target: "D: LSTM training step faster than PyTorch CPU", measured: `${formatRatio(x)} (PyTorch time / recur time)`, pass: x > 1 };
    });
  const title = `D: one training step, LSTM, B = ${B}, T = ${T}, I = ${I}, H = ${H}, ${classes} classes (median time per step)`;
  return {
    tables: [
      ...tables({
        title,
        short: "D",
        ...r,
        caseColumns: ["cell"],
        caseLabel: (c) => [c.cell],
        targets,
        load,
        extraNotes: [
          `One step = zero grads, forward, softmax cross-entropy on the head over h_T, BPTT, SGD update. GFLOP/s counts ${(flops / 1e6).toFixed(0)} MFLOP (forward, backward without an input gradient, head); with the input gradient it would be ${((flops + 2 * T * B * G * H * I) / 1e6).toFixed(0)}.`,
          "The cross-check compares the loss and every gradient of the first step.",
        ],
      }),
      ...threadsTable({ title, short: "D", ...r, caseColumns: ["cell"], caseLabel: (c) => [c.cell], threads: threadsOption(options), load }),
    ],
    detail: r.results,
  };
}
