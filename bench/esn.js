// Echo state network benchmarks. Plain ESM over the built package:
//
//   npm run build && node --expose-gc bench/esn.js [--quick] [--quality] [--memory] [--json]
//   (or through the dispatcher: npm run bench -- esn [--quality])
//
// Exports `run(options)` for the bench dispatcher (bench/run.js): it returns rows
// { name, value, unit, target?, note? }. Sections:
//   speed   fit + run on 50,000 steps with 100 units (ReservoirPy's published figure: 1.24 s NumPy,
//           0.54 s JAX), per-step cost of dense vs CSR reservoirs, ridge solve;
//   memory  a 10,000-unit reservoir at 1 % connectivity fitted on 1000 steps by the dual ridge
//           solver (Wasm memory, JS heap, peak RSS, build and fit time);
//   quality (--quality) Mackey-Glass / NARMA10 over ten seeds with the protocols of
//           fixtures/esn/esn_reference_results.json, and the output-feedback NRMSE84 stretch.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { backendInfo, init } from "../dist/index.js";
import { mackeyGlass, narma10FromInput, nrmse } from "../dist/datasets/index.js";
import { ESN } from "../dist/esn/index.js";
import { createRuntime } from "../dist/testing/index.js";

const fixtures = fileURLToPath(new URL("../../shared/fixtures/esn/", import.meta.url));

function tensor(values, from, to) {
  return { shape: [to - from, 1], data: Float32Array.from(values.subarray(from, to)) };
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timeIt(name, fn, { time = 2000, iterations = 5, setup, teardown } = {}) {
  const bench = new Bench({ time, iterations, warmup: true, warmupIterations: 2, warmupTime: 0 });
  bench.add(name, fn, { beforeEach: setup, afterEach: teardown });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== "completed") throw r.error ?? new Error(`${name}: ${r.state}`);
  return { median: r.latency.p50, mean: r.latency.mean, min: r.latency.min, samples: r.latency.samplesCount ?? undefined };
}

// The machines are shared: a register-only multiply-add probe tells how much SIMD throughput this
// process gets per CPU second right now (compare with a quiet run of the same machine) to put the
// times below in perspective. It does not rescale them: memory-bound parts scale differently.
async function calibrate(rows) {
  // The probe is in the development module (assembly/dev.ts), which no page loads.
  const rt = await createRuntime({ backend: "simd128", wasm: new URL("../build/recur-simd128-dev.wasm", import.meta.url), skipWarmup: true });
  rt.kernels.peakProbe(100000, 1);
  const rates = [];
  for (let r = 0; r < 5; r++) {
    const rounds = 2_000_000;
    const c0 = process.cpuUsage();
    rt.kernels.peakProbe(rounds, 1);
    rates.push((rounds * 96) / ((process.cpuUsage(c0).user / 1e6) * 1e9));
  }
  const rate = median(rates);
  rows.push({ name: "machine: SIMD128 peak probe per CPU second", value: rate, unit: "GFLOP/s" });
  return rate;
}

