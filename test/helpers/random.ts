import { createRng } from "../../src/random.js";
import type { Tensor } from "../../src/tensor.js";

/** A seeded random tensor with N(0, scale^2) entries. */
export function randn(shape: number[], seed: number, scale = 1): Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = scale * rng.normal();
  return { shape, data };
}

/** mulberry32: a tiny seeded generator of uniform [0, 1) numbers, so random cases reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
