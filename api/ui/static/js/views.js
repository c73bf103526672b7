// Views several pages show: stage progress of a submission, a table of episodes.

import { ui } from "./api.js";
import { badge, fmt, h, link, table } from "./dom.js";

export const STAGES = ["ingest", "build", "tasks", "episodes"];

// One pill per pipeline stage: its state, how long it took, episodes done of total.
export function stagePills(sub) {
  return h(
    "span",
    { class: "stages" },
    STAGES.map((st) => {
      const p = (sub.progress || {})[st] || { status: "pending" };
      const status = p.status || "pending";
      let detail = "";
      if (p.started_at && p.finished_at) detail = fmt.between(p.started_at, p.finished_at);
      else if (p.started_at) detail = fmt.ago(p.started_at).replace(" ago", "");
      let count = "";
      if (st === "episodes" && p.total !== undefined) {
        const done = p.finished ?? p.episodes ?? (status === "done" ? p.total : 0);
        count = ` ${done}/${p.total}`;
      }
      return h(
        "span",
        { class: `pill p-${status}`, title: `${st}: ${status}${detail ? `, ${detail}` : ""}`, dataset: { stage: st, status } },
        `${st}${count}`,
        detail ? h("small", {}, ` ${detail}`) : null,
      );
    }),
  );
}

export function episodesTable(items) {
  return table(
    [
      { label: "#", cell: (e) => link(ui(`/episodes/${e.id}`), String(e.id), { class: "episode-link" }) },
      { label: "environment", cell: (e) => link(ui(`/environments/${e.environment_id}`), `#${e.environment_id}`) },
      { label: "task", cell: (e) => (e.task_id ? link(ui(`/tasks/${e.task_id}`), `#${e.task_id}`) : "–") },
      { label: "exit", cell: (e) => badge(e.exit_status || e.status, e.exit_status || e.status) },
      { label: "policy", cell: (e) => [e.policy.kind, e.policy.model ? ` (${e.policy.model})` : ""].join("") },
      { label: "seed", cell: (e) => String(e.seed), class: "num" },
      { label: "reward", cell: (e) => fmt.reward(e.reward), class: "num" },
      { label: "steps", cell: (e) => fmt.num(e.totals.steps), class: "num" },
      { label: "tokens", cell: (e) => fmt.num((e.totals.prompt_tokens || 0) + (e.totals.completion_tokens || 0)), class: "num" },
      { label: "started", cell: (e) => fmt.time(e.started_at) },
      { label: "took", cell: (e) => (e.finished_at ? fmt.between(e.started_at, e.finished_at) : "running") },
    ],
    items,
    { empty: "No episodes match.", rowAttrs: (e) => ({ dataset: { episode: e.id } }) },
  );
}

// The test baseline of an environment as a stacked bar: passed, failed, skipped, error; flaky marked.
export function baselineBar(env) {
  const parts = [
    ["passed", env.tests_passed],
    ["failed", env.tests_failed],
    ["skipped", env.tests_skipped || 0],
    ["error", env.tests_error || 0],
  ];
  const total = parts.reduce((a, [, n]) => a + n, 0);
  const bar = h("span", { class: "bar", title: parts.map(([k, n]) => `${n} ${k}`).join(", ") });
  for (const [k, n] of parts) {
    if (!n) continue;
    const seg = h("span", { class: `seg s-${k}` });
    seg.style.width = `${(100 * n) / total}%`;
    bar.append(seg);
  }
  const flaky = env.tests_flaky ? h("span", { class: "badge b-flaky", text: `${env.tests_flaky} flaky` }) : null;
  return h(
    "span",
    { class: "baseline" },
    bar,
    h("span", { class: "mono small" }, `${fmt.num(env.tests_passed)} passed · ${fmt.num(env.tests_failed)} failed`),
    flaky,
  );
}

export function timingText(timings) {
  const t = timings || {};
  const keys = Object.keys(t);
  if (!keys.length) return "–";
  return keys.map((k) => `${k.replace(/_s$/, "")} ${fmt.secs(Number(t[k]))}`).join(" · ");
}

// A titled list of test ids, the first `shown` of them with a button for the rest.
export function testList(title, tests, shown = 20) {
  const ids = (tests || []).map((t) => (typeof t === "string" ? t : JSON.stringify(t)));
  const list = h("ul", { class: "tests mono small" }, ids.slice(0, shown).map((t) => h("li", { text: t })));
  const box = h("div", { class: "test-list" }, h("h3", {}, `${title} (${ids.length})`), list);
  if (ids.length > shown) {
    const more = h("button", {
      type: "button",
      class: "link",
      text: `show all ${ids.length}`,
      onclick: () => {
        list.append(...ids.slice(shown).map((t) => h("li", { text: t })));
        more.remove();
      },
    });
    box.append(more);
  }
  return box;
}
