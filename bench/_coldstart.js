// Child process of bench/kernels.js: the cold start must be measured in a fresh process, because
// V8 caches compiled Wasm per module bytes and a binary instantiated before would start tiered up.
//
//   node bench/_coldstart.js <simd128|relaxed> <gemm|matmul> [--skip-warmup]
//
// Prints one JSON line: the time to create the runtime, the first 512^3 product after it, and the
// median of the next ones.
import { createRuntime, matmulOn } from "../dist/testing/index.js";

const [backend, what] = process.argv.slice(2);
const skipWarmup = process.argv.includes("--skip-warmup");
const n = 512;
const next = (() => {
  let s = 12345;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
})();
const a = { shape: [n, n], data: Float32Array.from({ length: n * n }, next) };
const b = { shape: [n, n], data: Float32Array.from({ length: n * n }, next) };

let t = performance.now();
const rt = await createRuntime({ backend, skipWarmup });
const initMs = performance.now() - t;

let call;
if (what === "matmul") {
  call = () => matmulOn(rt, a, b);
} else {
  const { kernels: k, heap } = rt;
  const pa = heap.alloc(n * n * 4);
  const pb = heap.alloc(n * n * 4);
  const packed = heap.alloc(k.packedSize(n, n) * 4);
  const pc = heap.alloc(n * n * 4);
  heap.f32(pa, n * n).set(a.data);
  heap.f32(pb, n * n).set(b.data);
  k.packB(pb, n, n, n, 0, packed);
  call = () => k.gemm(n, n, n, pa, n, packed, pc, n, 0);
}

t = performance.now();
call();
const firstMs = performance.now() - t;
const times = [];
for (let i = 0; i < 15; i++) {
  // Let the event loop turn between calls, as an application would (tier-up code is installed there).
  await new Promise((resolve) => setTimeout(resolve, 0));
  t = performance.now();
  call();
  times.push(performance.now() - t);
}
times.sort((x, y) => x - y);
const steadyMs = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({ backend: rt.backend, what, skipWarmup, initMs, firstMs, steadyMs, ratio: firstMs / steadyMs }));