async function speed(rows, quick) {
  // 50,000 steps of Mackey-Glass (ReservoirPy's discretisation, h = 1), 100 units, ReservoirPy's
  // defaults (connectivity 0.1, input connectivity 0.1) with its tutorial's lr 0.3, sr 1.25, ridge 1e-6.
  const T = 50_000;
  const s = mackeyGlass({ method: "rpy", length: T + 1 });
  const x = tensor(s, 0, T);
  const y = tensor(s, 1, T + 1);
  const opts = { units: 100, leakRate: 0.3, spectralRadius: 1.25, ridge: 1e-6, seed: 0 };
  let esn;
  const fitRun = await timeIt(
    "fit+run 50k x 100",
    () => {
      esn.fit(x, y);
      esn.predict(x);
    },
    // tinybench runs afterEach in a finally block: a teardown that threw on a missing model would
    // replace a failed setup's error with its own.
    { setup: () => (esn = new ESN(opts)), teardown: () => { esn?.dispose(); esn = undefined; }, iterations: quick ? 3 : 10 },
  );
  rows.push({ name: "esn fit + run, 50,000 steps, 100 units (median)", value: fitRun.median, unit: "ms", target: "<= 100", note: "ReservoirPy: 1240 ms NumPy, 540 ms JAX" });
  {
    // CPU time of the same work: on a shared machine it moves less than wall time.
    const m = new ESN(opts);
    m.fit(x, y);
    m.predict(x);
    const cpu = [];
    for (let r = 0; r < (quick ? 3 : 7); r++) {
      const c0 = process.cpuUsage();
      m.fit(x, y);
      m.predict(x);
      cpu.push(process.cpuUsage(c0).user / 1000);
    }
    m.dispose();
    rows.push({ name: "esn fit + run, 50,000 steps, 100 units (median CPU time)", value: median(cpu), unit: "ms", target: "<= 100" });
  }
  const whole = await timeIt(
    "build+fit+run 50k x 100",
    () => {
      const m = new ESN(opts);
      m.fit(x, y);
      m.predict(x);
      m.dispose();
    },
    { iterations: quick ? 3 : 10 },
  );
  rows.push({ name: "esn build + fit + run, 50,000 steps, 100 units (median)", value: whole.median, unit: "ms" });
  {
    const m = new ESN(opts);
    m.fit(x, y);
    const p = m.predict(x);
    rows.push({ name: "  (check) one-step NRMSE of that run", value: nrmse(p.data.subarray(1000), y.data.subarray(1000)), unit: "" });
    m.dispose();
  }

  // Per-step cost of a driven run (predict), dense vs sparse (4-row block) storage.
  const steps = quick ? 2000 : 5000;
  const u = tensor(s, 0, steps);
  const configs = quick
    ? [[100, 0.1], [500, 0.1], [1000, 0.1], [1000, 0.02]]
    : [[100, 0.05], [100, 0.1], [500, 0.05], [500, 0.1], [1000, 0.02], [1000, 0.05], [1000, 0.1], [2000, 0.01], [2000, 0.05]];
  for (const [units, c] of configs) {
    for (const sparse of [false, true]) {
      const m = new ESN({ units, connectivity: c, spectralRadius: 0.9, seed: 1, sparse, inputDim: 1 });
      m.setReadout({ shape: [1, units + 1], data: new Float64Array(units + 1) });
      const r = await timeIt(`run ${units} ${c} ${sparse}`, () => m.predict(u), { time: 500, iterations: 3 });
      rows.push({ name: `esn step, ${units} units, connectivity ${c}, ${sparse ? "sparse" : "dense"}`, value: (r.median * 1000) / steps, unit: "us/step" });
      m.dispose();
    }
  }

  // Ridge solve alone (Cholesky in float64) for 500 and 1000 features.
  for (const units of [500, 1000]) {
    const m = new ESN({ units, connectivity: 0.1, spectralRadius: 0.9, seed: 1, inputDim: 1 });
    m.partialFit(tensor(s, 0, 3000), tensor(s, 1, 3001), { washout: 100 });
    const r = await timeIt(`solve ${units}`, () => m.solveReadout(), { time: 500, iterations: 3 });
    rows.push({ name: `esn ridge solve (Cholesky, float64), ${units + 1} features`, value: r.median, unit: "ms" });
    m.dispose();
  }
}

