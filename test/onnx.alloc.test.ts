// A warm OnnxModel.run / OnnxStream.step allocates nothing: counted, not timed. Every typed
// array constructor is wrapped in a counting Proxy and the TypedArray / Array methods that make
// new arrays (subarray, slice, map, filter, from, concat) are wrapped too; after warm-up calls on
// real files (PyTorch exports, Silero VAD), further calls must create none. The arrays a call
// returns are the model's own: the same ones call after call, and a stream's state outputs
// trade places with its state arrays instead of being copied.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { loadOnnx, type OnnxFeed, type OnnxModel } from "../src/onnx/index.js";

const require = createRequire(import.meta.url);
const fixture = (name: string): Uint8Array => readFileSync(new URL(`./fixtures/onnx/${name}`, import.meta.url));
const vad = (name: string): Uint8Array => readFileSync(require.resolve(`@ricky0123/vad-web/dist/${name}`));

const TYPED = ["Float32Array", "Float64Array", "Int32Array", "Int8Array", "Uint8Array", "BigInt64Array", "ArrayBuffer", "DataView"] as const;
type Global = Record<string, unknown>;

/** Counts arrays made while armed, and where (the first stack lines of each). */
const counter = { armed: false, count: 0, where: [] as string[] };
const restore: (() => void)[] = [];

function note(): void {
  if (!counter.armed) return;
  counter.armed = false; // the stack's lines are arrays too
  counter.count++;
  if (counter.where.length < 5) counter.where.push(new Error().stack!.split("\n").slice(3, 7).join(" | "));
  counter.armed = true;
}

function instrument(): void {
  const g = globalThis as unknown as Global;
  for (const name of TYPED) {
    const C = g[name] as new (...args: unknown[]) => object;
    const proxy = new Proxy(C, {
      construct(target, args, newTarget) {
        note();
        return Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      },
    });
    g[name] = proxy;
    restore.push(() => (g[name] = C));
  }
  const wrap = (proto: Record<string, unknown>, methods: string[]): void => {
    for (const m of methods) {
      const f = proto[m] as (...a: unknown[]) => unknown;
      proto[m] = function (this: unknown, ...a: unknown[]) {
        note();
        return f.apply(this, a);
      };
      restore.push(() => (proto[m] = f));
    }
  };
  wrap(Object.getPrototypeOf(Int8Array.prototype), ["subarray", "slice", "map", "filter"]);
  wrap(Array.prototype as unknown as Record<string, unknown>, ["slice", "map", "filter", "concat"]);
  wrap(Array as unknown as Record<string, unknown>, ["from"]);
}

/** Arrays created by `calls` calls of fn. */
function arraysMade(fn: () => void, calls: number): { count: number; where: string[] } {
  counter.count = 0;
  counter.where = [];
  counter.armed = true;
  try {
    for (let i = 0; i < calls; i++) fn();
  } finally {
    counter.armed = false;
  }
  return { count: counter.count, where: counter.where };
}

function zeros(model: OnnxModel, shapes: Record<string, number[]>): Record<string, OnnxFeed> {
  return Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) }]));
}

const signal = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i * 0.07) * Math.sin(i * 0.003));
const sr = { shape: [] as number[], data: BigInt64Array.of(16000n) };

const STREAMS = [
  { name: "torch_lstm_streaming.onnx", bytes: () => fixture("torch_lstm_streaming.onnx"), feeds: () => ({ x: { shape: [1, 1, 4], data: signal(4) } }), state: { h: [2, 1, 8], c: [2, 1, 8] } },
  { name: "torch_gru_streaming.onnx", bytes: () => fixture("torch_gru_streaming.onnx"), feeds: () => ({ x: { shape: [1, 1, 4], data: signal(4) } }), state: { h: [1, 1, 8] } },
  { name: "silero_vad_v5.onnx", bytes: () => vad("silero_vad_v5.onnx"), feeds: () => ({ input: { shape: [1, 512], data: signal(512) }, sr }), state: { state: [2, 1, 128] } },
  { name: "silero_vad_legacy.onnx", bytes: () => vad("silero_vad_legacy.onnx"), feeds: () => ({ input: { shape: [1, 1536], data: signal(1536) }, sr }), state: { h: [2, 1, 64], c: [2, 1, 64] } },
];

beforeAll(async () => {
  await init();
});

afterAll(() => {
  for (const r of restore.splice(0)) r();
});

