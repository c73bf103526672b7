// Overview: submissions with live stage progress, the broker's queues and workers, throughput
// and failures over time.

import { api, query, ui } from "../api.js";
import { boot, every, pager } from "../app.js";
import { timeColumns } from "../charts.js";
import { badge, card, fmt, h, link, replace, table } from "../dom.js";
import { stagePills } from "../views.js";

function submissionsTable(items) {
  return table(
    [
      { label: "#", cell: (s) => link(ui(`/submissions/${s.id}`), String(s.id)) },
      { label: "source", cell: (s) => h("span", { class: "mono" }, s.source), class: "wide" },
      { label: "status", cell: (s) => badge(s.status) },
      { label: "stages", cell: (s) => stagePills(s) },
      { label: "environment", cell: (s) => (s.environment_id ? link(ui(`/environments/${s.environment_id}`), `#${s.environment_id}`) : "–") },
      { label: "updated", cell: (s) => fmt.ago(s.updated_at) },
    ],
    items,
    { empty: "No submissions yet: POST /v1/sources or `forager api submit`.", rowAttrs: (s) => ({ dataset: { submission: s.id, status: s.status } }) },
  );
}

function stat(label, value, sub = null, id = null) {
  return h("div", { class: "stat", id }, h("div", { class: "stat-v" }, value), h("div", { class: "stat-l" }, label), sub ? h("div", { class: "stat-s" }, sub) : null);
}

function counts(obj, order) {
  const keys = [...order.filter((k) => k in obj), ...Object.keys(obj).filter((k) => !order.includes(k))];
  return keys.map((k) => `${fmt.num(obj[k])} ${k}`).join(" · ") || "none";
}

function renderStats(box, o) {
  const q = o.queues || {};
  const total = (obj) => Object.values(obj || {}).reduce((a, b) => a + b, 0);
  const workers = q.workers;
  const depthText = q.broker_up === false ? "broker down" : Object.entries(q.depths || {}).map(([k, v]) => `${k} ${v}`).join(" · ");
  replace(
    box,
    stat("submissions", fmt.num(total(o.submissions)), counts(o.submissions, ["running", "queued", "done", "failed", "cancelled"]), "stat-submissions"),
    stat("environments", fmt.num(total(o.environments)), counts(o.environments, ["verified", "failed", "building"]), "stat-environments"),
    stat("episodes", fmt.num(total(o.episodes)), counts(o.episodes, ["finished", "running"]), "stat-episodes"),
    stat("episodes / min", o.episodes_per_min.toFixed(1), "last 10 minutes", "stat-rate"),
    stat("queued jobs", q.checked_at ? fmt.num(total(q.depths)) : "…", depthText || (q.checked_at ? "" : "checking the broker"), "stat-queues"),
    stat(
      "workers alive",
      workers ? String(workers.length) : "…",
      workers ? workers.map((w) => `${w.name} (${w.queues.join(",")}${w.active ? `, ${w.active} busy` : ""})`).join(" · ") || "none answered" : q.error || "checking",
      "stat-workers",
    ),
  );
}

boot(async (main) => {
  const stats = h("div", { class: "stats", id: "stats" });
  const rate = h("div", { id: "throughput" });
  const fails = h("div", { id: "failures" });
  const subs = pager((after) => api(`/v1/sources${query({ limit: 20, after_id: after })}`), submissionsTable, { label: "submissions" });
  replace(
    main,
    h("h1", { text: "Overview" }),
    stats,
    h("div", { class: "two" }, card("Episodes finished per minute (last hour)", rate), card("Failures by reason per hour (last 24 h)", fails)),
    card("Submissions", h("p", { class: "muted", text: "Stage progress refreshes live." }), subs.node),
  );
  let last = null;
  const load = async () => {
    const o = await api("/ui/api/overview");
    const sig = JSON.stringify({ ...o, now: null });
    if (sig === last) return;
    last = sig;
    renderStats(stats, o);
    replace(rate, timeColumns(o.throughput, { title: "episodes per minute" }));
    replace(fails, timeColumns(o.failures, { title: "failures per hour" }));
  };
  await Promise.all([load(), subs.refresh()]);
  every(load, { now: false });
  every(() => subs.refresh(), { now: false }); // the page in view, whichever it is
});
