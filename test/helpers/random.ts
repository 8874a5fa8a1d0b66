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
