// Binary addition, the classic task where a recurrent network beats a feedforward one: the
// network reads two numbers one bit pair per step, least significant bit first, and writes the
// sum's bit at the same step. The same weights handle every bit position, so a network trained
// on 8-bit numbers adds 16- and 32-bit numbers it has never seen. What it must learn is the
// carry: a finite automaton with a "carry" and a "no carry" state, which the hidden units end up
// encoding (the truth table printed at the end).
//
//   node examples/binary-addition.js           (about 10 s)
//   node examples/binary-addition.js --quick   (a few seconds; the test suite runs this)
//   add --json to print only the final metrics, as one JSON line
import { Adam, SequenceModel, createRng, init } from "recur-nn";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const say = json ? () => {} : console.log;
await init();

const rng = createRng(5);
const H = 4;

// A batch of B additions of `bits`-bit numbers: bits + 1 steps (the last one reads 0 + 0 and
// writes the final carry). Inputs are the bit pairs as -1/+1; targets the sum's bits.
function additions(B, bits) {
  const T = bits + 1;
  const x = new Float32Array(T * B * 2);
  const y = new Int32Array(T * B);
  const pairs = [];
  for (let b = 0; b < B; b++) {
    const a = Array.from({ length: bits }, () => rng.int(2));
    const c = Array.from({ length: bits }, () => rng.int(2));
    let carry = 0;
    for (let t = 0; t < T; t++) {
      const ai = t < bits ? a[t] : 0;
      const ci = t < bits ? c[t] : 0;
      x[(t * B + b) * 2] = 2 * ai - 1;
      x[(t * B + b) * 2 + 1] = 2 * ci - 1;
      const s = ai + ci + carry;
      y[t * B + b] = s & 1;
      carry = s >> 1;
    }
    pairs.push([a, c]);
  }
  return { input: { shape: [T, B, 2], data: x }, target: { shape: [T, B], data: y }, pairs };
}

const model = new SequenceModel({ cell: "RNN", inputSize: 2, hiddenSize: H, outputSize: 2, seed: 3 });
const optimizer = new Adam(model, { lr: 0.02 });
const steps = quick ? 300 : 1000;
for (let step = 1; step <= steps; step++) {
  const { loss } = model.trainStep(additions(32, 8), optimizer, { clipGradNorm: 1 });
  if (step % (steps / 5) === 0) say(`step ${step}: loss ${loss.toFixed(4)}`);
}

// Accuracy per length: bits right, and whole sums right (every bit).
function evaluate(bits, count) {
  const batch = additions(count, bits);
  const T = bits + 1;
  const logits = model.predict(batch).data;
  let bitsRight = 0;
  let sumsRight = 0;
  for (let b = 0; b < count; b++) {
    let all = true;
    for (let t = 0; t < T; t++) {
      const i = t * count + b;
      const ok = (logits[2 * i + 1] > logits[2 * i] ? 1 : 0) === batch.target.data[i];
      bitsRight += ok ? 1 : 0;
      all &&= ok;
    }
    sumsRight += all ? 1 : 0;
  }
  return { bits: bitsRight / (T * count), sums: sumsRight / count };
}
const accuracy = {};
say("\nlength   bits right   whole sums right   (trained on 8 bits only)");
for (const bits of [8, 16, 32]) {
  accuracy[bits] = evaluate(bits, quick ? 1000 : 10000);
  say(`${String(bits).padStart(2)} bits   ${(100 * accuracy[bits].bits).toFixed(2).padStart(7)} %   ${(100 * accuracy[bits].sums).toFixed(1).padStart(9)} %`);
}

// What the hidden units learned: drive the network with every (carry in, a, b) situation and read
// the hidden state after the step. The carry is not an input: it is what the state before the
// step holds, so each situation is reached by a short prefix that leaves that carry behind.
const rnn = model.rnn;
const table = [];
for (const carryIn of [0, 1]) {
  for (const [a, c] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
    // Prefix: 1 + 1 leaves a carry, 0 + 0 leaves none; then the bit pair itself.
    const seq = [carryIn ? [1, 1] : [0, 0], [a, c]];
    const state = rnn.initialState(1);
    let h;
    for (const [p, q] of seq) h = rnn.step({ shape: [1, 2], data: Float32Array.of(2 * p - 1, 2 * q - 1) }, state).output.data.slice();
    const s = a + c + carryIn;
    table.push({ carryIn, a, b: c, sum: s & 1, carryOut: s >> 1, h: Array.from(h) });
  }
}
// The unit whose sign best tells "carry" from "no carry" after the step.
let carryUnit = 0;
let agreement = 0;
for (let u = 0; u < H; u++) {
  const hits = table.filter((r) => (r.h[u] > 0 ? 1 : 0) === r.carryOut).length;
  const best = Math.max(hits, table.length - hits);
  if (best > agreement) [carryUnit, agreement] = [u, best];
}
say(`\nhidden state after reading (a, b) with a carry in or not (+/- = sign of each of the ${H} units)`);
say(`carry in  a b | sum carry out | ${"units".padEnd(H)} | unit ${carryUnit}`);
for (const r of table) {
  const signs = r.h.map((v) => (v > 0 ? "+" : "-")).join("");
  say(`    ${r.carryIn}     ${r.a} ${r.b} |  ${r.sum}      ${r.carryOut}     | ${signs.padEnd(5)} | ${r.h[carryUnit].toFixed(2).padStart(5)}`);
}
say(`unit ${carryUnit} is ${agreement === table.length ? "a carry detector: its sign says carry / no carry in all 8 cases" : `right about the carry in ${agreement} of 8 cases`}`);
optimizer.dispose();
model.dispose();

if (json) console.log(JSON.stringify({ steps, accuracy, carryUnit, carryAgreement: agreement / table.length, table: table.map(({ h, ...r }) => r) }));
