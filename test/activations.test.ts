// tanh / sigmoid / relu arrays of both Wasm binaries against float64 Math.tanh and 1/(1+exp(-x)):
// every 2^12-th float32 bit pattern (both signs, all exponents), a dense grid on [-20, 20], special
// values, and lengths 1..17 so the scalar tails after the 4-wide loop are covered.
import { beforeAll, describe, expect, it } from "vitest";
import type { Backend } from "../src/runtime.js";
import { devRuntime, type DevRuntime } from "./helpers/dev-runtime.js";

const TOL = 1e-6;

type Fn = "tanhArray" | "sigmoidArray" | "reluArray";
const reference: Record<Fn, (x: number) => number> = {
  tanhArray: Math.tanh,
  sigmoidArray: (x) => 1 / (1 + Math.exp(-x)),
  reluArray: (x) => (Number.isNaN(x) ? NaN : Math.max(x, 0)),
};

/** Every 2^12-th bit pattern from 0 to 2^32 - 2^12, NaNs included. */
function bitSweep(): Float32Array {
  const bits = new Uint32Array(2 ** 20);
  for (let i = 0; i < bits.length; i++) bits[i] = i * 2 ** 12;
  return new Float32Array(bits.buffer);
}

function denseGrid(): Float32Array {
  const n = 2 ** 21;
  return Float32Array.from({ length: n + 1 }, (_, i) => -20 + (40 * i) / n);
}

function apply(rt: DevRuntime, fn: Fn, x: Float32Array, inPlace = false): Float32Array {
  const { kernels: k, heap } = rt;
  const px = heap.alloc(x.length * 4);
  const py = inPlace ? px : heap.alloc(x.length * 4);
  try {
    heap.f32(px, x.length).set(x);
    k[fn](px, py, x.length);
    return heap.f32(py, x.length).slice();
  } finally {
    heap.release(px);
    if (!inPlace) heap.release(py);
  }
}

/** Max |y - f(x)| over non-NaN inputs; NaN inputs must give NaN. */
function maxError(fn: Fn, x: Float32Array, y: Float32Array): { err: number; at: number } {
  let err = 0;
  let at = NaN;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) {
      if (!Number.isNaN(y[i])) return { err: Infinity, at: x[i] };
      continue;
    }
    const e = Math.abs(y[i] - reference[fn](x[i]));
    if (!(e <= err)) {
      err = e;
      at = x[i];
    }
  }
  return { err, at };
}

const BACKENDS: Backend[] = ["simd128", "relaxed"];

