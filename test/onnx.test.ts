// ONNX files written by the real tools (scripts/onnx-fixtures.py: torch.onnx.export and
// onnx.helper; Silero VAD as the @ricky0123/vad-web package ships it) against the producing
// framework's outputs or onnxruntime-node on the same file.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { backendInfo, init, RecurError } from "../src/index.js";
import { loadOnnx, type OnnxFeed, type OnnxTensor } from "../src/onnx/index.js";
import { rng } from "./helpers/random.js";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");
const dir = new URL("./fixtures/onnx/", import.meta.url);
const bytesOf = (name: string): Uint8Array => readFileSync(new URL(name, dir));

interface JsonTensor {
  dtype: "float32" | "int64";
  shape: number[];
  data: number[];
}

function feed(t: JsonTensor): OnnxFeed {
  return { shape: t.shape, data: t.dtype === "int64" ? BigInt64Array.from(t.data, (v) => BigInt(v)) : Float32Array.from(t.data) };
}

/** The project's float32 tolerance: max |x - ref| <= 1e-5 * max(1, max |ref|), per tensor. */
function expectClose(got: OnnxTensor | undefined, ref: { shape: readonly number[]; data: ArrayLike<number> }, what: string): void {
  expect(got, what).toBeDefined();
  expect(got!.shape, `${what} shape`).toEqual([...ref.shape]);
  let worst = 0, scale = 1;
  for (let i = 0; i < ref.data.length; i++) {
    worst = Math.max(worst, Math.abs(Number(got!.data[i]) - ref.data[i]));
    scale = Math.max(scale, Math.abs(ref.data[i]));
  }
  expect(worst, `${what}: max |recur - ref| over max(1, |ref|) = ${scale}`).toBeLessThanOrEqual(1e-5 * scale);
}

beforeAll(async () => {
  await init();
});

describe("ONNX files exported by PyTorch 1.13 match PyTorch's outputs", () => {
  const cases = readdirSync(dir).filter((f) => f.startsWith("torch_") && f.endsWith(".json"));
  it("has the fixtures", () => expect(cases.length).toBeGreaterThanOrEqual(12));
  for (const file of cases) {
    it(file.replace(".json", ""), () => {
      const ref = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as { inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor>; frames?: { x: JsonTensor; prob: JsonTensor }[] };
      const model = loadOnnx(bytesOf(file.replace(".json", ".onnx")));
      try {
        const feeds = Object.fromEntries(Object.entries(ref.inputs).map(([k, v]) => [k, feed(v)]));
        const out = model.run(feeds);
        for (const [name, t] of Object.entries(ref.outputs)) expectClose(out[name], t, `${file} ${name}`);
        if (ref.frames) {
          // Frame by frame with the state fed back by the stream helper.
          const stream = model.stream();
          expect(stream.pairs.map((p) => `${p.input}->${p.output}`).sort()).toEqual(Object.keys(ref.inputs).filter((k) => k !== "x").map((k) => `${k}->${k}n`).sort());
          for (const [i, f] of ref.frames.entries()) expectClose(stream.step({ x: feed(f.x) }).prob, f.prob, `${file} frame ${i}`);
        }
        // A second call with the same shapes reuses every output array.
        const again = model.run(feeds);
        for (const name of Object.keys(ref.outputs)) expect(again[name].data).toBe(out[name].data);
      } finally {
        model.dispose();
      }
    });
  }

  it("maps the recurrent nodes to recur's fused kernels and folds the constant chains", () => {
    const model = loadOnnx(bytesOf("torch_lstm_embedding_linear.onnx"));
    const lstm = model.nodes.filter((n) => n.opType === "LSTM");
    expect(lstm.length).toBe(2);
    for (const n of lstm) expect(n.runs).toMatch(/recur LSTM.*fused Wasm kernel/);
    expect(model.nodes.some((n) => n.runs === "folded at load")).toBe(true);
    model.dispose();
    // torch.onnx.export puts Transpose(perm [0, 2, 1, 3]) after each bidirectional layer: the
    // layer writes that order itself (the outputs are checked against PyTorch above).
    const bidir = loadOnnx(bytesOf("torch_gru_2layer_bidir_batchfirst.onnx"));
    expect(bidir.nodes.filter((n) => n.opType === "Transpose" && n.runs.startsWith("folded into GRU")).length).toBe(2);
    bidir.dispose();
  });
});

