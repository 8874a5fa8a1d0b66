// A small line chart for the demo page, drawn as inline SVG: a row of legend entries above the
// plot area (so it never hides a curve), axes with round-number ticks, one polyline per series.

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// About `count` ticks at 1, 2 or 5 times a power of ten.
function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = pow * (raw / pow < 1.5 ? 1 : raw / pow < 3.5 ? 2 : raw / pow < 7.5 ? 5 : 10);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step / 1e6; v += step) ticks.push(Number(v.toPrecision(12)));
  return { ticks, digits: Math.max(0, -Math.floor(Math.log10(step))) };
}

/**
 * Replaces the content of `container` with a chart of `series` ({ label, y, color, dashed }),
 * x = 0, 1, 2, ... unless `x0` shifts it.
 */
export function drawChart(container, series, { title = "", xLabel = "", yLabel = "", width = 900, height = 300, x0 = 0 } = {}) {
  const pad = { left: 60, right: 14, top: 52, bottom: 42 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const n = Math.max(2, ...series.map((s) => s.y.length));
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (const v of s.y) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  const margin = (hi - lo) * 0.04;
  [lo, hi] = [lo - margin, hi + margin];
  const px = (i) => pad.left + (i / (n - 1)) * w;
  const py = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * h;

  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, width, height, "font-family": "system-ui, sans-serif", "font-size": 12 });
  if (title) svg.append(el("text", { x: pad.left, y: 18, "font-size": 14, "font-weight": 600 }, title));
  let lx = pad.left;
  for (const s of series) {
    svg.append(el("line", { class: "legend", x1: lx, x2: lx + 22, y1: 34, y2: 34, stroke: s.color, "stroke-width": 2.5, "stroke-dasharray": s.dashed ? "5 3" : "none" }));
    svg.append(el("text", { class: "legend", x: lx + 28, y: 38 }, s.label));
    lx += 28 + s.label.length * 7 + 22;
  }
  const y = niceTicks(lo, hi, 5);
  for (const v of y.ticks) {
    svg.append(el("line", { x1: pad.left, x2: pad.left + w, y1: py(v), y2: py(v), stroke: "#e6e6e6" }));
    svg.append(el("text", { x: pad.left - 6, y: py(v) + 4, "text-anchor": "end" }, v.toFixed(y.digits)));
  }
  const x = niceTicks(x0, x0 + n - 1, 8);
  for (const v of x.ticks) {
    svg.append(el("text", { x: px(v - x0), y: pad.top + h + 16, "text-anchor": "middle" }, v.toFixed(x.digits)));
  }
  svg.append(el("rect", { x: pad.left, y: pad.top, width: w, height: h, fill: "none", stroke: "#888" }));
  if (xLabel) svg.append(el("text", { x: pad.left + w / 2, y: height - 6, "text-anchor": "middle" }, xLabel));
  if (yLabel) svg.append(el("text", { transform: `translate(14 ${pad.top + h / 2}) rotate(-90)`, "text-anchor": "middle" }, yLabel));
  for (const s of series) {
    const points = Array.from(s.y, (v, i) => (Number.isFinite(v) ? `${px(i).toFixed(1)},${py(v).toFixed(1)}` : "")).filter(Boolean).join(" ");
    svg.append(el("polyline", { points, fill: "none", stroke: s.color, "stroke-width": 1.6, "stroke-dasharray": s.dashed ? "5 3" : "none" }));
  }
  container.replaceChildren(svg);
}
