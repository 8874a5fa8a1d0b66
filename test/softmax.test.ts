// softmaxRows / logSoftmaxRows of both Wasm binaries against a float64 reference, with large
// magnitudes (+-1e30), -inf entries and NaN rows.
//
// Tolerances (u = 2^-24; E = 2e-7 bounds the relative error of the kernels' exp, measured
// <= 1.2e-7 by test/activations.test.ts through sigmoid):
// - softmax p_i = e_i / s: the argument x_i - m is rounded (u |x_i - m|, which exp turns into that
//   relative error), e_i carries E, the float32 sum s at most E + (cols - 1) u, the scaling two
//   roundings: |p - p_ref| <= (2E + (cols + 2) u + u |x_i - m|) p_ref, plus 4.4e-38 absolute since
//   exp flushes results below e^-86 to 0 (p_ref = 0 exactly, for -inf entries, must give 0).
// - log-softmax y_i = (x_i - m) - log(s): each subtraction rounds once (u times its magnitude), and
//   log(s) is off by about the relative error of s: |y - y_ref| <= 2u(|x_i - m| + |y_ref|) + E +
//   (cols + 2) u.
import { beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/runtime.js";
import { devRuntime, type DevRuntime } from "./helpers/dev-runtime.js";
import { rng } from "./helpers/random.js";

const U = 2 ** -24;
const E = 2e-7;

/** float64 softmax and log-softmax of one row (of float32 values). */
function reference(row: Float32Array): { p: Float64Array; logp: Float64Array; m: number } {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  if (row.some(Number.isNaN)) m = NaN;
  let s = 0;
  for (const v of row) s += Math.exp(v - m);
  const p = Float64Array.from(row, (v) => Math.exp(v - m) / s);
  const logp = Float64Array.from(row, (v) => v - m - Math.log(s));
  return { p, logp, m };
}

function run(rt: DevRuntime, fn: "softmaxRows" | "logSoftmaxRows", x: Float32Array, rows: number, cols: number, inPlace = false): Float32Array {
  const { kernels: k, heap } = rt;
  const px = heap.alloc(Math.max(1, x.length) * 4);
  const py = inPlace ? px : heap.alloc(Math.max(1, x.length) * 4);
  try {
    heap.f32(px, x.length).set(x);
    k[fn](px, py, rows, cols);
    return heap.f32(py, x.length).slice();
  } finally {
    heap.release(px);
    if (!inPlace) heap.release(py);
  }
}

function check(rt: DevRuntime, x: Float32Array, rows: number, cols: number, inPlace = false): { sm: number; lsm: number } {
  const p = run(rt, "softmaxRows", x, rows, cols, inPlace);
  const lp = run(rt, "logSoftmaxRows", x, rows, cols, inPlace);
  let sm = 0;
  let lsm = 0;
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const ref = reference(row);
    for (let j = 0; j < cols; j++) {
      const at = r * cols + j;
      const where = `row ${r} col ${j} (cols ${cols}, x = ${row[j]})`;
      if (Number.isNaN(ref.m)) {
        expect(p[at], `softmax ${where}`).toBeNaN();
        expect(lp[at], `log-softmax ${where}`).toBeNaN();
        continue;
      }
      const ep = Math.abs(p[at] - ref.p[j]);
      const boundP = ref.p[j] === 0 ? 0 : (2 * E + (cols + 2) * U + U * Math.abs(row[j] - ref.m)) * ref.p[j] + 4.4e-38;
      expect(ep, `softmax ${where}: ${p[at]} vs ${ref.p[j]}`).toBeLessThanOrEqual(boundP);
      if (ref.p[j] > 1e-30) sm = Math.max(sm, ep / ref.p[j]);
      if (ref.logp[j] === -Infinity) {
        expect(lp[at], `log-softmax ${where}`).toBe(-Infinity);
      } else {
        const el = Math.abs(lp[at] - ref.logp[j]);
        const boundL = 2 * U * (Math.abs(row[j] - ref.m) + Math.abs(ref.logp[j])) + E + (cols + 2) * U;
        expect(el, `log-softmax ${where}: ${lp[at]} vs ${ref.logp[j]}`).toBeLessThanOrEqual(boundL);
        lsm = Math.max(lsm, el);
      }
    }
  }
  return { sm, lsm };
}

const BACKENDS: Backend[] = ["simd128", "relaxed"];

