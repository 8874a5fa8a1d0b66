// Kernel benchmarks of both Wasm binaries in one process:
//
// 1. GEMM GFLOP/s for square n through the raw kernel (B packed once, outside the timing) and the
//    public matmul (copies in, packs B, multiplies, copies out), next to the binary's peak
//    (peakProbe: 12 register-only multiply-add chains, 96 flops per round). Target (issue 17) for
//    n >= 256: matmul >= 0.9 of the peak measured alongside, with either binary.
// 2. tanh / sigmoid / relu throughput in ns per element (16,384 floats, in cache).
// 3. Cold start: the first 512^3 product after creating a runtime vs the median of the next ones
//    (target <= 1.5), in fresh child processes, with and without the runtime's warm-up.
// 4. With --threads N: the GEMMs on N threads against 1 (bench/_threads.js).
//
// Times are tinybench samples of tasks run interleaved in passes (see measure()). The relaxed binary's matmul goes through the public `matmul`
// (init() picks relaxed on this Node); the SIMD128 one through `matmulOn` (the same code on a
// given runtime).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { init, matmul } from "../dist/index.js";
import { createRuntime, matmulOn } from "../dist/testing/index.js";
import { threadsSection } from "./_threads.js";

const BACKENDS = ["simd128", "relaxed"];
const PROBE_ROUNDS = 100_000; // 9.6 Mflop per call: ~0.25-0.5 ms, many calls per measurement
const FLOPS_PER_ROUND = 96;

function random(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

/**
 * Runs the tasks ({ name, fn }) in `passes` interleaved rounds (each task gets time / passes per
 * round), so a burst of load from other processes hits every task rather than one; returns each
 * task's median and best (minimum) time in ms over all samples.
 */
export async function measure(tasks, { time, iterations, passes = 3 }) {
  const samples = Object.fromEntries(tasks.map((t) => [t.name, []]));
  for (let pass = 0; pass < passes; pass++) {
    const bench = new Bench({
      time: time / passes,
      iterations: Math.max(2, Math.ceil(iterations / passes)),
      warmupTime: pass === 0 ? Math.min(time, 200) : 0,
      warmupIterations: pass === 0 ? 2 : 0,
      warmup: pass === 0,
      retainSamples: true,
      throws: true,
    });
    for (const t of tasks) bench.add(t.name, t.fn);
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw r.error ?? new Error(`${task.name}: ${r.state}`);
      samples[task.name].push(...r.latency.samples);
    }
  }
  const out = {};
  for (const [name, v] of Object.entries(samples)) {
    v.sort((x, y) => x - y);
    out[name] = { median: v[Math.floor(v.length / 2)], min: v[0], samples: v.length };
  }
  return out;
}

// V8 has no on-stack replacement for Wasm: a long first call of the probe would run in Liftoff
// to its end. Many short calls and an event-loop turn get it to TurboFan before timing.
async function warmProbe(kernels) {
  for (let i = 0; i < 300; i++) kernels.peakProbe(1000, 1);
  await new Promise((resolve) => setTimeout(resolve, 0));
}

