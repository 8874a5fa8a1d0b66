// A recurrent network whose weights are written by hand instead of learned: the cooking
// schedule. A cook makes one of three dishes a day. On a sunny day they cook yesterday's dish
// again; on a rainy day they move on to the next dish of the cycle (pasta -> burger -> salad ->
// pasta). Given the weather of each day and the first day's dish, the network prints the schedule.
//
// Everything is one-hot and every weight is 0, 1, 2 or -3:
//   - the hidden state has 6 units: "dish d, kept" (units 0-2) and "dish d, next" (units 3-5);
//   - the recurrent weights read yesterday's dish (kept or next: both halves) and propose it
//     twice, once as "same dish" (unit d) and once as "next dish" (unit 3 + (d + 1) % 3);
//   - the weather adds 1 to the whole "same" half when sunny, or to the whole "next" half when
//     rainy; only the unit that gets both reaches 2, and relu(2x - 3) keeps exactly that unit;
//   - the output layer folds the two halves back into today's dish.
// The weights go in with loadStateDict under PyTorch's names; there is no training.
//
//   node examples/cooking.js [--quick] [--json]
import { SequenceModel, createRng, init } from "recur-nn";

const json = process.argv.includes("--json");
const say = json ? () => {} : console.log;
await init();

const DISHES = ["pasta", "burger", "salad"];
const WEATHER = ["sunny", "rainy"];
const N = DISHES.length;

// Rows of the 6-unit hidden layer: unit d = "dish d (same as yesterday)", unit N + d = "dish d (next dish)".
const sameOrNext = []; // [6][3]: yesterday's dish d -> "same d" and "next (d + 1)"
for (let u = 0; u < 2 * N; u++) sameOrNext.push(DISHES.map((_, d) => (u < N ? (u === d ? 1 : 0) : u - N === (d + 1) % N ? 1 : 0)));
const fold = DISHES.map((_, d) => Array.from({ length: 2 * N }, (_, u) => (u % N === d ? 1 : 0))); // [3][6]: today's dish
const weather = Array.from({ length: 2 * N }, (_, u) => (u < N ? [1, 0] : [0, 1])); // [6][2]: sunny -> same half, rainy -> next half

// W_hh = 2 · sameOrNext · fold (yesterday's 6 units -> yesterday's dish -> the two proposals).
const Whh = [];
for (let u = 0; u < 2 * N; u++) {
  Whh.push(Array.from({ length: 2 * N }, (_, v) => 2 * DISHES.reduce((s, _, d) => s + sameOrNext[u][d] * fold[d][v], 0)));
}
const tensor = (rows) => ({ shape: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });
const model = new SequenceModel({ cell: "RNN", nonlinearity: "relu", inputSize: 2, hiddenSize: 2 * N, outputSize: N });
model.loadStateDict({
  "rnn.weight_ih_l0": tensor(weather.map((r) => r.map((v) => 2 * v))),
  "rnn.weight_hh_l0": tensor(Whh),
  "rnn.bias_ih_l0": { shape: [2 * N], data: new Float32Array(2 * N).fill(-3) },
  "rnn.bias_hh_l0": { shape: [2 * N], data: new Float32Array(2 * N) },
  "head.weight": tensor(fold),
  "head.bias": { shape: [N], data: new Float32Array(N) },
});
say("hand-set weights:");
say("  W_ih (weather -> units)     ", JSON.stringify(weather.map((r) => r.map((v) => 2 * v))));
say("  W_hh (yesterday -> today)   ", JSON.stringify(Whh));
say("  bias                         -3 on every unit; relu(2 + 2 - 3) = 1 and relu(2 - 3) = 0");
say("  head (units -> dish)        ", JSON.stringify(fold));

// The schedule for given weather, starting from `first` (the state before day 1 says "first, kept").
function schedule(days, first) {
  const T = days.length;
  const x = new Float32Array(T * 2);
  days.forEach((w, t) => (x[t * 2 + w] = 1));
  const h0 = new Float32Array(2 * N);
  h0[first] = 1;
  const out = model.predict({ input: { shape: [T, 1, 2], data: x }, h0: { shape: [1, 1, 2 * N], data: h0 } }).data;
  return days.map((_, t) => {
    const row = Array.from(out.subarray(t * N, (t + 1) * N));
    return row.indexOf(Math.max(...row));
  });
}

// The rule itself, for comparison.
function byRule(days, first) {
  let dish = first;
  return days.map((w) => (dish = w === 0 ? dish : (dish + 1) % N));
}

const week = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const weekWeather = [0, 1, 1, 0, 1, 0, 0]; // sunny, rainy, rainy, sunny, rainy, sunny, sunny
const first = 0; // the Sunday before: pasta
const planned = schedule(weekWeather, first);
say(`\nlast Sunday: ${DISHES[first]}`);
week.forEach((day, t) => say(`${day.padEnd(10)} ${WEATHER[weekWeather[t]].padEnd(6)} -> ${DISHES[planned[t]]}`));

// A long random stretch of weather: the network must follow the rule on every day.
const rng = createRng(1);
const days = Array.from({ length: 1000 }, () => rng.int(2));
const long = schedule(days, 2);
const expected = byRule(days, 2);
const mismatches = long.filter((d, t) => d !== expected[t]).length;
say(`\n1000 days of random weather: ${mismatches === 0 ? "every dish follows the rule" : `${mismatches} days break the rule`}`);
model.dispose();

if (json) {
  console.log(JSON.stringify({ week: planned.map((d) => DISHES[d]), weekByRule: byRule(weekWeather, first).map((d) => DISHES[d]), days: days.length, mismatches }));
}
