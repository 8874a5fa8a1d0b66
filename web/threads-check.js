// Work that the threaded core splits between threads (a large matmul, batch-64 recurrent
// forwards, a training step's gradients, an echo state network's fit), run identically in Node
// and in the browser: the threads end-to-end test runs it on 2 threads in a cross-origin
// isolated page and on 1 thread in Node, and compares the bits. Inputs come from recur's seeded
// generator (integer arithmetic), so both sides start from the same bits.

import { ESN } from "../dist/esn/index.js";

/** Runs the check with `recur` (the module namespace of dist/index.js) on `threads` threads. */
export async function threadsCheck(recur, backend, threads) {
  const info = await recur.init({ backend, threads });
  const rng = recur.createRng(77);
  const fill = (shape, scale) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => scale * (rng.nextUint32() / 2 ** 32 - 0.5)) });
  const outputs = {};
  const keep = (name, data) => (outputs[name] = hashBits(data));

  keep("matmul", recur.matmul(fill([257, 300], 1), fill([300, 515], 1)).data);
  const [T, B, I, H] = [6, 64, 48, 72];
  const x = fill([T, B, I], 2);
  for (const [name, model] of [
    ["lstm", new recur.LSTM({ inputSize: I, hiddenSize: H, numLayers: 2, seed: 1 })],
    ["gru", new recur.GRU({ inputSize: I, hiddenSize: H, seed: 2 })],
    ["rnn", new recur.RNN({ inputSize: I, hiddenSize: H, seed: 3 })],
  ]) {
    const r = model.forward(x);
    keep(`${name}.output`, r.output.data);
    keep(`${name}.hN`, r.hN.data);
    model.dispose();
  }
  const lm = new recur.SequenceModel({ cell: "LSTM", inputSize: I, hiddenSize: H, outputSize: 10, outputs: "last", seed: 4 });
  const target = { shape: [B], data: Int32Array.from({ length: B }, (_, b) => b % 10) };
  const { loss } = lm.lossAndGrad({ input: x, target });
  keep("train.loss", [loss]);
  for (const [k, g] of Object.entries(lm.gradients())) keep(`train.${k}`, g.data);
  lm.dispose();
  const u = Float32Array.from({ length: 401 }, (_, t) => Math.sin(t * 0.2));
  const esn = new ESN({ units: 300, seed: 5, ridge: 1e-6 });
  esn.fit({ shape: [400, 1], data: u.subarray(0, 400) }, { shape: [400, 1], data: u.slice(1) }, { washout: 20 });
  keep("esn.readout", new Float32Array(esn.getReadout().data));
  esn.dispose();
  const after = recur.backendInfo();
  return { backend: info.backend, threads: after.threads, fallback: after.threadsFallback ?? null, outputs };
}

// FNV-1a over the float32 bits: equal hashes mean equal bits (for this test's purpose).
function hashBits(data) {
  const u = new Uint32Array(Float32Array.from(data).buffer);
  let h = 2166136261;
  for (const v of u) {
    h = Math.imul(h ^ (v & 0xffff), 16777619);
    h = Math.imul(h ^ (v >>> 16), 16777619);
  }
  return `${u.length}:${(h >>> 0).toString(16)}`;
}
