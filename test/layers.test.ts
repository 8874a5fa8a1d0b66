import { beforeAll, describe, expect, it } from "vitest";
import { Adam, crossEntropy, Embedding, init, Linear, RecurError, SGD, type Tensor } from "../src/index.js";
import { crossEntropyPtr } from "../src/wasm/index.js";
import { runtime } from "../src/runtime.js";
import { createRng } from "../src/random.js";
import { randn } from "./helpers/random.js";
import { codeOf } from "./helpers/errors.js";
import { numericGrad } from "./helpers/numeric.js";

beforeAll(async () => {
  await init();
});

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const scaleOf = (a: ArrayLike<number>): number => Math.max(1, ...Array.from(a, Math.abs));

// ---- float64 reference of y = x W^T + b and of L = sum(y * R)

function linear64(x: ArrayLike<number>, N: number, I: number, O: number, w: ArrayLike<number>, b: ArrayLike<number> | undefined): Float64Array {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < I; i++) s += x[n * I + i] * w[o * I + i];
      y[n * O + o] = s;
    }
  }
  return y;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe("Linear", () => {
  const shapes: [number, number, number, boolean][] = [
    [1, 1, 1, true],
    [5, 3, 7, true],
    [4, 8, 8, false],
    [13, 17, 9, true],
    [33, 20, 12, true],
  ];
  for (const [N, I, O, bias] of shapes) {
    it(`forward and backward vs float64 (N=${N}, in=${I}, out=${O}, bias=${bias})`, () => {
      const lin = new Linear({ inFeatures: I, outFeatures: O, bias, seed: N });
      try {
        const sd = lin.stateDict();
        const w = sd.weight.data;
        const b = bias ? sd.bias.data : undefined;
        const x = randn([N, I], 10 + N);
        const y = lin.forward(x);
        expect(y.shape).toEqual([N, O]);
        const yRef = linear64(x.data, N, I, O, w, b);
        expect(maxAbs(y.data, yRef)).toBeLessThan(1e-5 * scaleOf(yRef));

        // Backward with dY = R: the gradient of L = sum(Y R); check against central differences of
        // the float64 forward for every input, weight and bias element.
        const R = randn([N, O], 20 + N);
        const dx = lin.backward(R);
        const g = lin.gradients();
        const L = (xx: ArrayLike<number>, ww: ArrayLike<number>, bb: ArrayLike<number> | undefined): number => dot(linear64(xx, N, I, O, ww, bb), R.data);
        const dxNum = numericGrad((xx) => L(xx, w, b), x.data, 1e-3);
        const dwNum = numericGrad((ww) => L(x.data, ww, b), w, 1e-3);
        expect(dx.shape).toEqual([N, I]);
        expect(maxAbs(dx.data, dxNum)).toBeLessThan(1e-5 * scaleOf(dxNum));
        expect(g.weight.shape).toEqual([O, I]);
        expect(maxAbs(g.weight.data, dwNum)).toBeLessThan(1e-5 * scaleOf(dwNum));
        if (b) {
          const dbNum = numericGrad((bb) => L(x.data, w, bb), b, 1e-3);
          expect(maxAbs(g.bias.data, dbNum)).toBeLessThan(1e-5 * scaleOf(dbNum));
        } else {
          expect(Object.keys(g)).toEqual(["weight"]);
        }
      } finally {
        lin.dispose();
      }
    });
  }

  it("accumulates parameter gradients across backward calls until zeroGrad", () => {
    const lin = new Linear({ inFeatures: 6, outFeatures: 5 });
    const x = randn([4, 6], 1);
    const dy = randn([4, 5], 2);
    lin.forward(x);
    lin.backward(dy);
    const once = lin.gradients();
    lin.backward(dy);
    const twice = lin.gradients();
    expect(maxAbs(twice.weight.data, once.weight.data.map((v) => 2 * v))).toBeLessThan(1e-6);
    expect(maxAbs(twice.bias.data, once.bias.data.map((v) => 2 * v))).toBeLessThan(1e-6);
    lin.zeroGrad();
    expect(lin.gradients().weight.data.every((v) => v === 0)).toBe(true);
    lin.dispose();
  });

  it("keeps leading dimensions: [T, B, in] -> [T, B, out]", () => {
    const lin = new Linear({ inFeatures: 3, outFeatures: 2 });
    const x = randn([4, 5, 3], 3);
    const y = lin.forward(x);
    expect(y.shape).toEqual([4, 5, 2]);
    expect(lin.backward({ shape: [4, 5, 2], data: new Float32Array(40) }).shape).toEqual([4, 5, 3]);
    lin.dispose();
  });

  it("pointer API: forwardPtr / backwardPtr without copies, dx = 0 skips, accumulateDx adds", () => {
    const { heap } = runtime();
    const N = 7, I = 9, O = 4;
    const lin = new Linear({ inFeatures: I, outFeatures: O, seed: 5 });
    const x = randn([N, I], 4);
    const dy = randn([N, O], 6);
    const ref = new Linear({ inFeatures: I, outFeatures: O, seed: 5 });
    const yRef = ref.forward(x);
    const dxRef = ref.backward(dy);
    const xp = heap.alloc(N * I * 4), yp = heap.alloc(N * O * 4), dyp = heap.alloc(N * O * 4), dxp = heap.alloc(N * I * 4);
    try {
      heap.f32(xp, N * I).set(x.data);
      heap.f32(dyp, N * O).set(dy.data);
      lin.forwardPtr(xp, N, yp);
      expect(Array.from(heap.f32(yp, N * O))).toEqual(Array.from(yRef.data));
      lin.backwardPtr(dyp, N, 0);
      expect(Array.from(lin.gradients().weight.data)).toEqual(Array.from(ref.gradients().weight.data));
      lin.backwardPtr(dyp, N, dxp);
      expect(Array.from(heap.f32(dxp, N * I))).toEqual(Array.from(dxRef.data));
      lin.backwardPtr(dyp, N, dxp, true);
      expect(maxAbs(heap.f32(dxp, N * I), dxRef.data.map((v) => 2 * v))).toBeLessThan(1e-6);
      expect(codeOf(() => lin.backwardPtr(dyp, N - 1))).toBe(`E_SHAPE: Linear.backwardPtr: N = ${N - 1}, but the last forward had ${N} rows`);
      expect(codeOf(() => lin.forwardPtr(xp + 1, N, yp))).toMatch(/^E_VALUE: Linear.forwardPtr: x must be a 4-byte aligned address/);
      expect(codeOf(() => lin.forwardPtr(xp, N, heap.capacityBytes - 4))).toMatch(/^E_VALUE: Linear.forwardPtr: out must be/);
      expect(codeOf(() => lin.forwardPtr(xp, N, xp + 4))).toBe("E_VALUE: Linear.forwardPtr: out overlaps x");
    } finally {
      [xp, yp, dyp, dxp].forEach((p) => heap.release(p));
      lin.dispose();
      ref.dispose();
    }
  });

  it("PyTorch init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias, seeded", () => {
    const lin = new Linear({ inFeatures: 25, outFeatures: 40, seed: 9 });
    const { weight, bias } = lin.stateDict();
    const bound = 1 / 5;
    expect(weight.data.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(bias.data.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Math.max(...Array.from(weight.data, Math.abs))).toBeGreaterThan(0.9 * bound);
    const mean = weight.data.reduce((a, v) => a + v, 0) / weight.data.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    const same = new Linear({ inFeatures: 25, outFeatures: 40, seed: 9 });
    const other = new Linear({ inFeatures: 25, outFeatures: 40, seed: 10 });
    expect(same.stateDict()).toEqual(lin.stateDict());
    expect(other.stateDict().weight.data).not.toEqual(weight.data);
    expect(lin.parameterShapes()).toEqual({ weight: [40, 25], bias: [40] });
    [lin, same, other].forEach((m) => m.dispose());
  });

  it("one parameter region with zero padding between weight and bias; optimizer steps repack the weights", () => {
    const { heap } = runtime();
    const lin = new Linear({ inFeatures: 3, outFeatures: 5 });
    const [r] = lin.parameterRegions();
    expect(r.floats).toBe(16 + 5); // 15 weights padded to 64 bytes, then 5 biases
    expect(Array.from(heap.f32(r.params + 15 * 4, 1))).toEqual([0]);
    const x = randn([2, 3], 1);
    lin.forward(x);
    lin.backward(randn([2, 5], 2));
    expect(heap.f32(r.grads + 15 * 4, 1)[0]).toBe(0);
    const opt = new SGD(lin, { lr: 0.5, momentum: 0.9, weightDecay: 0.1 });
    opt.step();
    expect(heap.f32(r.params + 15 * 4, 1)[0]).toBe(0);
    // The forward after the step sees the updated weights (packed copies rebuilt).
    const sd = lin.stateDict();
    expect(maxAbs(lin.forward(x).data, linear64(x.data, 2, 3, 5, sd.weight.data, sd.bias.data))).toBeLessThan(1e-6);
    opt.dispose();
    lin.dispose();
  });

  it("loadStateDict validates everything, lists problems in one E_KEY, and leaves the layer unchanged on failure", () => {
    const lin = new Linear({ inFeatures: 2, outFeatures: 3 });
    const before = lin.stateDict();
    const msg = codeOf(() =>
      lin.loadStateDict({ weight: { shape: [2, 3], data: new Float32Array(6) }, extra: { shape: [1], data: new Float32Array(1) } }),
    );
    expect(msg).toBe("E_KEY: Linear.loadStateDict: missing keys: bias; unexpected keys: extra; weight: expected shape [3, 2], got [2, 3] with 6 values");
    expect(codeOf(() => lin.loadStateDict({ weight: before.weight, bias: { shape: [3], data: new Float32Array([0, Infinity, 0]) } }))).toBe(
      "E_KEY: Linear.loadStateDict: bias: non-finite value Infinity at index 1",
    );
    expect(codeOf(() => lin.loadStateDict(null as never))).toMatch(/^E_TYPE/);
    expect(lin.stateDict()).toEqual(before);
    const x = randn([1, 2], 3);
    lin.forward(x); // packs the old weights
    const w = { shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
    lin.loadStateDict({ weight: w, bias: { shape: [3], data: new Float32Array([0.5, 0, -0.5]) } });
    expect(maxAbs(lin.forward(x).data, linear64(x.data, 1, 2, 3, w.data, [0.5, 0, -0.5]))).toBeLessThan(1e-6);
    lin.dispose();
  });

  it("bad options and calls", () => {
    expect(codeOf(() => new Linear({ inFeatures: 0, outFeatures: 2 }))).toBe("E_VALUE: Linear: inFeatures must be an integer >= 1, got 0");
    expect(codeOf(() => new Linear({ inFeatures: 2, outFeatures: 2.5 }))).toBe("E_VALUE: Linear: outFeatures must be an integer >= 1, got 2.5");
    expect(codeOf(() => new Linear({ inFeatures: 2, outFeatures: 2, bias: 1 as never }))).toMatch(/^E_VALUE: Linear: bias must be a boolean/);
    const lin = new Linear({ inFeatures: 4, outFeatures: 2 });
    expect(codeOf(() => lin.backward(randn([1, 2], 1)))).toMatch(/^E_SHAPE: Linear.backward: dy must be \[\.\.\., 2\] with the rows of a previous forward/);
    expect(codeOf(() => lin.backwardPtr(64, 1))).toBe("E_STATE: Linear.backwardPtr: no forward to differentiate (call forward or forwardPtr first)");
    expect(codeOf(() => lin.forward(randn([3, 5], 1)))).toBe("E_SHAPE: Linear.forward: x must be [..., 4], got [3, 5]");
    lin.forward(randn([3, 4], 1));
    expect(codeOf(() => lin.backward(randn([2, 2], 1)))).toMatch(/^E_SHAPE: Linear.backward: dy must be \[\.\.\., 2\] with 3 rows, got \[2, 2\]/);
    const { heap } = runtime();
    const used = heap.usedBytes;
    lin.dispose();
    expect(heap.usedBytes).toBeLessThan(used);
    expect(codeOf(() => lin.forward(randn([3, 4], 1)))).toBe("E_STATE: Linear: the layer was disposed");
    lin.dispose();
  });
});

describe("Embedding", () => {
  it("forward looks rows up; backward scatters (repeats add up, padding row gets nothing)", () => {
    const emb = new Embedding({ numEmbeddings: 10, embeddingDim: 6, paddingIdx: 2, seed: 3 });
    const w = emb.stateDict().weight.data;
    expect(Array.from(w.subarray(12, 18))).toEqual([0, 0, 0, 0, 0, 0]);
    const idx = Int32Array.from([4, 2, 9, 4, 0, 4]);
    const out = emb.forward(idx, [2, 3]);
    expect(out.shape).toEqual([2, 3, 6]);
    idx.forEach((t, r) => expect(Array.from(out.data.subarray(r * 6, r * 6 + 6))).toEqual(Array.from(w.subarray(t * 6, t * 6 + 6))));
    // L = sum(out * R): float64 central differences over every weight entry.
    const R = randn([2, 3, 6], 8);
    emb.backward(R);
    const L = (ww: ArrayLike<number>): number => {
      let s = 0;
      idx.forEach((t, r) => {
        for (let j = 0; j < 6; j++) s += ww[t * 6 + j] * R.data[r * 6 + j];
      });
      return s;
    };
    const num = numericGrad(L, w, 1e-3);
    const g = emb.gradients().weight.data;
    for (let j = 12; j < 18; j++) num[j] = 0; // paddingIdx receives no gradient
    expect(maxAbs(g, num)).toBeLessThan(1e-5);
    expect(Array.from(g.subarray(12, 18))).toEqual([0, 0, 0, 0, 0, 0]);
    emb.dispose();
  });

  it("init N(0, 1), negative paddingIdx counts from the end, pointer API, training moves only used rows", () => {
    const emb = new Embedding({ numEmbeddings: 200, embeddingDim: 50, paddingIdx: -1 });
    expect(emb.paddingIdx).toBe(199);
    const w = emb.stateDict().weight.data;
    const n = 199 * 50;
    const mean = w.subarray(0, n).reduce((a, v) => a + v, 0) / n;
    const variance = w.subarray(0, n).reduce((a, v) => a + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    expect(w.subarray(n).every((v) => v === 0)).toBe(true);
    const { heap } = runtime();
    const out = heap.alloc(3 * 50 * 4);
    emb.forwardPtr([5, 199, 5], out);
    heap.f32(out, 150).fill(1);
    emb.backwardPtr(out, 3);
    const opt = new SGD(emb, { lr: 0.1, weightDecay: 0.5 });
    opt.step();
    const after = emb.stateDict().weight.data;
    expect(after[5 * 50]).toBeCloseTo(w[5 * 50] - 0.1 * (2 + 0.5 * w[5 * 50]), 6);
    expect(after.subarray(n).every((v) => v === 0)).toBe(true); // padding: zero weight, zero gradient
    heap.release(out);
    opt.dispose();
    emb.dispose();
  });

  it("bad indices, shapes and options", () => {
    expect(codeOf(() => new Embedding({ numEmbeddings: 0, embeddingDim: 2 }))).toMatch(/^E_VALUE: Embedding: numEmbeddings must be an integer >= 1, got 0/);
    expect(codeOf(() => new Embedding({ numEmbeddings: 4, embeddingDim: 2, paddingIdx: 4 }))).toBe("E_VALUE: Embedding: paddingIdx must be an integer in [-4, 3], got 4");
    const emb = new Embedding({ numEmbeddings: 4, embeddingDim: 2 });
    expect(codeOf(() => emb.forward([0, 4, 1]))).toBe("E_VALUE: Embedding.forwardPtr: index 4 at position 1 is outside [0, 4)");
    expect(codeOf(() => emb.forward([0, -1]))).toMatch(/^E_VALUE: .*index -1 at position 1/);
    expect(codeOf(() => emb.forward([0, 1.5]))).toMatch(/^E_VALUE: .*index 1.5 at position 1/);
    expect(codeOf(() => emb.forward([0, 1, 2], [2, 2]))).toMatch(/^E_SHAPE: Embedding.forward: shape \[2, 2\] does not hold 3 indices/);
    expect(codeOf(() => emb.forward(5 as never))).toMatch(/^E_TYPE/);
    expect(codeOf(() => emb.backward(randn([1, 2], 1)))).toMatch(/^E_SHAPE: Embedding.backward/);
    emb.forward([1, 2]);
    expect(codeOf(() => emb.backward(randn([3, 2], 1)))).toBe("E_SHAPE: Embedding.backward: dy must be [2, 2] (the last forward's shape), got [3, 2]");
    expect(codeOf(() => emb.loadStateDict({}))).toBe("E_KEY: Embedding.loadStateDict: missing keys: weight");
    emb.dispose();
    expect(codeOf(() => emb.forward([0]))).toBe("E_STATE: Embedding: the layer was disposed");
  });
});

describe("composition and training", () => {
  it("Embedding -> Linear through pointers -> cross-entropy, trained with Adam: the loss falls", () => {
    const { heap } = runtime();
    const V = 12, D = 8, C = 3, N = 48;
    const emb = new Embedding({ numEmbeddings: V, embeddingDim: D, seed: 1 });
    const head = new Linear({ inFeatures: D, outFeatures: C, seed: 2 });
    const opt = new Adam([emb, head], { lr: 0.05 });
    const rng = createRng(4);
    const tokens = Int32Array.from({ length: N }, () => rng.int(V));
    const targets = tokens.map((t) => t % C); // learnable: class = token mod 3
    const feats = heap.alloc(N * D * 4);
    const logits = heap.alloc(N * C * 4);
    const dlogits = heap.alloc(N * C * 4);
    const dfeats = heap.alloc(N * D * 4);
    const losses: number[] = [];
    try {
      for (let step = 0; step < 60; step++) {
        opt.zeroGrad();
        emb.forwardPtr(tokens, feats);
        head.forwardPtr(feats, N, logits);
        losses.push(crossEntropyPtr(logits, N, C, targets, dlogits));
        head.backwardPtr(dlogits, N, dfeats);
        emb.backwardPtr(dfeats, N);
        opt.step();
      }
      expect(losses[0]).toBeGreaterThan(0.8);
      expect(losses[losses.length - 1]).toBeLessThan(0.1 * losses[0]);
      // The pointer path equals the tensor path.
      const viaTensors = crossEntropy(head.forward(emb.forward(tokens)) as Tensor, targets).loss;
      emb.forwardPtr(tokens, feats);
      head.forwardPtr(feats, N, logits);
      expect(crossEntropyPtr(logits, N, C, targets, 0)).toBe(viaTensors);
    } finally {
      [feats, logits, dlogits, dfeats].forEach((p) => heap.release(p));
      opt.dispose();
      emb.dispose();
      head.dispose();
    }
  });
});