describe("a warm ONNX call allocates no arrays", () => {
  it("the counter sees the arrays a call would make (the instrument works)", () => {
    instrument();
    const made = arraysMade(() => {
      new Float32Array(4).subarray(1);
      [1, 2].map((v) => v);
    }, 3);
    expect(made.count).toBe(9);
    expect(new Float32Array(2)).toBeInstanceOf(Float32Array);
  });

  for (const c of STREAMS) {
    it(`${c.name}: OnnxStream.step, 50 warm frames`, () => {
      const model = loadOnnx(c.bytes());
      const stream = model.stream({ initial: zeros(model, c.state) });
      const feeds = c.feeds();
      for (let i = 0; i < 20; i++) stream.step(feeds);
      const made = arraysMade(() => stream.step(feeds), 50);
      expect(made.count, `arrays made in 50 frames, first at: ${made.where.join("\n")}`).toBe(0);
      model.dispose();
    });
  }

  // Chunks of up to 8 steps in one direction run step by step into the node's arrays; longer,
  // bidirectional or length-limited sequences run the whole-sequence kernels.
  for (const [file, what] of [
    ["torch_gru_embedding_linear.onnx", "3 x 6 tokens: Gather, GRU in steps, MatMul"],
    ["torch_lstm_embedding_linear.onnx", "Gather, 2-layer LSTM over the whole sequence, MatMul"],
    ["torch_gru_2layer_bidir_batchfirst.onnx", "2-layer bidirectional GRU, batch first"],
    ["helper_lstm_layout1_bidir_lens.onnx", "bidirectional LSTM, layout 1, sequence_lens, initial states"],
    ["helper_lstm_peephole_reverse_lens.onnx", "reverse LSTM with peepholes and sequence_lens"],
  ]) {
    it(`${file} (${what}): OnnxModel.run, 30 warm calls`, () => {
      const model = loadOnnx(fixture(file));
      const feeds = feedsFor(model, 11);
      for (let i = 0; i < 5; i++) model.run(feeds);
      const made = arraysMade(() => model.run(feeds), 30);
      expect(made.count, `arrays made, first at: ${made.where.join("\n")}`).toBe(0);
      model.dispose();
    });
  }
});

/** Feeds for every input: float32 values, int64 token ids below 5, sequence lengths 1..T. */
function feedsFor(model: OnnxModel, T: number): Record<string, OnnxFeed> {
  const sizes: Record<string, number> = {};
  return Object.fromEntries(
    model.inputs.map((i) => {
      const shape = i.shape!.map((d) => (typeof d === "number" ? d : (sizes[String(d)] ??= /batch|^b/i.test(String(d)) ? 2 : T)));
      const n = shape.reduce((a, b) => a * b, 1);
      const ints = (f: (k: number) => number): Int32Array | BigInt64Array => (i.dtype === "int32" ? Int32Array.from({ length: n }, (_, k) => f(k)) : BigInt64Array.from({ length: n }, (_, k) => BigInt(f(k))));
      if (/len/i.test(i.name)) return [i.name, { shape, data: ints((k) => 2 + (k % 2)) }]; // every file here has T >= 3
      if (i.dtype === "int64" || i.dtype === "int32") return [i.name, { shape, data: ints((k) => k % 5) }];
      return [i.name, { shape, data: signal(n) }];
    }),
  );
}

describe("ownership of what a call returns", () => {
  it("run returns the same tensors and arrays call after call (valid until the next run)", () => {
    const model = loadOnnx(fixture("torch_gru_1layer.onnx"));
    const feeds = Object.fromEntries(model.inputs.map((i) => {
      const shape = i.shape!.map((d) => (typeof d === "number" ? d : 3));
      return [i.name, { shape, data: signal(shape.reduce((a, b) => a * b, 1)) }];
    }));
    const first = model.run(feeds);
    const arrays = Object.fromEntries(Object.entries(first).map(([k, t]) => [k, t.data]));
    const kept = Object.fromEntries(Object.entries(first).map(([k, t]) => [k, t.data.slice()]));
    const second = model.run(feeds);
    expect(second).toBe(first);
    for (const k of Object.keys(arrays)) {
      expect(second[k].data).toBe(arrays[k]);
      expect(second[k].data).toEqual(kept[k]); // same feeds, same values, same arrays
    }
    model.dispose();
  });

  for (const c of STREAMS) {
    it(`${c.name}: the stream's state is the array the step returned (traded, not copied); two arrays per state`, () => {
      const model = loadOnnx(c.bytes());
      const stream = model.stream({ initial: zeros(model, c.state) });
      const feeds = c.feeds();
      const seen = new Map<string, Set<unknown>>();
      for (let i = 0; i < 6; i++) {
        const out = stream.step(feeds);
        for (const { input, output } of stream.pairs) {
          expect(stream.get(input).data, `${input} after step ${i}`).toBe(out[output].data);
          if (!seen.has(input)) seen.set(input, new Set());
          seen.get(input)!.add(out[output].data);
        }
      }
      // Two arrays per state, alternating: the node writes the next state into the previous one.
      for (const [input, arrays] of seen) expect(arrays.size, input).toBe(2);
      model.dispose();
    });
  }
});
