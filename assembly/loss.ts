// Losses that return their value (float64 sums) and write their gradient in the same pass, so a
// training step needs one call per loss instead of forward + backward calls.
import { expShifted, rowMax } from "./softmax";

/**
 * Softmax cross-entropy of `rows` rows of logits x[rows][cols] against integer targets.
 *
 * Row r counts with weight w_r = weights[r] (1 when `weights` = 0) unless targets[r] ==
 * ignoreIndex or w_r == 0. Returns sum_r w_r (logsumexp(x_r) - x_r[t_r]) in float64. When
 * dx != 0 it receives gradScale * w_r * (softmax(x_r) - onehot(t_r)) (zero rows for rows that do
 * not count); dx may alias x. Targets must already be validated (0 <= t < cols or ignoreIndex).
 */
export function crossEntropyRows(x: usize, targets: usize, weights: usize, rows: i32, cols: i32, ignoreIndex: i32, dx: usize, gradScale: f32): f64 {
  let loss: f64 = 0;
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const dr: usize = dx == 0 ? 0 : dx + <usize>r * rowBytes;
    const t = load<i32>(targets + (<usize>r << 2));
    const w: f32 = weights == 0 ? 1 : load<f32>(weights + (<usize>r << 2));
    if (t == ignoreIndex || w == 0) {
      if (dr != 0) memory.fill(dr, 0, rowBytes);
      continue;
    }
    const xt = load<f32>(xr + (<usize>t << 2)); // read before dx (possibly x itself) is written
    const m = rowMax(xr, cols);
    const s = expShifted(xr, dr, cols, m);
    loss += <f64>w * (<f64>m + Math.log(<f64>s) - <f64>xt);
    if (dr != 0) {
      const scale = w * gradScale;
      const k = f32x4.splat(scale / s);
      let j = 0;
      for (; j + 4 <= cols; j += 4) v128.store(dr + (<usize>j << 2), f32x4.mul(v128.load(dr + (<usize>j << 2)), k));
      for (; j < cols; j++) store<f32>(dr + (<usize>j << 2), load<f32>(dr + (<usize>j << 2)) * (scale / s));
      const at = dr + (<usize>t << 2);
      store<f32>(at, load<f32>(at) - scale);
    }
  }
  return loss;
}

/**
 * Squared error over n floats: returns sum (p - t)^2 in float64 (differences taken in float64,
 * exactly); when dp != 0 it receives 2 gradScale (p - t). dp may alias p or t.
 */
export function mseLoss(p: usize, t: usize, n: i32, dp: usize, gradScale: f32): f64 {
  let sum: f64 = 0;
  const k: f32 = 2 * gradScale;
  for (let i = 0; i < n; i++) {
    const off = <usize>i << 2;
    const a = load<f32>(p + off);
    const b = load<f32>(t + off);
    const d = <f64>a - <f64>b;
    sum += d * d;
    if (dp != 0) store<f32>(dp + off, (a - b) * k);
  }
  return sum;
}