// Peak resident set size of this process (Linux), bytes; undefined elsewhere.
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// A 10,000-unit reservoir at 1 % connectivity, trained on 1000 steps (900 after washout): 10,001
// features, so the ridge readout takes its dual form (a 900 x 900 system instead of the primal
// 10,001 x 10,001 Gram, 800 MB in float64). Memory = Wasm memory (it never shrinks: its size is
// its peak) + the JS heap (heapUsed + arrayBuffers, sampled after each phase). Measured in a
// fresh process (run() starts one; alone: node --expose-gc bench/esn.js --memory).
async function memory(rows, quick) {
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  const hwm0 = peakRss();
  const mem0 = backendInfo().memoryBytes;
  let jsPeak = 0;
  const sample = () => {
    const m = process.memoryUsage();
    jsPeak = Math.max(jsPeak, m.heapUsed + m.arrayBuffers);
  };
  sample();
  const t0 = performance.now();
  const esn = new ESN({ units: 10_000, connectivity: 0.01, spectralRadius: 0.9, leakRate: 0.3, seed: 1, inputDim: 1 });
  sample();
  const t1 = performance.now();
  const info = esn.layers[0];
  const steps = quick ? 400 : 1000;
  const wave = (t) => Math.sin(0.1 * t) * Math.cos(0.023 * t);
  const u = { shape: [steps, 1], data: Float32Array.from({ length: steps }, (_, t) => wave(t)) };
  const y = { shape: [steps, 1], data: Float32Array.from({ length: steps }, (_, t) => wave(t + 1)) };
  esn.fit(u, y, { washout: 100 });
  sample();
  const t2 = performance.now();
  const test = { shape: [200, 1], data: Float32Array.from({ length: 200 }, (_, t) => wave(steps + t)) };
  const p = esn.predict(test);
  sample();
  const t3 = performance.now();
  let e = 0;
  let v = 0;
  for (let t = 0; t < 200; t++) {
    e += (p.data[t] - wave(steps + t + 1)) ** 2;
    v += wave(steps + t + 1) ** 2;
  }
  const wasm = backendInfo().memoryBytes;
  const hwm1 = peakRss();
  const MB = 1e6;
  rows.push({ name: "esn 10,000 units, 1 % connectivity: build incl. spectral radius", value: t1 - t0, unit: "ms", note: `${info.storage}, nnz ${info.nnz}, rho ${info.spectralRadius.toFixed(6)}, Arnoldi products ${info.eigen?.products}, residual ${info.eigen?.residual.toExponential(1)}` });
  rows.push({ name: `esn 10,000 units: fit on ${steps} steps (dual ridge, ${steps - 100} rows)`, value: t2 - t1, unit: "ms", note: `then predict 200 steps: ${(t3 - t2).toFixed(0)} ms, test NRMSE ${Math.sqrt(e / v).toExponential(2)}` });
  rows.push({ name: "esn 10,000 units: Wasm memory (its peak)", value: wasm / MB, unit: "MB", note: `${(mem0 / MB).toFixed(1)} MB before the model; allocated at the end: ${(backendInfo().heapUsedBytes / MB).toFixed(1)} MB (model + kept training rows)` });
  rows.push({ name: "esn 10,000 units: JS heap peak (heapUsed + arrayBuffers)", value: jsPeak / MB, unit: "MB" });
  rows.push({ name: "esn 10,000 units: Wasm memory + JS heap peak", value: (wasm + jsPeak) / MB, unit: "MB", target: "<= 100" });
  if (hwm0 !== undefined && hwm1 !== undefined) {
    rows.push({ name: "esn 10,000 units: process peak RSS growth (VmHWM)", value: (hwm1 - Math.max(hwm0, rss0)) / MB, unit: "MB", note: "everything the process touched: Wasm, JS, compiled code, allocator slack" });
  }
  esn.dispose();
}

