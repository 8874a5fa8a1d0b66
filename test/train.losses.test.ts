import { beforeAll, describe, expect, it } from "vitest";
import { assertFiniteLoss, crossEntropy, init, mse, RecurError, type CrossEntropyOptions } from "../src/index.js";
import { crossEntropyPtr, msePtr } from "../src/wasm/index.js";
import { runtime } from "../src/runtime.js";
import { createRng } from "../src/random.js";
import { randn } from "./helpers/random.js";
import { codeOf } from "./helpers/errors.js";
import { numericGrad } from "./helpers/numeric.js";

beforeAll(async () => {
  await init();
});

// ---- float64 references, written from the definitions (torch.nn.functional.cross_entropy / mse_loss)

function ce64(x: ArrayLike<number>, N: number, C: number, targets: ArrayLike<number>, o: CrossEntropyOptions = {}): number {
  const ignore = o.ignoreIndex ?? -100;
  let sum = 0;
  let wsum = 0;
  for (let r = 0; r < N; r++) {
    if (targets[r] === ignore) continue;
    const w = o.mask ? Math.fround(o.mask[r]) : 1;
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, x[r * C + j]);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(x[r * C + j] - m);
    sum += w * (m + Math.log(s) - x[r * C + targets[r]]);
    wsum += w;
  }
  return (o.reduction ?? "mean") === "mean" ? sum / wsum : sum;
}

function mse64(a: ArrayLike<number>, b: ArrayLike<number>, reduction = "mean"): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return reduction === "mean" ? s / a.length : s;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function targetsFor(N: number, C: number, seed: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: N }, () => rng.int(C));
}

describe("crossEntropy vs float64", () => {
  const shapes: [number, number][] = [
    [1, 1],
    [5, 3],
    [8, 7],
    [6, 16],
    [3, 37],
  ];
  const variants: [string, (N: number) => CrossEntropyOptions, (t: Int32Array) => void][] = [
    ["mean", () => ({}), () => {}],
    ["sum", () => ({ reduction: "sum" }), () => {}],
    ["ignoreIndex -100 (default)", () => ({}), (t) => (t[0] = -100)],
    ["ignoreIndex = a class", () => ({ ignoreIndex: 0 }), () => {}],
    ["mask 0/1", (N) => ({ mask: Array.from({ length: N }, (_, r) => (r % 3 === 1 ? 0 : 1)) }), () => {}],
    ["weighted mask + ignore + sum", (N) => ({ mask: Array.from({ length: N }, (_, r) => 0.25 + r * 0.5), ignoreIndex: 1, reduction: "sum" }), () => {}],
  ];
  for (const [N, C] of shapes) {
    for (const [name, opts, tweak] of variants) {
      it(`[${N}, ${C}] ${name}`, () => {
        const x = randn([N, C], N * 100 + C, 3);
        const t = targetsFor(N, C, N + C);
        tweak(t);
        const o = opts(N);
        const counted = Array.from(t).some((v, r) => v !== (o.ignoreIndex ?? -100) && (o.mask === undefined || o.mask[r] !== 0));
        const { loss, grad } = crossEntropy(x, t, o);
        const ref = ce64(x.data, N, C, t, o);
        if (!counted && (o.reduction ?? "mean") === "mean") {
          expect(loss).toBeNaN();
          expect(grad.data.every((v) => v === 0)).toBe(true);
          return;
        }
        expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(ref)));
        expect(grad.shape).toEqual([N, C]);
        const num = numericGrad((xx) => ce64(xx, N, C, t, o), x.data, 1e-5);
        expect(maxAbs(grad.data, num)).toBeLessThan(2e-6);
      });
    }
  }

  it("all rows ignored with mean: NaN loss and zero gradient, as PyTorch", () => {
    const x = randn([3, 4], 1);
    const r = crossEntropy(x, [-100, -100, -100]);
    expect(r.loss).toBeNaN();
    expect(Array.from(r.grad.data)).toEqual(new Array(12).fill(0));
    expect(crossEntropy(x, [-100, -100, -100], { reduction: "sum" }).loss).toBe(0);
  });

  it("stays finite for huge logits; NaN logits give a NaN loss that assertFiniteLoss rejects", () => {
    const x = { shape: [2, 3], data: new Float32Array([1000, -1000, 0, -3e38, 3e38, 1]) };
    const r = crossEntropy(x, [1, 0]);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.loss / Math.fround(3e38)).toBeCloseTo(1, 12); // (2000 + 2 fround(3e38)) / 2
    expect(r.grad.data.every(Number.isFinite)).toBe(true);
    const bad = crossEntropy({ shape: [1, 2], data: new Float32Array([NaN, 0]) }, [0]);
    expect(bad.loss).toBeNaN();
    expect(codeOf(() => assertFiniteLoss(bad.loss, "step 3 loss"))).toBe("E_NUMERIC: step 3 loss is NaN (not finite): the model diverged or the inputs hold NaN/inf");
    expect(assertFiniteLoss(1.5)).toBe(1.5);
  });

  it("crossEntropyPtr: in place (dlogits = logits), separate output, and loss only", () => {
    const { heap } = runtime();
    const N = 9, C = 11;
    const x = randn([N, C], 7, 2);
    const t = targetsFor(N, C, 3);
    const ref = crossEntropy(x, t, { reduction: "sum" });
    const a = heap.alloc(N * C * 4);
    const d = heap.alloc(N * C * 4);
    try {
      heap.f32(a, N * C).set(x.data);
      expect(crossEntropyPtr(a, N, C, t, 0, { reduction: "sum" })).toBe(ref.loss);
      expect(Array.from(heap.f32(a, N * C))).toEqual(Array.from(x.data)); // loss only: logits untouched
      expect(crossEntropyPtr(a, N, C, t, d, { reduction: "sum" })).toBe(ref.loss);
      expect(Array.from(heap.f32(d, N * C))).toEqual(Array.from(ref.grad.data));
      expect(crossEntropyPtr(a, N, C, t, a, { reduction: "sum" })).toBe(ref.loss);
      expect(Array.from(heap.f32(a, N * C))).toEqual(Array.from(ref.grad.data));
    } finally {
      heap.release(a);
      heap.release(d);
    }
  });

  it("rejects bad targets, shapes and options before any work", () => {
    const x = randn([3, 4], 2);
    expect(codeOf(() => crossEntropy(x, Int32Array.from([0, 4, 1])))).toBe(
      "E_VALUE: crossEntropy: target of row 1 is 4, expected a class in [0, 4) or ignoreIndex -100",
    );
    expect(codeOf(() => crossEntropy(x, [0, 1, -1]))).toMatch(/^E_VALUE: crossEntropy: target of row 2 is -1/);
    expect(codeOf(() => crossEntropy(x, [0, 1.5, 1]))).toMatch(/^E_VALUE: crossEntropy: target of row 1 is 1.5/);
    expect(codeOf(() => crossEntropy(x, [0, 1]))).toBe("E_SHAPE: crossEntropy: 2 targets for 3 rows of logits");
    expect(codeOf(() => crossEntropy({ shape: [12], data: x.data }, [0]))).toMatch(/^E_SHAPE: crossEntropy: logits must be \[N, C\], got \[12\]/);
    expect(codeOf(() => crossEntropy({ shape: [3, 0], data: new Float32Array(0) }, [0, 0, 0]))).toMatch(/^E_SHAPE: .*at least one class/);
    expect(codeOf(() => crossEntropy(x, [0, 1, 2], { mask: [1, 1] }))).toBe("E_SHAPE: crossEntropy: mask has 2 entries for 3 rows");
    expect(codeOf(() => crossEntropy(x, [0, 1, 2], { mask: [1, -1, 1] }))).toMatch(/^E_VALUE: crossEntropy: mask\[1\] is -1/);
    expect(codeOf(() => crossEntropy(x, [0, 1, 2], { mask: [1, NaN, 1] }))).toMatch(/^E_VALUE: crossEntropy: mask\[1\] is NaN/);
    expect(codeOf(() => crossEntropy(x, [0, 1, 2], { reduction: "none" as never }))).toMatch(/^E_VALUE: .*reduction must be "mean" or "sum"/);
    expect(codeOf(() => crossEntropy(x, [0, 1, 2], { ignoreIndex: 0.5 }))).toMatch(/^E_VALUE: .*ignoreIndex/);
    expect(codeOf(() => crossEntropy(x, "abc" as never))).toMatch(/^E_TYPE: .*targets/);
    // The pointer form: the gradient buffer is untouched when a target is bad.
    const { heap } = runtime();
    const a = heap.alloc(48);
    const d = heap.alloc(48);
    heap.f32(a, 12).set(x.data);
    heap.f32(d, 12).fill(7);
    expect(codeOf(() => crossEntropyPtr(a, 3, 4, [0, 9, 0], d))).toMatch(/^E_VALUE: crossEntropyPtr: target of row 1 is 9/);
    expect(heap.f32(d, 12).every((v) => v === 7)).toBe(true);
    expect(codeOf(() => crossEntropyPtr(a + 2, 3, 4, [0, 1, 0], d))).toMatch(/^E_VALUE: crossEntropyPtr: logits must be a 4-byte aligned address/);
    expect(codeOf(() => crossEntropyPtr(heap.capacityBytes - 16, 3, 4, [0, 1, 0], 0))).toMatch(/^E_VALUE: crossEntropyPtr: logits/);
    heap.release(a);
    heap.release(d);
  });
});