/** Seeded inputs for every graph input; sequence_lens gets lengths in 1..T. */
function randomFeeds(model: ReturnType<typeof loadOnnx>, dims: Record<string, number>, lens?: number[]): Record<string, OnnxFeed> {
  const r = rng(5);
  const feeds: Record<string, OnnxFeed> = {};
  for (const i of model.inputs) {
    const shape = i.shape!.map((d) => (typeof d === "number" ? d : dims[d ?? ""] ?? 1));
    const n = shape.reduce((a, b) => a * b, 1);
    if (i.dtype === "int32") feeds[i.name] = { shape, data: Int32Array.from(lens!) };
    else feeds[i.name] = { shape, data: Float32Array.from({ length: n }, () => r() * 2 - 1) };
  }
  return feeds;
}

async function ortRun(bytes: Uint8Array, feeds: Record<string, OnnxFeed>): Promise<Record<string, { dims: readonly number[]; data: ArrayLike<number> }>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ortFeeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const [k, v] of Object.entries(feeds)) {
    const type = v.data instanceof Float32Array ? "float32" : v.data instanceof Int32Array ? "int32" : v.data instanceof BigInt64Array ? "int64" : "bool";
    ortFeeds[k] = new ort.Tensor(type, v.data as Float32Array, [...v.shape]);
  }
  const out = await session.run(ortFeeds);
  await session.release();
  return out as unknown as Record<string, { dims: readonly number[]; data: ArrayLike<number> }>;
}

describe("recurrent attributes torch.onnx.export never writes (onnx.helper files) match onnxruntime-node", () => {
  const cases: [string, Record<string, number>, number[] | undefined][] = [
    ["helper_gru_reset_before_bidir.onnx", { T: 5, B: 3 }, undefined],
    ["helper_lstm_peephole_reverse_lens.onnx", {}, [5, 2, 3]],
    ["helper_lstm_layout0_bidir_lens.onnx", {}, [4, 5, 1]],
    ["helper_rnn_reverse_nobias.onnx", {}, undefined],
    // Every cell option: the eleven activation functions with alpha / beta, clip, input_forget.
    ["helper_lstm_clip_hardsigmoid.onnx", {}, undefined],
    ["helper_lstm_activations_bidir.onnx", {}, undefined],
    ["helper_lstm_input_forget_peephole_clip.onnx", {}, undefined],
    ["helper_lstm_softplus_relu_affine.onnx", {}, undefined],
    ["helper_gru_activations_clip_lbr0.onnx", {}, undefined],
    ["helper_gru_activations_clip_lbr1.onnx", {}, undefined],
    ["helper_rnn_activations_clip.onnx", {}, undefined],
    // Longer than the step-by-step limit: the whole-sequence path of a one-direction node.
    ["torch_lstm_1layer.onnx", { T: 20, B: 2 }, undefined],
    ["torch_gru_1layer.onnx", { T: 12, B: 1 }, undefined],
    // Attributes that became inputs, and Softmax's axis before and after opset 13.
    ["helper_opset9_layout_ops.onnx", {}, undefined],
    ["helper_opset17_layout_ops.onnx", {}, undefined],
  ];
  for (const [file, dims, lens] of cases) {
    it(file, async () => {
      const bytes = bytesOf(file);
      const model = loadOnnx(bytes);
      const feeds = randomFeeds(model, dims, lens);
      const ref = await ortRun(bytes, feeds);
      const out = model.run(feeds);
      for (const [name, t] of Object.entries(ref)) expectClose(out[name], { shape: t.dims, data: t.data }, `${file} ${name}`);
      model.dispose();
    });
  }
});

