// Hand-drawn SVG charts: a stacked area over days, horizontal stacked bars, a 7×24
// heatmap, a legend. No chart library: each chart is a few dozen lines, the page needs no
// build step, and every shape is a plain element with data-* attributes a test can count.
// Labels and tooltips (<title>) are set as text only (see dom.js).

import { h, s, fmtCompact, fmtNumber, cssToken } from "./dom.js";

// Colours a person can tell apart (Tableau 10), for vaults.
export const PALETTE = [
  "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];

export const SEVERITY_COLOURS = { high: "#c62828", medium: "#ef8c00", low: "#7896b8" };

// Round tick values from 0 up to at least `max`.
function ticks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw);
  const out = [];
  for (let v = 0; v < max + step; v += step) out.push(v);
  return out;
}

// A legend: coloured swatch and label per item; `attrs(item)` adds data attributes.
// Swatches are SVG rects with a fill attribute: the CSP forbids inline style attributes.
export function legend(items, attrs = () => ({})) {
  return h(
    "ul",
    { class: "legend" },
    items.map((it) =>
      h(
        "li",
        attrs(it),
        s("svg", { viewBox: "0 0 12 12", class: "swatch" }, s("rect", { width: 12, height: 12, rx: 2, fill: it.color })),
        it.label,
        it.extra ? h("span", { class: "muted" }, ` ${it.extra}`) : null,
      ),
    ),
  );
}

// Stacked area of `series` ([{key, label, color, values}]) over `xs` (date strings).
export function stackedArea(xs, series, { id, yLabel = "events" } = {}) {
  const W = 1100, H = 280, L = 52, R = 14, T = 12, B = 30;
  const n = xs.length;
  const totals = xs.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const yt = ticks(Math.max(0, ...totals));
  const ymax = yt[yt.length - 1];
  const x = (i) => (n <= 1 ? L + (i * (W - L - R)) : L + (i * (W - L - R)) / (n - 1));
  const y = (v) => T + (H - T - B) * (1 - v / ymax);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", id, role: "img", "aria-label": `${yLabel} per day, stacked by vault` });

  for (const v of yt) {
    svg.appendChild(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }));
    svg.appendChild(s("text", { x: L - 6, y: y(v) + 4, class: "axis-label", "text-anchor": "end" }, fmtCompact(v)));
  }
  // One point per day; with a single day the area spans the chart as a band.
  const xsIdx = n <= 1 ? [0, 1] : xs.map((_, i) => i);
  const at = (values, i) => (n <= 1 ? values[0] || 0 : values[i] || 0);
  const base = xsIdx.map(() => 0);
  series.forEach((sr) => {
    const top = xsIdx.map((i, k) => base[k] + at(sr.values, i));
    const fwd = xsIdx.map((i, k) => `${x(i).toFixed(1)},${y(top[k]).toFixed(1)}`);
    const back = xsIdx.map((i, k) => `${x(i).toFixed(1)},${y(base[k]).toFixed(1)}`).reverse();
    const total = sr.values.reduce((a, b) => a + (b || 0), 0);
    const path = s(
      "path",
      { d: `M${fwd.join("L")}L${back.join("L")}Z`, class: "series", fill: sr.color, "data-vault": sr.key, "data-total": total },
      s("title", {}, `${sr.label}: ${fmtNumber(total)} ${yLabel}`),
    );
    svg.appendChild(path);
    top.forEach((v, k) => (base[k] = v));
  });
  // Date labels: at most about eight, evenly spaced.
  const every = Math.max(1, Math.ceil(n / 10));
  xs.forEach((d, i) => {
    // Every `every`-th day, and the last day unless it would overlap the one before.
    const last = i === n - 1 && (n - 1) % every >= every / 2;
    if (i % every !== 0 && !last) return;
    const anchor = n <= 1 ? "middle" : i === 0 ? "start" : i === n - 1 ? "end" : "middle";
    svg.appendChild(s("text", { x: n <= 1 ? (L + W - R) / 2 : x(i), y: H - 10, class: "axis-label", "text-anchor": anchor }, String(d).slice(5)));
  });
  // Hover columns: the day's numbers per vault as a tooltip.
  const colW = n <= 1 ? W - L - R : (W - L - R) / (n - 1);
  xs.forEach((d, i) => {
    const cx = n <= 1 ? L : x(i) - colW / 2;
    const lines = series.filter((sr) => sr.values[i]).map((sr) => `${sr.label}: ${fmtNumber(sr.values[i])}`);
    svg.appendChild(
      s("rect", { x: Math.max(L, cx), y: T, width: colW, height: H - T - B, class: "hover-col" },
        s("title", {}, `${d}: ${fmtNumber(totals[i])} ${yLabel}\n${lines.join("\n")}`)),
    );
  });
  return svg;
}

