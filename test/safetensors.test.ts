import { describe, expect, it } from "vitest";
import { RecurError } from "../src/errors.js";
import { readSafetensors, writeSafetensors } from "../src/io/safetensors.js";
import type { Tensor } from "../src/tensor.js";

// ---- helpers that build files straight from the spec, independent of the code under test ----

/** u64 LE header length, the header text padded with spaces to a multiple of 8, then the data. */
function file(header: string, data: ArrayLike<number> = [], pad = true): Uint8Array {
  const text = new TextEncoder().encode(header);
  const json = new Uint8Array(pad ? Math.ceil(text.length / 8) * 8 : text.length).fill(0x20);
  json.set(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Bytes of values written little-endian with a DataView setter. */
function le(size: number, set: (v: DataView, at: number, x: never) => void, values: unknown[]): number[] {
  const v = new DataView(new ArrayBuffer(size * values.length));
  values.forEach((x, i) => set(v, size * i, x as never));
  return Array.from(new Uint8Array(v.buffer));
}

const f32 = (...xs: number[]) => le(4, (v, at, x: number) => v.setFloat32(at, x, true), xs);

function expectCode(fn: () => unknown, code: string): RecurError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RecurError);
    expect((e as RecurError).code).toBe(code);
    return e as RecurError;
  }
  throw new Error(`expected RecurError ${code}, nothing was thrown`);
}

const bytesOf = (a: Float32Array) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

// ---- golden files ----

