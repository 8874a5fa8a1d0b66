// Inference on fixed weights, run identically in Node and in the browser: the end-to-end test
// compares the two bit for bit. Weights and inputs come from integer arithmetic only (recur's
// seeded generator), so both sides start from the same bits; the outputs then differ only if
// the engines compute differently. web/check.html runs it in a page; the test runs it in Node.
// It takes recur as an argument so that a bundled copy (the Vite test) can run it too.

/** Runs the check with `recur` (the module namespace of dist/index.js) on `backend`. */
export async function inferenceCheck(recur, backend) {
  const info = await recur.init({ backend });
  const rng = recur.createRng(2024);
  const fill = (shape, scale) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => scale * (rng.nextUint32() / 2 ** 32 - 0.5)) });
  const outputs = {};
  const keep = (name, t) => (outputs[name] = bits(t.data));

  const T = 12, B = 3, I = 10;
  const x = fill([T, B, I], 2);
  // Weights loaded from explicit tensors (not the models' own initialisation).
  const models = {
    lstm: new recur.LSTM({ inputSize: I, hiddenSize: 16, numLayers: 2, bidirectional: true }),
    gru: new recur.GRU({ inputSize: I, hiddenSize: 16 }),
    rnn: new recur.RNN({ inputSize: I, hiddenSize: 16, nonlinearity: "relu" }),
  };
  const weights = [];
  for (const [name, model] of Object.entries(models)) {
    const sd = {};
    for (const [key, t] of Object.entries(model.stateDict())) sd[key] = fill(t.shape, 0.5);
    model.loadStateDict(sd);
    weights.push(...Object.values(sd).map((t) => bits(t.data)));
    const r = model.forward(x, { lengths: [T, 7, 1] });
    keep(`${name}.output`, r.output);
    keep(`${name}.hN`, r.hN);
    if (r.cN) keep(`${name}.cN`, r.cN);
  }
  // Streaming, one step at a time.
  const state = models.gru.initialState(B);
  const steps = new Float32Array(T * B * 16);
  for (let t = 0; t < T; t++) {
    const { output } = models.gru.step({ shape: [B, I], data: x.data.subarray(t * B * I, (t + 1) * B * I) }, state);
    steps.set(output.data, t * B * 16);
  }
  keep("gru.step", { data: steps });
  // A character model's logits and a greedy sample.
  const lm = new recur.SequenceModel({ vocabSize: 20, embeddingDim: 8, hiddenSize: 24, outputSize: 20 });
  const sd = {};
  for (const [key, t] of Object.entries(lm.stateDict())) sd[key] = fill(t.shape, 0.6);
  lm.loadStateDict(sd);
  const ids = Array.from({ length: T * B }, () => rng.int(20));
  keep("sequenceModel.logits", lm.predict({ input: { shape: [T, B], data: ids } }));
  outputs["sequenceModel.sample"] = lm.sample({ prime: [1, 2, 3], length: 30, topK: 1 }).join(",");
  // A matrix product through the GEMM (odd sizes reach the edge tiles).
  keep("matmul", recur.matmul(fill([37, 29], 1), fill([29, 23], 1)));
  for (const m of [...Object.values(models), lm]) m.dispose();
  return { backend: info.backend, weights: hash(weights.join("")), outputs };
}

// Float32 bits as hex, so a comparison cannot be fooled by printing or parsing of decimals.
function bits(data) {
  const u = new Uint32Array(Float32Array.from(data).buffer);
  let s = "";
  for (const v of u) s += v.toString(16).padStart(8, "0");
  return s;
}

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}
