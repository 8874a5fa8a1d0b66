// GEMM kernels (gemm, gemmTN, packB, packBT) of both Wasm binaries against a float64 reference,
// and the public matmul.
//
// Tolerance: every input is an exact float32 and the reference sums the same values in float64,
// so the only error is the kernel's float32 accumulation of bias + sum_k a_ik b_kj (+ C when
// accumulating): at most k + 2 roundings, each bounded by u = 2^-24 times the magnitude of the
// partial sum, which is bounded by S_ij = |bias_j| + |C_ij| + sum_k |a_ik b_kj|. Hence
// |err_ij| <= (k + 2) u S_ij (to first order; the 1.01 factor covers the second), whether the
// binary fuses multiply-add or rounds twice. This is far tighter than a bound in max|a| max|b|,
// and it catches indexing errors of any size.
import { beforeAll, describe, expect, it } from "vitest";
import { RecurError } from "../src/errors.js";
import { type Backend, createRuntime, init, runtime, type Runtime } from "../src/runtime.js";
import { matmul } from "../src/ops.js";
import { tensor } from "../src/tensor.js";
import { rng } from "./helpers/random.js";
import { thrown } from "./helpers/errors.js";

const U = 2 ** -24;
const SIZES = [1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 257];

/** Float32 values in [-1, 1) with the occasional exact zero and large or tiny magnitude. */
function randomF32(n: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = r < 0.02 ? 0 : r < 0.04 ? (next() - 0.5) * 1000 : r < 0.06 ? (next() - 0.5) * 1e-3 : next() * 2 - 1;
  }
  return out;
}

interface Case {
  m: number;
  n: number;
  k: number;
  /** Extra floats at the end of each row of A (as stored) and C. */
  padA: number;
  padC: number;
  bias: boolean;
  accumulate: boolean;
  /** How B (or A for gemmTN) is stored and packed. */
  kind: "gemm/packB" | "gemm/packBT" | "gemmTN/packB";
}

interface Outcome {
  worst: number; // max over elements of |err| / ((k + 2) u S)
  failures: string[];
}

/**
 * Runs one case on `rt` and checks every element of C. A is stored m x k (k x m for gemmTN),
 * B is stored k x n (n x k for packBT, as PyTorch stores weights).
 */
function runCase(rt: Runtime, c: Case, seed: number): Outcome {
  const { m, n, k, padA, padC } = c;
  const next = rng(seed);
  const transA = c.kind === "gemmTN/packB";
  const transB = c.kind === "gemm/packBT";
  const lda = (transA ? m : k) + padA;
  const ldc = n + padC;
  const aRows = transA ? k : m;
  const a = randomF32(aRows * lda, next);
  const b = randomF32(k * n, next); // k x n, or n x k when transB
  const bias = c.bias ? randomF32(n, next) : new Float32Array(n);
  const c0 = randomF32(m * ldc, next);

  const A = (i: number, kk: number) => (transA ? a[kk * lda + i] : a[i * lda + kk]);
  const B = (kk: number, j: number) => (transB ? b[j * k + kk] : b[kk * n + j]);

  const { kernels: kn, heap } = rt;
  const pa = heap.alloc(Math.max(1, a.length) * 4);
  const pb = heap.alloc(Math.max(1, b.length) * 4);
  const pbias = heap.alloc(n * 4);
  const packed = heap.alloc(kn.packedSize(k, n) * 4);
  const pc = heap.alloc(Math.max(1, c0.length) * 4);
  try {
    heap.f32(pa, a.length).set(a);
    heap.f32(pb, b.length).set(b);
    heap.f32(pbias, n).set(bias);
    heap.f32(pc, c0.length).set(c0);
    if (transB) kn.packBT(pb, k, k, n, c.bias ? pbias : 0, packed);
    else kn.packB(pb, n, k, n, c.bias ? pbias : 0, packed);
    const fn = transA ? kn.gemmTN : kn.gemm;
    fn(m, n, k, pa, lda, packed, pc, ldc, c.accumulate ? 1 : 0);
    const got = heap.f32(pc, c0.length).slice();

    const failures: string[] = [];
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < ldc; j++) {
        const at = i * ldc + j;
        if (j >= n) {
          // Padding between rows of C is never written.
          if (!Object.is(got[at], c0[at])) failures.push(`C[${i}][${j}] (padding) changed`);
          continue;
        }
        let s = bias[j] + (c.accumulate ? c0[at] : 0);
        let mag = Math.abs(bias[j]) + (c.accumulate ? Math.abs(c0[at]) : 0);
        for (let kk = 0; kk < k; kk++) {
          const p = A(i, kk) * B(kk, j);
          s += p;
          mag += Math.abs(p);
        }
        const err = Math.abs(got[at] - s);
        const bound = 1.01 * (k + 2) * U * mag;
        if (!(err <= bound)) {
          if (failures.length < 5) failures.push(`C[${i}][${j}] = ${got[at]}, expected ${s} (err ${err}, bound ${bound})`);
          else if (failures.length === 5) failures.push("...");
        }
        if (mag > 0) worst = Math.max(worst, err / ((k + 2) * U * mag));
      }
    }
    return { worst, failures };
  } finally {
    for (const p of [pa, pb, pbias, packed, pc]) heap.release(p);
  }
}

