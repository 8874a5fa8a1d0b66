// Row-wise softmax and log-softmax over a [rows][cols] matrix, max-subtracted so exp never
// overflows; the exponentials all take arguments <= 0.
import { expNeg4, expNeg1 } from "./activations";
import { hsum } from "./simd";

/** The row's maximum, or NaN if the row holds one. Shared with the losses (loss.ts). */
export function rowMax(x: usize, cols: i32): f32 {
  let m: f32 = -Infinity;
  for (let j = 0; j < cols; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    // A NaN anywhere makes the row NaN (max would silently skip it).
    if (v != v) return v;
    m = max(m, v);
  }
  return m;
}

/** Writes exp(x - m) to y (when y != 0; y may alias x) and returns its sum. */
// @ts-ignore: decorator
@inline
export function expShifted(x: usize, y: usize, cols: i32, m: f32): f32 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const e = expNeg4(f32x4.sub(v128.load(x + (<usize>j << 2)), mv));
    if (y != 0) v128.store(y + (<usize>j << 2), e);
    acc = f32x4.add(acc, e);
  }
  let s = hsum(acc);
  for (; j < cols; j++) {
    const e = expNeg1(load<f32>(x + (<usize>j << 2)) - m);
    if (y != 0) store<f32>(y + (<usize>j << 2), e);
    s += e;
  }
  return s;
}

/** y = softmax(x) per row; x and y may alias. */
export function softmaxRows(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    const yr = y + (<usize>(r * cols) << 2);
    const s = expShifted(xr, yr, cols, rowMax(xr, cols));
    const inv = f32x4.splat(<f32>1.0 / s);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(yr + (<usize>j << 2), f32x4.mul(v128.load(yr + (<usize>j << 2)), inv));
    for (; j < cols; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) / s);
  }
}

/** y = log_softmax(x) per row; x and y may alias. */
export function logSoftmaxRows(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    const yr = y + (<usize>(r * cols) << 2);
    const m = rowMax(xr, cols);
    // The sum pass writes nothing (y may alias x); then y = (x - m) - log(sum), in that order as
    // PyTorch does: x - (m + log(sum)) loses log(sum) entirely when |m| is large (1e30 + 0.69 == 1e30).
    const ls = <f32>Math.log(<f64>expShifted(xr, 0, cols, m));
    const mv = f32x4.splat(m);
    const lv = f32x4.splat(ls);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(yr + (<usize>j << 2), f32x4.sub(f32x4.sub(v128.load(xr + (<usize>j << 2)), mv), lv));
    for (; j < cols; j++) store<f32>(yr + (<usize>j << 2), load<f32>(xr + (<usize>j << 2)) - m - ls);
  }
}
