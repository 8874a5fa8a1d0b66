// Small products: the direct kernel on unpacked B (gemmDirect, m <= 8) of both binaries, the
// public matmul's paths (direct for m <= 8, packing above, a PackedMatrix), and packMatrix.
//
// Tolerance as in gemm.test.ts: every input is an exact float32 and the reference sums in float64,
// so |err_ij| <= (k + 2) u S_ij with S_ij = |bias_j| + |C_ij| + sum_k |a_ik b_kj|, whatever the
// order of the sum (matmul's direct path sums B in blocks of rows and adds the blocks).
import { beforeAll, describe, expect, it } from "vitest";
import { type Backend, createRuntime, init, runtime, type Runtime } from "../src/runtime.js";
import { matmul, matmulOn } from "../src/ops.js";
import { PackedMatrix, packMatrix, packMatrixOn } from "../src/packed-matrix.js";
import { tensor } from "../src/tensor.js";
import { rng } from "./helpers/random.js";
import { expectRecurError } from "./helpers/errors.js";

const U = 2 ** -24;

function randomF32(n: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = r < 0.03 ? 0 : r < 0.06 ? (next() - 0.5) * 1000 : next() * 2 - 1;
  }
  return out;
}

/**
 * Checks C [m][n] (row stride ldc) against (c0 when accumulating) + A B + bias in float64, A [m][k]
 * with row stride lda, B [k][n] with row stride ldb. Returns the first failures.
 */
function check(got: Float32Array, c0: Float32Array | undefined, a: Float32Array, lda: number, b: Float32Array, ldb: number, bias: Float32Array | undefined, m: number, n: number, k: number, ldc: number): string[] {
  const failures: string[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = (bias?.[j] ?? 0) + (c0?.[i * ldc + j] ?? 0);
      let mag = Math.abs(s);
      for (let kk = 0; kk < k; kk++) {
        const p = a[i * lda + kk] * b[kk * ldb + j];
        s += p;
        mag += Math.abs(p);
      }
      const err = Math.abs(got[i * ldc + j] - s);
      if (!(err <= 1.01 * (k + 2) * U * mag) && failures.length < 5) failures.push(`C[${i}][${j}] = ${got[i * ldc + j]}, expected ${s}`);
    }
  }
  return failures;
}

const BACKENDS: Backend[] = ["simd128", "relaxed"];

describe.each(BACKENDS)("gemmDirect (unpacked B), %s binary", (backend) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime({ backend });
  });

  it("every m from 1 to 8 (4x8, 2x16, 1x24, 1x8 tiles and the column tail) over awkward n, k, strides, accumulate", () => {
    const { kernels: kn, heap } = rt;
    let seed = 1;
    for (let m = 1; m <= 8; m++) {
      for (const n of [1, 7, 8, 9, 16, 17, 24, 25, 40, 47, 64, 100]) {
        for (const k of [0, 1, 2, 13, 64]) {
          const next = rng(seed++);
          const accumulate = seed % 2 === 0;
          const [lda, ldb, ldc] = [k + (seed % 3), n + (seed % 5 === 0 ? 4 : 0), n + (seed % 7 === 0 ? 3 : 0)];
          const a = randomF32(Math.max(1, m * lda), next);
          const b = randomF32(Math.max(1, k * ldb), next);
          const c0 = randomF32(m * ldc, next);
          const pa = heap.alloc(a.length * 4), pb = heap.alloc(b.length * 4), pc = heap.alloc(c0.length * 4);
          heap.f32(pa, a.length).set(a);
          heap.f32(pb, b.length).set(b);
          heap.f32(pc, c0.length).set(c0);
          kn.gemmDirect(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate ? 1 : 0);
          const got = heap.f32(pc, c0.length).slice();
          for (const p of [pa, pb, pc]) heap.release(p);
          const failures = check(got, accumulate ? c0 : undefined, a, lda, b, ldb, undefined, m, n, k, ldc);
          // Padding between rows of C is never written.
          for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) if (!Object.is(got[i * ldc + j], c0[i * ldc + j])) failures.push(`C[${i}][${j}] (padding) changed`);
          if (failures.length > 0) throw new Error(`m=${m} n=${n} k=${k} lda=${lda} ldb=${ldb} ldc=${ldc} accumulate=${accumulate}:\n${failures.join("\n")}`);
        }
      }
    }
  });

  it("matmulOn: m <= 8 with several blocks of B rows, and the packing path above 8 rows, against float64", () => {
    for (const [m, k, n] of [[1, 384, 1024], [3, 70, 600], [8, 33, 2000], [9, 40, 50], [1, 5000, 9]]) {
      const next = rng(m * 7 + k + n);
      const a = randomF32(m * k, next), b = randomF32(k * n, next);
      const c = matmulOn(rt, tensor([m, k], a), tensor([k, n], b));
      expect(c.shape).toEqual([m, n]);
      const failures = check(c.data, undefined, a, k, b, n, undefined, m, n, k, n);
      if (failures.length > 0) throw new Error(`[${m}, ${k}] x [${k}, ${n}]:\n${failures.join("\n")}`);
    }
  });

  it("packMatrixOn: [k, n], transposed [n, k] and with a bias, for m from 1 to 130", () => {
    const next = rng(99);
    const [k, n] = [37, 45];
    const b = randomF32(k * n, next);
    const bt = new Float32Array(k * n);
    for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) bt[j * k + kk] = b[kk * n + j];
    const bias = randomF32(n, next);
    const plain = packMatrixOn(rt, tensor([k, n], b));
    const transposed = packMatrixOn(rt, tensor([n, k], bt), { transpose: true, bias: tensor([n], bias) });
    expect(plain.shape).toEqual([k, n]);
    expect(transposed.shape).toEqual([k, n]);
    expect(transposed.hasBias).toBe(true);
    for (const m of [1, 4, 5, 8, 13, 130]) {
      const a = randomF32(m * k, next);
      const c1 = matmulOn(rt, tensor([m, k], a), plain);
      const c2 = matmulOn(rt, tensor([m, k], a), transposed);
      let failures = check(c1.data, undefined, a, k, b, n, undefined, m, n, k, n);
      failures = failures.concat(check(c2.data, undefined, a, k, b, n, bias, m, n, k, n));
      if (failures.length > 0) throw new Error(`m=${m}:\n${failures.join("\n")}`);
    }
    plain.dispose();
    transposed.dispose();
  });
});

