// Conditioning on a fixed vector at every step, image-captioning style: a vector standing for an
// image's features (here a fixed random projection of the scene's attributes, plus noise, as a
// vision model's embedding would be) is fed to the LSTM beside each character, and the model
// writes the caption ("two red circles.") one character at a time. SequenceModel's
// conditionSize does this: the cell sees [x_t; v] at every step.
//
// Six of the 36 scenes are never seen in training; captioning them needs the model to combine
// what it learned about counts, colours and shapes separately.
//
//   node examples/captioning.js           (about 10 s)
//   node examples/captioning.js --quick   (a few seconds; the test suite runs this)
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
await init();
const rng = createRng(5);

const COUNTS = ["one", "two", "three"];
const COLOURS = ["red", "green", "blue", "yellow"];
const SHAPES = ["circle", "square", "triangle"];
const FEATURES = 16;
const scenes = COUNTS.flatMap((_, n) => COLOURS.flatMap((_, c) => SHAPES.map((_, s) => ({ n, c, s }))));
const caption = ({ n, c, s }) => `${COUNTS[n]} ${COLOURS[c]} ${SHAPES[s]}${n > 0 ? "s" : ""}.`;
const unseen = new Set([1, 9, 14, 22, 27, 32]);
const trainScenes = scenes.filter((_, i) => !unseen.has(i));
const testScenes = scenes.filter((_, i) => unseen.has(i));

// "Image features": a fixed random projection of the one-hot attributes, plus noise per image.
const ATTRS = COUNTS.length + COLOURS.length + SHAPES.length;
const projection = Array.from({ length: FEATURES * ATTRS }, () => rng.normal() / Math.sqrt(3));
function features(scene) {
  const hot = [scene.n, COUNTS.length + scene.c, COUNTS.length + COLOURS.length + scene.s];
  return Array.from({ length: FEATURES }, (_, f) => hot.reduce((a, k) => a + projection[f * ATTRS + k], 0) + 0.1 * rng.normal());
}

const START = "^";
const chars = [START, ...new Set(scenes.map(caption).join(""))].sort();
const id = new Map(chars.map((c, i) => [c, i]));
const T = Math.max(...scenes.map((s) => caption(s).length));

function makeBatch(list, B) {
  const input = new Int32Array(T * B);
  const target = new Int32Array(T * B).fill(-100); // -100: ignored (padding)
  const condition = new Float32Array(B * FEATURES);
  const lengths = [];
  for (let b = 0; b < B; b++) {
    const scene = list[rng.int(list.length)];
    const text = caption(scene);
    const inp = START + text.slice(0, -1); // reads "^two red circles", predicts "two red circles."
    for (let t = 0; t < text.length; t++) {
      input[t * B + b] = id.get(inp[t]);
      target[t * B + b] = id.get(text[t]);
    }
    lengths.push(text.length);
    condition.set(features(scene), b * FEATURES);
  }
  return { input: { shape: [T, B], data: input }, target: { shape: [T, B], data: target }, lengths, condition: { shape: [B, FEATURES], data: condition } };
}

const model = new SequenceModel({ cell: "LSTM", vocabSize: chars.length, embeddingDim: 16, conditionSize: FEATURES, hiddenSize: quick ? 64 : 96, outputSize: chars.length, seed: 1 });
const optimizer = new Adam(model, { lr: 1e-2 });

function describe(scene) {
  const ids = model.sample({ prime: [id.get(START)], length: T, topK: 1, condition: { shape: [1, FEATURES], data: Float32Array.from(features(scene)) } });
  const text = ids.map((i) => chars[i]).join("");
  return text.includes(".") ? text.slice(0, text.indexOf(".") + 1) : text;
}
const accuracy = (list, n) => {
  let right = 0;
  for (let i = 0; i < n; i++) if (describe(list[i % list.length]) === caption(list[i % list.length])) right++;
  return right / n;
};

const steps = quick ? 120 : 400;
for (let step = 1; step <= steps; step++) {
  const { loss } = model.trainStep(makeBatch(trainScenes, 32), optimizer, { clipGradNorm: 5 });
  if (step % (steps / 5) === 0) say(`step ${step}: loss ${(loss / Math.LN2).toFixed(3)} bits per word`);
}
const seen = accuracy(trainScenes, 90);
const novel = accuracy(testScenes, 30);
for (const scene of testScenes.slice(0, 3)) say(`unseen scene "${caption(scene)}" -> "${describe(scene)}"`);
say(`exact captions: ${(100 * seen).toFixed(0)} % of scenes seen in training (new noise), ${(100 * novel).toFixed(0)} % of never-seen scenes`);
optimizer.dispose();
model.dispose();
if (json) console.log(JSON.stringify({ seen, unseen: novel }));