async function gemmSection(runtimes, sizes, timing) {
  const rows = [];
  const detail = [];
  for (const n of sizes) {
    const tasks = [];
    const flops = 2 * n * n * n;
    // One probe call does the flops of one product, so both are sampled over the same time
    // scale: short probe samples would slip between bursts of other processes' load that every
    // long GEMM sample absorbs, and read a ceiling the GEMM never gets to run under.
    const probeRounds = Math.max(PROBE_ROUNDS, Math.round(flops / FLOPS_PER_ROUND));
    const next = random(n);
    const at = Float32Array.from({ length: n * n }, next);
    const bt = Float32Array.from({ length: n * n }, next);
    const ta = { shape: [n, n], data: at };
    const tb = { shape: [n, n], data: bt };
    const cleanup = [];
    for (const rt of runtimes) {
      const { kernels: k, heap } = rt;
      const pa = heap.alloc(n * n * 4);
      const pb = heap.alloc(n * n * 4);
      const packed = heap.alloc(k.packedSize(n, n) * 4);
      const pc = heap.alloc(n * n * 4);
      heap.f32(pa, n * n).set(at);
      heap.f32(pb, n * n).set(bt);
      k.packB(pb, n, n, n, 0, packed);
      cleanup.push(() => [pa, pb, packed, pc].forEach((p) => heap.release(p)));
      const tc = { shape: [n, n], data: new Float32Array(n * n) };
      const mm = rt.shared ? () => matmul(ta, tb) : () => matmulOn(rt, ta, tb);
      const mmOut = rt.shared ? () => matmul(ta, tb, { out: tc }) : () => matmulOn(rt, ta, tb, { out: tc });
      tasks.push(
        { name: `${rt.backend} peak`, fn: () => rt.dev.kernels.peakProbe(probeRounds, 1) },
        { name: `${rt.backend} gemm`, fn: () => k.gemm(n, n, n, pa, n, packed, pc, n, 0) },
        { name: `${rt.backend} matmul`, fn: mm },
        { name: `${rt.backend} matmulOut`, fn: mmOut },
      );
    }
    console.error(`  gemm n=${n}`);
    const t = await measure(tasks, timing);
    for (const rt of runtimes) {
      const b = rt.backend;
      const rate = (task, stat) => (task === "peak" ? probeRounds * FLOPS_PER_ROUND : flops) / t[`${b} ${task}`][stat] / 1e6;
      const ratio = (task) => `${(rate(task, "median") / rate("peak", "median")).toFixed(3)} · ${(rate(task, "min") / rate("peak", "min")).toFixed(3)}`;
      const target = n >= 256 ? ">= 0.90" : "";
      rows.push([n, b, rate("peak", "median"), rate("gemm", "median"), ratio("gemm"), rate("matmul", "median"), ratio("matmul"), ratio("matmulOut"), target]);
      detail.push({ n, backend: b, times: { peak: t[`${b} peak`], gemm: t[`${b} gemm`], matmul: t[`${b} matmul`], matmulOut: t[`${b} matmulOut`] } });
    }
    cleanup.forEach((f) => f());
  }
  return {
    title: "GEMM, square n x n x n (GFLOP/s, medians; ratios to the binary's peak measured alongside, median · best)",
    columns: ["n", "binary", "peak", "gemm kernel", "kernel / peak", "public matmul", "matmul / peak", "matmul({ out }) / peak", "target (matmul / peak)"],
    rows,
    notes: [
      `Main register tile per binary (chosen at load, backendInfo().gemmTile): ${runtimes.map((rt) => `${rt.backend} ${rt.gemmTile} (${rt.gemmTileChosenBy}${rt.gemmCalibration ? `: 5x8 ${rt.gemmCalibration["5x8"]}, 4x8 ${rt.gemmCalibration["4x8"]} GFLOP/s` : ""})`).join("; ")}.`,
      `peak = peakProbe(rounds, 1) x ${FLOPS_PER_ROUND} flops per call, with as many rounds as one product has flops / ${FLOPS_PER_ROUND} (at least ${PROBE_ROUNDS}) so that probe and GEMM samples last alike; gemm kernel = kernels.gemm on B packed once; public matmul = copy A and B in, packB, gemm, copy C out, per call, into a new array; matmul({ out }) the same into one reused result. Tasks run interleaved in ${timing.passes} passes; "median" ratios use median times, "best" ratios the fastest sample of each task (the machine's capability when other processes leave it alone).`,
    ],
    detail,
  };
}

