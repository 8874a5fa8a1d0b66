// The kernels workload's threads section (`npm run bench -- kernels --threads 2`): square GEMMs
// on a threaded core at 1 and N threads, next to the default single-thread binary, all timed in
// the same interleaved passes.
//
// Two runtimes of the same backend: the default binary (what init() loads without `threads`) and
// the threaded binary, timed at 1 thread (pool.setActive(1), what setThreads(1) does) and at N.
// The first two show that the threaded build costs nothing on one thread; the last two give the
// speed-up. Rows: the raw kernel (B packed once) and the public matmul (copies in, packs B,
// copies out on the calling thread).
import { createRuntime, matmulOn } from "../dist/testing/index.js";

function random(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
}

/** Returns the section's table; `measure(tasks, timing)` is kernels.js's interleaved timer. */
export async function threadsSection({ threads, backend, sizes, timing, measure }) {
  const single = await createRuntime({ backend });
  const threaded = await createRuntime({ backend, threads });
  if (!threaded.pool) throw new Error(`bench: --threads=${threads}: the workers did not start (${threaded.threadsFallback})`);
  const pool = threaded.pool;
  const on = (n, fn) => () => {
    pool.setActive(n);
    try {
      return fn();
    } finally {
      pool.setActive(1);
    }
  };
  const rows = [];
  const detail = [];
  try {
    for (const n of sizes) {
      const flops = 2 * n * n * n;
      const next = random(n + 7);
      const a = { shape: [n, n], data: Float32Array.from({ length: n * n }, next) };
      const b = { shape: [n, n], data: Float32Array.from({ length: n * n }, next) };
      const cleanup = [];
      const kernel = (rt) => {
        const { kernels: k, heap } = rt;
        const pa = heap.alloc(n * n * 4);
        const packed = heap.alloc(k.packedSize(n, n) * 4);
        const pc = heap.alloc(n * n * 4);
        heap.f32(pa, n * n).set(a.data);
        heap.f32(pc, n * n).set(b.data);
        k.packB(pc, n, n, n, 0, packed);
        cleanup.push(() => [pa, packed, pc].forEach((p) => heap.release(p)));
        return () => k.gemm(n, n, n, pa, n, packed, pc, n, 0);
      };
      const single1 = kernel(single);
      const threadedKernel = kernel(threaded);
      // Same results whatever the thread count (checked here too, on this size's data).
      const ref = matmulOn(single, a, b).data;
      const got = on(threads, () => matmulOn(threaded, a, b))().data;
      let same = ref.length === got.length;
      for (let i = 0; same && i < ref.length; i++) same = Object.is(ref[i], got[i]);
      const tasks = [
        { name: "default gemm", fn: single1 },
        { name: "threaded@1 gemm", fn: on(1, threadedKernel) },
        { name: `threaded@${threads} gemm`, fn: on(threads, threadedKernel) },
        { name: "default matmul", fn: () => matmulOn(single, a, b) },
        { name: "threaded@1 matmul", fn: on(1, () => matmulOn(threaded, a, b)) },
        { name: `threaded@${threads} matmul`, fn: on(threads, () => matmulOn(threaded, a, b)) },
      ];
      console.error(`  threads: gemm n=${n}`);
      const t = await measure(tasks, timing);
      for (const what of ["gemm", "matmul"]) {
        const d = t[`default ${what}`];
        const t1 = t[`threaded@1 ${what}`];
        const tn = t[`threaded@${threads} ${what}`];
        const gf = (x) => flops / x.median / 1e6;
        rows.push([
          n,
          what === "gemm" ? "kernel" : "public matmul",
          gf(d),
          gf(t1),
          gf(tn),
          `${(d.median / t1.median).toFixed(3)}`,
          `${(t1.median / tn.median).toFixed(2)}x · ${(t1.min / tn.min).toFixed(2)}x`,
          same ? "yes" : "NO",
        ]);
        detail.push({ n, what, times: { default: d, threaded1: t1, threadedN: tn } });
      }
      cleanup.forEach((f) => f());
    }
  } finally {
    await pool.shutdown();
  }
  return {
    title: `GEMM on ${threads} threads (${backend} binary; GFLOP/s, medians)`,
    columns: ["n", "what", "default binary, 1 thread", "threaded binary, 1 thread", `threaded binary, ${threads} threads`, "default / threaded@1 time", `speed-up ${threads} vs 1 (median · best)`, "bit-identical"],
    rows,
    notes: [
      `Tasks run interleaved in ${timing.passes} passes. default = recur-${backend}.wasm (init() without threads); threaded = recur-${backend}-threads.wasm on a shared memory, 1 thread (pool.setActive(1)) or ${threads}. Products of at least 2^18 multiply-adds are split: by rows of A (chunks of 40 rows or more, claimed dynamically) or, for fewer rows, by panels of B; packing B is split by panels. The public matmul's copies in and out (of a shared memory: slower than a plain memcpy) stay on the calling thread. The machine is shared: ratios need its CPUs idle.`,
    ],
    detail,
  };
}
