/**
 * A small SVG line plot (axes with round-number ticks, one polyline per series, a legend) as a
 * string: no dependencies and no DOM, so the CLI, the examples and the browser demo share it.
 */

export interface PlotSeries {
  label: string;
  /** The values. */
  y: ArrayLike<number>;
  /** Their positions; default 0, 1, 2, ... */
  x?: ArrayLike<number>;
  /** A CSS colour; default from a fixed palette. */
  color?: string;
  /** Draw dashed. */
  dashed?: boolean;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Default 720. */
  width?: number;
  /** Default 360. */
  height?: number;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
// More points than pixels only makes the file bigger; keep the extremes of each bucket.
const MAX_POINTS = 2000;

export function linePlot(series: readonly PlotSeries[], options: PlotOptions = {}): string {
  const W = options.width ?? 720;
  const H = options.height ?? 360;
  // The legend is a row above the plot area (under the title), so it never hides data.
  const legendY = options.title ? 42 : 16;
  const m = { left: 64, right: 16, top: series.length ? legendY + 12 : options.title ? 32 : 14, bottom: options.xLabel ? 48 : 32 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  const pts = series.map((s) => {
    const n = s.y.length;
    const out: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      const x = s.x ? s.x[i] : i;
      const y = s.y[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      out.push([x, y]);
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    return thin(out);
  });
  if (!Number.isFinite(x0)) [x0, x1, y0, y1] = [0, 1, 0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const xt = ticks(x0, x1, 6);
  const yt = ticks(y0, y1, 5);
  [y0, y1] = [Math.min(y0, yt[0]), Math.max(y1, yt[yt.length - 1])];
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const f = (v: number): string => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (options.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(options.title)}</text>`);
  for (const t of yt) {
    if (t < y0 || t > y1) continue;
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${label(t, yt)}</text>`);
  }
  for (const t of xt) {
    if (t < x0 || t > x1) continue;
    parts.push(`<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`);
    parts.push(`<text x="${f(sx(t))}" y="${m.top + ph + 18}" text-anchor="middle">${label(t, xt)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (options.xLabel) parts.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  if (options.yLabel) parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const dash = (s: PlotSeries): string => (s.dashed ? ' stroke-dasharray="5 3"' : "");
  series.forEach((s, i) => {
    const d = pts[i].map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${esc(colors[i])}" stroke-width="1.5"${dash(s)} points="${d}"/>`);
  });
  let lx = m.left;
  series.forEach((s, i) => {
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${esc(colors[i])}" stroke-width="2"${dash(s)}/>`);
    parts.push(`<text x="${lx + 30}" y="${legendY}">${esc(s.label)}</text>`);
    lx += 30 + Math.ceil(s.label.length * 6.5) + 24; // ~6.5 px per character of 12 px sans-serif
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Mean of the last `window` values at every position (for noisy training losses). */
export function movingAverage(values: ArrayLike<number>, window: number): Float64Array {
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}

// Round-number ticks (1, 2, 5 times a power of ten) spanning [lo, hi].
function ticks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  if (out.length === 0 || out[out.length - 1] < hi) out.push(out.length ? out[out.length - 1] + step : lo);
  return out;
}

function label(v: number, all: number[]): string {
  const step = all.length > 1 ? Math.abs(all[1] - all[0]) : 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
  return Math.abs(v) >= 1e5 ? v.toExponential(1) : v.toFixed(decimals);
}

function thin(points: [number, number][]): [number, number][] {
  if (points.length <= MAX_POINTS) return points;
  const per = Math.ceil(points.length / (MAX_POINTS / 2));
  const out: [number, number][] = [];
  for (let i = 0; i < points.length; i += per) {
    const bucket = points.slice(i, i + per);
    let lo = bucket[0], hi = bucket[0];
    for (const p of bucket) {
      if (p[1] < lo[1]) lo = p;
      if (p[1] > hi[1]) hi = p;
    }
    out.push(...(lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  }
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
