/** Series to tensors, and the error metrics. */
import { fail } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { integer, show } from "../validate.js";

function checkSeries(fn: string, name: string, s: unknown): ArrayLike<number> {
  if (s === null || typeof s !== "object" || typeof (s as ArrayLike<number>).length !== "number") {
    fail("E_VALUE", `${fn}: ${name} must be an array of numbers, got ${show(s)}`);
  }
  return s as ArrayLike<number>;
}

function checkColumns(fn: string, columns: unknown): number {
  return integer(fn, "columns", columns, { min: 1 });
}

/**
 * A float32 `Tensor` of shape [T, columns] from a row-major series of T·columns numbers (e.g.
 * `toTensor(mackeyGlass(), 1)` → [7000, 1], `toTensor(lorenz({ length }), 3)` → [length, 3]).
 * Values are rounded to float32. Throws "E_VALUE" for a bad `columns`, "E_SHAPE" if the length is
 * not a multiple of `columns`.
 */
export function toTensor(series: ArrayLike<number>, columns = 1): Tensor {
  const fn = "toTensor";
  checkSeries(fn, "series", series);
  checkColumns(fn, columns);
  if (series.length % columns !== 0) {
    fail("E_SHAPE", `${fn}: series has ${series.length} values, not a multiple of columns=${columns}`);
  }
  return { shape: [series.length / columns, columns], data: Float32Array.from(series) };
}

/** Column `index` of a row-major series with `columns` columns, as a new Float64Array. */
export function column(series: ArrayLike<number>, columns: number, index: number): Float64Array {
  const fn = "column";
  checkSeries(fn, "series", series);
  checkColumns(fn, columns);
  integer(fn, "index", index, { min: 0, max: columns - 1 });
  if (series.length % columns !== 0) {
    fail("E_SHAPE", `${fn}: series has ${series.length} values, not a multiple of columns=${columns}`);
  }
  const rows = series.length / columns;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = series[r * columns + index];
  return out;
}

/** Anything `rmse`/`nrmse` compare: a plain array / typed array, or a Tensor (its data). */
export type SeriesLike = ArrayLike<number> | Tensor;

function values(fn: string, name: string, s: unknown): { data: ArrayLike<number>; shape?: number[] } {
  if (s !== null && typeof s === "object" && "data" in s && "shape" in s) {
    const t = s as Tensor;
    return { data: checkSeries(fn, `${name}.data`, t.data), shape: t.shape };
  }
  return { data: checkSeries(fn, name, s) };
}

function pair(fn: string, pred: SeriesLike, target: SeriesLike): [ArrayLike<number>, ArrayLike<number>] {
  const p = values(fn, "pred", pred);
  const t = values(fn, "target", target);
  if (p.data.length !== t.data.length) {
    fail("E_SHAPE", `${fn}: pred has ${p.data.length} values, target has ${t.data.length}`);
  }
  if (p.shape && t.shape && (p.shape.length !== t.shape.length || p.shape.some((d, i) => d !== t.shape![i]))) {
    fail("E_SHAPE", `${fn}: pred shape [${p.shape.join(", ")}] differs from target shape [${t.shape.join(", ")}]`);
  }
  if (t.data.length === 0) fail("E_VALUE", `${fn}: pred and target are empty`);
  return [p.data, t.data];
}

/**
 * Root mean squared error sqrt(mean((pred − target)²)) over all elements (tensors are compared
 * element-wise, all columns pooled). Lengths (and shapes, for two tensors) must match ("E_SHAPE");
 * empty input throws "E_VALUE". NaN in the input gives NaN.
 */
export function rmse(pred: SeriesLike, target: SeriesLike): number {
  const [p, t] = pair("rmse", pred, target);
  let sum = 0;
  for (let i = 0; i < t.length; i++) {
    const d = p[i] - t[i];
    sum += d * d;
  }
  return Math.sqrt(sum / t.length);
}

/**
 * Normalised RMSE: `rmse(pred, target)` divided by the population standard deviation of the
 * target (divide by N, not N − 1), all elements pooled: sqrt(mean((p − t)²) / mean((t − mean t)²)).
 * 1 means "no better than predicting the target's mean". Throws "E_VALUE" when the target is
 * constant (zero standard deviation).
 */
export function nrmse(pred: SeriesLike, target: SeriesLike): number {
  const [p, t] = pair("nrmse", pred, target);
  const N = t.length;
  let mean = 0;
  for (let i = 0; i < N; i++) mean += t[i];
  mean /= N;
  let varSum = 0;
  let errSum = 0;
  for (let i = 0; i < N; i++) {
    const c = t[i] - mean;
    varSum += c * c;
    const d = p[i] - t[i];
    errSum += d * d;
  }
  if (varSum === 0) fail("E_VALUE", "nrmse: target has zero standard deviation (constant target)");
  return Math.sqrt(errSum / varSum);
}
