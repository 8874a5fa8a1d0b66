/**
 * A small seeded pseudo-random number generator whose output is bit-identical on every JavaScript
 * engine and platform.
 *
 * - Core: xoshiro128** 1.1 (Blackman & Vigna), 32-bit state words, period 2^128 − 1. It uses only
 *   `Math.imul`, shifts and XORs, which ECMAScript specifies exactly.
 * - Seeding: the seed (any safe integer, negative allowed) is taken modulo 2^64 and expanded into
 *   the 128-bit state with SplitMix64, as the xoshiro authors recommend. Distinct seeds in
 *   [−2^53 + 1, 2^53 − 1] give distinct states.
 * - `next()` builds a double with 53 random bits from two 32-bit outputs (the same construction as
 *   MT19937's `genrand_res53`), so it is uniform on the grid k·2^−53 in [0, 1).
 * - `normal()` uses the Marsaglia polar method. The only transcendental it needs is a logarithm,
 *   and `Math.log` is implementation-approximated in ECMAScript (engines may differ in the last
 *   bit), so this module uses its own port of fdlibm's `__ieee754_log` written with plain IEEE-754
 *   arithmetic: normals are bit-identical across engines too (and equal to `Math.log`-based ones
 *   in V8, which uses the same fdlibm algorithm).
 */
import { show } from "./validate.js";
import { fail } from "./errors.js";

/** A seeded random generator (xoshiro128**): the same seed gives the same numbers everywhere. */
export interface Rng {
  /** Uniform double in [0, 1) with 53 random bits (consumes two 32-bit outputs). */
  next(): number;
  /** The raw 32-bit output of xoshiro128**, an integer in [0, 2^32). */
  nextUint32(): number;
  /** Standard normal N(0, 1) (Marsaglia polar method; the second value of each pair is cached). */
  normal(): number;
  /** Uniform double in [lo, hi): `lo + (hi − lo)·next()`. Requires finite lo <= hi. */
  uniform(lo: number, hi: number): number;
  /** Uniform integer in [0, n) without modulo bias (rejection sampling); n integer in [1, 2^32]. */
  int(n: number): number;
}

const TWO32 = 4294967296;
const TWO53 = 9007199254740992;
const MASK64 = (1n << 64n) - 1n;

function splitmix64(state: { s: bigint }): bigint {
  state.s = (state.s + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state.s;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/**
 * Creates a generator from an integer seed. The same seed always yields the same sequence, on
 * every platform. Throws RecurError "E_VALUE" if `seed` is not a safe integer.
 */
export function createRng(seed: number): Rng {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed)) {
    fail("E_VALUE", `createRng: seed must be a safe integer, got ${show(seed)}`);
  }
  const sm = { s: BigInt.asUintN(64, BigInt(seed)) };
  const a = splitmix64(sm);
  const b = splitmix64(sm);
  let s0 = Number(a & 0xffffffffn) >>> 0;
  let s1 = Number(a >> 32n) >>> 0;
  let s2 = Number(b & 0xffffffffn) >>> 0;
  let s3 = Number(b >> 32n) >>> 0;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point (never happens in practice)

  const nextUint32 = (): number => {
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r;
  };

  const next = (): number => {
    const hi = nextUint32() >>> 5; // 27 bits
    const lo = nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO53;
  };

  let spare = 0;
  let hasSpare = false;
  const normal = (): number => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * next() - 1;
      v = 2 * next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * log(s)) / s);
    spare = v * m;
    hasSpare = true;
    return u * m;
  };

  const uniform = (lo: number, hi: number): number => {
    if (typeof lo !== "number" || typeof hi !== "number" || !Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) {
      fail("E_VALUE", `Rng.uniform: need finite lo <= hi, got lo=${show(lo)}, hi=${show(hi)}`);
    }
    return lo + (hi - lo) * next();
  };

  const int = (n: number): number => {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > TWO32) {
      fail("E_VALUE", `Rng.int: n must be an integer in [1, 2^32], got ${show(n)}`);
    }
    const limit = TWO32 - (TWO32 % n); // largest multiple of n <= 2^32
    let x: number;
    do x = nextUint32();
    while (x >= limit);
    return x % n;
  };

  return { next, nextUint32, normal, uniform, int };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------------------------
// Deterministic natural logarithm: a port of fdlibm 5.3 e_log.c (__ieee754_log), < 1 ulp error.
// ---------------------------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Word order of a double in memory: detect once so the port works on any endianness.
const HI = (() => {
  f64[0] = 1; // 0x3ff00000_00000000
  return u32[1] === 0x3ff00000 ? 1 : 0;
})();
const LO = 1 - HI;

const ln2_hi = 6.93147180369123816490e-1;
const ln2_lo = 1.90821492927058770002e-10;
const two54 = 1.8014398509481984e16;
const Lg1 = 6.666666666666735130e-1;
const Lg2 = 3.999999999940941908e-1;
const Lg3 = 2.857142874366239149e-1;
const Lg4 = 2.222219843214978396e-1;
const Lg5 = 1.818357216161805012e-1;
const Lg6 = 1.531383769920937332e-1;
const Lg7 = 1.479819860511658591e-1;

/**
 * Natural logarithm computed with IEEE-754 basic operations only (fdlibm's algorithm), so the
 * result is the same on every engine. Special values follow `Math.log`.
 */
export function log(x: number): number {
  f64[0] = x;
  let hx = u32[HI] | 0;
  const lx = u32[LO];
  let k = 0;
  if (hx < 0x00100000) {
    // x < 2^-1022: zero, negative or subnormal
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= two54;
    f64[0] = x;
    hx = u32[HI] | 0;
  }
  if (hx >= 0x7ff00000) return x + x; // inf or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  let i = (hx + 0x95f64) & 0x100000;
  f64[0] = x;
  u32[HI] = hx | (i ^ 0x3ff00000); // normalise x or x/2
  x = f64[0];
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000fffff & (2 + hx)) < 3) {
    // |f| < 2^-20
    if (f === 0) {
      if (k === 0) return 0;
      const dk = k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    const R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k === 0) return f - R;
    const dk = k;
    return dk * ln2_hi - (R - dk * ln2_lo - f);
  }
  const s = f / (2.0 + f);
  const dk = k;
  const z = s * s;
  i = hx - 0x6147a;
  const w = z * z;
  const j = 0x6b851 - hx;
  const t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k === 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - (hfsq - (s * (hfsq + R) + dk * ln2_lo) - f);
  }
  if (k === 0) return f - s * (f - R);
  return dk * ln2_hi - (s * (f - R) - dk * ln2_lo - f);
}
