/**
 * The safetensors format (https://github.com/huggingface/safetensors), as written by
 * `safetensors.torch.save_file(model.state_dict(), path, metadata)`:
 *
 *   [8 bytes: u64 little-endian N] [N bytes: UTF-8 JSON header] [byte buffer]
 *
 * The header maps each tensor name to `{ "dtype", "shape", "data_offsets": [begin, end] }`
 * (offsets relative to the start of the byte buffer; data little-endian, row-major) and may hold
 * `"__metadata__": { string: string }`. Pure TypeScript on Uint8Array/ArrayBuffer, no Node APIs.
 */
import { objectArgument } from "../validate.js";
import { fail } from "../errors.js";
import { checkTensor, numel, type Tensor } from "../tensor.js";
import { own, parseJson } from "./json.js";

/** Headers larger than this are rejected, as in the reference implementation. */
const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of each dtype this reader can convert to float32. */
const ITEM_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What `readSafetensors` returns. */
export interface SafetensorsContents {
  /** Every tensor, converted to float32, by name. */
  tensors: Record<string, Tensor>;
  /** The file's `__metadata__` strings. */
  metadata: Record<string, string>;
}

/**
 * A tensor as a file stores it: float32 (dtype F32), float64 (F64), int32 (I32) or uint32 (U32)
 * data, row-major. A `Tensor` is one.
 */
export interface StoredTensor {
  /** Sizes, outermost first. */
  shape: number[];
  /** The elements, row-major; the array type is the dtype. */
  data: Float32Array | Float64Array | Int32Array | Uint32Array;
}

/** Options of `readSafetensors`. */
export interface ReadSafetensorsOptions {
  /**
   * Keep F64, I32 and U32 tensors exactly, as Float64Array, Int32Array and Uint32Array data
   * (other dtypes still become float32). Default false: every tensor is float32.
   */
  keepTypes?: boolean;
}

const DTYPE_OF = [
  [Float32Array, "F32"],
  [Float64Array, "F64"],
  [Int32Array, "I32"],
  [Uint32Array, "U32"],
] as const;

/**
 * Parses a safetensors file. Every tensor is returned as a fresh float32 tensor:
 * F32 is copied; F64 is rounded to nearest float32; F16 and BF16 are widened exactly; integer
 * dtypes (I64, I32, I16, I8, U64, U32, U16, U8) are converted to the nearest float32, so values
 * beyond 2^24 in magnitude lose precision (e.g. a BatchNorm `num_batches_tracked` I64 counter);
 * BOOL becomes 0 or 1. Other dtypes (e.g. F8_E4M3) throw E_UNSUPPORTED. A malformed file throws
 * E_FORMAT. The returned records have no prototype, so any tensor name is safe as a key.
 */
