// Many-to-many sequence labelling: tag every step of a sequence. The task: mark the local peaks
// of a noisy signal (a step that is higher than both neighbours). Whether step t is a peak
// depends on step t + 1 too, so a left-to-right model cannot know it when it must answer; a
// bidirectional LSTM reads the sequence both ways and can. Sequences have different lengths
// (packed-sequence semantics: steps past a sequence's end are ignored).
//
//   node examples/labelling.js           (about 20 s)
//   node examples/labelling.js --quick   (a few seconds; the test suite runs this)
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
await init();
const rng = createRng(7);
const T = 24;

function makeBatch(B) {
  const x = new Float32Array(T * B);
  const y = new Int32Array(T * B);
  const lengths = Array.from({ length: B }, () => 8 + rng.int(T - 8 + 1));
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    const v = Array.from({ length: len }, () => rng.normal());
    for (let t = 0; t < len; t++) {
      x[t * B + b] = v[t];
      const left = t === 0 ? -Infinity : v[t - 1];
      const right = t === len - 1 ? -Infinity : v[t + 1];
      y[t * B + b] = v[t] > left && v[t] > right ? 1 : 0;
    }
  }
  return { input: { shape: [T, B, 1], data: x }, target: { shape: [T, B], data: y }, lengths };
}

function evaluate(model, batch) {
  const B = batch.lengths.length;
  const logits = model.predict(batch).data; // [T, B, 2]
  let right = 0, total = 0, peaks = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < batch.lengths[b]; t++) {
      const i = t * B + b;
      const label = batch.target.data[i];
      if ((logits[2 * i + 1] > logits[2 * i] ? 1 : 0) === label) right++;
      peaks += label;
      total++;
    }
  }
  return { accuracy: right / total, majority: Math.max(peaks, total - peaks) / total };
}

const test = makeBatch(500);
const results = {};
for (const bidirectional of [false, true]) {
  const model = new SequenceModel({ cell: "LSTM", inputSize: 1, hiddenSize: 32, bidirectional, outputSize: 2, seed: 1 });
  const optimizer = new Adam(model, { lr: 1e-2 });
  const steps = quick ? 150 : 600;
  for (let step = 1; step <= steps; step++) model.trainStep(makeBatch(32), optimizer, { clipGradNorm: 5 });
  const { accuracy, majority } = evaluate(model, test);
  results[bidirectional ? "bidirectional" : "unidirectional"] = accuracy;
  results.majority = majority;
  say(`${bidirectional ? "bidirectional " : "left-to-right "} LSTM, ${steps} updates: ${(100 * accuracy).toFixed(1)} % of steps tagged right`);
  optimizer.dispose();
  model.dispose();
}
say(`always answering "no peak" would score ${(100 * results.majority).toFixed(1)} %`);
if (json) console.log(JSON.stringify(results));
