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

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
// More points than pixels only makes the file bigger; keep the extremes of each bucket.
const MAX_POINTS = 2000;

export function linePlot(series: readonly PlotSeries[], options: PlotOptions = {}): string {
  const W = options.width ?? 720;
  const H = options.height ?? 360;
  // The legend is a row above the plot area (under the title), so it never hides data.
  const legendY = options.title ? 42 : 16;
  // Legend entries left to right, wrapped into as many rows as the width needs.
  const legend: { x: number; y: number }[] = [];
  let lx = 64;
  let ly = legendY;
  for (const s of series) {
    const w = 30 + Math.ceil(s.label.length * 6.5) + 24; // ~6.5 px per character of 12 px sans-serif
    if (lx > 64 && lx + w - 24 > W - 16) [lx, ly] = [64, ly + 18];
    legend.push({ x: lx, y: ly });
    lx += w;
  }
  const m = { left: 64, right: 16, top: series.length ? ly + 12 : options.title ? 32 : 14, bottom: options.xLabel ? 48 : 32 };
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
  series.forEach((s, i) => {
    const { x, y } = legend[i];
    parts.push(`<line x1="${x}" x2="${x + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${esc(colors[i])}" stroke-width="2"${dash(s)}/>`);
    parts.push(`<text x="${x + 30}" y="${y}">${esc(s.label)}</text>`);
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

export interface ScatterPanel {
  /** Axis label under the panel. */
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Logarithmic x axis (every x must be > 0). */
  logX?: boolean;
}

export interface ScatterOptions {
  title?: string;
  yLabel?: string;
  /** Logarithmic y axis (the y values must be > 0). */
  logY?: boolean;
  /** Index of a point drawn larger and in red in every panel (e.g. the best trial). */
  highlight?: number;
  /** Panels per row. Default 3. */
  columns?: number;
}

/**
 * Scatter plots side by side sharing one y axis range: e.g. a search's loss against each
 * hyperparameter. Points with a non-finite (or, on a log axis, non-positive) coordinate are left
 * out.
 */
export function scatterGrid(panels: readonly ScatterPanel[], options: ScatterOptions = {}): string {
  const cols = Math.max(1, Math.min(options.columns ?? 3, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const PW = 300;
  const PH = 220;
  const m = { left: 64, right: 14, top: 12, bottom: 44 };
  const top = options.title ? 30 : 0;
  const W = cols * (PW + m.left + m.right);
  const H = top + rows * (PH + m.top + m.bottom);
  const ok = (v: number, log: boolean | undefined): boolean => Number.isFinite(v) && (!log || v > 0);
  const fy = (v: number): number => (options.logY ? Math.log10(v) : v);
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of panels) {
    for (let i = 0; i < p.y.length; i++) {
      if (!ok(p.y[i], options.logY) || !ok(p.x[i], p.logX)) continue;
      y0 = Math.min(y0, fy(p.y[i]));
      y1 = Math.max(y1, fy(p.y[i]));
    }
  }
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const yt = axisTicks(y0, y1, options.logY === true);
  const f = (v: number): string => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  if (options.title) parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(options.title)}</text>`);
  panels.forEach((p, k) => {
    const ox = (k % cols) * (PW + m.left + m.right) + m.left;
    const oy = top + Math.floor(k / cols) * (PH + m.top + m.bottom) + m.top;
    const fx = (v: number): number => (p.logX ? Math.log10(v) : v);
    let x0 = Infinity;
    let x1 = -Infinity;
    for (let i = 0; i < p.x.length; i++) {
      if (!ok(p.x[i], p.logX)) continue;
      x0 = Math.min(x0, fx(p.x[i]));
      x1 = Math.max(x1, fx(p.x[i]));
    }
    if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
    const pad = x1 > x0 ? 0.04 * (x1 - x0) : 0.5;
    [x0, x1] = [x0 - pad, x1 + pad];
    const sx = (v: number): number => ox + ((fx(v) - x0) / (x1 - x0)) * PW;
    const sy = (v: number): number => oy + PH - ((fy(v) - y0) / (y1 - y0)) * PH;
    for (const t of yt) {
      const y = oy + PH - ((t.at - y0) / (y1 - y0)) * PH;
      parts.push(`<line x1="${ox}" x2="${ox + PW}" y1="${f(y)}" y2="${f(y)}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${ox - 6}" y="${f(y + 4)}" text-anchor="end">${t.text}</text>`);
    }
    for (const t of axisTicks(x0, x1, p.logX === true)) {
      const x = ox + ((t.at - x0) / (x1 - x0)) * PW;
      parts.push(`<line x1="${f(x)}" x2="${f(x)}" y1="${oy + PH}" y2="${oy + PH + 4}" stroke="#333"/>`);
      parts.push(`<text x="${f(x)}" y="${oy + PH + 18}" text-anchor="middle">${t.text}</text>`);
    }
    parts.push(`<rect x="${ox}" y="${oy}" width="${PW}" height="${PH}" fill="none" stroke="#333"/>`);
    parts.push(`<text x="${ox + PW / 2}" y="${oy + PH + 36}" text-anchor="middle">${esc(p.label)}</text>`);
    if (options.yLabel && k % cols === 0) parts.push(`<text transform="translate(${ox - 48} ${oy + PH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
    for (let i = 0; i < p.x.length; i++) {
      if (i === options.highlight || !ok(p.x[i], p.logX) || !ok(p.y[i], options.logY)) continue;
      parts.push(`<circle cx="${f(sx(p.x[i]))}" cy="${f(sy(p.y[i]))}" r="2.5" fill="#1f77b4" fill-opacity="0.6"/>`);
    }
    const h = options.highlight;
    if (h !== undefined && ok(p.x[h], p.logX) && ok(p.y[h], options.logY)) parts.push(`<circle cx="${f(sx(p.x[h]))}" cy="${f(sy(p.y[h]))}" r="5" fill="#d62728" stroke="white"/>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

// Ticks over [lo, hi] (log10 units on a log axis: whole decades, or 1-2-5 within one or two).
function axisTicks(lo: number, hi: number, log: boolean): { at: number; text: string }[] {
  if (!log) {
    const t = ticks(lo, hi, 4).filter((v) => v >= lo && v <= hi);
    return t.map((v) => ({ at: v, text: label(v, t) }));
  }
  const out: { at: number; text: string }[] = [];
  const decades = hi - lo;
  const steps = decades > 8 ? 2 : 1;
  const mantissas = decades < 2 ? [1, 2, 5] : [1];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e += steps) {
    for (const mnt of mantissas) {
      const at = e + Math.log10(mnt);
      if (at < lo || at > hi) continue;
      const v = mnt * 10 ** e;
      out.push({ at, text: e >= -2 && e <= 3 ? String(Number(v.toPrecision(3))) : `${mnt}e${e}` });
    }
  }
  return out;
}
