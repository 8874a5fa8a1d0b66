// Sequence to sequence: an encoder LSTM reads a sequence of digits, its final state (h, c) is
// handed to a decoder LSTM that writes the sequence reversed. Built from the pieces rather than
// SequenceModel: LSTM.forwardTrain / backward (which returns the gradients of the decoder's
// initial state, i.e. of the encoder's final state), Linear, crossEntropy and Adam. Training
// uses teacher forcing (the decoder reads the true previous digit); evaluation decodes greedily,
// step by step, feeding back its own outputs.
//
//   node examples/seq2seq.js           (about 40 s)
//   node examples/seq2seq.js --quick   (a few seconds; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { Adam, LSTM, Linear, clipGradNorm, createRng, crossEntropy, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json"); // only the final metrics, as one JSON line
const say = json ? () => {} : console.log;
await init();
const rng = createRng(3);
const DIGITS = 10; // tokens 0-9
const BOS = 10; // "start decoding", decoder input only
const L = quick ? 5 : 7; // sequence length
const H = quick ? 64 : 128;

const encoder = new LSTM({ inputSize: DIGITS, hiddenSize: H, seed: 1 });
const decoder = new LSTM({ inputSize: DIGITS + 1, hiddenSize: H, seed: 2 });
const head = new Linear({ inFeatures: H, outFeatures: DIGITS, seed: 3 });
const modules = [encoder, decoder, head];
const optimizer = new Adam(modules, { lr: 1e-2 });

// One-hot [T, B, size] from token ids [T][B].
function oneHot(tokens, size) {
  const T = tokens.length, B = tokens[0].length;
  const data = new Float32Array(T * B * size);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) data[(t * B + b) * size + tokens[t][b]] = 1;
  return { shape: [T, B, size], data };
}

function makeBatch(B) {
  const src = Array.from({ length: B }, () => Array.from({ length: L }, () => rng.int(DIGITS)));
  const tgt = src.map((s) => [...s].reverse());
  const timeMajor = (seqs) => Array.from({ length: L }, (_, t) => seqs.map((s) => s[t]));
  return {
    encoderInput: oneHot(timeMajor(src), DIGITS),
    // Teacher forcing: the decoder reads BOS, then the true previous output.
    decoderInput: oneHot(timeMajor(tgt.map((s) => [BOS, ...s.slice(0, -1)])), DIGITS + 1),
    targets: timeMajor(tgt).flat(), // [L * B], time-major like the decoder's rows
    tgt,
  };
}

function trainStep(B) {
  const batch = makeBatch(B);
  optimizer.zeroGrad();
  const enc = encoder.forwardTrain(batch.encoderInput);
  const dec = decoder.forwardTrain(batch.decoderInput, { h0: enc.hN, c0: enc.cN });
  const logits = head.forward({ shape: [L * B, H], data: dec.output.data });
  const { loss, grad } = crossEntropy(logits, batch.targets);
  const dOut = head.backward(grad);
  const dDec = decoder.backward({ output: { shape: [L, B, H], data: dOut.data } }, { inputGrad: false });
  // The decoder's initial state is the encoder's final state: its gradient flows on.
  encoder.backward({ hN: dDec.h0, cN: dDec.c0 }, { inputGrad: false });
  clipGradNorm(modules, 5);
  optimizer.step();
  return loss;
}

// Greedy decoding: each step's most likely digit is the next step's input.
function evaluate(B) {
  const batch = makeBatch(B);
  const enc = encoder.forward(batch.encoderInput);
  const state = decoder.initialState(B);
  state.h.data.set(enc.hN.data);
  state.c.data.set(enc.cN.data);
  let prev = new Array(B).fill(BOS);
  const out = Array.from({ length: B }, () => []);
  for (let t = 0; t < L; t++) {
    const { output } = decoder.step(oneHot([prev], DIGITS + 1), state);
    const logits = head.forward({ shape: [B, H], data: output.data }).data;
    prev = prev.map((_, b) => {
      let best = 0;
      for (let k = 1; k < DIGITS; k++) if (logits[b * DIGITS + k] > logits[b * DIGITS + best]) best = k;
      out[b].push(best);
      return best;
    });
  }
  let tokens = 0, sequences = 0;
  for (let b = 0; b < B; b++) {
    const right = out[b].filter((d, t) => d === batch.tgt[b][t]).length;
    tokens += right;
    if (right === L) sequences++;
  }
  return { tokenAccuracy: tokens / (B * L), sequenceAccuracy: sequences / B, example: { input: batch.tgt[0].slice().reverse().join(""), output: out[0].join("") } };
}

const steps = quick ? 300 : 1000;
const t0 = performance.now();
let loss = NaN;
for (let step = 1; step <= steps; step++) {
  loss = trainStep(64);
  if (step % (steps / 4) === 0) {
    const e = evaluate(200);
    say(`step ${step}: loss ${(loss / Math.LN2).toFixed(3)} bits per digit, digits right ${(100 * e.tokenAccuracy).toFixed(1)} %, whole sequences right ${(100 * e.sequenceAccuracy).toFixed(1)} %`);
  }
}
const final = evaluate(1000);
say(`trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; e.g. ${final.example.input} -> ${final.example.output}`);
say(`chance: ${(100 / DIGITS).toFixed(0)} % of digits, ${(100 / DIGITS ** L).toExponential(0)} % of sequences`);
for (const m of [optimizer, ...modules]) m.dispose();
if (json) console.log(JSON.stringify({ loss, ...final }));