describe.each(BACKENDS)("softmax / log-softmax, %s binary", (backend) => {
  let rt: DevRuntime;
  beforeAll(async () => {
    rt = await devRuntime(backend);
  });

  it("random rows, cols 1..17, 31, 64, 100, 257, scales 0.1..100", () => {
    const next = rng(3);
    let sm = 0;
    let lsm = 0;
    for (const cols of [...Array.from({ length: 17 }, (_, i) => i + 1), 31, 64, 100, 257]) {
      for (const scale of [0.1, 3, 100]) {
        const rows = 3;
        const x = Float32Array.from({ length: rows * cols }, () => (next() * 2 - 1) * scale);
        const r = check(rt, x, rows, cols);
        sm = Math.max(sm, r.sm);
        lsm = Math.max(lsm, r.lsm);
      }
    }
    console.log(`${backend}: softmax max relative error ${sm.toExponential(2)}, log-softmax max abs error ${lsm.toExponential(2)}`);
  });

  it("in place (x and y alias)", () => {
    const next = rng(4);
    for (const cols of [1, 5, 8, 13]) check(rt, Float32Array.from({ length: 2 * cols }, () => next() * 10 - 5), 2, cols, true);
  });

  it("large magnitudes (+-1e30): exact shares, and log(sum) is not lost next to |max|", () => {
    const x = new Float32Array([1e30, -1e30, 0, 1e30, -1e30, 1e30, 2e30, -3e30, 1e30]);
    const p = run(rt, "softmaxRows", x, 1, 9);
    expect(Array.from(p)).toEqual([0, 0, 0, 0, 0, 0, 1, 0, 0]);
    const two = new Float32Array([1e30, -1e30, 0, 1e30, 1e30, -1e30, -1e30]);
    expect(Array.from(run(rt, "softmaxRows", two, 1, 7))).toEqual([1 / 3, 0, 0, 1 / 3, 1 / 3, 0, 0].map(Math.fround));
    const lp = run(rt, "logSoftmaxRows", two, 1, 7);
    for (const j of [0, 3, 4]) expect(lp[j]).toBeCloseTo(-Math.log(3), 6);
    expect(lp[1]).toBe(Math.fround(-2e30));
    expect(lp[2]).toBe(Math.fround(-1e30));
    check(rt, two, 1, 7);
    check(rt, new Float32Array([-1e30, -1e30 * 1.0000001, -1e30, -1e30, -1e30]), 1, 5);
  });

  it("-inf entries give exactly 0 (softmax) and -inf (log-softmax), in the vector body and the tail", () => {
    for (const pos of [0, 3, 4, 6]) {
      const x = new Float32Array([0.5, -1, 2, 0, 1.5, 3, -2]);
      x[pos] = -Infinity;
      const p = run(rt, "softmaxRows", x, 1, 7);
      expect(Object.is(p[pos], 0), `softmax at ${pos}`).toBe(true);
      expect(run(rt, "logSoftmaxRows", x, 1, 7)[pos]).toBe(-Infinity);
      check(rt, x, 1, 7);
    }
  });

  it("a NaN anywhere makes its row NaN and leaves the other rows alone", () => {
    const cols = 7;
    for (const pos of [0, 2, 4, 6]) {
      const x = Float32Array.from({ length: 3 * cols }, (_, i) => Math.sin(i));
      x[cols + pos] = NaN;
      for (const fn of ["softmaxRows", "logSoftmaxRows"] as const) {
        const y = run(rt, fn, x, 3, cols);
        for (let j = 0; j < cols; j++) expect(y[cols + j], `${fn} NaN at ${pos}, col ${j}`).toBeNaN();
        for (const r of [0, 2]) for (let j = 0; j < cols; j++) expect(Number.isNaN(y[r * cols + j])).toBe(false);
      }
      check(rt, x, 3, cols);
    }
  });

  it("rows sum to 1 within (cols + 2) u", () => {
    const next = rng(9);
    for (const cols of [3, 16, 257]) {
      const x = Float32Array.from({ length: 4 * cols }, () => next() * 20 - 10);
      const p = run(rt, "softmaxRows", x, 4, cols);
      for (let r = 0; r < 4; r++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += p[r * cols + j];
        expect(Math.abs(s - 1)).toBeLessThanOrEqual(2 * E + (cols + 2) * U);
      }
    }
  });
});
