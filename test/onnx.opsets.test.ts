// Opsets 18 to 21 (which Debian's python3-onnx cannot write) and the Wasm convolution and
// element-wise kernels: small graphs written by test/helpers/onnx-writer.ts with opset_import
// 18..21, run by recur and by onnxruntime-node on the same bytes, every output compared.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import { init } from "../src/index.js";
import { loadOnnx, type OnnxFeed, type OnnxTensor } from "../src/onnx/index.js";
import { floats, int64s, writeOnnx, type GraphSpec, type ValueSpec } from "./helpers/onnx-writer.js";
import { rng } from "./helpers/random.js";

const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");

beforeAll(async () => {
  await init();
});

type Feed = { dtype: "float32" | "int64"; shape: number[]; data: Float32Array | BigInt64Array };

const f32 = (name: string, shape: (number | string)[]): ValueSpec => ({ name, dtype: "float32", shape });

/** recur's outputs against onnxruntime-node's: same shapes, |x - ref| <= 1e-5 max(1, |ref|); NaN and infinities equal. */
async function compare(bytes: Uint8Array, feeds: Record<string, Feed>, what: string): Promise<void> {
  const model = loadOnnx(bytes);
  const mine = model.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, { shape: v.shape, data: v.data } as OnnxFeed])));
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const theirs = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.dtype, v.data, v.shape)])));
  expect(Object.keys(mine).sort(), what).toEqual(Object.keys(theirs).sort());
  for (const [name, t] of Object.entries(theirs)) {
    const got: OnnxTensor = mine[name];
    expect(got.shape, `${what} ${name} shape`).toEqual([...t.dims]);
    const ref = t.data as ArrayLike<number | bigint>;
    expect(got.data.length, `${what} ${name}`).toBe(ref.length);
    let scale = 1;
    for (let i = 0; i < ref.length; i++) if (Number.isFinite(Number(ref[i]))) scale = Math.max(scale, Math.abs(Number(ref[i])));
    for (let i = 0; i < ref.length; i++) {
      const a = Number(got.data[i]), b = Number(ref[i]);
      if (Number.isNaN(b) || !Number.isFinite(b)) expect(Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b)), `${what} ${name}[${i}]: ${a} vs ${b}`).toBe(true);
      else expect(Math.abs(a - b), `${what} ${name}[${i}]: ${a} vs ${b}`).toBeLessThanOrEqual(1e-5 * scale);
    }
  }
  await session.release();
  model.dispose();
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

const x234: Feed = { dtype: "float32", shape: [2, 3, 4], data: randn(24, 1) };