// Every m x n pair over SIZES with k rotating through SIZES; then every k with awkward m, n.
function sweep(): [number, number, number][] {
  const out: [number, number, number][] = [];
  SIZES.forEach((m, i) => SIZES.forEach((n, j) => out.push([m, n, SIZES[(i + j) % SIZES.length]])));
  for (const k of SIZES) out.push([17, 9, k], [65, 63, k], [10, 24, k]);
  return out;
}

const BACKENDS: Backend[] = ["simd128", "relaxed"];

describe.each(BACKENDS)("GEMM kernels, %s binary", (backend) => {
  let rt: Runtime;
  beforeAll(async () => {
    // The 5x8 tile, so that taking the scratch away below compares it with the 4x8 fallback.
    rt = await createRuntime({ backend, gemmTile: "5x8" });
    expect(rt.backend).toBe(backend);
  });

  const kinds: Case["kind"][] = ["gemm/packB", "gemm/packBT", "gemmTN/packB"];
  it.each(kinds)("%s over awkward m, n, k (all pairs of 1..257, every k)", (kind) => {
    let worst = 0;
    let seed = 1;
    for (const [m, n, k] of sweep()) {
      // Alternate bias / accumulate / padded strides so every combination meets many shapes.
      const c: Case = { m, n, k, kind, bias: seed % 2 === 0, accumulate: seed % 3 === 0, padA: seed % 5 === 0 ? 3 : 0, padC: seed % 7 === 0 ? 5 : 0 };
      const r = runCase(rt, c, seed++);
      if (r.failures.length > 0) throw new Error(`${kind} ${JSON.stringify(c)}:\n${r.failures.join("\n")}`);
      worst = Math.max(worst, r.worst);
    }
    console.log(`${backend} ${kind}: worst error ${worst.toFixed(3)} of the (k+2)u bound`);
  });

  it("bias row, accumulate flag and padded lda/ldc in every combination", () => {
    let seed = 1000;
    for (const kind of kinds) {
      for (const bias of [false, true]) {
        for (const accumulate of [false, true]) {
          for (const [padA, padC] of [[0, 0], [1, 0], [0, 3], [17, 9]]) {
            for (const [m, n, k] of [[23, 21, 19], [5, 8, 1], [64, 64, 64], [4, 3, 2]]) {
              const c: Case = { m, n, k, kind, bias, accumulate, padA, padC };
              const r = runCase(rt, c, seed++);
              if (r.failures.length > 0) throw new Error(`${JSON.stringify(c)}:\n${r.failures.join("\n")}`);
            }
          }
        }
      }
    }
  });

  it("several packed row blocks, and a K too long for the scratch (unpacked fallback)", () => {
    let seed = 5000;
    for (const kind of kinds) {
      // 600 rows at k = 300: the scratch holds 43 five-row strips, so three row blocks.
      // k = 14000: one strip needs 280 kB, more than the scratch.
      for (const [m, n, k] of [[600, 24, 300], [7, 9, 14000]]) {
        const c: Case = { m, n, k, kind, bias: true, accumulate: seed % 2 === 0, padA: 1, padC: 2 };
        const r = runCase(rt, c, seed++);
        if (r.failures.length > 0) throw new Error(`${JSON.stringify(c)}:\n${r.failures.join("\n")}`);
      }
    }
  });

  it("k = 0 gives bias (+ C when accumulating)", () => {
    const { kernels: kn, heap } = rt;
    const n = 11;
    const m = 7;
    const pbias = heap.alloc(n * 4);
    const packed = heap.alloc(kn.packedSize(0, n) * 4);
    const pc = heap.alloc(m * n * 4);
    const bias = Float32Array.from({ length: n }, (_, j) => j - 5);
    heap.f32(pbias, n).set(bias);
    kn.packB(0, n, 0, n, pbias, packed);
    heap.f32(pc, m * n).fill(2);
    kn.gemm(m, n, 0, 0, 0, packed, pc, n, 1);
    expect(Array.from(heap.f32(pc, n))).toEqual(Array.from(bias, (v) => v + 2));
    kn.gemm(m, n, 0, 0, 0, packed, pc, n, 0);
    expect(Array.from(heap.f32(pc + (m - 1) * n * 4, n))).toEqual(Array.from(bias));
    for (const p of [pbias, packed, pc]) heap.release(p);
  });

  it("the packed-A path and the unpacked fallback give bit-identical results", () => {
    const { kernels: kn, heap } = rt;
    const next = rng(77);
    for (const [m, n, k] of [[37, 29, 33], [65, 64, 200], [10, 8, 1]]) {
      for (const trans of [false, true]) {
        const a = randomF32(m * k, next);
        const b = randomF32(k * n, next);
        const pa = heap.alloc(a.length * 4);
        const pb = heap.alloc(b.length * 4);
        const packed = heap.alloc(kn.packedSize(k, n) * 4);
        const pc = heap.alloc(m * n * 4);
        heap.f32(pa, a.length).set(a);
        heap.f32(pb, b.length).set(b);
        kn.packB(pb, n, k, n, pb, packed);
        const fn = trans ? kn.gemmTN : kn.gemm;
        const lda = trans ? m : k;
        heap.f32(pc, m * n).fill(1);
        fn(m, n, k, pa, lda, packed, pc, n, 1);
        const withScratch = heap.f32(pc, m * n).slice();
        // Take the scratch away: every row goes through the unpacked 4x8 / single-row kernels.
        const size = kn.gemmScratchSize();
        const scratch = heap.alloc(size);
        kn.setGemmScratch(0, 0);
        heap.f32(pc, m * n).fill(1);
        fn(m, n, k, pa, lda, packed, pc, n, 1);
        const without = heap.f32(pc, m * n).slice();
        kn.setGemmScratch(scratch, size); // (a fresh region: the old one stays reserved)
        expect(Array.from(without)).toEqual(Array.from(withScratch));
        for (const p of [pa, pb, packed, pc]) heap.release(p);
      }
    }
  });
});

