// 1-D convolution (ONNX Conv over [N, C, L] with strides, dilations, groups and pads), one
// batch element per call, float32:
//
//   y[m, t] = b[m] + sum_{c < C/group} sum_{k < K} w[m, c, k] * x[g(m) * C/group + c, t*stride + k*dilation - padL]
//
// with x read as 0 outside 0..L-1 and g(m) = m / (M/group). Three kernels cover the shapes real
// exported models have:
// - conv1dDepthwise: one input channel per output channel (group = C = M), vectorised over t
//   (stride 1) on a zero-padded copy of the row, so the inner loop has no bounds checks;
// - conv1dIm2col: the rows cols[t, c*K + k] = x[c, t*stride + k*dilation - padL] that turn a
//   group into one product through the packed GEMM (one weight per group);
// plus transposeF32, which brings the GEMM's [t, m] rows back to ONNX's [m, t].
import { madd } from "./simd";

// Copies n floats. Rows here are short (a channel of a streaming frame: a few dozen samples;
// one tap of a pointwise im2col: one float), where an inline loop beats memory.copy, a call out
// of the compiled code in V8 that cost ~50 ns each (258 of them were most of a 13 us depthwise
// convolution).
// @ts-ignore: decorator
@inline
function copyF32(dst: usize, src: usize, n: i32): void {
  if (n > 64) {
    memory.copy(dst, src, <usize>n << 2);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

/**
 * Depthwise: y[c, t] for C channels of L samples, K taps of weight w[c, k], bias b[c] (b = 0:
 * none). `scratch` holds L + padL + padR + 4 floats; y has room for C * Lo + 4 floats (the last
 * vector of a row may spill into the next row, which is written after it). relu != 0: y is
 * max(y, 0) (a Relu folded into the node), applied before the store instead of a second pass.
 */
export function conv1dDepthwise(x: usize, w: usize, b: usize, y: usize, C: i32, L: i32, Lo: i32, K: i32, stride: i32, dilation: i32, padL: i32, padR: i32, scratch: usize, relu: i32): void {
  const Lp = L + padL + padR;
  const dil = <usize>dilation << 2;
  // The padded row's margins stay zero; only the middle is rewritten per channel.
  memory.fill(scratch, 0, <usize>(Lp + 4) << 2);
  for (let c = 0; c < C; c++) {
    copyF32(scratch + (<usize>padL << 2), x + ((<usize>c * L) << 2), L);
    const wc = w + ((<usize>c * K) << 2);
    const bias: f32 = b != 0 ? load<f32>(b + (<usize>c << 2)) : 0;
    const yc = y + ((<usize>c * Lo) << 2);
    if (stride == 1) {
      const b4 = f32x4.splat(bias);
      let t = 0;
      // Eight outputs a step where they fit: each tap's weight splat serves two vectors.
      for (; t + 8 <= Lo; t += 8) {
        let a0 = b4, a1 = b4;
        let xp = scratch + (<usize>t << 2);
        for (let k = 0; k < K; k++) {
          const wk = v128.load32_splat(wc + (<usize>k << 2));
          a0 = madd(wk, v128.load(xp), a0);
          a1 = madd(wk, v128.load(xp, 16), a1);
          xp += dil;
        }
        if (relu != 0) {
          a0 = f32x4.max(a0, f32x4.splat(0));
          a1 = f32x4.max(a1, f32x4.splat(0));
        }
        v128.store(yc + (<usize>t << 2), a0);
        v128.store(yc + (<usize>t << 2), a1, 16);
      }
      for (; t < Lo; t += 4) {
        let acc = b4;
        let xp = scratch + (<usize>t << 2);
        for (let k = 0; k < K; k++) {
          acc = madd(v128.load32_splat(wc + (<usize>k << 2)), v128.load(xp), acc);
          xp += dil;
        }
        // max(acc, +0) keeps a NaN, as the Relu pass does.
        v128.store(yc + (<usize>t << 2), relu != 0 ? f32x4.max(acc, f32x4.splat(0)) : acc);
      }
    } else {
      for (let t = 0; t < Lo; t++) {
        let acc = bias;
        const base = scratch + ((<usize>t * stride) << 2);
        for (let k = 0; k < K; k++) acc += load<f32>(wc + (<usize>k << 2)) * load<f32>(base + <usize>k * dil);
        store<f32>(yc + (<usize>t << 2), relu != 0 ? max(acc, 0) : acc);
      }
    }
  }
}

/** cols[t, c*K + k] = x[c, t*stride + k*dilation - padL] (0 outside the row), C rows of L samples. */
export function conv1dIm2col(x: usize, cols: usize, C: i32, L: i32, Lo: i32, K: i32, stride: i32, dilation: i32, padL: i32): void {
  const CK = C * K;
  if (K == 1 && stride == 1 && padL == 0) {
    // A pointwise convolution: cols is x transposed.
    transposeF32(x, cols, C, L);
    return;
  }
  for (let t = 0; t < Lo; t++) {
    const row = cols + ((<usize>t * CK) << 2);
    const base = t * stride - padL;
    const inside = base >= 0 && base + (K - 1) * dilation < L;
    for (let c = 0; c < C; c++) {
      const xc = x + ((<usize>c * L) << 2);
      const dst = row + ((<usize>c * K) << 2);
      if (inside && dilation == 1) {
        copyF32(dst, xc + (<usize>base << 2), K);
      } else {
        for (let k = 0; k < K; k++) {
          const at = base + k * dilation;
          store<f32>(dst + (<usize>k << 2), at >= 0 && at < L ? load<f32>(xc + (<usize>at << 2)) : 0);
        }
      }
    }
  }
}

/** dst[c, r] = src[r, c] for src [rows, cols] (float32; small here: an output's [t, m] rows). */
export function transposeF32(src: usize, dst: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + ((<usize>r * cols) << 2);
    for (let c = 0; c < cols; c++) store<f32>(dst + ((<usize>c * rows + r) << 2), load<f32>(s + (<usize>c << 2)));
  }
}