describe("mse vs float64", () => {
  for (const n of [1, 7, 64, 101]) {
    for (const reduction of ["mean", "sum"] as const) {
      it(`n = ${n}, ${reduction}`, () => {
        const a = randn([n], n, 2);
        const b = randn([n], n + 1, 2);
        const { loss, grad } = mse(a, b, { reduction });
        const ref = mse64(a.data, b.data, reduction);
        expect(Math.abs(loss - ref)).toBeLessThanOrEqual(1e-12 * Math.max(1, ref));
        const num = numericGrad((x) => mse64(x, b.data, reduction), a.data, 1e-5);
        expect(maxAbs(grad.data, num)).toBeLessThan(1e-6 * Math.max(1, ...Array.from(num, Math.abs)));
      });
    }
  }

  it("keeps the input shape, works in place through msePtr, and rejects mismatched shapes", () => {
    const a = randn([2, 3], 1);
    const b = randn([2, 3], 2);
    const r = mse(a, b);
    expect(r.grad.shape).toEqual([2, 3]);
    const { heap } = runtime();
    const p = heap.alloc(48);
    const q = heap.alloc(48);
    heap.f32(p, 6).set(a.data);
    heap.f32(q, 6).set(b.data);
    expect(msePtr(p, q, 6, 0)).toBe(r.loss);
    expect(msePtr(p, q, 6, p)).toBe(r.loss);
    expect(Array.from(heap.f32(p, 6))).toEqual(Array.from(r.grad.data));
    heap.release(p);
    heap.release(q);
    expect(codeOf(() => mse(a, randn([3, 2], 1)))).toBe("E_SHAPE: mse: input [2, 3] and target [3, 2] differ in shape");
    expect(codeOf(() => mse(a, b, { reduction: "avg" as never }))).toMatch(/^E_VALUE: mse: reduction/);
    expect(codeOf(() => mse(a, { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } as never))).toMatch(/^E_TYPE: mse: target.data must be a Float32Array/);
  });
});
