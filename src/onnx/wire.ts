// The protobuf wire format, as onnx.proto's messages need it: varints, fixed-width scalars,
// length-delimited payloads and packed repeated fields, read field by field with bounds checks
// (proto.ts reads the messages themselves). Anything that does not parse is an E_FORMAT error.
import { fail } from "../errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Reads one message: fields in order, each with its number, wire type and payload bounds. */
const MAX_NESTING = 100;

export class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start: number, readonly end: number, readonly what: string, readonly depth = 0) {
    this.pos = start;
  }

  bad(why: string): never {
    fail("E_FORMAT", `loadOnnx: malformed file: ${why} in ${this.what} at byte ${this.pos}`);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  // Returns [lo, hi] 32-bit halves of a varint of up to 10 bytes.
  private varint64(): [number, number] {
    let lo = 0, hi = 0, shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.bad("truncated varint");
      const b = this.buf[this.pos++];
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    this.bad("varint longer than 10 bytes");
  }

  /** A varint as a JS number (int64 semantics: two's complement negatives; exact below 2^53). */
  int(): number {
    const [lo, hi] = this.varint64();
    return hi >= 0x80000000 ? (hi - 0x100000000) * 0x100000000 + lo : hi * 0x100000000 + lo;
  }

  bigint(): bigint {
    const [lo, hi] = this.varint64();
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  ubigint(): bigint {
    const [lo, hi] = this.varint64();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** The next field's number and wire type, or undefined at the end. */
  tag(): { field: number; wire: number } {
    const t = this.int();
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field < 1) this.bad(`field number ${field}`);
    return { field, wire };
  }

  bytes(): Uint8Array {
    const n = this.int();
    if (n < 0 || this.pos + n > this.end) this.bad(`length ${n} past the end of the message`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(what: string): Reader {
    const n = this.int();
    if (n < 0 || this.pos + n > this.end) this.bad(`length ${n} of ${what} past the end of the message`);
    // Graphs nest in attributes (If, Loop, Scan); a hostile file nesting them deeply would
    // overflow the stack of the recursive readers.
    if (this.depth >= MAX_NESTING) this.bad(`${what} nested deeper than ${MAX_NESTING} messages`);
    const r = new Reader(this.buf, this.pos, this.pos + n, what, this.depth + 1);
    this.pos += n;
    return r;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  float(): number {
    if (this.pos + 4 > this.end) this.bad("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.bad("truncated double");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.int();
        return;
      case 1:
        if (this.pos + 8 > this.end) this.bad("truncated fixed64");
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        if (this.pos + 4 > this.end) this.bad("truncated fixed32");
        this.pos += 4;
        return;
      default:
        this.bad(`wire type ${wire}`);
    }
  }

  expect(wire: number, want: number, field: number): void {
    if (wire !== want) this.bad(`field ${field} has wire type ${wire}, expected ${want}`);
  }

  /** A repeated scalar field, packed (wire 2) or not: calls `one` for every element. */
  repeated(wire: number, scalarWire: number, field: number, one: (r: Reader) => void): void {
    if (wire === 2) {
      const r = this.sub(`packed field ${field}`);
      while (!r.done) one(r);
    } else {
      this.expect(wire, scalarWire, field);
      one(this);
    }
  }
}
