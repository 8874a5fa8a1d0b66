// The executor runs shape arithmetic (Shape, Size and what is computed from them and constants
// only) again only when an input shape changed. One loaded model is called with shapes that
// change, repeat and change back, and with new data under the same shape; every call's outputs
// are compared with onnxruntime-node on the same bytes and feeds.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { loadOnnx } from "../src/onnx/index.js";
import { floats, int64s, writeOnnx, type GraphSpec } from "./helpers/onnx-writer.js";
import { rng } from "./helpers/random.js";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");

beforeAll(async () => {
  await init();
});

// x [a, b] -> r = Reshape(x, [b, -1]) + ConstantOfShape([b, a], 0.5) * Size(x): the reshape
// target, the constant and the size all come from Shape / Size of x.
const graph: GraphSpec = {
  initializers: [int64s("one", [1], []), int64s("zero", [0], []), int64s("ax0", [0]), int64s("minus1", [-1])],
  inputs: [{ name: "x", dtype: "float32", shape: ["a", "b"] }],
  outputs: [{ name: "r", dtype: "float32", shape: ["b", "a"] }],
  nodes: [
    { op: "Shape", inputs: ["x"], outputs: ["sh"] },
    { op: "Gather", inputs: ["sh", "one"], outputs: ["b"] },
    { op: "Gather", inputs: ["sh", "zero"], outputs: ["a"] },
    { op: "Unsqueeze", inputs: ["b", "ax0"], outputs: ["bu"] },
    { op: "Unsqueeze", inputs: ["a", "ax0"], outputs: ["au"] },
    { op: "Concat", inputs: ["bu", "minus1"], outputs: ["target"], attrs: { axis: 0 } },
    { op: "Concat", inputs: ["bu", "au"], outputs: ["ba"], attrs: { axis: 0 } },
    { op: "Reshape", inputs: ["x", "target"], outputs: ["xr"] },
    { op: "ConstantOfShape", inputs: ["ba"], outputs: ["half"], attrs: { value: { tensor: floats("v", [0.5], [1]) } } },
    { op: "Size", inputs: ["x"], outputs: ["n"] },
    { op: "Cast", inputs: ["n"], outputs: ["nf"], attrs: { to: 1 } },
    { op: "Mul", inputs: ["half", "nf"], outputs: ["hn"] },
    { op: "Add", inputs: ["xr", "hn"], outputs: ["r"] },
  ],
};

describe("shape values cached per input shape", () => {
  it("changing, repeated and restored shapes and new data give onnxruntime-node's outputs", async () => {
    const bytes = writeOnnx(graph, 17);
    const model = loadOnnx(bytes);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const r = rng(7);
    const seen = new Set<string>();
    for (const [a, b] of [[2, 3], [2, 3], [3, 4], [3, 4], [2, 3], [1, 5], [2, 3]]) {
      const data = Float32Array.from({ length: a * b }, () => r() * 2 - 1);
      const mine = model.run({ x: { shape: [a, b], data } }).r;
      const theirs = (await session.run({ x: new ort.Tensor("float32", data, [a, b]) })).r;
      expect(mine.shape).toEqual([b, a]);
      expect(mine.shape).toEqual([...theirs.dims]);
      const ref = theirs.data as Float32Array;
      for (let i = 0; i < ref.length; i++) expect(Math.abs((mine.data[i] as number) - ref[i]), `[${a}, ${b}] r[${i}]`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(ref[i])));
      seen.add(`${a}x${b}`);
    }
    expect(seen.size).toBe(3);
    model.dispose();
  });
});
