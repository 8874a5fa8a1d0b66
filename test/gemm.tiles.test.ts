// The GEMM's main register tiles (5x8 on packed A strips, 4x8 on A in place), chosen at load by
// calibration or pinned with createRuntime({ gemmTile }): each against float64 on both binaries,
// bit-identical to each other for K <= 512, within rounding beyond; what backendInfo reports.
import { beforeAll, describe, expect, it } from "vitest";
import { type Backend, createRuntime, type GemmTile, init, backendInfo, type Runtime } from "../src/runtime.js";
import { rng } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

const U = 2 ** -24;

function randomF32(n: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

// C = A B + bias through rt's gemm (A [m][k], B [k][n] packed with a bias row); returns C.
function product(rt: Runtime, a: Float32Array, b: Float32Array, bias: Float32Array, m: number, n: number, k: number): Float32Array {
  const { kernels: kn, heap } = rt;
  const pa = heap.alloc(Math.max(1, a.length) * 4), pb = heap.alloc(Math.max(1, b.length) * 4), pbias = heap.alloc(n * 4);
  const packed = heap.alloc(kn.packedSize(k, n) * 4), pc = heap.alloc(m * n * 4);
  try {
    heap.f32(pa, a.length).set(a);
    heap.f32(pb, b.length).set(b);
    heap.f32(pbias, n).set(bias);
    kn.packB(pb, n, k, n, pbias, packed);
    kn.gemm(m, n, k, pa, k, packed, pc, n, 0);
    return heap.f32(pc, m * n).slice();
  } finally {
    for (const p of [pa, pb, pbias, packed, pc]) heap.release(p);
  }
}

const CASES: [number, number, number][] = [[1, 9, 7], [4, 8, 16], [5, 17, 33], [23, 40, 64], [100, 64, 300], [64, 33, 512], [37, 20, 700]];

describe.each(["simd128", "relaxed"] as Backend[])("GEMM tiles, %s binary", (backend) => {
  const rts: Partial<Record<GemmTile, Runtime>> = {};
  beforeAll(async () => {
    for (const tile of ["5x8", "4x8"] as const) rts[tile] = await createRuntime({ backend, gemmTile: tile });
  });

  it("each tile matches float64 within (k + 2) u S; the two are bit-identical up to K = 512", () => {
    let seed = 1;
    for (const [m, n, k] of CASES) {
      const next = rng(seed++);
      const a = randomF32(m * k, next), b = randomF32(k * n, next), bias = randomF32(n, next);
      const got: Partial<Record<GemmTile, Float32Array>> = {};
      for (const tile of ["5x8", "4x8"] as const) {
        const rt = rts[tile]!;
        expect(rt.gemmTile).toBe(tile);
        expect(rt.kernels.gemmTile()).toBe(tile === "5x8" ? 0 : 1);
        const c = (got[tile] = product(rt, a, b, bias, m, n, k));
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = bias[j], mag = Math.abs(bias[j]);
            for (let kk = 0; kk < k; kk++) {
              s += a[i * k + kk] * b[kk * n + j];
              mag += Math.abs(a[i * k + kk] * b[kk * n + j]);
            }
            const err = Math.abs(c[i * n + j] - s);
            if (!(err <= 1.01 * (k + 2) * U * mag)) throw new Error(`${tile} [${m}, ${n}, ${k}] C[${i}][${j}] = ${c[i * n + j]}, expected ${s}`);
          }
        }
      }
      if (k <= 512) expect(Array.from(got["4x8"]!)).toEqual(Array.from(got["5x8"]!));
    }
  });

  it("gemmTN (the weight-gradient product, A stored transposed) packs A with either tile: bit-identical at any K", () => {
    const next = rng(99);
    for (const [m, n, k] of [[13, 24, 40], [40, 17, 1600]] as [number, number, number][]) {
      const a = randomF32(k * m, next), b = randomF32(k * n, next);
      const got: Partial<Record<GemmTile, Float32Array>> = {};
      for (const tile of ["5x8", "4x8"] as const) {
        const { kernels: kn, heap } = rts[tile]!;
        const pa = heap.alloc(a.length * 4), pb = heap.alloc(b.length * 4), packed = heap.alloc(kn.packedSize(k, n) * 4), pc = heap.alloc(m * n * 4);
        heap.f32(pa, a.length).set(a);
        heap.f32(pb, b.length).set(b);
        kn.packB(pb, n, k, n, 0, packed);
        kn.gemmTN(m, n, k, pa, m, packed, pc, n, 0);
        const c = (got[tile] = heap.f32(pc, m * n).slice());
        for (const p of [pa, pb, packed, pc]) heap.release(p);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let s = 0, mag = 0;
            for (let kk = 0; kk < k; kk++) {
              s += a[kk * m + i] * b[kk * n + j];
              mag += Math.abs(a[kk * m + i] * b[kk * n + j]);
            }
            if (!(Math.abs(c[i * n + j] - s) <= 1.01 * (k + 2) * U * mag)) throw new Error(`${tile} TN [${m}, ${n}, ${k}] C[${i}][${j}] = ${c[i * n + j]}, expected ${s}`);
          }
        }
      }
      expect(Array.from(got["4x8"]!)).toEqual(Array.from(got["5x8"]!));
    }
  });
});

describe("tile choice", () => {
  it("init calibrates by default and backendInfo reports the tile, how it was chosen and the timings", async () => {
    await init();
    const info = backendInfo();
    expect(["5x8", "4x8"]).toContain(info.gemmTile);
    expect(info.gemmTileChosenBy).toBe("calibration");
    expect(info.gemmCalibration!["5x8"]).toBeGreaterThan(0);
    expect(info.gemmCalibration!["4x8"]).toBeGreaterThan(0);
    const winner = info.gemmCalibration!["4x8"] > 1.03 * info.gemmCalibration!["5x8"] ? "4x8" : "5x8";
    expect(info.gemmTile).toBe(winner);
  });

  it("a pinned tile is reported as chosen by option; without warm-up 'auto' takes 5x8 unmeasured; a bad value is E_VALUE", async () => {
    const pinned = await createRuntime({ gemmTile: "4x8", skipWarmup: true });
    expect([pinned.gemmTile, pinned.gemmTileChosenBy, pinned.kernels.gemmTile()]).toEqual(["4x8", "option", 1]);
    const cold = await createRuntime({ skipWarmup: true });
    expect([cold.gemmTile, cold.gemmTileChosenBy, cold.gemmCalibration]).toEqual(["5x8", "default", undefined]);
    let caught: unknown;
    try {
      await createRuntime({ gemmTile: "6x8" as never });
    } catch (e) {
      caught = e;
    }
    expectRecurError(() => {
      throw caught;
    }, "E_VALUE", "gemmTile");
  });
});
