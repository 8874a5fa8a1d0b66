// Writes the TensorFlow.js layers-model fixtures in test/fixtures/tfjs/ with @tensorflow/tfjs
// itself (a dev dependency; pure-JS CPU backend):
//
//     node scripts/tfjs-fixtures.mjs
//
// Each model is built with seeded initialisers, saved by `model.save` through tfjs's own HTTP
// save handler (`tf.io.http` with a fetch function that keeps the request's files instead of
// sending them: the `model.json` and `model.weights.bin` tfjs writes, byte for byte), and run by
// tfjs on a seeded batch-first input. `<name>.json` holds that input and tfjs's output.
// Models whose LSTM/GRU keep tfjs's default recurrentActivation ("hardSigmoid") are written
// too: recur must reject them with E_UNSUPPORTED until its cells have a hard-sigmoid gate.
import { mkdirSync, writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";

const out = new URL("../test/fixtures/tfjs/", import.meta.url);
mkdirSync(out, { recursive: true });
await tf.setBackend("cpu");

let seed = 1;
const init = () => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed++ });
const rnnInit = () => ({ kernelInitializer: init(), recurrentInitializer: init(), biasInitializer: init() });
const dense = (units, activation) => tf.layers.dense({ units, activation, kernelInitializer: init(), biasInitializer: init() });
const T = 6, B = 3, I = 4, H = 5;

async function save(name, model, input) {
  let files;
  await model.save(
    tf.io.http("http://fixtures.invalid/save", {
      fetchFunc: async (_url, request) => {
        const form = request.body;
        files = { json: await form.get("model.json").text(), bin: new Uint8Array(await form.get("model.weights.bin").arrayBuffer()) };
        return new Response("{}", { status: 200 });
      },
    }),
  );
  writeFileSync(new URL(`${name}.model.json`, out), files.json);
  writeFileSync(new URL(`${name}.weights.bin`, out), files.bin);
  const y = model.predict(input);
  const asJson = async (t) => ({ dtype: t.dtype, shape: t.shape, data: Array.from(await t.data()) });
  writeFileSync(new URL(`${name}.json`, out), JSON.stringify({ producer: `@tensorflow/tfjs ${tf.version.tfjs} (cpu backend)`, input: await asJson(input), output: await asJson(y) }));
}

function floats(shape, s) {
  let v = s;
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Array.from({ length: n }, () => ((v = (Math.imul(v, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1), shape);
}

// Token ids with zero padding at the end (mask_zero).
const ids = tf.tensor2d([[3, 7, 1, 9, 2, 5], [4, 4, 8, 0, 0, 0], [6, 1, 0, 0, 0, 0]], [B, T], "int32");

const models = {
  simple_rnn_sequences: () =>
    tf.sequential({ layers: [tf.layers.simpleRNN({ units: H, returnSequences: true, inputShape: [T, I], ...rnnInit() }), tf.layers.timeDistributed({ layer: dense(2) })] }),
  simple_rnn_relu_last: () => tf.sequential({ layers: [tf.layers.simpleRNN({ units: H, activation: "relu", inputShape: [T, I], ...rnnInit() }), dense(3, "softmax")] }),
  lstm_sigmoid_stacked: () =>
    tf.sequential({
      layers: [
        tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: "sigmoid", inputShape: [T, I], ...rnnInit() }),
        tf.layers.dropout({ rate: 0.3 }),
        tf.layers.lstm({ units: H, recurrentActivation: "sigmoid", ...rnnInit() }),
        dense(2, "sigmoid"),
      ],
    }),
  gru_sigmoid: () => tf.sequential({ layers: [tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: "sigmoid", inputShape: [T, I], ...rnnInit() }), dense(3, "tanh")] }),
  bidirectional_lstm_concat: () =>
    tf.sequential({
      layers: [tf.layers.bidirectional({ layer: tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: "sigmoid", ...rnnInit() }), mergeMode: "concat", inputShape: [T, I] }), tf.layers.timeDistributed({ layer: dense(2) })],
    }),
  bidirectional_gru_sum: () =>
    tf.sequential({ layers: [tf.layers.bidirectional({ layer: tf.layers.gru({ units: H, recurrentActivation: "sigmoid", ...rnnInit() }), mergeMode: "sum", inputShape: [T, I] }), dense(2)] }),
  bidirectional_rnn_ave: () =>
    tf.sequential({ layers: [tf.layers.bidirectional({ layer: tf.layers.simpleRNN({ units: H, returnSequences: true, ...rnnInit() }), mergeMode: "ave", inputShape: [T, I] })] }),
  bidirectional_lstm_mul: () =>
    tf.sequential({ layers: [tf.layers.bidirectional({ layer: tf.layers.lstm({ units: H, recurrentActivation: "sigmoid", ...rnnInit() }), mergeMode: "mul", inputShape: [T, I] })] }),
  embedding_mask_lstm: () =>
    tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10, outputDim: I, maskZero: true, inputLength: T, embeddingsInitializer: init() }),
        tf.layers.lstm({ units: H, returnSequences: true, recurrentActivation: "sigmoid", ...rnnInit() }),
        tf.layers.gru({ units: H, recurrentActivation: "sigmoid", ...rnnInit() }),
        dense(2, "softmax"),
      ],
    }),
  embedding_mask_bidirectional_sequences: () =>
    tf.sequential({
      layers: [
        tf.layers.embedding({ inputDim: 10, outputDim: I, maskZero: true, inputLength: T, embeddingsInitializer: init() }),
        tf.layers.bidirectional({ layer: tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: "sigmoid", ...rnnInit() }), mergeMode: "concat" }),
        tf.layers.timeDistributed({ layer: dense(2) }),
      ],
    }),
  masking_simple_rnn: () =>
    tf.sequential({ layers: [tf.layers.masking({ maskValue: 0, inputShape: [T, I] }), tf.layers.simpleRNN({ units: H, returnSequences: true, ...rnnInit() })] }),
  // The functional API (tf.model) with one chain of layers.
  functional_gru_dense: () => {
    const input = tf.input({ shape: [T, I] });
    const gru = tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: "sigmoid", ...rnnInit() }).apply(input);
    return tf.model({ inputs: input, outputs: dense(2, "relu").apply(gru) });
  },
  // tfjs defaults: recurrentActivation "hardSigmoid".
  lstm_hard_sigmoid: () => tf.sequential({ layers: [tf.layers.lstm({ units: H, inputShape: [T, I], ...rnnInit() })] }),
  gru_hard_sigmoid: () => tf.sequential({ layers: [tf.layers.gru({ units: H, inputShape: [T, I], ...rnnInit() })] }),
};

for (const [name, build] of Object.entries(models)) {
  const model = build();
  let input;
  if (name.startsWith("embedding")) input = ids;
  else if (name.startsWith("masking")) {
    // The last steps of the second and third sequences are all zeros: masked.
    const x = floats([B, T, I], 21).arraySync();
    for (let t = 4; t < T; t++) x[1][t].fill(0);
    for (let t = 2; t < T; t++) x[2][t].fill(0);
    input = tf.tensor(x);
  } else input = floats([B, T, I], 11);
  await save(name, model, input);
  console.log("wrote", name);
}
