// Character-level language models.
//
// 1. The classic "hello": from "hell" learn to predict "ello". The model has to remember whether
//    it has seen one "l" or two to know what follows the second: "l" after the first, "o" after
//    the second.
// 2. Beyond: a model of real text (this project's guide, docs/guide.md), then samples at several temperatures:
//    low temperatures repeat the likeliest patterns, high ones invent more (and misspell more).
//
//   node examples/char-lm.js           (about 20 s)
//   node examples/char-lm.js --quick   (a few seconds, small sizes; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { readFileSync } from "node:fs";
import { Adam, SequenceModel, init } from "recur-nn";
import { CharLM } from "recur-nn/char-lm";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
const info = await init();
say(`recur on the ${info.backend} backend\n`);

// ---- 1. hello ----
const chars = ["h", "e", "l", "o"];
const ids = (s) => [...s].map((c) => chars.indexOf(c));
const text = (ids) => ids.map((i) => chars[i]).join("");
const model = new SequenceModel({ cell: "LSTM", vocabSize: chars.length, embeddingDim: 8, hiddenSize: 16, outputSize: chars.length, seed: 1 });
const optimizer = new Adam(model, { lr: 0.05 });
const batch = { input: { shape: [4, 1], data: ids("hell") }, target: { shape: [4, 1], data: ids("ello") } }; // [T, B]
let helloLoss = NaN;
for (let step = 1; step <= 60; step++) {
  helloLoss = model.trainStep(batch, optimizer).loss;
  if (step % 20 === 0) say(`hello step ${step}: loss ${(helloLoss / Math.LN2).toFixed(4)} bits per character`);
}
const logits = model.predict({ input: batch.input }).data; // [4, 1, 4]
const predicted = text([0, 1, 2, 3].map((t) => argmax(logits.subarray(t * 4, t * 4 + 4))));
const generated = text(model.sample({ prime: ids("h"), length: 4, topK: 1 }));
say(`after "hell" the model predicts "${predicted}"; generating from "h" gives "h${generated}"\n`);
optimizer.dispose();
model.dispose();

// ---- 2. beyond: the guide ----
const guide = readFileSync(new URL("../docs/guide.md", import.meta.url), "utf8");
const cut = Math.floor(guide.length * 0.9);
const lm = CharLM.fromText(guide, { cell: "LSTM", hiddenSize: quick ? 64 : 96, embeddingDim: 32, seed: 1 });
const train = guide.slice(0, cut);
const heldOut = guide.slice(cut);
const before = { train: lm.evaluate(train), heldOut: lm.evaluate(heldOut) };
const bits = (nats) => (nats / Math.LN2).toFixed(2);
// The guide is small: many more updates and the model learns it by heart (the held-out loss then rises).
const steps = quick ? 150 : 400;
const r = await lm.train({
  text: train,
  steps,
  seqLength: quick ? 32 : 64,
  batchSize: 16,
  lr: 5e-3,
  progressEvery: Math.max(1, steps / 5),
  onProgress: (p) => say(`guide step ${p.step}/${steps}: loss ${bits(p.loss)} bits per character (${Math.round(p.charsPerSecond)} chars/s)`),
});
const after = { train: lm.evaluate(train), heldOut: lm.evaluate(heldOut) };
say(`\nbits per character, training text: ${bits(before.train)} -> ${bits(after.train)}; held-out: ${bits(before.heldOut)} -> ${bits(after.heldOut)}`);
for (const temperature of [0.3, 0.7, 1.0, 1.5]) {
  say(`\n--- temperature ${temperature} ---\nThe model${lm.sample({ prime: "The model", length: quick ? 80 : 240, temperature, seed: 3 })}`);
}
lm.dispose();

if (json) console.log(JSON.stringify({ helloLoss, predicted, generated, steps: r.steps, before, after }));

function argmax(v) {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