// Horizontal stacked bars: rows [{key, label, segments: [{key, value, color, attrs}]}].
export function stackedBars(rows, { id, unit = "" } = {}) {
  const rowH = 24, L = 170, R = 44, T = 6, W = 600;
  const H = T * 2 + rowH * Math.max(1, rows.length);
  const max = Math.max(1, ...rows.map((r) => r.segments.reduce((a, sg) => a + sg.value, 0)));
  const scale = (W - L - R) / max;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bars", id, role: "img" });
  rows.forEach((r, i) => {
    const y0 = T + i * rowH;
    svg.appendChild(s("text", { x: L - 8, y: y0 + rowH / 2 + 4, class: "bar-label", "text-anchor": "end" }, r.label));
    let x0 = L;
    for (const sg of r.segments) {
      const w = Math.max(2, sg.value * scale);
      svg.appendChild(
        s("rect", { x: x0, y: y0 + 4, width: w, height: rowH - 8, rx: 2, fill: sg.color, class: "bar", ...sg.attrs },
          s("title", {}, `${r.label} · ${sg.key}: ${fmtNumber(sg.value)}${unit}`)),
      );
      x0 += w;
    }
    const total = r.segments.reduce((a, sg) => a + sg.value, 0);
    svg.appendChild(s("text", { x: x0 + 6, y: y0 + rowH / 2 + 4, class: "bar-value" }, fmtNumber(total)));
  });
  return svg;
}

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

// A 7×24 heatmap of `matrix` (rows Monday..Sunday, columns UTC hours).
export function heatmap(matrix, { id, unit = "calls" } = {}) {
  const cell = 24, gap = 2, L = 40, T = 22;
  const W = L + 24 * cell + 10, H = T + 7 * cell + 30;
  const max = Math.max(0, ...matrix.flat());
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart heatmap", id, role: "img", "aria-label": `${unit} by hour of week (UTC)` });
  for (let hr = 0; hr < 24; hr += 3) {
    svg.appendChild(s("text", { x: L + hr * cell + cell / 2, y: T - 8, class: "axis-label", "text-anchor": "middle" }, `${String(hr).padStart(2, "0")}h`));
  }
  matrix.forEach((row, d) => {
    svg.appendChild(s("text", { x: L - 6, y: T + d * cell + cell / 2 + 4, class: "axis-label", "text-anchor": "end" }, DAYS[d]));
    row.forEach((v, hr) => {
      svg.appendChild(
        s("rect", {
          x: L + hr * cell, y: T + d * cell, width: cell - gap, height: cell - gap, rx: 2,
          class: "cell", fill: heat(v, max), "data-count": v, "data-day": d, "data-hour": hr,
        }, s("title", {}, `${DAYS[d]} ${String(hr).padStart(2, "0")}:00 UTC: ${fmtNumber(v)} ${unit}`)),
      );
    });
  });
  // Scale: fewer → more.
  const ly = T + 7 * cell + 12;
  svg.appendChild(s("text", { x: L, y: ly + 10, class: "axis-label" }, "0"));
  for (let k = 0; k <= 5; k++) {
    svg.appendChild(s("rect", { x: L + 14 + k * 16, y: ly, width: 14, height: 12, fill: heat((max * k) / 5, max) }));
  }
  svg.appendChild(s("text", { x: L + 14 + 6 * 16 + 4, y: ly + 10, class: "axis-label" }, `${fmtNumber(max)} ${unit} (UTC hours)`));
  return svg;
}

// Empty cells stay pale grey; others go from light to dark blue on a square-root scale, so
// a few busy hours do not wash out the rest of the week.
function heat(v, max) {
  if (!(v > 0) || !(max > 0)) return "#eef1f5";
  const t = Math.sqrt(v / max);
  const from = [198, 219, 239], to = [8, 48, 107];
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// A horizontal meter (share of the largest value), for tables.
export function meter(value, max, cls = "") {
  const w = max > 0 ? Math.max(1, Math.round((100 * value) / max)) : 0;
  const svg = s("svg", { viewBox: "0 0 100 8", class: `meter ${cssToken(cls)}`, preserveAspectRatio: "none" });
  svg.appendChild(s("rect", { x: 0, y: 0, width: 100, height: 8, class: "meter-bg" }));
  svg.appendChild(s("rect", { x: 0, y: 0, width: w, height: 8, class: "meter-fg" }));
  return svg;
}