export function readSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsContents;
export function readSafetensors(
  bytes: Uint8Array | ArrayBuffer,
  options: ReadSafetensorsOptions,
): {
  /** Every tensor by name, F64, I32 and U32 ones kept exactly with `keepTypes`. */
  tensors: Record<string, StoredTensor>;
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
};
export function readSafetensors(bytes: Uint8Array | ArrayBuffer, options: ReadSafetensorsOptions = {}): { tensors: Record<string, StoredTensor>; metadata: Record<string, string> } {
  objectArgument("readSafetensors", options);
  const keep = options.keepTypes === true;
  const buf = fileBytes("readSafetensors", bytes);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // A safetensors header is a JSON object right after its 8-byte length: anything else (a text
  // file, a PyTorch .pt zip, an ONNX protobuf) is named as what it is not, before any detail.
  if (buf.length < 9 || buf[8] !== 0x7b) {
    fail("E_FORMAT", `not a .safetensors file (${buf.length < 9 ? `${buf.length} bytes` : "no JSON header after the 8-byte length"})`);
  }
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_HEADER_BYTES) fail("E_FORMAT", `safetensors: header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + n > buf.length) fail("E_FORMAT", `safetensors: header length ${n} runs past the end of the ${buf.length}-byte file (truncated?)`);

  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, 8 + n));
  } catch (e) {
    fail("E_FORMAT", `safetensors: header is not valid UTF-8 (${(e as Error).message})`);
  }
  const header = parseJson("safetensors", "the header", text);
  if (!isPlainObject(header)) fail("E_FORMAT", `safetensors: header must be a JSON object, got ${describe(header)}`);

  const metadata: Record<string, string> = Object.create(null);
  const meta = own(header, "__metadata__");
  if (meta !== undefined && meta !== null) {
    if (!isPlainObject(meta)) fail("E_FORMAT", `safetensors: __metadata__ must be an object, got ${describe(meta)}`);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== "string") fail("E_FORMAT", `safetensors: __metadata__["${k}"] must be a string, got ${describe(v)}`);
      metadata[k] = v;
    }
  }

  interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const what = `safetensors: tensor "${name}"`;
    if (!isPlainObject(info)) fail("E_FORMAT", `${what}: entry must be an object, got ${describe(info)}`);
    const dtype = own(info, "dtype");
    const shape = own(info, "shape");
    const offsets = own(info, "data_offsets");
    if (typeof dtype !== "string") fail("E_FORMAT", `${what}: missing or non-string "dtype"`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      fail("E_FORMAT", `${what}: "shape" must be an array of non-negative integers, got ${showJson(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      fail("E_FORMAT", `${what}: "data_offsets" must be [begin, end] with 0 <= begin <= end, got ${showJson(offsets)}`);
    }
    const size = Object.hasOwn(ITEM_SIZE, dtype) ? ITEM_SIZE[dtype] : undefined;
    if (size === undefined) fail("E_UNSUPPORTED", `${what}: dtype ${dtype} is not supported`);
    const nbytes = numel(shape as number[]) * size;
    if (!Number.isSafeInteger(nbytes) || nbytes !== offsets[1] - offsets[0]) {
      fail("E_FORMAT", `${what}: ${dtype} shape [${shape.join(", ")}] needs ${nbytes} bytes, data_offsets [${offsets.join(", ")}] span ${offsets[1] - offsets[0]}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number });
  }

  // The tensors must tile the byte buffer exactly: no overlaps, no holes, nothing after the end.
  const dataStart = 8 + n;
  const dataLength = buf.length - dataStart;
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.begin !== pos) {
      const why = e.begin < pos ? "overlaps the previous tensor" : "leaves a gap after the previous tensor";
      fail("E_FORMAT", `safetensors: tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] ${why} (expected begin ${pos})`);
    }
    pos = e.end;
  }
  if (pos !== dataLength) {
    fail("E_FORMAT", `safetensors: tensors cover ${pos} bytes but the data buffer holds ${dataLength} (file truncated or has trailing bytes)`);
  }

  const tensors: Record<string, StoredTensor> = Object.create(null);
  for (const e of entries) {
    const at = dataStart + e.begin;
    const count = numel(e.shape);
    tensors[e.name] = { shape: e.shape, data: keep && e.dtype !== "F32" && e.dtype in EXACT ? EXACT[e.dtype](view, at, count) : decode(buf, view, at, count, e.dtype) };
  }
  return { tensors, metadata };
}

// Readers that keep a dtype exactly (readSafetensors with keepTypes).
const EXACT: Record<string, (view: DataView, at: number, count: number) => Float64Array | Int32Array | Uint32Array> = {
  F64: (view, at, count) => Float64Array.from({ length: count }, (_, i) => view.getFloat64(at + 8 * i, true)),
  I32: (view, at, count) => Int32Array.from({ length: count }, (_, i) => view.getInt32(at + 4 * i, true)),
  U32: (view, at, count) => Uint32Array.from({ length: count }, (_, i) => view.getUint32(at + 4 * i, true)),
};

/**
 * Serialises tensors and optional string metadata: Float32Array data as dtype F32, and
 * Float64Array, Int32Array, Uint32Array data as F64, I32, U32. The output matches the
 * reference writer: tensors in name order (code-point order, as Rust sorts strings), compact
 * JSON with `__metadata__` first (its keys sorted) when metadata is given, header padded with
 * spaces to a multiple of 8 bytes so every tensor's data is 8-byte aligned.
 */
export function writeSafetensors(tensors: Record<string, StoredTensor>, metadata?: Record<string, string>): Uint8Array {
  if (!isPlainObject(tensors)) fail("E_TYPE", `writeSafetensors: tensors must be an object of name -> tensor, got ${describe(tensors)}`);
  const names = Object.keys(tensors).sort(compareCodePoints);
  for (const name of names) {
    if (name === "__metadata__") fail("E_KEY", `writeSafetensors: "__metadata__" is reserved and cannot name a tensor`);
    checkStored(tensors[name], `tensors["${name}"]`);
  }

  // The JSON is assembled by hand: a JS object would move integer-like keys ("0", "1") first.
  const entries: string[] = [];
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) fail("E_TYPE", `writeSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
    const meta = Object.keys(metadata).sort(compareCodePoints).map((k) => {
      const v = metadata[k];
      if (typeof v !== "string") fail("E_TYPE", `writeSafetensors: metadata["${k}"] must be a string, got ${describe(v)}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    entries.push(`"__metadata__":{${meta.join(",")}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const end = offset + t.data.byteLength;
    entries.push(`${JSON.stringify(name)}:{"dtype":"${dtypeOf(t.data)}","shape":[${t.shape.join(",")}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }

  const json = new TextEncoder().encode(`{${entries.join(",")}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // high 32 bits stay 0
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const name of names) {
    const data = tensors[name].data;
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    } else {
      const size = data.BYTES_PER_ELEMENT;
      const set = data instanceof Float64Array ? view.setFloat64 : data instanceof Int32Array ? view.setInt32 : data instanceof Uint32Array ? view.setUint32 : view.setFloat32;
      for (let i = 0; i < data.length; i++) set.call(view, pos + size * i, data[i], true);
    }
    pos += data.byteLength;
  }
  return out;
}

function dtypeOf(data: StoredTensor["data"]): string {
  for (const [type, name] of DTYPE_OF) if (data instanceof type) return name;
  return "F32";
}

// Float32Array data goes through checkTensor; the other stored types get the same shape checks.
function checkStored(t: unknown, name: string): void {
  const data = (t as StoredTensor | null)?.data;
  if (!(data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint32Array)) {
    checkTensor(t, name);
    return;
  }
  const shape = (t as StoredTensor).shape;
  if (!Array.isArray(shape) || !shape.every(isCount) || numel(shape) !== data.length) {
    fail("E_SHAPE", `${name}: shape ${JSON.stringify(shape)} does not describe its ${data.length} elements`);
  }
}

/** Converts `count` little-endian elements of `dtype` starting at byte `at` to float32. */
function decode(buf: Uint8Array, view: DataView, at: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case "F32":
      if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(buf.subarray(at, at + 4 * count));
      else for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, true);
      break;
    case "F64": // assignment to a Float32Array rounds to nearest, ties to even
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(at + 8 * i, true);
      break;
    case "F16":
      for (let i = 0; i < count; i++) out[i] = halfToNumber(view.getUint16(at + 2 * i, true));
      break;
    case "BF16": { // bfloat16 is the top half of a float32
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(at + 2 * i, true) << 16;
      break;
    }
    case "I64":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(at + 8 * i, true));
      break;
    case "U64":
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigUint64(at + 8 * i, true));
      break;
    case "I32":
      for (let i = 0; i < count; i++) out[i] = view.getInt32(at + 4 * i, true);
      break;
    case "U32":
      for (let i = 0; i < count; i++) out[i] = view.getUint32(at + 4 * i, true);
      break;
    case "I16":
      for (let i = 0; i < count; i++) out[i] = view.getInt16(at + 2 * i, true);
      break;
    case "U16":
      for (let i = 0; i < count; i++) out[i] = view.getUint16(at + 2 * i, true);
      break;
    case "I8":
      for (let i = 0; i < count; i++) out[i] = view.getInt8(at + i);
      break;
    case "U8":
      for (let i = 0; i < count; i++) out[i] = buf[at + i];
      break;
    case "BOOL":
      for (let i = 0; i < count; i++) out[i] = buf[at + i] !== 0 ? 1 : 0;
      break;
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact; every half is representable in float32). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/**
 * The bytes of a file argument: a Uint8Array (Node's Buffer is one) or an ArrayBuffer; anything
 * else (null, a string, a Float32Array, a Promise not awaited) is E_TYPE.
 */
export function fileBytes(where: string, bytes: unknown): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  const got = bytes === null ? "null" : typeof bytes === "string" ? "a string" : bytes instanceof Promise ? "a Promise (await it first)" : typeof bytes === "object" ? `a ${(bytes as object).constructor?.name ?? "object"}` : typeof bytes;
  fail("E_TYPE", `${where}: the file must be a Uint8Array or an ArrayBuffer of its bytes, got ${got}`);
}

// A JSON value for a message, cut short (a hostile value may be huge).
function showJson(v: unknown): string {
  const s = Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null) ? "an array of non-numbers" : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function describe(x: unknown): string {
  return x === null ? "null" : Array.isArray(x) ? "array" : typeof x;
}

/** Orders strings by Unicode code point, i.e. by their UTF-8 bytes (JS `<` compares UTF-16 units). */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
