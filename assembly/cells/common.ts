// What the cells (rnn.ts, lstm.ts, gru.ts, attention.ts) and their driver (recurrent.ts) share: addresses of
// floats in a row, the padded widths and the gate-interleaved column of a unit. Rows of gates and
// states are padded to whole groups of 8 units (Hp = H rounded up to 8, Ps = P rounded up to 8);
// within a group the G gates follow each other (layout.ts), so unit u's gate k is at column
// gateColumn(u, G) + 8 k.
import { Kind } from "./descriptor";
import { loadPartial, madd, storePartial } from "../simd";

/** Address of float `index` of the row at `base`. */
// @ts-ignore: decorator
@inline
export function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/** n rounded up to a whole group of 8. */
// @ts-ignore: decorator
@inline
export function round8(n: i32): i32 {
  return (n + 7) & ~7;
}

/** Gate blocks per unit: i f g o (LSTM), r z n (GRU), one for the Elman RNN. */
export function gateCount(kind: i32): i32 {
  if (kind == Kind.Lstm) return 4;
  if (kind == Kind.Gru || kind == Kind.GruResetBefore) return 3;
  return 1;
}

/** Column of unit u's first gate in a row of `gates` interleaved gates (u a multiple of 4). */
// @ts-ignore: decorator
@inline
export function gateColumn(u: i32, gates: i32): i32 {
  return (u >> 3) * (gates << 3) + (u & 7);
}

/** Zeroes n floats at p. */
export function zero(p: usize, n: i32): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(p, j), i32x4.splat(0));
  for (; j < n; j++) store<f32>(at(p, j), 0);
}

/** h_t of 4 units from u to the state row and, clipped to the real width H, to the output row. */
// @ts-ignore: decorator
@inline
export function emit(h: usize, outRow: usize, u: i32, H: i32, v: v128): void {
  v128.store(at(h, u), v);
  if (u + 4 <= H) v128.store(at(outRow, u), v);
  else storePartial(at(outRow, u), v, H - u);
}

/** 4 floats of a row with `valid` real floats from u on (zeros past them). */
// @ts-ignore: decorator
@inline
export function load4(row: usize, u: i32, valid: i32): v128 {
  return u + 4 <= valid ? v128.load(at(row, u)) : loadPartial(at(row, u), valid - u);
}

// Vector helpers of the attention decoder (attention.ts).

// Σ_j x[j] y[j] over n floats. Four accumulator chains: with one, a 256-float dot waits on 64
// dependent multiply-adds (the attention's scores are such dots, one per annotation and row).
export function dot(x: usize, y: usize, n: i32): f32 {
  let acc = f32x4.splat(0), acc1 = f32x4.splat(0), acc2 = f32x4.splat(0), acc3 = f32x4.splat(0);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    acc = madd(v128.load(at(x, j)), v128.load(at(y, j)), acc);
    acc1 = madd(v128.load(at(x, j + 4)), v128.load(at(y, j + 4)), acc1);
    acc2 = madd(v128.load(at(x, j + 8)), v128.load(at(y, j + 8)), acc2);
    acc3 = madd(v128.load(at(x, j + 12)), v128.load(at(y, j + 12)), acc3);
  }
  for (; j + 4 <= n; j += 4) acc = madd(v128.load(at(x, j)), v128.load(at(y, j)), acc);
  acc = f32x4.add(f32x4.add(acc, acc1), f32x4.add(acc2, acc3));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; j < n; j++) s += load<f32>(at(x, j)) * load<f32>(at(y, j));
  return s;
}

// y[j] += alpha x[j] over n floats.
export function axpy(alpha: f32, x: usize, y: usize, n: i32): void {
  const a = f32x4.splat(alpha);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(y, j), madd(a, v128.load(at(x, j)), v128.load(at(y, j))));
  for (; j < n; j++) store<f32>(at(y, j), load<f32>(at(y, j)) + alpha * load<f32>(at(x, j)));
}

// Column sums of rows [rows][cols] (stride ld) added to out[cols].
export function addColumns(src: usize, rows: i32, cols: i32, ld: i32, out: usize): void {
  for (let r = 0; r < rows; r++) axpy(1, at(src, r * ld), out, cols);
}
