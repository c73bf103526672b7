// Plots as inline SVG, drawn here (no chart library, nothing fetched from elsewhere).

import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const FIXED = {
  submitted: "#59a14f",
  verified: "#59a14f",
  finished: "#4e79a7",
  step_limit: "#edc948",
  time_limit: "#f28e2b",
  token_limit: "#ff9da7",
  format_error: "#b07aa1",
  env_error: "#e15759",
  policy_error: "#9c755f",
  llm_ms: "#4e79a7",
  exec_ms: "#f28e2b",
};

export function colorFor(label, index = null) {
  const key = String(label).split(":").pop();
  if (FIXED[key]) return FIXED[key];
  if (index !== null) return PALETTE[index % PALETTE.length];
  let hash = 0;
  for (const ch of String(label)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function s(tag, attrs = {}, text = null) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

function frame(width, height, title) {
  return s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    class: "chart",
    role: "img",
    "aria-label": title,
    preserveAspectRatio: "xMinYMin meet",
  });
}

function tip(el, text) {
  el.append(s("title", {}, text));
  return el;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function legend(labels) {
  return h(
    "ul",
    { class: "legend" },
    labels.map((l) => {
      const sw = h("span", { class: "swatch" });
      sw.style.background = colorFor(l);
      return h("li", {}, sw, l);
    }),
  );
}

// Horizontal bars: entries [[label, value]]; each bar carries data-label and data-value.
export function hbars(entries, { title = "", fmt = (v) => v.toLocaleString("en-US"), width = 640 } = {}) {
  const rowH = 22;
  const labelW = 180;
  const height = Math.max(rowH, entries.length * rowH) + 8;
  const svg = frame(width, height, title);
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const span = width - labelW - 90;
  entries.forEach(([label, value], i) => {
    const y = 4 + i * rowH;
    const w = Math.max(value ? 2 : 0, (span * value) / max);
    svg.append(s("text", { x: labelW - 8, y: y + 15, "text-anchor": "end", class: "lbl" }, String(label)));
    svg.append(
      tip(
        s("rect", { x: labelW, y: y + 3, width: w, height: rowH - 6, fill: colorFor(label, i), "data-label": label, "data-value": value }),
        `${label}: ${fmt(value)}`,
      ),
    );
    svg.append(s("text", { x: labelW + w + 6, y: y + 15, class: "val" }, fmt(value)));
  });
  return svg;
}

// Stacked columns over time buckets: {bucket_s, starts, series: {label: counts}}.
export function timeColumns(ts, { title = "", width = 640, height = 180 } = {}) {
  const labels = Object.keys(ts.series);
  const n = ts.starts.length;
  const pad = { l: 40, r: 8, t: 8, b: 22 };
  const svg = frame(width, height, title);
  const totals = ts.starts.map((_, i) => labels.reduce((a, l) => a + ts.series[l][i], 0));
  const max = niceMax(Math.max(0, ...totals));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const colW = plotW / n;
  svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: pad.t + plotH, y2: pad.t + plotH, class: "axis" }));
  svg.append(s("text", { x: pad.l - 4, y: pad.t + 10, "text-anchor": "end", class: "val" }, String(max)));
  svg.append(s("text", { x: pad.l - 4, y: pad.t + plotH, "text-anchor": "end", class: "val" }, "0"));
  for (let i = 0; i < n; i += 1) {
    let y = pad.t + plotH;
    const x = pad.l + i * colW;
    for (const l of labels) {
      const v = ts.series[l][i];
      if (!v) continue;
      const hgt = (plotH * v) / max;
      y -= hgt;
      const start = new Date(`${ts.starts[i]}Z`);
      svg.append(
        tip(
          s("rect", { x: x + 1, y, width: Math.max(1, colW - 2), height: hgt, fill: colorFor(l), "data-label": l, "data-value": v }),
          `${start.toISOString().slice(11, 16)} UTC · ${l}: ${v}`,
        ),
      );
    }
    const every = Math.ceil(n / 8);
    if (i % every === 0) {
      const start = new Date(`${ts.starts[i]}Z`);
      svg.append(s("text", { x: x + colW / 2, y: height - 6, "text-anchor": "middle", class: "val" }, start.toISOString().slice(11, 16)));
    }
  }
  const box = h("div", { class: "chart-box" }, svg);
  if (labels.length > 1 || (labels.length === 1 && labels[0] !== "finished")) box.append(legend(labels));
  if (!labels.length) box.append(h("p", { class: "muted", text: "nothing in this window" }));
  return box;
}

