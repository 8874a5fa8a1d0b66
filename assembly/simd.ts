// Shared SIMD helpers. The two binaries differ only here: the relaxed build fuses multiply-add
// into one FMA, the baseline rounds twice. Nothing relies on which one ran (see the notes on
// relaxed SIMD): results agree to a few ULP.

// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

// c - a * b
// @ts-ignore: decorator
@inline
export function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_nmadd(a, b, c);
  } else {
    return f32x4.sub(c, f32x4.mul(a, b));
  }
}

// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Stores the first `count` (0..4) lanes of `v` at `ptr`. */
// @ts-ignore: decorator
@inline
export function storePartial(ptr: usize, v: v128, count: i32): void {
  if (count > 0) store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(ptr, f32x4.extract_lane(v, 2), 8);
  if (count > 3) store<f32>(ptr, f32x4.extract_lane(v, 3), 12);
}

/** Loads the first `count` (0..4) floats at `ptr`, zeros elsewhere. */
// @ts-ignore: decorator
@inline
export function loadPartial(ptr: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(ptr, 12));
  return v;
}