it("layout 1 (batch first) gives the layout-0 results transposed (onnxruntime has no layout 1)", async () => {
  const twin = loadOnnx(bytesOf("helper_lstm_layout0_bidir_lens.onnx"));
  const feeds = randomFeeds(twin, {}, [4, 5, 1]);
  const ref = await ortRun(bytesOf("helper_lstm_layout0_bidir_lens.onnx"), feeds);
  twin.dispose();
  const model = loadOnnx(bytesOf("helper_lstm_layout1_bidir_lens.onnx"));
  const X = feeds.X;
  const [T, B, I] = X.shape;
  // [d0, d1, rest] -> [d1, d0, rest]
  const swap = (data: ArrayLike<number>, d0: number, d1: number, rest: number): Float32Array => {
    const out = new Float32Array(d0 * d1 * rest);
    for (let a = 0; a < d0; a++) for (let b = 0; b < d1; b++) for (let k = 0; k < rest; k++) out[(b * d0 + a) * rest + k] = data[(a * d1 + b) * rest + k];
    return out;
  };
  const out = model.run({ X: { shape: [B, T, I], data: swap(X.data as Float32Array, T, B, I) }, sequence_lens: feeds.sequence_lens });
  const H = 6;
  // Y: [T, 2, B, H] -> [B, T, 2, H]; Y_h, Y_c: [2, B, H] -> [B, 2, H]
  const y = ref.Y.data;
  const yB = new Float32Array(y.length);
  for (let t = 0; t < T; t++) for (let d = 0; d < 2; d++) for (let b = 0; b < B; b++) for (let k = 0; k < H; k++) yB[((b * T + t) * 2 + d) * H + k] = y[((t * 2 + d) * B + b) * H + k];
  expectClose(out.Y, { shape: [B, T, 2, H], data: yB }, "Y");
  expectClose(out.Y_h, { shape: [B, 2, H], data: swap(ref.Y_h.data, 2, B, H) }, "Y_h");
  expectClose(out.Y_c, { shape: [B, 2, H], data: swap(ref.Y_c.data, 2, B, H) }, "Y_c");
  model.dispose();
});

describe("what recur cannot run fails at load, naming every node", () => {
  it("lists every unsupported operator with its node name (E_UNSUPPORTED)", () => {
    const err = catchError(() => loadOnnx(bytesOf("helper_unsupported_ops.onnx")));
    expect(err.code).toBe("E_UNSUPPORTED");
    expect(err.message).toContain('Erf (node "gelu_erf")');
    expect(err.message).toContain('Atan (node "angle")');
    expect(err.message).not.toContain('"fine"');
  });

  it("names the node and the attribute of an activation outside ONNX's list", () => {
    const err = catchError(() => loadOnnx(bytesOf("helper_lstm_unknown_activation.onnx")));
    expect(err.code).toBe("E_UNSUPPORTED");
    expect(err.message).toContain('LSTM node "odd_lstm"');
    expect(err.message).toContain("activations: Gelu");
  });

  it("runs a clipped or hard-sigmoid cell on its own kernel path, and says so", () => {
    const model = loadOnnx(bytesOf("helper_lstm_clip_hardsigmoid.onnx"));
    expect(model.nodes.map((n) => n.runs).join("\n")).toContain("activations hardSigmoid, tanh, tanh; clip 3");
    model.dispose();
  });

  it("rejects truncated and corrupt files with E_FORMAT", () => {
    const good = bytesOf("torch_gru_1layer.onnx");
    for (const bad of [good.subarray(0, 100), good.subarray(0, good.length - 7), new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), new TextEncoder().encode("not an onnx file at all")]) {
      expect(catchError(() => loadOnnx(bad)).code).toBe("E_FORMAT");
    }
  });

  it("never allocates what a file claims but does not hold (E_FORMAT)", () => {
    // A ModelProto whose only initializer claims 2^40 floats and carries none.
    const varint = (n: number): number[] => {
      const o: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 0x80)) o.push((n % 0x80) | 0x80);
      return [...o, n];
    };
    const field = (f: number, bytes: number[]): number[] => [...varint(f * 8 + 2), ...varint(bytes.length), ...bytes];
    const int = (f: number, n: number): number[] => [...varint(f * 8), ...varint(n)];
    const name = [...new TextEncoder().encode("W")];
    const graph = [...field(5, [...int(1, 2 ** 40), ...int(2, 1), ...field(8, name)]), ...field(12, field(1, name))];
    const err = catchError(() => loadOnnx(Uint8Array.from([...int(1, 8), ...field(7, graph), ...field(8, int(2, 17))])));
    expect(err.code).toBe("E_FORMAT");
    expect(err.message).toContain('tensor "W" [1099511627776] float32 needs 1099511627776 values, the file has 0');
  });

  it("returns every byte of Wasm memory on dispose and on a failed load", () => {
    const before = backendInfo().heapUsedBytes;
    const model = loadOnnx(readFileSync(require.resolve("@ricky0123/vad-web/dist/silero_vad_legacy.onnx")));
    model.stream().step({ input: { shape: [1, 1536], data: new Float32Array(1536) }, sr: { shape: [], data: BigInt64Array.of(16000n) } });
    expect(backendInfo().heapUsedBytes).toBeGreaterThan(before);
    model.dispose();
    expect(backendInfo().heapUsedBytes).toBe(before);
    catchError(() => loadOnnx(bytesOf("helper_lstm_unknown_activation.onnx")));
    expect(backendInfo().heapUsedBytes).toBe(before);
  });

  it("checks feeds before running anything (names, types, shapes)", () => {
    const model = loadOnnx(bytesOf("torch_lstm_embedding_linear.onnx"));
    expect(catchError(() => model.run({})).code).toBe("E_KEY");
    expect(catchError(() => model.run({ ids: { shape: [2, 3], data: new Float32Array(6) } })).code).toBe("E_TYPE");
    expect(catchError(() => model.run({ ids: { shape: [2, 3], data: new BigInt64Array(5) } })).code).toBe("E_SHAPE");
    expect(catchError(() => model.run({ ids: { shape: [2, 3], data: BigInt64Array.of(1n, 2n, 3n, 4n, 5n, 99n) } })).message).toContain("out of range");
    // Int32Array is accepted for int64 inputs.
    const a = model.run({ ids: { shape: [1, 3], data: Int32Array.of(1, 2, 3) } }).logits.data.slice();
    const b = model.run({ ids: { shape: [1, 3], data: BigInt64Array.of(1n, 2n, 3n) } }).logits.data;
    expect([...b]).toEqual([...a]);
    model.dispose();
  });
});