describe("opsets 18 to 21: what changed, against onnxruntime-node", () => {
  for (const opset of [18, 19, 20, 21]) {
    it(`opset ${opset}: ReduceMean and ReduceSum with axes as an input, keepdims, noop_with_empty_axes`, async () => {
      const g: GraphSpec = {
        initializers: [int64s("ax1", [1]), int64s("axn", [-1, 0]), int64s("none", [], [0])],
        inputs: [f32("x", [2, 3, 4])],
        outputs: ["m1", "m2", "m3", "s1", "s2"].map((n) => f32(n, [])),
        nodes: [
          { op: "ReduceMean", inputs: ["x", "ax1"], outputs: ["m1"], attrs: { keepdims: 1 } },
          { op: "ReduceMean", inputs: ["x", "axn"], outputs: ["m2"], attrs: { keepdims: 0 } },
          { op: "ReduceMean", inputs: ["x"], outputs: ["m3"], attrs: { keepdims: 0 } },
          { op: "ReduceSum", inputs: ["x", "ax1"], outputs: ["s1"], attrs: { keepdims: 0 } },
          { op: "ReduceSum", inputs: ["x", "none"], outputs: ["s2"], attrs: { noop_with_empty_axes: 1 } },
        ],
      };
      g.outputs = g.outputs.map((o) => ({ ...o, shape: o.name === "s2" ? [2, 3, 4] : o.name === "m1" ? [2, 1, 4] : o.name === "m2" ? [3] : o.name === "m3" ? [] : [2, 4] }));
      await compare(writeOnnx(g, opset), { x: x234 }, `opset ${opset} reduce`);
    });

    it(`opset ${opset}: Split by num_outputs (uneven) and by sizes`, async () => {
      const g: GraphSpec = {
        initializers: [int64s("sizes", [2, 5])],
        inputs: [f32("x", [2, 7])],
        outputs: [f32("a", [2, 3]), f32("b", [2, 3]), f32("c", [2, 1]), f32("d", [2, 2]), f32("e", [2, 5])],
        nodes: [
          { op: "Split", inputs: ["x"], outputs: ["a", "b", "c"], attrs: { axis: 1, num_outputs: 3 } },
          { op: "Split", inputs: ["x", "sizes"], outputs: ["d", "e"], attrs: { axis: -1 } },
        ],
      };
      await compare(writeOnnx(g, opset), { x: { dtype: "float32", shape: [2, 7], data: randn(14, 2) } }, `opset ${opset} split`);
    });

    it(`opset ${opset}: Pad with an axes input, constant value, reflect, edge${opset >= 19 ? " and wrap" : ""}`, async () => {
      const modes = ["constant", "reflect", "edge", ...(opset >= 19 ? ["wrap"] : [])];
      const g: GraphSpec = {
        initializers: [int64s("p1", [1, 2]), int64s("a1", [2]), int64s("p2", [1, 0, 2, 1]), int64s("a2", [-2, -1]), floats("cv", [0.5], [])],
        inputs: [f32("x", [2, 3, 4])],
        outputs: [],
        nodes: [],
      };
      for (const mode of modes) {
        g.nodes.push({ op: "Pad", inputs: ["x", "p1", mode === "constant" ? "cv" : "", "a1"], outputs: [`${mode}1`], attrs: { mode } });
        g.nodes.push({ op: "Pad", inputs: ["x", "p2", "", "a2"], outputs: [`${mode}2`], attrs: { mode } });
        g.outputs.push(f32(`${mode}1`, [2, 3, 7]), f32(`${mode}2`, [2, 6, 5]));
      }
      await compare(writeOnnx(g, opset), { x: x234 }, `opset ${opset} pad`);
    });

    it(`opset ${opset}: Shape start/end, Size, Reshape, Flatten, Squeeze/Unsqueeze axes inputs, Transpose, Cast, Identity, ConstantOfShape`, async () => {
      const g: GraphSpec = {
        initializers: [int64s("rs", [0, -1]), int64s("ax0", [0])],
        inputs: [f32("x", [2, 3, 4])],
        outputs: [
          { name: "sh", dtype: "int64", shape: [2] },
          { name: "sz", dtype: "int64", shape: [] },
          f32("r", [2, 12]),
          f32("fl", [6, 4]),
          f32("sq", [2, 3, 4]),
          f32("t", [4, 2, 3]),
          { name: "c", dtype: "int32", shape: [2, 3, 4] },
          f32("id", [2, 3, 4]),
          f32("cos", [3, 4]),
        ],
        nodes: [
          { op: "Shape", inputs: ["x"], outputs: ["sh"], attrs: { start: 1 } },
          { op: "Size", inputs: ["x"], outputs: ["sz"] },
          { op: "Reshape", inputs: ["x", "rs"], outputs: ["r"] },
          { op: "Flatten", inputs: ["x"], outputs: ["fl"], attrs: { axis: 2 } },
          { op: "Unsqueeze", inputs: ["x", "ax0"], outputs: ["u"] },
          { op: "Squeeze", inputs: ["u", "ax0"], outputs: ["sq"] },
          { op: "Transpose", inputs: ["x"], outputs: ["t"], attrs: { perm: [2, 0, 1] } },
          { op: "Mul", inputs: ["x", "ten"], outputs: ["x10"] },
          { op: "Cast", inputs: ["x10"], outputs: ["c"], attrs: { to: 6 } },
          { op: "Identity", inputs: ["x"], outputs: ["id"] },
          { op: "ConstantOfShape", inputs: ["sh"], outputs: ["cos"], attrs: { value: { tensor: floats("v", [1.5], [1]) } } },
        ],
      };
      g.initializers!.push(floats("ten", [10], []));
      await compare(writeOnnx(g, opset), { x: x234 }, `opset ${opset} shapes`);
    });
  }
});