describe("matmul (public, shared runtime)", () => {
  beforeAll(async () => {
    await init();
  });

  function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + kk] * b[kk * n + j];
    return out;
  }

  it.each([
    [1, 1, 1],
    [3, 7, 9],
    [17, 65, 16],
    [64, 63, 65],
    [257, 15, 8],
    [9, 257, 17],
  ])("[%i, %i] x [%i, ...] against float64", (m, k, n) => {
    const next = rng(m * 1000 + k * 10 + n);
    const a = randomF32(m * k, next);
    const b = randomF32(k * n, next);
    const c = matmul(tensor([m, k], a), tensor([k, n], b));
    expect(c.shape).toEqual([m, n]);
    const ref = reference(a, b, m, k, n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let mag = 0;
        for (let kk = 0; kk < k; kk++) mag += Math.abs(a[i * k + kk] * b[kk * n + j]);
        expect(Math.abs(c.data[i * n + j] - ref[i * n + j])).toBeLessThanOrEqual(1.01 * (k + 2) * U * mag);
      }
    }
  });

  it("out: writes the product into the given tensor and returns it, bit-identical to a fresh result", () => {
    const next = rng(77);
    // 300 rows: several row blocks of the blocked copy-in / copy-out.
    const [m, k, n] = [300, 33, 70];
    const a = tensor([m, k], randomF32(m * k, next));
    const b = tensor([k, n], randomF32(k * n, next));
    const fresh = matmul(a, b);
    const out = tensor([m, n], new Float32Array(m * n).fill(Number.NaN));
    expect(matmul(a, b, { out })).toBe(out);
    expect(out.data).toEqual(fresh.data);
    // Reused: the previous contents do not leak into the next product.
    const b2 = tensor([k, n], randomF32(k * n, next));
    matmul(a, b2, { out });
    expect(out.data).toEqual(matmul(a, b2).data);
  });

  it("out: wrong shape is E_SHAPE, overlap with an operand is E_VALUE, and nothing is written", () => {
    const a = tensor([4, 4], randomF32(16, rng(3)));
    const b = tensor([4, 4], randomF32(16, rng(4)));
    const wrong = tensor([4, 5]);
    let e = thrown(() => matmul(a, b, { out: wrong }));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/matmul: out must have shape \[4, 4\], got \[4, 5\]/);
    expect(Array.from(wrong.data).every((v) => v === 0)).toBe(true);
    const before = Array.from(a.data);
    e = thrown(() => matmul(a, b, { out: a }));
    expect(e.code).toBe("E_VALUE");
    expect(e.message).toMatch(/matmul: out must not overlap a/);
    const shared = new Float32Array(40);
    e = thrown(() => matmul(a, { shape: [4, 4], data: shared.subarray(0, 16) }, { out: { shape: [4, 4], data: shared.subarray(12, 28) } }));
    expect(e.message).toMatch(/matmul: out must not overlap b/);
    expect(Array.from(a.data)).toEqual(before);
    // Disjoint views of one buffer are fine.
    const c = matmul(a, { shape: [4, 4], data: shared.subarray(0, 16) }, { out: { shape: [4, 4], data: shared.subarray(16, 32) } });
    expect(c.data.byteOffset).toBe(64);
  });

  it("empty products: zero rows, zero columns, zero inner size", () => {
    expect(matmul(tensor([0, 3]), tensor([3, 4])).shape).toEqual([0, 4]);
    expect(matmul(tensor([2, 3]), tensor([3, 0])).shape).toEqual([2, 0]);
    const z = matmul(tensor([2, 0]), tensor([0, 3]));
    expect(z.shape).toEqual([2, 3]);
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("shape errors name the argument (E_SHAPE)", () => {
    let e = thrown(() => matmul(tensor([2, 3]), tensor([4, 2])));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/matmul: inner sizes differ: a is \[2, 3\], b is \[4, 2\]/);
    e = thrown(() => matmul(tensor([2, 3, 1]), tensor([3, 2])));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/matmul: a must have shape \[\*, \*\], got \[2, 3, 1\]/);
    e = thrown(() => matmul(tensor([2, 3]), tensor([3])));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/matmul: b must have shape/);
    e = thrown(() => matmul({ shape: [2, 2], data: new Float32Array(3) }, tensor([2, 2])));
    expect(e.code).toBe("E_SHAPE");
    expect(e.message).toMatch(/matmul: a: shape \[2, 2\] needs 4 elements, data has 3/);
  });

  it("type errors name the argument (E_TYPE)", () => {
    let e = thrown(() => matmul(tensor([2, 2]), { shape: [2, 2], data: new Float64Array(4) } as never));
    expect(e.code).toBe("E_TYPE");
    expect(e.message).toMatch(/matmul: b\.data must be a Float32Array, got Float64Array/);
    e = thrown(() => matmul(null as never, tensor([2, 2])));
    expect(e.code).toBe("E_TYPE");
    expect(e.message).toMatch(/matmul: a must be a tensor/);
    e = thrown(() => matmul([[1, 2]] as never, tensor([2, 2])));
    expect(e.code).toBe("E_TYPE");
    expect(e.message).toMatch(/matmul: a\.data must be a Float32Array, got undefined/);
  });

  it("releases its operands: heap use is unchanged after calls, even failing ones", () => {
    const { heap } = runtime();
    const before = heap.usedBytes;
    matmul(tensor([33, 20]), tensor([20, 17]));
    expect(() => matmul(tensor([2, 3]), tensor([4, 2]))).toThrow(RecurError);
    expect(heap.usedBytes).toBe(before);
  });
});
