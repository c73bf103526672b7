// What every page shares: the login check, the header, paged tables and live polling.

import { api, getKey, toLogin } from "./api.js";
import { errorBox, h, replace } from "./dom.js";

export const main = () => document.getElementById("main");
export const pollMs = () => Number(document.body.dataset.pollMs || 3000);
export const pageId = () => Number(document.body.dataset.id);

// Run a page: its render(main) after the key is known to exist; errors shown in place.
export function boot(render) {
  if (!getKey()) {
    toLogin();
    return;
  }
  showWho();
  Promise.resolve()
    .then(() => render(main()))
    .catch((err) => {
      const box = errorBox(err);
      box.id = "page-error";
      replace(main(), box);
    })
    .finally(() => {
      document.body.dataset.ready = "1"; // browser tests wait for this
    });
}

async function showWho() {
  const who = document.getElementById("who");
  if (!who) return;
  let me = null;
  try {
    me = JSON.parse(sessionStorage.getItem("forager.me") || "null");
  } catch {
    me = null;
  }
  if (!me) {
    me = await api("/ui/api/me");
    sessionStorage.setItem("forager.me", JSON.stringify(me));
  }
  who.textContent = `${me.name} (${me.prefix})`;
}

// Calls fn every pollMs while the tab is visible (and now, unless now=false); returns a stop function.
export function every(fn, { ms = pollMs(), now = true } = {}) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === "visible") {
      try {
        await fn();
      } catch (err) {
        console.warn("refresh failed", err);
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  if (now) tick();
  else timer = setTimeout(tick, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// A keyset-paged table: load(afterId) -> {items, next_after_id}; render(items) -> node.
// Keeps the cursors seen so that "Newer" goes back exactly.
export function pager(load, render, { label = "rows" } = {}) {
  const box = h("div", { class: "pager" });
  const body = h("div", {});
  const info = h("span", { class: "muted" });
  const prev = h("button", { type: "button", class: "prev", text: "‹ Newer" });
  const next = h("button", { type: "button", class: "next", text: "Older ›" });
  const cursors = [null];
  let page = 0;
  let nextCursor = null;
  let shown = null;
  async function show() {
    const data = await load(cursors[page]);
    nextCursor = data.next_after_id;
    // Unchanged data is not redrawn: a live refresh keeps the reader's place and open rows.
    const sig = `${page} ${JSON.stringify(data.items)}`;
    if (sig !== shown) replace(body, render(data.items));
    shown = sig;
    prev.disabled = page === 0;
    next.disabled = nextCursor === null || nextCursor === undefined;
    info.textContent = `page ${page + 1} · ${data.items.length} ${label}`;
  }
  prev.addEventListener("click", () => {
    if (page > 0) {
      page -= 1;
      show();
    }
  });
  next.addEventListener("click", () => {
    if (nextCursor === null || nextCursor === undefined) return;
    cursors[page + 1] = nextCursor;
    page += 1;
    show();
  });
  box.append(body, h("div", { class: "pager-nav" }, prev, info, next));
  return { node: box, refresh: show, isFirstPage: () => page === 0 };
}

// Filters kept in the page's query string, so that a filtered view is a shareable link.
export function filters(names) {
  const q = new URLSearchParams(location.search);
  const values = {};
  for (const n of names) values[n] = q.get(n) || "";
  return values;
}

export function setFilters(values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, "", `${location.pathname}${s ? `?${s}` : ""}`);
}

// A filter bar of inputs and selects: spec [{name, label, options?}], calls onChange(values).
export function filterBar(spec, values, onChange) {
  const form = h("form", { class: "filters" });
  const inputs = {};
  for (const f of spec) {
    let input;
    if (f.options) {
      input = h(
        "select",
        { name: f.name, id: `f-${f.name}` },
        f.options.map(([v, label]) => h("option", { value: v, text: label })),
      );
    } else {
      input = h("input", {
        name: f.name,
        id: `f-${f.name}`,
        type: f.type || "text",
        placeholder: f.placeholder || "",
        inputmode: f.type === "number" ? "numeric" : null,
      });
    }
    input.value = values[f.name] || "";
    inputs[f.name] = input;
    form.append(h("label", { for: `f-${f.name}` }, f.label), input);
  }
  const apply = () => {
    const v = {};
    for (const [k, input] of Object.entries(inputs)) v[k] = input.value.trim();
    setFilters(v);
    onChange(v);
  };
  form.append(h("button", { type: "submit", text: "Apply" }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    apply();
  });
  for (const input of Object.values(inputs)) {
    if (input.tagName === "SELECT") input.addEventListener("change", apply);
  }
  return form;
}