describe("Conv 1-D on the Wasm kernels (strides, dilations, groups, pads, auto_pad), against onnxruntime-node", () => {
  const X: Feed = { dtype: "float32", shape: [2, 6, 17], data: randn(2 * 6 * 17, 3) };
  const cases: [string, number[], Record<string, number | number[] | string>, boolean][] = [
    ["group 1, K 3, stride 2, dilation 2, pads 1/2, bias", [4, 6, 3], { strides: [2], dilations: [2], pads: [1, 2] }, true],
    ["group 1, pointwise", [5, 6, 1], {}, true],
    ["group 1, one input window per output, K 8, stride 4 (an STFT's shape), no bias", [8, 6, 8], { strides: [4] }, false],
    ["depthwise, K 5, pads 2/2", [6, 1, 5], { group: 6, pads: [2, 2] }, true],
    ["depthwise, stride 2, dilation 3", [6, 1, 3], { group: 6, strides: [2], dilations: [3], pads: [1, 0] }, false],
    ["group 2 (3 channels in, 2 out per group)", [4, 3, 3], { group: 2, pads: [1, 1] }, true],
    ["group 3, auto_pad SAME_UPPER, stride 3, K 4", [6, 2, 4], { group: 3, strides: [3], auto_pad: "SAME_UPPER" }, true],
    ["group 1, auto_pad SAME_LOWER, K 4", [3, 6, 4], { auto_pad: "SAME_LOWER" }, false],
    ["group 1, auto_pad VALID, K 5", [3, 6, 5], { auto_pad: "VALID" }, true],
  ];
  for (const [what, wShape, attrs, bias] of cases) {
    it(what, async () => {
      const M = wShape[0];
      const W = floats("W", randn(wShape.reduce((a, b) => a * b, 1), 4), wShape);
      const g: GraphSpec = {
        initializers: [W, ...(bias ? [floats("B", randn(M, 5), [M])] : [])],
        inputs: [f32("x", [2, 6, 17])],
        outputs: [f32("y", [2, M, "L"])],
        nodes: [{ op: "Conv", inputs: ["x", "W", ...(bias ? ["B"] : [])], outputs: ["y"], attrs: { kernel_shape: [wShape[2]], ...attrs } }],
      };
      const bytes = writeOnnx(g, 18);
      expect(loadOnnx(bytes).nodes[0].runs).toMatch(/Wasm conv1d/);
      await compare(bytes, { x: X }, what);
    });
  }
});

describe("pointwise Conv: a direct product for 8 or more steps, im2col rows below", () => {
  for (const L of [5, 8, 40]) {
    it(`L = ${L}, with bias, then without`, async () => {
      for (const bias of [true, false]) {
        const g: GraphSpec = {
          initializers: [floats("W", randn(7 * 6, 11), [7, 6, 1]), ...(bias ? [floats("B", randn(7, 12), [7])] : [])],
          inputs: [f32("x", [2, 6, L])],
          outputs: [f32("y", [2, 7, L])],
          nodes: [{ op: "Conv", inputs: ["x", "W", ...(bias ? ["B"] : [])], outputs: ["y"], attrs: { kernel_shape: [1] } }],
        };
        await compare(writeOnnx(g, 17), { x: { dtype: "float32", shape: [2, 6, L], data: randn(12 * L, 13) } }, `pointwise L ${L} bias ${bias}`);
      }
    });
  }
});

