// The activations a cell's options may name (ONNX's LSTM / GRU / RNN `activations` with their
// alpha and beta, Keras's hard sigmoid), and their derivatives from their outputs, as the
// backward passes have them. A cell-options block (Field.Cell, CellWord in descriptor.ts) holds
// for each of the cell's functions f, g, h its code, alpha and beta, then the clip and
// input_forget. The cells take the `...Cell` paths of rnn.ts, lstm.ts and gru.ts only when a
// model has such a block: PyTorch's sigmoid / tanh cells keep their fused loops.
//
//   function          y = act(x)                          act'(x) from y
//   Sigmoid           1 / (1 + e^-x)                      y (1 - y)
//   Tanh              tanh x                              1 - y²
//   Relu              max(x, 0)                           [y > 0]
//   HardSigmoid       min(max(a x + b, 0), 1)             a [0 < y < 1]
//   Affine            a x + b                             a
//   LeakyRelu         x >= 0 ? x : a x                    y > 0 ? 1 : a          (a >= 0)
//   ThresholdedRelu   x > a ? x : 0                       [y != 0]               (a >= 0)
//   ScaledTanh        a tanh(b x)                         a b (1 - (y / a)²)     (a != 0; else 0)
//   Elu               x >= 0 ? x : a (e^x - 1)            y >= 0 ? 1 : y + a     (a > 0)
//   Softsign          x / (1 + |x|)                       (1 - |y|)²
//   Softplus          log(1 + e^x)                        1 - e^-y
//
// Where the condition in brackets fails the output does not determine the derivative; the
// TypeScript side refuses to train such a model (src/models/cell.ts), as it refuses a clip.
import { expNeg4, one4, relu4, sigmoidFast4, tanhFast4, zero4 } from "../activations";
import { madd } from "../simd";
import { Activation, CellWord } from "./descriptor";

// @ts-ignore: decorator
@inline
function word(cell: usize, w: i32): usize {
  return cell + (<usize>w << 2);
}

/** The clip of a cell-options block as 4 lanes (+inf when it has none). */
// @ts-ignore: decorator
@inline
export function clipOf(cell: usize): v128 {
  return v128.load32_splat(word(cell, CellWord.Clip));
}

/** x clamped to [-clip, clip]. */
// @ts-ignore: decorator
@inline
export function clip4(x: v128, clip: v128): v128 {
  return f32x4.pmin(f32x4.pmax(x, f32x4.neg(clip)), clip);
}

/** Does the block couple the LSTM's forget gate to its input gate (f = 1 - i)? */
// @ts-ignore: decorator
@inline
export function inputForget(cell: usize): bool {
  return load<i32>(word(cell, CellWord.InputForget)) != 0;
}

/** Function `fn` (CellWord.F, G or H) of the block at x. */
export function act4(cell: usize, fn: i32, x: v128): v128 {
  const code = load<i32>(word(cell, fn));
  const a = v128.load32_splat(word(cell, fn + 1)), b = v128.load32_splat(word(cell, fn + 2));
  switch (code) {
    case Activation.Sigmoid:
      return sigmoidFast4(x);
    case Activation.Tanh:
      return tanhFast4(x);
    case Activation.Relu:
      return relu4(x);
    case Activation.HardSigmoid:
      return f32x4.pmin(f32x4.pmax(madd(a, x, b), zero4()), one4());
    case Activation.Affine:
      return madd(a, x, b);
    case Activation.LeakyRelu:
      return v128.bitselect(x, f32x4.mul(a, x), f32x4.ge(x, zero4()));
    case Activation.ThresholdedRelu:
      return v128.and(x, f32x4.gt(x, a));
    case Activation.ScaledTanh:
      return f32x4.mul(a, tanhFast4(f32x4.mul(b, x)));
    case Activation.Elu:
      return v128.bitselect(x, f32x4.mul(a, f32x4.sub(expNeg4(f32x4.pmin(x, zero4())), one4())), f32x4.ge(x, zero4()));
    case Activation.Softsign:
      return f32x4.div(x, f32x4.add(one4(), f32x4.abs(x)));
    default: {
      // Softplus: max(x, 0) + log(1 + e^-|x|), per lane in float64 (exact to float32 for every
      // e in [0, 1]; the module already has Math.log, and only exotic files use this).
      const e = expNeg4(f32x4.neg(f32x4.abs(x)));
      let y = f32x4.splat(0);
      y = f32x4.replace_lane(y, 0, <f32>Math.log(1.0 + <f64>f32x4.extract_lane(e, 0)));
      y = f32x4.replace_lane(y, 1, <f32>Math.log(1.0 + <f64>f32x4.extract_lane(e, 1)));
      y = f32x4.replace_lane(y, 2, <f32>Math.log(1.0 + <f64>f32x4.extract_lane(e, 2)));
      y = f32x4.replace_lane(y, 3, <f32>Math.log(1.0 + <f64>f32x4.extract_lane(e, 3)));
      return f32x4.add(y, f32x4.pmax(x, zero4()));
    }
  }
}

/** The derivative of function `fn` of the block at the x where it gave y (table above). */
export function dact4(cell: usize, fn: i32, y: v128): v128 {
  const code = load<i32>(word(cell, fn));
  const a = v128.load32_splat(word(cell, fn + 1)), b = v128.load32_splat(word(cell, fn + 2));
  const zero = zero4(), one = one4();
  switch (code) {
    case Activation.Sigmoid:
      return f32x4.mul(y, f32x4.sub(one, y));
    case Activation.Tanh:
      return f32x4.sub(one, f32x4.mul(y, y));
    case Activation.Relu:
      return v128.and(one, f32x4.gt(y, zero));
    case Activation.HardSigmoid:
      return v128.and(a, v128.and(f32x4.gt(y, zero), f32x4.lt(y, one)));
    case Activation.Affine:
      return a;
    case Activation.LeakyRelu:
      return v128.bitselect(one, a, f32x4.gt(y, zero));
    case Activation.ThresholdedRelu:
      return v128.and(one, f32x4.ne(y, zero));
    case Activation.ScaledTanh: {
      const u = f32x4.div(y, a);
      return v128.and(f32x4.mul(f32x4.mul(a, b), f32x4.sub(one, f32x4.mul(u, u))), f32x4.ne(a, zero));
    }
    case Activation.Elu:
      return v128.bitselect(one, f32x4.add(y, a), f32x4.ge(y, zero));
    case Activation.Softsign: {
      const u = f32x4.sub(one, f32x4.abs(y));
      return f32x4.mul(u, u);
    }
    default:
      return f32x4.sub(one, expNeg4(f32x4.neg(y)));
  }
}
