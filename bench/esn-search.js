// esnSearch on 1 and 2 threads (issue 15): the same random search of the Mackey-Glass task run
// in fresh processes, alternating thread counts over several rounds; medians and their ratio.
// Also how long the calling thread alone spends building those reservoirs (the share that
// overlaps with the trials running on the workers).
//
//   npm run build && node bench/run.js esn-search [--trials=48] [--units=200] [--rounds=3]
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const child = fileURLToPath(new URL("./_esn-search-child.js", import.meta.url));
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run(options = {}) {
  const trials = Number(options.trials ?? (options.quick ? 8 : 48));
  const units = Number(options.units ?? 200);
  const rounds = Number(options.rounds ?? (options.quick ? 1 : 3));
  const times = { 1: [], 2: [] };
  const builds = [];
  let best;
  for (let r = 0; r < rounds; r++) {
    for (const threads of [1, 2]) {
      process.stderr.write(`esn-search: round ${r + 1}/${rounds}, ${threads} thread(s)\n`);
      const out = JSON.parse(execFileSync(process.execPath, [child, String(threads), String(trials), String(units)], { encoding: "utf8" }).trim().split("\n").at(-1));
      if (out.threads !== threads) throw new Error(`esn-search: asked for ${threads} threads, the runtime has ${out.threads}`);
      if (best !== undefined && out.best !== best) throw new Error(`esn-search: the best loss differs between runs (${best} vs ${out.best})`);
      best = out.best;
      times[threads].push(out.searchMs);
      if (threads === 1) builds.push(out.buildMs);
    }
  }
  const one = median(times[1]);
  const two = median(times[2]);
  return [
    { name: `random search, ${trials} trials, ${units} units, 3 folds, 1 thread`, value: one, unit: "ms" },
    { name: "the same on 2 threads", value: two, unit: "ms" },
    { name: "speed-up on 2 threads", value: one / two, unit: "x", note: `same trials and losses (best ${best.toExponential(3)})` },
    { name: "building the reservoirs alone (calling thread)", value: median(builds), unit: "ms", note: `${((100 * median(builds)) / one).toFixed(0)} % of the 1-thread search` },
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const row of await run(Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => [a.slice(2).split("=")[0], a.split("=")[1] ?? true])))) console.log(row);
}