describe("a Conv whose output only a Relu reads takes the Relu in", () => {
  for (const [what, wShape, group] of [
    ["depthwise", [6, 1, 3], 6],
    ["group 1", [4, 6, 3], 1],
  ] as const) {
    it(`${what}: the Relu node is folded, the outputs match onnxruntime-node`, async () => {
      const M = wShape[0];
      const g: GraphSpec = {
        initializers: [floats("W", randn(wShape[0] * wShape[1] * wShape[2], 8), [...wShape]), floats("B", randn(M, 9), [M])],
        inputs: [f32("x", [2, 6, 17])],
        outputs: [f32("y", [2, M, 15])],
        nodes: [
          { op: "Conv", inputs: ["x", "W", "B"], outputs: ["c"], attrs: { kernel_shape: [3], group } },
          { op: "Relu", inputs: ["c"], outputs: ["y"] },
        ],
      };
      const bytes = writeOnnx(g, 13);
      const nodes = loadOnnx(bytes).nodes;
      expect(nodes.find((n) => n.opType === "Relu")!.runs).toMatch(/folded into Conv/);
      expect(nodes.find((n) => n.opType === "Conv")!.runs).toMatch(/Relu folded in/);
      await compare(bytes, { x: { dtype: "float32", shape: [2, 6, 17], data: randn(204, 10) } }, what);
    });
  }

  it("a Relu on few elements (TypeScript) keeps NaN as onnxruntime does", async () => {
    const g: GraphSpec = { inputs: [f32("x", [5])], outputs: [f32("y", [5])], nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }] };
    await compare(writeOnnx(g, 14), { x: { dtype: "float32", shape: [5], data: Float32Array.of(NaN, -1, -0, 2, Infinity) } }, "relu");
  });
});

describe("element-wise Wasm kernels on 300 elements (special values included), against onnxruntime-node", () => {
  it("Log, Relu, Sqrt, Neg, Pow 2 and 0.5, Add, Sub (scalar), Mul (scalar first), Div", async () => {
    const n = 300;
    const x = randn(n, 6, 50);
    x.set([0, -0, -1, 1, Infinity, -Infinity, NaN, 1e-30, 3.4e38, 1e-42, 0.5, 2, Math.E]);
    const y = randn(n, 7, 3);
    y[5] = 0;
    const g: GraphSpec = {
      initializers: [floats("two", [2], []), floats("half", [0.5], []), floats("k", [1.75], [])],
      inputs: [f32("x", [3, 100]), f32("y", [3, 100])],
      outputs: ["log", "relu", "sqrt", "neg", "sq", "rt", "add", "sub", "mul", "div"].map((o) => f32(o, [3, 100])),
      nodes: [
        { op: "Log", inputs: ["x"], outputs: ["log"] },
        { op: "Relu", inputs: ["x"], outputs: ["relu"] },
        { op: "Sqrt", inputs: ["x"], outputs: ["sqrt"] },
        { op: "Neg", inputs: ["x"], outputs: ["neg"] },
        { op: "Pow", inputs: ["y", "two"], outputs: ["sq"] },
        { op: "Mul", inputs: ["y", "y"], outputs: ["ay"] }, // |y|^2, then its square root
        { op: "Pow", inputs: ["ay", "half"], outputs: ["rt"] },
        { op: "Add", inputs: ["x", "y"], outputs: ["add"] },
        { op: "Sub", inputs: ["y", "k"], outputs: ["sub"] },
        { op: "Mul", inputs: ["k", "y"], outputs: ["mul"] },
        { op: "Div", inputs: ["x", "y"], outputs: ["div"] },
      ],
    };
    await compare(writeOnnx(g, 21), { x: { dtype: "float32", shape: [3, 100], data: x }, y: { dtype: "float32", shape: [3, 100], data: y } }, "element-wise");
  });
});