describe.each(BACKENDS)("activations, %s binary", (backend) => {
  let rt: DevRuntime;
  beforeAll(async () => {
    rt = await devRuntime(backend);
  });

  it.each(["tanhArray", "sigmoidArray"] as const)("%s: max abs error <= 1e-6 over the float range and [-20, 20]", (fn) => {
    const sweep = bitSweep();
    const a = maxError(fn, sweep, apply(rt, fn, sweep));
    const grid = denseGrid();
    const b = maxError(fn, grid, apply(rt, fn, grid));
    console.log(`${backend} ${fn}: max abs error ${a.err.toExponential(2)} (bit sweep, at x = ${a.at}), ${b.err.toExponential(2)} (grid on [-20, 20], at x = ${b.at})`);
    expect(a.err).toBeLessThanOrEqual(TOL);
    expect(b.err).toBeLessThanOrEqual(TOL);
  });

  it("reluArray is exact over the float range (NaN stays NaN)", () => {
    const sweep = bitSweep();
    const y = apply(rt, "reluArray", sweep);
    const wrong: string[] = [];
    for (let i = 0; i < sweep.length; i++) {
      const x = sweep[i];
      // Zero may come out as -0 or +0 (both compare equal to 0).
      const ok = Number.isNaN(x) ? Number.isNaN(y[i]) : x > 0 ? y[i] === x : y[i] === 0;
      if (!ok && wrong.length < 5) wrong.push(`relu(${x}) = ${y[i]}`);
    }
    expect(wrong).toEqual([]);
  });

  // Placed at every index of a 17-element array, so each value goes through the vector body and
  // through the scalar tail.
  const specials: [string, number, Record<Fn, number>][] = [
    ["+0", 0, { tanhArray: 0, sigmoidArray: 0.5, reluArray: 0 }],
    ["-0", -0, { tanhArray: -0, sigmoidArray: 0.5, reluArray: 0 }],
    ["+inf", Infinity, { tanhArray: 1, sigmoidArray: 1, reluArray: Infinity }],
    ["-inf", -Infinity, { tanhArray: -1, sigmoidArray: 0, reluArray: 0 }],
    ["NaN", NaN, { tanhArray: NaN, sigmoidArray: NaN, reluArray: NaN }],
    ["max float", 3.4028234663852886e38, { tanhArray: 1, sigmoidArray: 1, reluArray: 3.4028234663852886e38 }],
    ["-max float", -3.4028234663852886e38, { tanhArray: -1, sigmoidArray: 0, reluArray: 0 }],
  ];
  it.each(specials)("special value %s in every position of the vector body and the tail", (_, x, expected) => {
    for (const fn of ["tanhArray", "sigmoidArray", "reluArray"] as const) {
      for (let pos = 0; pos < 17; pos++) {
        const input = new Float32Array(17).fill(0.25);
        input[pos] = x;
        const y = apply(rt, fn, input);
        const want = expected[fn];
        if (Number.isNaN(want)) expect(y[pos], `${fn} at ${pos}`).toBeNaN();
        else if (fn === "tanhArray") expect(Object.is(y[pos], want), `${fn}(${x}) = ${y[pos]} at ${pos}`).toBe(true);
        else expect(y[pos] === want, `${fn}(${x}) = ${y[pos]} at ${pos}`).toBe(true);
        for (let j = 0; j < 17; j++) if (j !== pos) expect(y[j]).toBeCloseTo(reference[fn](0.25), 6);
      }
    }
  });

  it("subnormal inputs: tanh(x) = x, sigmoid(x) = 0.5, relu(x) = max(x, 0) to within 1e-6", () => {
    const sub = new Float32Array([1e-45, -1e-45, 1.1754942e-38, -1.1754942e-38, 5e-40, -5e-40, 1.17549435e-38]);
    for (const fn of ["tanhArray", "sigmoidArray", "reluArray"] as const) {
      const y = apply(rt, fn, sub);
      sub.forEach((x, i) => expect(Math.abs(y[i] - reference[fn](x)), `${fn}(${x})`).toBeLessThanOrEqual(TOL));
    }
    // tanh is odd: the result keeps the input's sign, also where it flushes to a signed zero.
    const t = apply(rt, "tanhArray", sub);
    sub.forEach((x, i) => {
      const sameSign = t[i] === 0 ? Object.is(t[i], x < 0 ? -0 : 0) : Math.sign(t[i]) === Math.sign(x);
      expect(sameSign, `tanh(${x}) = ${t[i]}`).toBe(true);
    });
  });

  it("lengths 1..17 (vector body + scalar tail), separate output and in place", () => {
    for (const fn of ["tanhArray", "sigmoidArray", "reluArray"] as const) {
      for (let n = 1; n <= 17; n++) {
        const x = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.7);
        for (const inPlace of [false, true]) {
          const y = apply(rt, fn, x, inPlace);
          expect(y.length).toBe(n);
          x.forEach((v, i) => expect(Math.abs(y[i] - reference[fn](v)), `${fn} n=${n} i=${i} inPlace=${inPlace}`).toBeLessThanOrEqual(TOL));
        }
      }
    }
  });

  it("n = 0 touches nothing", () => {
    const { kernels: k, heap } = rt;
    const p = heap.alloc(64);
    heap.f32(p, 16).fill(7);
    for (const fn of ["tanhArray", "sigmoidArray", "reluArray"] as const) k[fn](p, p, 0);
    expect(Array.from(heap.f32(p, 16))).toEqual(new Array(16).fill(7));
    heap.release(p);
  });
});
