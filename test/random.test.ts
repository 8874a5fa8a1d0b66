// createRng (xoshiro128** seeded by SplitMix64) and the fdlibm log it draws normals with: the
// same numbers on every engine.
import { describe, expect, it } from "vitest";
import { createRng, log } from "../src/random.js";
import { expectRecurError } from "./helpers/errors.js";

describe("random: createRng", () => {
  // Expected values from the reference C code of xoshiro128** 1.1 seeded by SplitMix64
  // (state words = low, high halves of two SplitMix64 outputs), compiled with gcc.
  it("matches the C reference xoshiro128** + SplitMix64 seeding", () => {
    const cases: Array<[number, number[]]> = [
      [0, [3737715805, 2584255861, 2876756834, 3286328325, 1553311962, 1625202774]],
      [42, [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222]],
      [-1, [477689756, 2493998634, 555695776, 607808419, 61340979, 301466976]],
      [4294967303, [3011911931, 4158624145, 2937960923, 1014819166, 3518271439, 735384805]],
      [Number.MAX_SAFE_INTEGER, [1233166643, 1287031142, 661813442, 2960669951, 2601079046, 1036114921]],
    ];
    for (const [seed, want] of cases) {
      const r = createRng(seed);
      expect(want.map(() => r.nextUint32())).toEqual(want);
    }
    const r = createRng(42);
    expect([r.next(), r.next(), r.next()]).toEqual([0.41370166815658871, 0.0039839933778147429, 0.65008370276388672]);
  });

  it("is deterministic and seed-sensitive", () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const xa = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xa);
  });

  it("next/uniform/int stay in range and look uniform", () => {
    const r = createRng(123);
    const N = 200_000;
    const bins = new Array(10).fill(0);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < N; i++) {
      const x = r.next();
      if (!(x >= 0 && x < 1)) outside++;
      bins[Math.floor(x * 10)]++;
      sum += x;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / N - 0.5)).toBeLessThan(0.005);
    // chi-square with 9 dof: 99.9 % quantile is 27.9
    const chi = bins.reduce((s, c) => s + (c - N / 10) ** 2 / (N / 10), 0);
    expect(chi).toBeLessThan(27.9);
    for (let i = 0; i < 10_000; i++) {
      const u = r.uniform(-2, 3);
      if (!(u >= -2 && u < 3)) outside++;
    }
    expect(r.uniform(1.5, 1.5)).toBe(1.5);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) {
      const k = r.int(7);
      if (!(Number.isInteger(k) && k >= 0 && k < 7)) outside++;
      else counts[k]++;
    }
    expect(outside).toBe(0);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(r.int(1)).toBe(0);
    const big = r.int(2 ** 32);
    expect(big >= 0 && big < 2 ** 32).toBe(true);
  });

  it("normal() has mean 0, variance 1, kurtosis 3", () => {
    const r = createRng(2024);
    const N = 200_000;
    let m1 = 0;
    let m2 = 0;
    let m4 = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      m1 += z;
      m2 += z * z;
      m4 += z ** 4;
    }
    expect(Math.abs(m1 / N)).toBeLessThan(0.01);
    expect(Math.abs(m2 / N - 1)).toBeLessThan(0.015);
    expect(Math.abs(m4 / N - 3)).toBeLessThan(0.1);
  });

  it("log() (fdlibm port) equals V8's Math.log bit for bit", () => {
    const r = createRng(5);
    const xs: number[] = [5e-324, 1e-310, 2.2250738585072014e-308, 0.5, 1, 2, Math.E, 1 + 2 ** -30, 1 - 2 ** -40, Number.MAX_VALUE];
    for (let i = 0; i < 50_000; i++) {
      xs.push(r.next(), Math.exp(r.uniform(-700, 700)), 1 + (r.next() - 0.5) * 1e-5);
    }
    let bad = 0;
    for (const x of xs) if (!Object.is(log(x), Math.log(x))) bad++;
    expect(bad).toBe(0);
    expect(log(0)).toBe(-Infinity);
    expect(log(-0)).toBe(-Infinity);
    expect(log(-1)).toBeNaN();
    expect(log(NaN)).toBeNaN();
    expect(log(Infinity)).toBe(Infinity);
  });

  it("validates its arguments", () => {
    expectRecurError(() => createRng(1.5), "E_VALUE", "seed", "1.5");
    expectRecurError(() => createRng(2 ** 53), "E_VALUE", "seed");
    expectRecurError(() => createRng("1" as unknown as number), "E_VALUE", "seed");
    const r = createRng(1);
    expectRecurError(() => r.uniform(2, 1), "E_VALUE", "lo=2", "hi=1");
    expectRecurError(() => r.uniform(0, Infinity), "E_VALUE", "Infinity");
    expectRecurError(() => r.int(0), "E_VALUE", "n", "0");
    expectRecurError(() => r.int(2.5), "E_VALUE", "2.5");
  });
});