// A histogram: {edges, counts: {series: [..]}}; several series are drawn side by side.
export function histogram(hist, { title = "", width = 640, height = 200, edgeFmt = (e) => String(e) } = {}) {
  const labels = Object.keys(hist.counts);
  const n = hist.edges.length - 1;
  const pad = { l: 48, r: 8, t: 8, b: 34 };
  const svg = frame(width, height, title);
  const max = niceMax(Math.max(0, ...labels.flatMap((l) => hist.counts[l])));
  const plotW = width - pad.l - pad.r;
  const plotH = height - pad.t - pad.b;
  const colW = plotW / Math.max(1, n);
  const barW = (colW - 2) / Math.max(1, labels.length);
  svg.append(s("line", { x1: pad.l, x2: width - pad.r, y1: pad.t + plotH, y2: pad.t + plotH, class: "axis" }));
  svg.append(s("text", { x: pad.l - 4, y: pad.t + 10, "text-anchor": "end", class: "val" }, max.toLocaleString("en-US")));
  svg.append(s("text", { x: pad.l - 4, y: pad.t + plotH, "text-anchor": "end", class: "val" }, "0"));
  const every = Math.ceil(n / 12);
  for (let i = 0; i < n; i += 1) {
    const x = pad.l + i * colW;
    const range = `[${edgeFmt(hist.edges[i])}, ${edgeFmt(hist.edges[i + 1])})`;
    labels.forEach((l, j) => {
      const v = hist.counts[l][i];
      const hgt = (plotH * v) / max;
      svg.append(
        tip(
          s("rect", { x: x + 1 + j * barW, y: pad.t + plotH - hgt, width: Math.max(1, barW), height: hgt, fill: colorFor(l), "data-label": l, "data-bucket": i, "data-value": v }),
          `${l} ${range}: ${v.toLocaleString("en-US")}`,
        ),
      );
    });
    if (i % every === 0) {
      svg.append(s("text", { x, y: height - 20, "text-anchor": "middle", class: "val" }, edgeFmt(hist.edges[i])));
    }
  }
  const box = h("div", { class: "chart-box" }, svg);
  if (labels.length > 1) box.append(legend(labels));
  return box;
}

// Verified share per submission: a bar per submission, verified part in green.
export function shareBars(items, { width = 640, title = "" } = {}) {
  const rowH = 22;
  const labelW = 230;
  const height = Math.max(rowH, items.length * rowH) + 8;
  const svg = frame(width, height, title);
  const span = width - labelW - 110;
  items.forEach((it, i) => {
    const y = 4 + i * rowH;
    const share = it.episodes ? it.verified / it.episodes : 0;
    const name = `#${it.submission_id} ${it.source.replace(/^https?:\/\//, "").slice(0, 26)}`;
    svg.append(s("text", { x: labelW - 8, y: y + 15, "text-anchor": "end", class: "lbl" }, name));
    svg.append(s("rect", { x: labelW, y: y + 3, width: span, height: rowH - 6, class: "track" }));
    svg.append(
      tip(
        s("rect", { x: labelW, y: y + 3, width: span * share, height: rowH - 6, fill: colorFor("verified"), "data-submission": it.submission_id, "data-value": share.toFixed(4) }),
        `${name}: ${it.verified} of ${it.episodes} episodes verified`,
      ),
    );
    const text = it.episodes ? `${(100 * share).toFixed(0)}% of ${it.episodes}` : "no episodes";
    svg.append(s("text", { x: labelW + span + 6, y: y + 15, class: "val" }, text));
  });
  return svg;
}
