import { beforeAll, describe, expect, it } from "vitest";
import { clipGradNorm, clipGradValue, gradientsFinite, init, RecurError } from "../src/index.js";
import { createRng } from "../src/random.js";
import { FakeModule } from "./helpers/trainable.js";
import { codeOf } from "./helpers/errors.js";

beforeAll(async () => {
  await init();
});

// Two modules, four regions of awkward sizes (tails of 1..3 floats after the SIMD body).
function setup(scale: number, seed = 1): { mods: FakeModule[]; grads: () => Float32Array[]; sizes: number[] } {
  const sizes = [13, 64, 7, 1];
  const mods = [new FakeModule(sizes.slice(0, 2)), new FakeModule(sizes.slice(2))];
  const rng = createRng(seed);
  const all = (): Float32Array[] => [mods[0].grads(0), mods[0].grads(1), mods[1].grads(0), mods[1].grads(1)];
  all().forEach((g, r) => {
    for (let i = 0; i < sizes[r]; i++) g[i] = scale * rng.normal();
  });
  return { mods, grads: () => all().map((g, r) => g.slice(0, sizes[r])), sizes };
}

function norm64(gs: Float32Array[], p: number): number {
  let s = 0;
  if (p === Infinity) {
    for (const g of gs) for (const v of g) s = Math.max(s, Math.abs(v));
    return s;
  }
  for (const g of gs) for (const v of g) s += Math.abs(v) ** p;
  return s ** (1 / p);
}

describe("clipGradNorm (torch.nn.utils.clip_grad_norm_)", () => {
  for (const p of [2, Infinity, 1, 3]) {
    it(`norm ${p}: returns the total norm and scales by maxNorm / (total + 1e-6) when above`, () => {
      const { mods, grads } = setup(2);
      const before = grads();
      const ref = norm64(before, p);
      const total = clipGradNorm(mods, 1.5, p);
      expect(Math.abs(total - ref)).toBeLessThanOrEqual(1e-12 * ref);
      const coef = 1.5 / (ref + 1e-6);
      expect(coef).toBeLessThan(1);
      const after = grads();
      after.forEach((g, r) => g.forEach((v, i) => expect(Math.abs(v - before[r][i] * coef)).toBeLessThanOrEqual(1e-7 * Math.abs(before[r][i] * coef))));
      // After clipping the norm is maxNorm (up to the 1e-6 and float32 rounding).
      expect(Math.abs(norm64(after, p) - 1.5)).toBeLessThan(1e-5);
      // Padding untouched.
      for (const m of mods) for (let i = 0; i < m.sizes.length; i++) expect(Array.from(m.grads(i).subarray(m.sizes[i]))).toEqual([0, 0, 0]);
      mods.forEach((m) => m.dispose());
    });
  }

  it("leaves gradients bit-identical when the norm is below maxNorm (both branches of the fixtures)", () => {
    const { mods, grads } = setup(0.01);
    const before = grads();
    const total = clipGradNorm(mods, 1);
    expect(total).toBeCloseTo(norm64(before, 2), 14);
    expect(grads()).toEqual(before);
    // Exactly at the threshold the 1e-6 makes coef < 1 by a hair: scaled, as PyTorch.
    const { mods: m2, grads: g2 } = setup(1, 3);
    const n = norm64(g2(), 2);
    const b2 = g2();
    clipGradNorm(m2, n);
    expect(g2().some((g, r) => g.some((v, i) => v !== b2[r][i]))).toBe(true);
    [...mods, ...m2].forEach((m) => m.dispose());
  });

  it("a single module, maxNorm Infinity, zero gradients", () => {
    const m = new FakeModule([5]);
    expect(clipGradNorm(m, 1)).toBe(0);
    m.grads(0).set([3, 4]);
    expect(clipGradNorm(m, Infinity)).toBe(5);
    expect(Array.from(m.grads(0).subarray(0, 2))).toEqual([3, 4]);
    m.dispose();
  });

  it("non-finite gradients: NaN norm propagates like PyTorch, errorIfNonfinite throws E_NUMERIC first", () => {
    const m = new FakeModule([6]);
    m.grads(0).set([1, NaN, 2]);
    expect(codeOf(() => clipGradNorm(m, 1, 2, { errorIfNonfinite: true }))).toMatch(/^E_NUMERIC: clipGradNorm: the total norm of order 2 of the gradients is NaN/);
    expect(m.grads(0)[0]).toBe(1);
    expect(gradientsFinite(m)).toBe(false);
    expect(clipGradNorm(m, 1)).toBeNaN();
    expect(Number.isNaN(m.grads(0)[0])).toBe(true);
    m.zeroGrad(); // the NaN coefficient reached the padding too; zeroGrad clears the whole region
    m.grads(0).set([1, Infinity, 2]);
    expect(clipGradNorm(m, 1, Infinity)).toBe(Infinity);
    expect(Array.from(m.grads(0).subarray(0, 3))).toEqual([0, NaN, 0]); // coef 0, inf * 0 = NaN as in torch
    m.grads(0).fill(0.5);
    expect(gradientsFinite(m)).toBe(true);
    m.dispose();
  });

  it("validates its arguments", () => {
    const m = new FakeModule([3]);
    expect(codeOf(() => clipGradNorm(m, -1))).toMatch(/^E_VALUE: clipGradNorm: maxNorm must be a number >= 0, got -1/);
    expect(codeOf(() => clipGradNorm(m, NaN))).toMatch(/^E_VALUE: clipGradNorm: maxNorm/);
    expect(codeOf(() => clipGradNorm(m, 1, 0))).toMatch(/^E_VALUE: clipGradNorm: normType must be a number > 0 or Infinity, got 0/);
    expect(codeOf(() => clipGradNorm([], 1))).toMatch(/^E_VALUE: clipGradNorm: needs at least one module/);
    expect(codeOf(() => clipGradNorm([m, m], 1))).toMatch(/^E_VALUE: .*same module/);
    expect(codeOf(() => clipGradValue(m, -0.5))).toMatch(/^E_VALUE: clipGradValue: clipValue must be a number >= 0, got -0.5/);
    m.dispose();
  });
});

describe("clipGradValue (torch.nn.utils.clip_grad_value_)", () => {
  it("clamps to [-c, c], NaN stays NaN, padding stays zero", () => {
    const { mods, grads } = setup(3);
    const before = grads();
    clipGradValue(mods, 0.75);
    grads().forEach((g, r) => g.forEach((v, i) => expect(v).toBe(Math.fround(Math.min(0.75, Math.max(-0.75, before[r][i]))))));
    for (const m of mods) for (let i = 0; i < m.sizes.length; i++) expect(Array.from(m.grads(i).subarray(m.sizes[i]))).toEqual([0, 0, 0]);
    mods[0].grads(0)[0] = NaN;
    clipGradValue(mods, 0.1);
    expect(mods[0].grads(0)[0]).toBeNaN();
    mods.forEach((m) => m.dispose());
  });
});