function mgQuality(rows, { units, seeds, series, key }) {
  const fx = JSON.parse(readFileSync(`${fixtures}${series}.json`, "utf8"));
  const s = Float64Array.from(fx.values);
  const std = fx.std;
  const ref = JSON.parse(readFileSync(`${fixtures}esn_reference_results.json`, "utf8")).mackey_glass[key];
  const one = [];
  const n84 = [];
  const free = [];
  for (const seed of seeds) {
    const esn = new ESN({ units, leakRate: 0.3, spectralRadius: 1.25, inputScaling: 0.5, biasScaling: 0.5, connectivity: 1, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, sparse: false, seed });
    esn.fit(tensor(s, 0, 2000), tensor(s, 1, 2001), { washout: 100 });
    const trained = esn.state;
    const g = esn.generate(500);
    let fe = 0;
    for (let t = 0; t < 500; t++) fe += (g.data[t] - s[2001 + t]) ** 2;
    free.push(Math.sqrt(fe / 500) / std);
    esn.setState(trained);
    const p = esn.predict(tensor(s, 2000, 4000));
    let e = 0;
    for (let t = 0; t < 2000; t++) e += (p.data[t] - s[2001 + t]) ** 2;
    one.push(Math.sqrt(e / 2000) / std);
    esn.setState(trained);
    esn.predict(tensor(s, 2000, 2200));
    let e84 = 0;
    for (let k = 0; k < 50; k++) {
      const p0 = 2200 + 84 * k;
      const x = esn.state;
      const run = esn.generate(84, { warmup: tensor(s, p0, p0 + 1) });
      e84 += (run.data[83] - s[p0 + 84]) ** 2;
      esn.setState(x);
      esn.predict(tensor(s, p0, p0 + 84));
    }
    n84.push(Math.sqrt(e84 / 50) / std);
    esn.dispose();
  }
  rows.push({ name: `MG ${series.replace("mackey_glass_tau17_", "")} N=${units}: one-step NRMSE (median of ${seeds.length})`, value: median(one), unit: "", target: units === 500 ? "<= 1.2e-3" : undefined, note: `reference median ${ref.one_step_test_nrmse.median.toExponential(2)}; range ${Math.min(...one).toExponential(2)}..${Math.max(...one).toExponential(2)}` });
  rows.push({ name: `MG ${series.replace("mackey_glass_tau17_", "")} N=${units}: free-run-500 NRMSE (median)`, value: median(free), unit: "", note: `reference median ${ref.free_run_500_nrmse.median.toExponential(2)}` });
  rows.push({ name: `MG ${series.replace("mackey_glass_tau17_", "")} N=${units}: NRMSE84 (median)`, value: median(n84), unit: "", target: "<= 2e-2", note: `reference median ${ref.nrmse84.median.toExponential(2)}; range ${Math.min(...n84).toExponential(2)}..${Math.max(...n84).toExponential(2)}` });
}

function narmaQuality(rows, { units, rho, leak, scale, seeds }) {
  const fx = JSON.parse(readFileSync(`${fixtures}narma10.json`, "utf8"));
  const u = Float64Array.from(fx.u);
  const y = narma10FromInput(u);
  const key = `N${units}_rho${rho}_leak${leak.toFixed(1)}_in${scale}`;
  const ref = JSON.parse(readFileSync(`${fixtures}esn_reference_results.json`, "utf8")).narma10[key];
  const scores = [];
  for (const seed of seeds) {
    const esn = new ESN({ units, leakRate: leak, spectralRadius: rho, inputScaling: 0.5 * scale, biasScaling: 0.5 * scale, connectivity: 1, inputConnectivity: 1, ridge: 1e-8, readoutInput: true, sparse: false, seed });
    esn.fit(tensor(u, 0, 2000), tensor(y, 1, 2001), { washout: 100 });
    scores.push(nrmse(esn.predict(tensor(u, 2000, 4000)).data, y.subarray(2001, 4001)));
    esn.dispose();
  }
  rows.push({ name: `NARMA10 ${key}: test NRMSE (median of ${seeds.length})`, value: median(scores), unit: "", target: units === 500 && rho === 0.9 ? "<= 0.15" : undefined, note: `reference median ${ref?.test_nrmse.median.toFixed(4)}` });
}

