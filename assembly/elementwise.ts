// Element-wise float32 operators of the ONNX executor over whole arrays, four lanes at a time:
//   unaryF32:  y = op(x)        op 0 Relu, 1 Sqrt, 2 Neg, 3 Log, 4 x*x (Pow 2)
//   binaryF32: y = a op b       op 0 Add, 1 Sub, 2 Mul, 3 Div (a scalar side is broadcast by
//                               the caller, which fills its block)
// Whole vectors only: the caller's blocks hold n rounded up to a multiple of 4 floats, and the
// lanes past n are computed and ignored (one loop, no scalar tail: the kernels stay small).
// Add, Sub, Mul, Div, Sqrt, Neg and x*x are IEEE float32 operations, so they give what the
// TypeScript loops give (a double result of float32 inputs rounded to float32 is the float32
// result for these). Log is accurate to about one ulp:
//   x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), s = f / (2 + f),
//   log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)),  R a degree-4 polynomial in s^2 (minimax
//   coefficients of log((1+s)/(1-s)) = 2s + 2s^3/3 + 2s^5/5 + ..., as in fdlibm's logf),
//   log(x) = k ln2 + log(1 + f), ln2 split in a high part with trailing zeros and a low part.
// Lanes that are not positive normal numbers (0, negatives, subnormals, inf, NaN) take the
// scalar library log, so every special case is exact.
import { madd } from "./simd";

const LOGC: usize = memory.data<f32>([
  0.66666662693, 0.40000972152, 0.28498786688, 0.24279078841, // Lg1..Lg4
  6.9313812256e-01, 9.0580006145e-06, // ln2 high, low
  0.5, 1.0, 2.0, 0.0,
]);

// @ts-ignore: decorator
@inline
function c4(i: i32): v128 {
  return v128.load32_splat(LOGC + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function log4(x: v128): v128 {
  // Move the mantissa's range to [sqrt(1/2), sqrt(2)) and take the exponent k from the bits.
  let ix = i32x4.add(x, i32x4.splat(0x3f800000 - 0x3f3504f3));
  const k = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_s(ix, 23), i32x4.splat(0x7f)));
  ix = i32x4.add(v128.and(ix, i32x4.splat(0x007fffff)), i32x4.splat(0x3f3504f3));
  const f = f32x4.sub(ix, c4(7));
  const s = f32x4.div(f, f32x4.add(c4(8), f));
  const z = f32x4.mul(s, s);
  const w = f32x4.mul(z, z);
  const t1 = f32x4.mul(w, madd(w, c4(3), c4(1)));
  const t2 = f32x4.mul(z, madd(w, c4(2), c4(0)));
  const r = f32x4.add(t2, t1);
  const hfsq = f32x4.mul(f32x4.mul(c4(6), f), f);
  // s (hfsq + R) + k ln2_lo - hfsq + f + k ln2_hi
  let y = madd(s, f32x4.add(hfsq, r), f32x4.mul(k, c4(5)));
  y = f32x4.add(f32x4.sub(y, hfsq), f);
  return madd(k, c4(4), y);
}

// @ts-ignore: decorator
@inline
function unary4(op: i32, v: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.max(v, c4(9)); // relu: max(-0, 0) is +0, a NaN stays NaN
    case 1:
      return f32x4.sqrt(v);
    case 2:
      return f32x4.neg(v);
    case 3:
      return log4(v);
    default:
      return f32x4.mul(v, v);
  }
}

/** y[i] = op(x[i]) for n floats rounded up to whole vectors (x and y may be the same block). */
export function unaryF32(op: i32, x: usize, y: usize, n: i32): void {
  const end = <usize>n << 2;
  // One loop per operator: a switch inside the loop was taken per vector (binaryen does not
  // unswitch it), which made a Relu pass cost several times its loads and stores.
  if (op == 0) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, unary4(0, v128.load(x + o)));
  else if (op == 1) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, unary4(1, v128.load(x + o)));
  else if (op == 2) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, unary4(2, v128.load(x + o)));
  else if (op == 4) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, unary4(4, v128.load(x + o)));
  else {
    for (let o: usize = 0; o < end; o += 16) {
      const v = v128.load(x + o);
      // Log of positive normal numbers only (bits - 0x00800000 below 0x7f000000, unsigned);
      // a vector with any other lane takes the library log lane by lane.
      if (i32x4.all_true(i32x4.lt_u(i32x4.sub(v, i32x4.splat(0x00800000)), i32x4.splat(0x7f000000)))) v128.store(y + o, log4(v));
      else for (let j: usize = 0; j < 16; j += 4) store<f32>(y + o + j, Mathf.log(load<f32>(x + o + j)));
    }
  }
}

// @ts-ignore: decorator
@inline
function binary4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case 0:
      return f32x4.add(a, b);
    case 1:
      return f32x4.sub(a, b);
    case 2:
      return f32x4.mul(a, b);
    default:
      return f32x4.div(a, b);
  }
}

/** y[i] = a[i] op b[i] for n floats rounded up to whole vectors (y may be a or b). */
export function binaryF32(op: i32, a: usize, b: usize, y: usize, n: i32): void {
  const end = <usize>n << 2;
  // One loop per operator (as in unaryF32).
  if (op == 0) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, binary4(0, v128.load(a + o), v128.load(b + o)));
  else if (op == 1) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, binary4(1, v128.load(a + o), v128.load(b + o)));
  else if (op == 2) for (let o: usize = 0; o < end; o += 16) v128.store(y + o, binary4(2, v128.load(a + o), v128.load(b + o)));
  else for (let o: usize = 0; o < end; o += 16) v128.store(y + o, binary4(3, v128.load(a + o), v128.load(b + o)));
}
