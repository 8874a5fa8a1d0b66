// Tensors inside the ONNX executor: a dtype, a shape and a typed array, row-major. int64 is a
// BigInt64Array and bool a Uint8Array (0 or 1), as onnxruntime's JavaScript API has them.
import { fail } from "../errors.js";
import type { ProtoTensor } from "./proto.js";

/** The element types the executor runs, by their ONNX names. */
export type DType = "float32" | "float64" | "int64" | "int32" | "int8" | "uint8" | "bool";

/** The typed array of each DType: int64 is a BigInt64Array, bool a Uint8Array of 0 and 1. */
export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** A tensor in the ONNX executor. `data` has exactly numel(shape) elements. */
export interface OnnxTensor {
  /** Element type. */
  dtype: DType;
  /** Sizes, outermost first ([] for a scalar). */
  shape: number[];
  /** The elements, row-major. */
  data: TypedData;
}

/** TensorProto.DataType codes this executor runs, and their names for error messages. */
const CODES: Record<number, DType> = { 1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 11: "float64" };
const NAMES: Record<number, string> = {
  0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
  9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16",
};

export const dtypeName = (code: number): string => NAMES[code] ?? `type ${code}`;

export function dtypeOf(code: number): DType | undefined {
  return CODES[code];
}

export function codeOf(dtype: DType): number {
  for (const [code, d] of Object.entries(CODES)) if (d === dtype) return Number(code);
  return 0;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  // An index loop: for-of makes an iterator wherever V8 does not inline this function.
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/** Product of shape[from..to): sizes before / after an axis without slicing. */
export function span(shape: readonly number[], from: number, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}

export function alloc(dtype: DType, n: number): TypedData {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "int32":
      return new Int32Array(n);
    case "int8":
      return new Int8Array(n);
    case "uint8":
    case "bool":
      return new Uint8Array(n);
  }
}

/**
 * `v` reshaped to `shape` when its dtype and size already fit (the shape array is updated in
 * place), a new tensor otherwise: an op's outputs are reused call after call once warm.
 */
export function ensure(v: OnnxTensor | undefined, dtype: DType, shape: readonly number[]): OnnxTensor {
  const n = numel(shape);
  if (v !== undefined && v.dtype === dtype && v.data.length === n) {
    setShape(v, shape);
    return v;
  }
  // Capacity grows to the largest size seen: a smaller request reuses a prefix view.
  if (v !== undefined && v.dtype === dtype && capacity(v) >= n) {
    v.data = view(v, n);
    setShape(v, shape);
    return v;
  }
  const data = alloc(dtype, n);
  const out: OnnxTensor = { dtype, shape: [...shape], data };
  buffers.set(out, data);
  owners.set(data, out);
  return out;
}

// The largest buffer each reused tensor has owned, so that it can shrink and grow back for free.
const buffers = new WeakMap<OnnxTensor, TypedData>();
// The tensor made by `ensure` that holds each such buffer (views pass it on under other shapes).
const owners = new WeakMap<TypedData, OnnxTensor>();

function capacity(v: OnnxTensor): number {
  return buffers.get(v)?.length ?? v.data.length;
}

function view(v: OnnxTensor, n: number): TypedData {
  const full = buffers.get(v)!;
  return full.subarray(0, n) as TypedData;
}

/**
 * Gives an op-owned output tensor (made by `ensure`, holding its whole buffer; or a view of one)
 * another array of the same type and length, and returns the array it held: the streaming helper
 * trades the state outputs for its own state arrays this way instead of copying. The op writes
 * its next result into the new array (ops take their output arrays from their tensors on every
 * run). false when `v` holds no op's array (a feed, a constant) or the arrays do not match.
 */
export function trade(v: OnnxTensor, data: TypedData): TypedData | false {
  // v itself, or the op output it views (Identity, Reshape, an If branch's result share arrays).
  const owner = buffers.has(v) ? v : owners.get(v.data);
  if (owner === undefined) return false;
  const full = buffers.get(owner);
  if (full === undefined || full !== owner.data || full !== v.data || data === full || data.length !== full.length || data.constructor !== full.constructor) return false;
  owner.data = data;
  buffers.set(owner, data);
  owners.delete(full);
  owners.set(data, owner);
  v.data = data;
  return full;
}

export function setShape(v: OnnxTensor, shape: readonly number[]): void {
  if (v.shape === shape) return;
  v.shape.length = shape.length;
  for (let i = 0; i < shape.length; i++) v.shape[i] = shape[i];
}

/** An int64 / int32 tensor's values as JS numbers (shapes, axes, indices). */
export function toNumbers(t: OnnxTensor, what: string): number[] {
  const out: number[] = [];
  const d = t.data;
  if (d instanceof BigInt64Array) for (let i = 0; i < d.length; i++) out.push(clampBig(d[i]));
  else if (d instanceof Int32Array || d instanceof Int8Array || d instanceof Uint8Array) for (let i = 0; i < d.length; i++) out.push(d[i]);
  else fail("E_TYPE", `${what} must be an integer tensor, got ${t.dtype}`);
  return out;
}