async function activationSection(runtimes, timing) {
  const n = 16_384;
  const next = random(7);
  const x = Float32Array.from({ length: n }, () => next() * 8);
  const rows = [];
  const tasks = [];
  for (const rt of runtimes) {
    const { kernels: k, heap } = rt.dev;
    const px = heap.alloc(n * 4);
    const py = heap.alloc(n * 4);
    heap.f32(px, n).set(x);
    for (const f of ["tanhArray", "sigmoidArray", "reluArray"]) {
      // Each call covers 16 passes so one sample is well above the timer's resolution.
      tasks.push({ name: `${rt.backend} ${f}`, fn: () => { for (let i = 0; i < 16; i++) k[f](px, py, n); } });
    }
  }
  console.error("  activations");
  const t = await measure(tasks, timing);
  for (const rt of runtimes) {
    for (const f of ["tanhArray", "sigmoidArray", "reluArray"]) {
      const r = t[`${rt.backend} ${f}`];
      rows.push([f, rt.backend, (r.median * 1e6) / (16 * n), (r.min * 1e6) / (16 * n)]);
    }
  }
  return { title: `Activations, ${n.toLocaleString("en")} floats in cache (ns per element)`, columns: ["kernel", "binary", "ns / element (median)", "ns / element (best)"], rows };
}

function coldStartSection(quick) {
  const child = fileURLToPath(new URL("./_coldstart.js", import.meta.url));
  const rows = [];
  const cases = [
    ["gemm", false],
    ["matmul", false],
    ["gemm", true],
  ];
  for (const backend of BACKENDS) {
    for (const [what, skip] of cases) {
      if (quick && skip) continue;
      console.error(`  cold start ${backend} ${what}${skip ? " (no warm-up)" : ""}`);
      const out = execFileSync(process.execPath, [child, backend, what, ...(skip ? ["--skip-warmup"] : [])], { encoding: "utf8" });
      const r = JSON.parse(out.trim().split("\n").pop());
      rows.push([backend, what === "gemm" ? "gemm kernel" : "public matmul", skip ? "skipped" : "yes", r.initMs, r.firstMs, r.steadyMs, r.ratio, skip ? "" : "<= 1.5"]);
    }
  }
  return {
    title: "Cold start, 512 x 512 x 512 in a fresh process (ms)",
    columns: ["binary", "call", "warm-up", "createRuntime", "first call", "steady median", "first / steady", "target"],
    rows,
  };
}

/** Runs the kernel benchmarks; options: quick, sizes ("64,128,..."). */
export async function run(options = {}) {
  const quick = options.quick === true;
  const sizes = typeof options.sizes === "string" ? options.sizes.split(",").map(Number) : quick ? [64, 128, 256, 512] : [64, 128, 256, 512, 1024];
  // 12 passes of ~200 ms per task: on a shared host a burst of other processes' load lasts about a
  // second, and with 4 passes of 600 ms one burst could move a task's median by itself.
  const timing = quick ? { time: 300, iterations: 3, passes: 2 } : { time: 2400, iterations: 6, passes: 12 };

  // Cold start first, in child processes, before this process has compiled anything.
  const cold = coldStartSection(quick);

  const info = await init(); // the shared runtime behind the public matmul
  const runtimes = [];
  for (const backend of BACKENDS) {
    if (backend === info.backend) {
      const { runtime } = await import("../dist/runtime.js");
      runtimes.push({ ...runtime(), shared: true });
    } else {
      runtimes.push(await createRuntime({ backend }));
    }
  }
  // The peak probe and the element-wise kernels are in the development module (assembly/dev.ts),
  // which no page loads: one instance of it per backend beside the runtime under test.
  for (const rt of runtimes) {
    rt.dev = await createRuntime({ backend: rt.backend, wasm: new URL(`../build/recur-${rt.backend}-dev.wasm`, import.meta.url), skipWarmup: true });
    await warmProbe(rt.dev.kernels);
  }

  const gemm = await gemmSection(runtimes, sizes, timing);
  const act = await activationSection(runtimes, timing);
  // --threads N: the same GEMMs on N threads (bench/_threads.js).
  const threads = options.threads === undefined ? 1 : Number(options.threads);
  const threaded = threads > 1 ? [await threadsSection({ threads, backend: info.backend, sizes: sizes.filter((n) => n >= 128), timing, measure })] : [];
  return { tables: [gemm, act, cold, ...threaded] };
}