function catchError(f: () => unknown): RecurError {
  try {
    f();
  } catch (e) {
    if (e instanceof RecurError) return e;
    throw e;
  }
  throw new Error("expected a RecurError");
}

describe("Silero VAD as @ricky0123/vad-web ships it matches onnxruntime-node frame by frame", () => {
  // A synthetic signal: quiet noise, then a voiced-like burst (harmonics with a rising pitch), then noise.
  function signal(frames: number, n: number): Float32Array[] {
    const r = rng(9);
    return Array.from({ length: frames }, (_, f) =>
      Float32Array.from({ length: n }, (_, i) => {
        const t = (f * n + i) / 16000;
        const voiced = f >= frames / 3 && f < (2 * frames) / 3;
        const pitch = 120 + 40 * t;
        return (voiced ? 0.3 * (Math.sin(2 * Math.PI * pitch * t) + 0.5 * Math.sin(4 * Math.PI * pitch * t)) : 0) + 0.01 * (r() * 2 - 1);
      }),
    );
  }

  for (const [file, n, pairs] of [
    ["silero_vad_v5.onnx", 512, { state: "stateN" }],
    ["silero_vad_v6.onnx", 512, { state: "stateN" }],
    ["silero_vad_legacy.onnx", 1536, { h: "hn", c: "cn" }],
  ] as const) {
    it(file, async () => {
      const bytes = readFileSync(require.resolve(`@ricky0123/vad-web/dist/${file}`));
      const model = loadOnnx(bytes);
      expect(Object.fromEntries(model.statePairs().map((p) => [p.input, p.output]))).toEqual(pairs);
      expect(model.nodes.filter((x) => x.opType === "LSTM" && x.runs.includes("fused")).length).toBeGreaterThan(0);
      const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      const stream = model.stream();
      const sr = { shape: [] as number[], data: BigInt64Array.of(16000n) };
      let state: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const input of Object.keys(pairs)) {
        const s = stream.get(input);
        state[input] = new ort.Tensor("float32", new Float32Array(s.data.length), [...s.shape]);
      }
      const probs: number[] = [];
      for (const [f, x] of signal(24, n).entries()) {
        const mine = stream.step({ input: { shape: [1, n], data: x }, sr });
        const theirs = await session.run({ input: new ort.Tensor("float32", x, [1, n]), sr: new ort.Tensor("int64", sr.data, []), ...state });
        state = Object.fromEntries(Object.entries(pairs).map(([i, o]) => [i, theirs[o]]));
        for (const [name, t] of Object.entries(theirs)) expectClose(mine[name], { shape: t.dims, data: t.data as Float32Array }, `${file} frame ${f} ${name}`);
        probs.push((mine.output.data as Float32Array)[0]);
      }
      await session.release();
      model.dispose();
      // The model hears the burst: speech probability is higher in the middle third.
      const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
      expect(mean(probs.slice(10, 16))).toBeGreaterThan(mean(probs.slice(0, 6)));
    });
  }
});