// int64 elements read and written through an Int32Array view of the same bytes (little-endian
// words): reading a BigInt64Array element makes a new BigInt on the heap, which would allocate
// on every shape computation. Values are exact up to 2^53 in magnitude.
const wordViews = new WeakMap<BigInt64Array, Int32Array>();

export function words(d: BigInt64Array): Int32Array {
  let w = wordViews.get(d);
  if (w === undefined) {
    w = new Int32Array(d.buffer, d.byteOffset, d.length * 2);
    wordViews.set(d, w);
  }
  return w;
}

export function getInt64(d: BigInt64Array, i: number): number {
  const w = words(d);
  const hi = w[2 * i + 1], lo = w[2 * i] >>> 0;
  if (hi > 0x1fffff) return Number.MAX_SAFE_INTEGER;
  if (hi < -0x200000) return Number.MIN_SAFE_INTEGER;
  return hi * 4294967296 + lo;
}

export function setInt64(d: BigInt64Array, i: number, v: number): void {
  const w = words(d);
  if (v >= -2147483648 && v <= 2147483647) {
    w[2 * i] = v | 0;
    w[2 * i + 1] = v < 0 ? -1 : 0;
  } else {
    const hi = Math.floor(v / 4294967296);
    w[2 * i] = (v - hi * 4294967296) | 0;
    w[2 * i + 1] = hi | 0;
  }
}

// Copies move bits, not numbers: every element type is read through an Int32Array (4- and
// 8-byte elements) or a byte array view of its buffer. Loads from those are small integers, never
// boxed; a float load in a loop V8 sees with several array types (megamorphic) would allocate a
// heap number per element.
const bitViews = new WeakMap<TypedData, Int32Array>();

/** The Int32Array over the same bytes as a 4- or 8-byte-element array (cached per array). */
export function bits(d: TypedData): Int32Array {
  if (d instanceof Int32Array) return d;
  let w = bitViews.get(d);
  if (w === undefined) {
    w = new Int32Array(d.buffer, d.byteOffset, (d.length * d.BYTES_PER_ELEMENT) >> 2);
    bitViews.set(d, w);
  }
  return w;
}

/** Words (int32) per element: 2 for int64 and float64, 1 for float32 and int32, 0 for bytes. */
export function wordsPer(d: TypedData): number {
  return d.BYTES_PER_ELEMENT >> 2;
}

// Views on part of an array, kept per array and start (ops read the same ranges of the same
// arrays call after call): TypedArray.set is a memcpy, an element loop is ~50x slower.
const rangeViews = new WeakMap<TypedData, Map<number, TypedData>>();

function rangeView(src: TypedData, at: number, n: number): TypedData {
  let byStart = rangeViews.get(src);
  if (byStart === undefined) {
    byStart = new Map();
    rangeViews.set(src, byStart);
  }
  let v = byStart.get(at);
  if (v === undefined || v.length !== n) {
    v = src.subarray(at, at + n) as TypedData;
    byStart.set(at, v);
  }
  return v;
}

/** Copies n elements from src[srcAt..] to dst[dstAt..] (same element type). */
export function copyElems(dst: TypedData, dstAt: number, src: TypedData, srcAt: number, n: number): void {
  if (n >= 32 && dst.constructor === src.constructor) {
    (dst as Float32Array).set((srcAt === 0 && n === src.length ? src : rangeView(src, srcAt, n)) as Float32Array, dstAt);
    return;
  }
  const w = wordsPer(dst);
  if (w === 0) copyBytes(dst as Uint8Array, dstAt, src as Uint8Array, srcAt, n);
  else copyWords(bits(dst), dstAt * w, bits(src), srcAt * w, n * w);
}

function copyWords(d: Int32Array, dAt: number, s: Int32Array, sAt: number, n: number): void {
  for (let i = 0; i < n; i++) d[dAt + i] = s[sAt + i];
}

function copyBytes(d: Uint8Array | Int8Array, dAt: number, s: Uint8Array | Int8Array, sAt: number, n: number): void {
  for (let i = 0; i < n; i++) d[dAt + i] = s[sAt + i];
}

// For each index map, its runs of at least 32 consecutive indices as [outAt, srcAt, length]
// triples, or null when such runs cover less than half the map (computed once per map). The
// elements between runs are gathered one by one: a reflect Pad's mirrored margins around a
// frame copied as one block.
const runsOf = new WeakMap<Int32Array, Int32Array | null>();
const LONG_RUN = 32;

function mapRuns(map: Int32Array): Int32Array | null {
  let runs = runsOf.get(map);
  if (runs !== undefined) return runs;
  const found: number[] = [];
  let covered = 0;
  for (let i = 0; i < map.length; ) {
    let j = i + 1;
    while (j < map.length && map[j] === map[j - 1] + 1) j++;
    if (j - i >= LONG_RUN) {
      found.push(i, map[i], j - i);
      covered += j - i;
    }
    i = j;
  }
  runs = covered * 2 >= map.length ? Int32Array.from(found) : null;
  runsOf.set(map, runs);
  return runs;
}