describe("packMatrix (shared runtime)", () => {
  beforeAll(async () => {
    await init();
  });

  it("a packed operand gives the plain product's values; later changes to the source do not reach it", () => {
    const next = rng(5);
    const [m, k, n] = [6, 20, 33];
    const a = tensor([m, k], randomF32(m * k, next));
    const b = tensor([k, n], randomF32(k * n, next));
    const packed = packMatrix(b);
    const original = b.data.slice();
    b.data.fill(0);
    const got = matmul(a, packed);
    expect(check(got.data, undefined, a.data, k, original, n, undefined, m, n, k, n)).toEqual([]);
    // into `out`, as with a tensor operand
    const out = tensor([m, n]);
    expect(matmul(a, packed, { out })).toBe(out);
    expect(out.data).toEqual(got.data);
    packed.dispose();
  });

  it("holds Wasm memory until dispose; a disposed or foreign operand is E_STATE", async () => {
    const { heap } = runtime();
    const before = heap.usedBytes;
    const packed = packMatrix(tensor([16, 16]));
    expect(heap.usedBytes).toBeGreaterThan(before);
    const a = tensor([2, 16]);
    matmul(a, packed);
    expect(() => matmul(tensor([2, 3]), packed)).toThrow(/inner sizes differ/);
    packed.dispose();
    packed.dispose();
    expect(packed.isDisposed).toBe(true);
    expect(heap.usedBytes).toBe(before);
    expectRecurError(() => matmul(a, packed), "E_STATE", "disposed");
    const other = await createRuntime({ skipWarmup: true });
    const foreign = packMatrixOn(other, tensor([16, 4]));
    expectRecurError(() => matmul(a, foreign), "E_STATE", "another runtime");
    expect(foreign).toBeInstanceOf(PackedMatrix);
  });

  it("bad arguments are typed errors naming what was wrong, and leak nothing", () => {
    const { heap } = runtime();
    const before = heap.usedBytes;
    expectRecurError(() => packMatrix(tensor([3])), "E_SHAPE", "packMatrix: b must have shape [*, *]");
    expectRecurError(() => packMatrix(tensor([3, 4]), { bias: tensor([3]) }), "E_SHAPE", "packMatrix: bias must have shape [4]");
    expectRecurError(() => packMatrix(tensor([3, 4]), { transpose: true, bias: tensor([4]) }), "E_SHAPE", "packMatrix: bias must have shape [3]");
    expectRecurError(() => packMatrix(tensor([3, 4]), { transpose: 1 as never }), "E_VALUE", "transpose must be a boolean");
    expectRecurError(() => packMatrix(tensor([3, 4]), null as never), "E_TYPE", "packMatrix: options must be an object");
    expect(heap.usedBytes).toBe(before);
    const empty = packMatrix(tensor([0, 5]));
    expect(Array.from(matmul(tensor([2, 0]), empty).data)).toEqual(new Array(10).fill(0));
    empty.dispose();
    expect(heap.usedBytes).toBe(before);
  });
});