describe("golden files", () => {
  it("one tensor, no metadata: header padded from 65 to 72 bytes", () => {
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    const golden = [
      72, 0, 0, 0, 0, 0, 0, 0,
      ...Array.from(header, (c) => c.charCodeAt(0)), 32, 32, 32, 32, 32, 32, 32,
      0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64, // 0..5 as f32
    ];
    const t: Tensor = { shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
    expect(Array.from(writeSafetensors({ attn0: t }))).toEqual(golden);

    const back = readSafetensors(new Uint8Array(golden));
    expect(Object.keys(back.tensors)).toEqual(["attn0"]);
    expect(back.tensors.attn0.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(back.tensors.attn0.data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(back.metadata)).toEqual([]);
  });

  it("metadata first, tensors sorted by name, scalar shape", () => {
    const header =
      '{"__metadata__":{"format":"pt","recur":"1"},' +
      '"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    const data = [0, 0, 0xc0, 0x3f, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]; // 1.5, 1, -2
    const golden = file(header, data);
    expect(golden.length).toBe(8 + 152 + 12); // header is 150 chars, padded to 152
    const out = writeSafetensors(
      { b: { shape: [2], data: new Float32Array([1, -2]) }, a: { shape: [], data: new Float32Array([1.5]) } },
      { recur: "1", format: "pt" },
    );
    expect(Array.from(out)).toEqual(Array.from(golden));
    const back = readSafetensors(golden);
    expect({ ...back.metadata }).toEqual({ format: "pt", recur: "1" });
    expect(back.tensors.a).toEqual({ shape: [], data: new Float32Array([1.5]) });
    expect(back.tensors.b).toEqual({ shape: [2], data: new Float32Array([1, -2]) });
  });

  it("empty state dict is '{}' padded to 8", () => {
    expect(Array.from(writeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Object.keys(readSafetensors(writeSafetensors({})).tensors)).toEqual([]);
  });

  it("orders names by code point, not by JS object key order or UTF-16 units", () => {
    const one = (x: number): Tensor => ({ shape: [1], data: new Float32Array([x]) });
    const out = writeSafetensors({ "\u{1F600}": one(4), "\uFF01": one(3), a: one(2), "9": one(1), "10": one(0) }, {});
    const n = new DataView(out.buffer).getUint32(0, true);
    const header = new TextDecoder().decode(out.subarray(8, 8 + n)).trimEnd();
    const order = [...header.matchAll(/"([^"]+)":\{/g)].map((m) => m[1]);
    expect(order).toEqual(["__metadata__", "10", "9", "a", "\uFF01", "\u{1F600}"]);
    const back = readSafetensors(out);
    expect(Array.from(back.tensors["9"].data)).toEqual([1]);
    expect(Array.from(back.tensors["\u{1F600}"].data)).toEqual([4]);
  });
});

// ---- round trip and writer ----

describe("writeSafetensors / readSafetensors", () => {
  it("round-trips shapes, special values, views and metadata bit-exactly", () => {
    const big = new Float32Array(20).map((_, i) => i * 0.25 - 1);
    const tensors: Record<string, Tensor> = {
      "rnn.weight_ih_l0": { shape: [4, 3], data: new Float32Array([NaN, -0, Infinity, -Infinity, 1e-45, 3.4e38, 1 / 3, -7, 0, 1, 2, 3]) },
      "rnn.bias": { shape: [5], data: big.subarray(3, 8) }, // a view with a byteOffset
      empty: { shape: [0, 3], data: new Float32Array(0) },
      scalar: { shape: [], data: new Float32Array([42]) },
      "ünï.cödé": { shape: [1, 1], data: new Float32Array([0.5]) },
      __proto__x: { shape: [1], data: new Float32Array([9]) },
    };
    const metadata = { format: "pt", note: 'quotes " and \\ and\nnewline', "": "" };
    const out = writeSafetensors(tensors, metadata);
    const n = new DataView(out.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);

    // Read from a Uint8Array at an odd offset inside a larger buffer, and from an ArrayBuffer.
    const shifted = new Uint8Array(out.length + 3);
    shifted.set(out, 3);
    for (const input of [shifted.subarray(3), out.slice().buffer]) {
      const back = readSafetensors(input);
      expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
      for (const [name, t] of Object.entries(tensors)) {
        expect(back.tensors[name].shape).toEqual(t.shape);
        expect(back.tensors[name].data).toBeInstanceOf(Float32Array);
        expect(bytesOf(back.tensors[name].data)).toEqual(bytesOf(t.data));
      }
      expect({ ...back.metadata }).toEqual(metadata);
    }
  });

  it("a tensor named __proto__ is an ordinary key in the result", () => {
    const tensors = JSON.parse('{"__proto__": 0}');
    tensors["__proto__"] = { shape: [1], data: new Float32Array([5]) };
    const back = readSafetensors(writeSafetensors(tensors));
    expect(Object.keys(back.tensors)).toEqual(["__proto__"]);
    expect(Array.from(back.tensors["__proto__"].data)).toEqual([5]);
  });

  it("rejects bad input", () => {
    const ok: Tensor = { shape: [1], data: new Float32Array(1) };
    expectCode(() => writeSafetensors({ __metadata__: ok }), "E_KEY");
    expectCode(() => writeSafetensors({ w: { shape: [2], data: new Float32Array(3) } }), "E_SHAPE");
    expectCode(() => writeSafetensors({ w: { shape: [2], data: [1, 2] } as unknown as Tensor }), "E_TYPE");
    expectCode(() => writeSafetensors({ w: ok }, { k: 1 } as unknown as Record<string, string>), "E_TYPE");
    const e = expectCode(() => writeSafetensors({ "layer.0": { shape: [-1], data: new Float32Array(0) } }), "E_SHAPE");
    expect(e.message).toContain("layer.0");
  });
});

// ---- other dtypes ----

describe("dtype conversion", () => {
  const one = (dtype: string, shape: number[], data: number[]) =>
    readSafetensors(file(JSON.stringify({ t: { dtype, shape, data_offsets: [0, data.length] } }), data)).tensors.t;
  const u16 = (...xs: number[]) => le(2, (v, at, x: number) => v.setUint16(at, x, true), xs);

  it("F16, including subnormals, infinities and NaN", () => {
    const t = one("F16", [12], u16(0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x0000));
    const want = [1, -2, 0.333251953125, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, NaN, -0, 0];
    expect(t.shape).toEqual([12]);
    want.forEach((w, i) => expect(Object.is(t.data[i], w)).toBe(true));
  });

  it("BF16 as the top 16 bits of a float32", () => {
    const t = one("BF16", [2, 4], u16(0x3f80, 0xc040, 0x4049, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x8000));
    const want = [1, -3, 3.140625, Infinity, -Infinity, NaN, 2 ** -133, -0];
    expect(t.shape).toEqual([2, 4]);
    want.forEach((w, i) => expect(Object.is(t.data[i], w)).toBe(true));
  });

  it("F64 rounds to nearest float32, ties to even", () => {
    const bytes = le(8, (v, at, x: number) => v.setFloat64(at, x, true), [0.1, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 1e40, -1e-50, 2.5]);
    const t = one("F64", [6], bytes);
    expect(Array.from(t.data)).toEqual([0.10000000149011612, 1, 1 + 2 ** -22, Infinity, -0, 2.5]);
  });

  it("I64 (e.g. num_batches_tracked) and the other integer dtypes", () => {
    const i64 = le(8, (v, at, x: bigint) => v.setBigInt64(at, x, true), [0n, -1n, 1000n, 2n ** 40n, -(2n ** 62n)]);
    expect(Array.from(one("I64", [5], i64).data)).toEqual([0, -1, 1000, 2 ** 40, -(2 ** 62)]);
    const scalar = one("I64", [], le(8, (v, at, x: bigint) => v.setBigInt64(at, x, true), [12345n]));
    expect(scalar).toEqual({ shape: [], data: new Float32Array([12345]) });
    expect(Array.from(one("U64", [1], [255, 255, 255, 255, 255, 255, 255, 255]).data)).toEqual([2 ** 64]);
    expect(Array.from(one("I32", [2], [0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0]).data)).toEqual([-1, 7]);
    expect(Array.from(one("U32", [1], [0xff, 0xff, 0xff, 0xff]).data)).toEqual([4294967296]);
    expect(Array.from(one("I16", [2], [0x00, 0x80, 0x2c, 0x01]).data)).toEqual([-32768, 300]);
    expect(Array.from(one("U16", [1], [0xff, 0xff]).data)).toEqual([65535]);
    expect(Array.from(one("I8", [3], [0x80, 0xff, 5]).data)).toEqual([-128, -1, 5]);
    expect(Array.from(one("U8", [3], [0x80, 0xff, 5]).data)).toEqual([128, 255, 5]);
    expect(Array.from(one("BOOL", [3], [0, 1, 0]).data)).toEqual([0, 1, 0]);
  });

  it("mixed dtypes in one file", () => {
    const header = JSON.stringify({
      w: { dtype: "F16", shape: [2], data_offsets: [8, 12] },
      n: { dtype: "I64", shape: [], data_offsets: [0, 8] },
    });
    const back = readSafetensors(file(header, [3, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x3c, 0x00, 0x40]));
    expect(Array.from(back.tensors.n.data)).toEqual([3]);
    expect(Array.from(back.tensors.w.data)).toEqual([1, 2]);
  });

  it("unknown dtype is E_UNSUPPORTED naming tensor and dtype", () => {
    const e = expectCode(
      () => readSafetensors(file('{"enc.w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', [1, 2])),
      "E_UNSUPPORTED",
    );
    expect(e.message).toContain("enc.w");
    expect(e.message).toContain("F8_E4M3");
  });
});

describe("float64 and integer tensors kept exactly (keepTypes)", () => {
  it("writes F64, I32 and U32 by data type, byte for byte as the format says", () => {
    const bytes = writeSafetensors({
      a: { shape: [2], data: new Float64Array([0.1, -(2 ** -1074)]) },
      b: { shape: [2], data: new Int32Array([-1, 7]) },
      c: { shape: [1], data: new Uint32Array([0xfffffffe]) },
    });
    const header = '{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"I32","shape":[2],"data_offsets":[16,24]},"c":{"dtype":"U32","shape":[1],"data_offsets":[24,28]}}';
    const data = [
      ...le(8, (v, at, x: number) => v.setFloat64(at, x, true), [0.1, -(2 ** -1074)]),
      ...le(4, (v, at, x: number) => v.setInt32(at, x, true), [-1, 7]),
      ...le(4, (v, at, x: number) => v.setUint32(at, x, true), [0xfffffffe]),
    ];
    expect(Array.from(bytes)).toEqual(Array.from(file(header, data)));
  });

  it("reads them back exactly with keepTypes, as float32 without", () => {
    const bytes = writeSafetensors({ a: { shape: [3], data: new Float64Array([0.1, 1e300, -0]) }, i: { shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) }, u: { shape: [1], data: new Uint32Array([2 ** 32 - 1]) }, f: { shape: [1], data: new Float32Array([1.5]) } });
    const kept = readSafetensors(bytes, { keepTypes: true }).tensors;
    expect(kept.a.data).toBeInstanceOf(Float64Array);
    expect(Array.from(kept.a.data)).toEqual([0.1, 1e300, -0]);
    expect(kept.i.data).toEqual(new Int32Array([-(2 ** 31), 2 ** 31 - 1]));
    expect(kept.u.data).toEqual(new Uint32Array([2 ** 32 - 1]));
    expect(kept.f.data).toEqual(new Float32Array([1.5]));
    const plain = readSafetensors(bytes).tensors;
    expect(plain.a.data).toEqual(new Float32Array([0.1, Infinity, -0]));
    expect(plain.i.data).toBeInstanceOf(Float32Array);
  });

  it("rejects a shape that does not match the data", () => {
    expect(expectCode(() => writeSafetensors({ x: { shape: [3], data: new Float64Array(2) } }), "E_SHAPE").message).toContain('tensors["x"]');
  });
});

// ---- corrupt files ----

describe("corrupt files throw E_FORMAT", () => {
  const valid = writeSafetensors(
    { a: { shape: [2], data: new Float32Array([1, 2]) }, b: { shape: [3], data: new Float32Array([3, 4, 5]) } },
    { format: "pt" },
  );
  const headerLen = new DataView(valid.buffer).getUint32(0, true);
  const bad = (bytes: Uint8Array) => expectCode(() => readSafetensors(bytes), "E_FORMAT");
  const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
  const withHeader = (h: unknown, data: number[] = f32(1, 2)) => bad(file(JSON.stringify(h), data));

  it("the valid file reads", () => {
    expect(Object.keys(readSafetensors(valid).tensors).sort()).toEqual(["a", "b"]);
  });

  it("truncated anywhere", () => {
    for (const len of [0, 1, 7, 8, 9, 8 + headerLen - 1, 8 + headerLen, 8 + headerLen + 3, valid.length - 1]) {
      bad(valid.slice(0, len));
    }
  });

  it("trailing bytes after the last tensor", () => {
    const longer = new Uint8Array(valid.length + 4);
    longer.set(valid);
    bad(longer);
  });

  it("a file of another kind says it is not a .safetensors file", () => {
    const text = new TextEncoder().encode("hello, this is a text file and not a model\n");
    for (const bytes of [text, new Uint8Array(0), Uint8Array.of(1, 2, 3), new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0])]) {
      expect(() => readSafetensors(bytes)).toThrow(/^not a \.safetensors file \(/);
      bad(bytes);
    }
  });

  it("wrong header length", () => {
    const withLength = (lo: number, hi = 0) => {
      const b = valid.slice();
      new DataView(b.buffer).setUint32(0, lo, true);
      new DataView(b.buffer).setUint32(4, hi, true);
      return b;
    };
    for (const lo of [0, 1, headerLen - 8, headerLen - 1, headerLen + 8, valid.length, 0xffffffff]) bad(withLength(lo));
    expect(bad(withLength(0, 1)).message).toMatch(/limit/); // 2^32 bytes
    expect(bad(withLength(0xffffffff, 0xffffffff)).message).toMatch(/limit/);
    expect(bad(withLength(100_000_001)).message).toMatch(/limit/); // > 100 MB, checked before the file size
  });

  it("header not UTF-8 JSON object", () => {
    bad(file('{"a":'));
    bad(file("[]"));
    bad(file("null"));
    bad(file('"x"'));
    const utf8 = file('{"__metadata__":{"k":"\u00e9"}}');
    expect(readSafetensors(utf8).metadata.k).toBe("\u00e9");
    utf8[utf8.indexOf(0xc3) + 1] = 0xff; // break the two-byte UTF-8 sequence of é
    bad(utf8);
    bad(file("\uFEFF{}")); // byte order mark
  });

  it("entries missing or malformed", () => {
    withHeader({ a: { shape: [2], data_offsets: [0, 8] } });
    withHeader({ a: { dtype: "F32", data_offsets: [0, 8] } });
    withHeader({ a: { dtype: "F32", shape: [2] } });
    withHeader({ a: "F32" });
    withHeader({ a: entry(32, [2], [0, 8]) });
    withHeader({ a: entry("F32", [-2], [0, 8]) });
    withHeader({ a: entry("F32", [2.5], [0, 8]) });
    withHeader({ a: entry("F32", "2", [0, 8]) });
    withHeader({ a: entry("F32", [2], [0, 8, 8]) });
    withHeader({ a: entry("F32", [2], [8, 0]) });
    withHeader({ a: entry("F32", [2], ["0", "8"]) });
  });

  it("offsets not matching the shape, out of range, overlapping or leaving holes", () => {
    withHeader({ a: entry("F32", [3], [0, 8]) }); // 12 bytes needed
    withHeader({ a: entry("F32", [2], [0, 8]) }, f32(1)); // beyond the buffer
    withHeader({ a: entry("F32", [2], [4, 12]) }, f32(1, 2, 3)); // hole at the start
    const e = withHeader({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, f32(1, 2, 3));
    expect(e.message).toContain("overlaps");
    withHeader({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }, f32(1, 2, 3)); // hole
    withHeader({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [0, 4]) }, f32(1)); // same bytes twice
    withHeader({ a: entry("F32", [2 ** 40, 2 ** 40], [0, 8]) }); // absurd shape
  });

  it("bad metadata", () => {
    withHeader({ __metadata__: { format: 1 }, a: entry("F32", [2], [0, 8]) });
    withHeader({ __metadata__: ["pt"], a: entry("F32", [2], [0, 8]) });
    withHeader({ __metadata__: "pt", a: entry("F32", [2], [0, 8]) });
  });
});
