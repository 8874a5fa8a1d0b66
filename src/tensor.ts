import { fail } from "./errors.js";
import { checkElements } from "./memory.js";
import { show } from "./validate.js";

/** A dense row-major float32 tensor: the last index varies fastest. */
export interface Tensor {
  /** Size of each dimension, outermost first. */
  shape: number[];
  /** The values, row-major; its length is the product of `shape`. */
  data: Float32Array;
}

/** Number of elements of a tensor of this shape (the product of its dimensions). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(shape: readonly number[], name: string): void {
  if (!Array.isArray(shape)) fail("E_TYPE", `${name}.shape must be an array of sizes, got ${typeof shape}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      fail("E_SHAPE", `${name}.shape must hold non-negative integers, got ${show(shape)}`);
    }
  }
}

/** A new tensor of the given shape, filled with `data` (copied) or zeros. */
export function tensor(shape: readonly number[], data?: ArrayLike<number>): Tensor {
  checkShape(shape, "tensor");
  const n = checkElements("tensor", `shape [${shape.join(", ")}]`, numel(shape));
  if (data !== undefined && (typeof data !== "object" || data === null || typeof data.length !== "number")) fail("E_TYPE", `tensor: data must be an array of numbers, got ${show(data)}`);
  if (data !== undefined && data.length !== n) {
    fail("E_SHAPE", `tensor: data has ${data.length} elements, shape [${shape.join(", ")}] needs ${n}`);
  }
  const out = new Float32Array(n);
  if (data !== undefined) out.set(data);
  return { shape: [...shape], data: out };
}

/** A tensor of this shape filled with zeros. */
export function zeros(shape: readonly number[]): Tensor {
  return tensor(shape);
}

const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;

/**
 * A new Float32Array whose contents are undefined, for a result that is about to be overwritten
 * whole. In Node a large one skips the zero-fill (Buffer.allocUnsafeSlow: its own ArrayBuffer,
 * not the pool's), ~0.4 ms per 3 MB of forward() output; elsewhere it is `new Float32Array(n)`.
 */
export function uninitializedF32(n: number): Float32Array {
  checkElements("recur", "a result", n);
  if (NodeBuffer === undefined || n < 1 << 16) return new Float32Array(n);
  return new Float32Array(NodeBuffer.allocUnsafeSlow(n * 4).buffer as ArrayBuffer, 0, n);
}

/**
 * Checks that `t` is a well-formed tensor and, when `expected` is given, that its shape matches
 * (`-1` in `expected` accepts any size). Returns `t` typed.
 */
export function checkTensor(t: unknown, name: string, expected?: readonly number[]): Tensor {
  if (typeof t !== "object" || t === null) fail("E_TYPE", `${name} must be a tensor { shape, data }, got ${t === null ? "null" : typeof t}`);
  const { shape, data } = t as Partial<Tensor>;
  if (!(data instanceof Float32Array)) {
    const got = data === undefined ? "undefined" : (data as object)?.constructor?.name ?? typeof data;
    fail("E_TYPE", `${name}.data must be a Float32Array, got ${got}`);
  }
  checkShape(shape as number[], name);
  const s = shape as number[];
  if (numel(s) !== data.length) {
    fail("E_SHAPE", `${name}: shape [${s.join(", ")}] needs ${numel(s)} elements, data has ${data.length}`);
  }
  if (expected !== undefined) {
    const ok = expected.length === s.length && expected.every((d, i) => d === -1 || d === s[i]);
    if (!ok) {
      const want = expected.map((d) => (d === -1 ? "*" : String(d))).join(", ");
      fail("E_SHAPE", `${name} must have shape [${want}], got [${s.join(", ")}]`);
    }
  }
  return t as Tensor;
}
