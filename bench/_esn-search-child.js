// One timed esnSearch in a fresh process (bench/esn-search.js runs this with each thread count).
//   node bench/_esn-search-child.js <threads> <trials> <units>
import { backendInfo, init } from "../dist/index.js";
import { ESN, esnSearch } from "../dist/esn/index.js";

const [threads, trials, units] = process.argv.slice(2).map(Number);
await init({ threads });
const space = { spectralRadius: [0.1, 2], leakRate: [0.05, 1], inputScaling: [0.05, 2], connectivity: [0.02, 0.5], ridge: [1e-10, 1e-1] };
const reservoir = { units, biasScaling: 0.5, readoutInput: true };
// Warm-up: compile every path once (Wasm tiers up between calls).
await esnSearch("mackey-glass", space, { trials: 4, seed: 99, reservoir });
const t0 = performance.now();
const r = await esnSearch("mackey-glass", space, { trials, seed: 1, reservoir });
const searchMs = performance.now() - t0;
// The part that stays on the calling thread: building the same reservoirs.
const t1 = performance.now();
for (const t of r.trials) new ESN({ ...reservoir, ...t.params, seed: 1, inputDim: 1 }).dispose();
const buildMs = performance.now() - t1;
console.log(JSON.stringify({ threads: backendInfo().threads, searchMs, buildMs, best: r.best.loss }));