describe("fromOnnx: a pure recurrent graph as recur's own trainable classes", () => {
  it("Gather -> 2-layer LSTM -> MatMul exported by PyTorch becomes a SequenceModel with PyTorch's outputs, trains and saves", async () => {
    const { fromOnnx } = await import("../src/onnx/index.js");
    const { SequenceModel, saveModel, loadModel, SGD } = await import("../src/index.js");
    const ref = JSON.parse(readFileSync(new URL("torch_lstm_embedding_linear.json", dir), "utf8")) as { inputs: Record<string, JsonTensor>; outputs: Record<string, JsonTensor> };
    const r = fromOnnx(bytesOf("torch_lstm_embedding_linear.onnx"));
    expect(r.model).toBeInstanceOf(SequenceModel);
    expect(r.batchFirst).toBe(true);
    const model = r.model as InstanceType<typeof SequenceModel>;
    expect(model.options).toMatchObject({ cell: "LSTM", numLayers: 2, vocabSize: 12, embeddingDim: 5, hiddenSize: 8, outputSize: 7 });
    // PyTorch's logits [B, T, 7] from ids [B, T]; recur's SequenceModel is time major.
    const [B, T] = ref.inputs.ids.shape;
    const ids = new Int32Array(T * B);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) ids[t * B + b] = ref.inputs.ids.data[b * T + t];
    const logits = model.predict({ input: { shape: [T, B], data: ids } });
    const want = new Float32Array(T * B * 7);
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let k = 0; k < 7; k++) want[(t * B + b) * 7 + k] = ref.outputs.logits.data[(b * T + t) * 7 + k];
    expectClose({ dtype: "float32", shape: [T, B, 7], data: logits.data }, { shape: [T, B, 7], data: want }, "logits");
    // Saved and reloaded: same outputs; one training step lowers the loss on its batch.
    const again = loadModel(saveModel(model), "SequenceModel").model;
    expect([...again.predict({ input: { shape: [T, B], data: ids } }).data]).toEqual([...logits.data]);
    const batch = { input: { shape: [T, B], data: ids }, target: { shape: [T, B], data: ids.map((v) => (v + 1) % 7) } };
    const opt = new SGD(model, { lr: 0.5 });
    const first = model.trainStep(batch, opt).loss;
    for (let i = 0; i < 5; i++) model.trainStep(batch, opt);
    expect(model.trainStep(batch, opt).loss).toBeLessThan(first);
    again.dispose();
    model.dispose();
  });

  it("a bare LSTM node with ONNX cell options becomes an LSTM with the same options, matching onnxruntime", async () => {
    const { fromOnnx } = await import("../src/onnx/index.js");
    const { LSTM } = await import("../src/index.js");
    const bytes = bytesOf("helper_lstm_activations_bidir.onnx");
    const r = fromOnnx(bytes);
    expect(r.model).toBeInstanceOf(LSTM);
    const model = r.model as InstanceType<typeof LSTM>;
    expect(model.config.cell?.activations.map((fns) => fns.map((f) => f.name))).toEqual([["hardSigmoid", "softsign", "scaledTanh"], ["sigmoid", "leakyRelu", "elu"]]);
    const x = Float32Array.from({ length: 5 * 3 * 4 }, (_, i) => Math.sin(i * 0.7) * 2);
    const ref = await ortRun(bytes, { X: { shape: [5, 3, 4], data: x } });
    // onnxruntime's Y is [T, D, B, H]; recur's rows are [T, B, D * H].
    const [T, D, B, H] = ref.Y.dims;
    const want = new Float32Array(T * B * D * H);
    for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) for (let b = 0; b < B; b++) for (let u = 0; u < H; u++) want[((t * B + b) * D + d) * H + u] = ref.Y.data[((t * D + d) * B + b) * H + u];
    expectClose({ dtype: "float32", shape: [T, B, D * H], data: model.forward({ shape: [5, 3, 4], data: x }).output.data }, { shape: [T, B, D * H], data: want }, "Y");
    model.dispose();
  });

  it("refuses graphs that are not such a chain", async () => {
    const { fromOnnx } = await import("../src/onnx/index.js");
    expect(catchError(() => fromOnnx(bytesOf("helper_unsupported_ops.onnx"))).code).toBe("E_UNSUPPORTED");
    expect(catchError(() => fromOnnx(bytesOf("helper_rnn_reverse_nobias.onnx"))).message).toContain("reverse-only");
  });
});