// Jaeger & Haas (2004)-style generator: no input but a bias, output feedback teacher-forced while
// fitting, the series squashed by tanh(s - 1), 1000 units at 1 %, tiny state noise and ridge.
// NRMSE84 with the reference protocol (trials at 2200 + 84k, error of the 84th closed-loop step).
function jaeger(rows, { seeds, trainFrom, trainTo }) {
  const fx = JSON.parse(readFileSync(`${fixtures}mackey_glass_tau17_rk4_dt0.1.json`, "utf8"));
  const std = fx.std;
  // The fixture is samples 1000..7999 of this series; longer training uses samples after 8000.
  const s = mackeyGlass({ length: Math.max(7000, trainTo) });
  const ser = (a, b) => ({ shape: [b - a, 1], data: Float32Array.from(s.subarray(a, b), (v) => Math.tanh(v - 1)) });
  const none = (T) => ({ shape: [T, 0], data: new Float32Array(0) });
  const scores = [];
  let ms = 0;
  for (const seed of seeds) {
    const t0 = performance.now();
    const esn = new ESN({ units: 1000, connectivity: 0.01, spectralRadius: 0.95, leakRate: 0.8, feedbackScaling: 1, biasScaling: 0.2, ridge: trainTo - trainFrom > 5000 ? 1e-10 : 1e-11, noise: trainTo - trainFrom > 5000 ? 1e-7 : 1e-8, inputDim: 0, outputDim: 1, seed });
    esn.fit(none(trainTo - trainFrom), ser(trainFrom, trainTo), { washout: 100 });
    ms += performance.now() - t0;
    esn.predict(none(2201), { teacher: ser(0, 2201), reset: true });
    let e84 = 0;
    for (let k = 0; k < 50; k++) {
      const p = 2200 + 84 * k;
      const x = esn.state;
      const run = esn.generate(84);
      e84 += (Math.atanh(run.data[83]) + 1 - s[p + 84]) ** 2;
      esn.setState(x);
      esn.predict(none(84), { teacher: ser(p + 1, p + 85) });
    }
    scores.push(Math.sqrt(e84 / 50) / std);
    esn.dispose();
  }
  rows.push({
    name: `MG generator, output feedback, 1000 units, ${trainTo - trainFrom} training steps: NRMSE84 (median of ${seeds.length})`,
    value: median(scores),
    unit: "",
    target: "~1e-4 (stretch)",
    note: `seeds ${scores.map((v) => v.toExponential(2)).join(", ")}; Jaeger & Haas 2004: 10^-4.2 = 6.3e-5; build+fit ${(ms / seeds.length).toFixed(0)} ms`,
  });
}

async function quality(rows, quick) {
  const seeds = quick ? [0, 1, 2] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  mgQuality(rows, { units: 500, seeds, series: "mackey_glass_tau17_rk4_dt0.1", key: "rk4_dt0.1_N500_rho1.25_leak0.3" });
  if (!quick) {
    mgQuality(rows, { units: 1000, seeds, series: "mackey_glass_tau17_rk4_dt0.1", key: "rk4_dt0.1_N1000_rho1.25_leak0.3" });
    mgQuality(rows, { units: 500, seeds, series: "mackey_glass_tau17_rpy_h1", key: "rpy_h1_N500_rho1.25_leak0.3" });
  }
  narmaQuality(rows, { units: 500, rho: 0.9, leak: 1, scale: 1, seeds });
  if (!quick) narmaQuality(rows, { units: 100, rho: 0.9, leak: 1, scale: 1, seeds });
  jaeger(rows, { seeds: [1, 2, 3], trainFrom: 0, trainTo: 2000 });
  if (!quick) jaeger(rows, { seeds: [1, 2, 3], trainFrom: 7000, trainTo: 28000 });
}

// Wasm memory never shrinks and V8 keeps freed pages: the memory section runs in its own process.
function memoryInFreshProcess(quick) {
  const args = ["--expose-gc", fileURLToPath(import.meta.url), "--memory", "--json", ...(quick ? ["--quick"] : [])];
  const out = execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.slice(out.indexOf("\n[") + 1));
}

/** Runs the ESN benchmarks; returns rows { name, value, unit, target?, note? }. */
export async function run(options = {}) {
  await init();
  const rows = [];
  const quick = options.quick === true;
  if (options.memory === true) {
    await memory(rows, quick);
    return rows;
  }
  await calibrate(rows);
  await speed(rows, quick);
  rows.push(...memoryInFreshProcess(quick));
  if (options.quality === true) await quality(rows, quick);
  return rows;
}

function format(rows) {
  const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 0.01 ? v.toFixed(3) : v.toExponential(3));
  return rows.map((r) => `${r.name.padEnd(72)} ${fmt(r.value).padStart(10)} ${r.unit.padEnd(8)}${r.target ? ` target ${r.target}` : ""}${r.note ? `  (${r.note})` : ""}`).join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = new Set(process.argv.slice(2));
  const rows = await run({ quick: args.has("--quick"), quality: args.has("--quality"), memory: args.has("--memory") });
  const info = backendInfo();
  console.log(`# recur ESN bench (backend ${info.backend}, node ${process.version})`);
  console.log(args.has("--json") ? JSON.stringify(rows, null, 2) : format(rows));
}
