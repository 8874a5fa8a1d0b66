// Small products through the public matmul (m <= 8 rows of A: a GEMV, a small batch) against
// tfjs-wasm's tf.matMul, in one process, tasks interleaved (kernels.js's measure()):
//
// - recur matmul(a, b): B a plain tensor, copied into Wasm memory on every call and read
//   unpacked (no packing of a matrix used once);
// - recur matmul(a, packMatrix(b)): B packed once, outside the timing (a layer's weights);
// - tfjs-wasm: tensors made once outside the timing (tfjs keeps them in its Wasm memory, like a
//   PackedMatrix), timed as tf.matMul + dataSync() + dispose, i.e. up to a Float32Array result
//   in JavaScript as recur returns one.
//
// Target: recur / tfjs-wasm <= 1.2. Needs the peers (bench/peers, `npm run bench:peers-install`);
// without them only recur's times are printed.
import { init, matmul, packMatrix } from "../dist/index.js";
import { measure } from "./kernels.js";
import { loadPeers } from "./_peers.js";
import { formatRatio, formatTime, random } from "./_common.js";

const SHAPES = [
  [1, 384, 1024],
  [2, 384, 1024],
  [4, 384, 1024],
  [8, 384, 1024],
  [1, 1024, 1024],
  [1, 256, 256],
];

/** Options: quick; peers / noPeers / noInstall as in the suite. */
export async function run(options = {}) {
  const quick = options.quick === true;
  const timing = quick ? { time: 300, iterations: 20, passes: 2 } : { time: 1500, iterations: 50, passes: 6 };
  await init();
  const { engines, versions, notes } = await loadPeers({ ...options, peers: "tfjs" });
  const tf = engines.tfjs;
  const rows = [];
  for (const [m, k, n] of SHAPES) {
    const next = random(m * 131 + k + n);
    const a = { shape: [m, k], data: Float32Array.from({ length: m * k }, next) };
    const b = { shape: [k, n], data: Float32Array.from({ length: k * n }, next) };
    const packed = packMatrix(b);
    const tasks = [
      { name: "plain", fn: () => matmul(a, b) },
      { name: "packed", fn: () => matmul(a, packed) },
    ];
    let ta, tb;
    if (tf) {
      ta = tf.tensor2d(a.data, [m, k]);
      tb = tf.tensor2d(b.data, [k, n]);
      tasks.push({
        name: "tfjs",
        fn: () => {
          const c = tf.matMul(ta, tb);
          c.dataSync();
          c.dispose();
        },
      });
    }
    console.error(`  small ${m}x${k} @ ${k}x${n}`);
    const t = await measure(tasks, timing);
    const tfMs = t.tfjs?.median ?? NaN;
    rows.push([
      `${m}x${k} @ ${k}x${n}`,
      formatTime(t.plain.median),
      formatTime(t.packed.median),
      formatTime(tfMs),
      formatRatio(t.plain.median / tfMs),
      formatRatio(t.packed.median / tfMs),
      "<= 1.2x",
    ]);
    packed.dispose();
    ta?.dispose();
    tb?.dispose();
  }
  return {
    tables: [
      {
        title: "Small products through matmul (medians, 1 thread; ratios to tfjs-wasm measured alongside)",
        columns: ["product", "recur matmul(a, b)", "recur matmul(a, packMatrix(b))", "tfjs-wasm matMul", "plain / tfjs", "packed / tfjs", "target"],
        rows,
        notes: [
          "recur matmul(a, b) copies B into Wasm memory on every call; matmul(a, packMatrix(b)) and tfjs-wasm use an operand already in Wasm memory (made outside the timing).",
          ...(versions.tfjs ? [`Peer: ${versions.tfjs}.`] : []),
          ...notes,
        ],
      },
    ],
  };
}
