// Building DOM from data: text always goes in as text (never as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  return append(clear(el), children);
}

// Timestamps come as naive ISO strings in UTC.
export function parseTime(s) {
  if (!s) return null;
  return new Date(/[zZ]|[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`);
}

export const fmt = {
  num(n) {
    return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
  },
  pct(part, whole) {
    return whole ? `${((100 * part) / whole).toFixed(1)}%` : "–";
  },
  bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
  },
  ms(n) {
    if (n === null || n === undefined) return "–";
    if (n < 1000) return `${Math.round(n)} ms`;
    return fmt.secs(n / 1000);
  },
  secs(s) {
    if (s === null || s === undefined) return "–";
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  },
  time(s) {
    const d = parseTime(s);
    return d ? d.toISOString().replace("T", " ").slice(0, 19) : "–";
  },
  ago(s) {
    const d = parseTime(s);
    if (!d) return "–";
    const secs = Math.max(0, (Date.now() - d.getTime()) / 1000);
    if (secs < 60) return `${Math.round(secs)} s ago`;
    if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
    if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
    return `${Math.round(secs / 86400)} d ago`;
  },
  between(a, b) {
    const x = parseTime(a);
    const y = parseTime(b);
    return x && y ? fmt.secs((y - x) / 1000) : "–";
  },
  reward(r) {
    return r === null || r === undefined ? "–" : Number(r).toFixed(2);
  },
};

export function badge(text, kind = text) {
  return h("span", { class: `badge b-${String(kind || "none").replace(/[^a-z0-9_-]/gi, "")}`, text: text ?? "–" });
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", { text: title }) : null, ...children);
}

export function kv(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.filter(Boolean).map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v ?? "–")]),
  );
}

// A table: columns are [{label, cell(row) -> node or text, class}].
export function table(columns, rows, { empty = "Nothing here yet.", rowAttrs = null } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.class }, c.label))));
  const body = h(
    "tbody",
    {},
    rows.length
      ? rows.map((r) =>
          h("tr", rowAttrs ? rowAttrs(r) : {}, columns.map((c) => h("td", { class: c.class }, c.cell(r)))),
        )
      : h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty)),
  );
  return h("table", { class: "grid" }, head, body);
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, String(err && err.message ? err.message : err));
}

export function pre(text, cls = "") {
  return h("pre", { class: `out ${cls}` }, text ?? "");
}

// Collapsible long text: the first `lines` lines, and a button for the rest.
export function foldable(text, lines = 30, cls = "") {
  const all = text ?? "";
  const parts = all.split("\n");
  if (parts.length <= lines) return pre(all, cls);
  const box = pre(parts.slice(0, lines).join("\n"), cls);
  const more = h("button", {
    class: "link",
    type: "button",
    text: `show all ${parts.length} lines`,
    onclick: () => {
      box.textContent = all;
      more.remove();
    },
  });
  return h("div", {}, box, more);
}