/** out[i] = src[map[i]] for every i (same element type), as bits or block copies of runs. */
export function gatherElems(out: TypedData, src: TypedData, map: Int32Array): void {
  const runs = mapRuns(map);
  if (runs === null) {
    gatherRange(out, src, map, 0, map.length);
    return;
  }
  let at = 0;
  for (let r = 0; r < runs.length; r += 3) {
    if (runs[r] > at) gatherRange(out, src, map, at, runs[r]);
    copyElems(out, runs[r], src, runs[r + 1], runs[r + 2]);
    at = runs[r] + runs[r + 2];
  }
  if (at < map.length) gatherRange(out, src, map, at, map.length);
}

function gatherRange(out: TypedData, src: TypedData, map: Int32Array, from: number, to: number): void {
  const w = wordsPer(out);
  if (w === 0) {
    const o = out as Uint8Array, s = src as Uint8Array;
    for (let i = from; i < to; i++) o[i] = s[map[i]];
  } else if (w === 1) {
    const o = bits(out), s = bits(src);
    for (let i = from; i < to; i++) o[i] = s[map[i]];
  } else {
    const o = bits(out), s = bits(src);
    for (let i = from; i < to; i++) {
      o[2 * i] = s[2 * map[i]];
      o[2 * i + 1] = s[2 * map[i] + 1];
    }
  }
}

/** toNumbers into a reused array (no allocation once it is long enough). */
export function readInts(t: OnnxTensor, out: number[], what: string): number[] {
  const d = t.data;
  out.length = d.length;
  if (d instanceof BigInt64Array) for (let i = 0; i < d.length; i++) out[i] = getInt64(d, i);
  else if (d instanceof Int32Array || d instanceof Int8Array || d instanceof Uint8Array) for (let i = 0; i < d.length; i++) out[i] = d[i];
  else fail("E_TYPE", `${what} must be an integer tensor, got ${t.dtype}`);
  return out;
}

/** A bigint as a number, int64 extremes mapped to +-Infinity-like sentinels that stay exact enough. */
export function clampBig(v: bigint): number {
  if (v > 9007199254740991n) return Number.MAX_SAFE_INTEGER;
  if (v < -9007199254740991n) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/**
 * Decodes an initializer or attribute tensor. `external` reads the bytes of an external-data
 * tensor (location, offset, length).
 */
export function decodeTensor(t: ProtoTensor, where: string, external?: (entries: Record<string, string>, name: string) => Uint8Array): OnnxTensor {
  const dtype = dtypeOf(t.dataType);
  if (dtype === undefined) fail("E_UNSUPPORTED", `${where}: tensor "${t.name}" has data type ${dtypeName(t.dataType)}, which recur's ONNX executor does not run`);
  for (const d of t.dims) if (!Number.isInteger(d) || d < 0) fail("E_FORMAT", `loadOnnx: malformed file: ${where}: tensor "${t.name}" has dimension ${d}`);
  const n = numel(t.dims);
  let raw = t.raw;
  if (t.external !== undefined) {
    if (external === undefined) fail("E_VALUE", `${where}: tensor "${t.name}" keeps its data in an external file "${t.external.location ?? ""}": pass options.externalData`);
    raw = external(t.external, t.name);
  }
  const bytesPer = BYTES[dtype];
  // Sizes are checked against the data present before anything is allocated: a hostile file
  // cannot make the loader reserve memory it does not back with bytes.
  const have = raw !== undefined ? raw.length / bytesPer : (dtype === "float32" ? t.floats : dtype === "float64" ? t.doubles : dtype === "int64" ? t.int64s : t.int32s)?.length ?? 0;
  if (have !== n) fail("E_FORMAT", `loadOnnx: malformed file: ${where}: tensor "${t.name}" [${t.dims.join(", ")}] ${dtype} needs ${n} values, the file has ${have}`);
  const out = alloc(dtype, n);
  if (raw !== undefined) {
    if (raw.length !== n * bytesPer) fail("E_FORMAT", `loadOnnx: malformed file: ${where}: tensor "${t.name}" [${t.dims.join(", ")}] ${dtype} needs ${n * bytesPer} bytes of raw data, has ${raw.length}`);
    // Copy through a byte view: raw data need not be aligned for the element type.
    new Uint8Array(out.buffer, out.byteOffset, n * bytesPer).set(raw);
    if (!littleEndian) fail("E_UNSUPPORTED", "loadOnnx: big-endian hosts are not supported");
    return { dtype, shape: [...t.dims], data: out };
  }
  const src: ArrayLike<number | bigint> | undefined =
    dtype === "float32" ? t.floats : dtype === "float64" ? t.doubles : dtype === "int64" ? t.int64s : t.int32s;
  for (let i = 0; i < n; i++) (out as unknown as Record<number, number | bigint>)[i] = src![i];
  return { dtype, shape: [...t.dims], data: out };
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1 };

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function scalarNumber(t: OnnxTensor, i = 0): number {
  const d = t.data;
  return d instanceof BigInt64Array ? getInt64(d, i) : d[i];
}

export function describe(t: OnnxTensor): string {
  return `${t.dtype} [${t.shape.join(", ")}]`;
}
