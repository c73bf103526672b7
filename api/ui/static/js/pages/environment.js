// One environment: how it was built (attempts and their logs), its test baseline, sizes, timings.

import { api, query, ui } from "../api.js";
import { boot, pageId, pager } from "../app.js";
import { badge, card, fmt, h, kv, link, pre, replace, table } from "../dom.js";
import { baselineBar, timingText } from "../views.js";

function attemptsTable(env) {
  const rows = [];
  for (const a of env.attempt_log) {
    const logBox = h("tr", { class: "log-row", hidden: true }, h("td", { colspan: 8 }));
    const button = h("button", {
      type: "button",
      class: "link show-log",
      text: "show log",
      onclick: async () => {
        if (!logBox.hidden) {
          logBox.hidden = true;
          button.textContent = "show log";
          return;
        }
        button.textContent = "loading…";
        const text = await api(`/v1/environments/${env.id}/attempts/${a.index}/log`, { text: true });
        replace(logBox.firstChild, pre(text, "log"));
        logBox.hidden = false;
        button.textContent = "hide log";
      },
    });
    rows.push(
      h(
        "tr",
        { dataset: { attempt: a.index } },
        h("td", { text: String(a.index) }),
        h("td", { text: a.strategy }),
        h("td", {}, badge(a.status)),
        h("td", { class: "wide", text: a.reason || a.why || "" }),
        h("td", { text: a.python || "–" }),
        h("td", { class: "num", text: a.build_s === null ? "–" : fmt.secs(a.build_s) }),
        h("td", { class: "num", text: a.test_s === null ? "–" : fmt.secs(a.test_s) }),
        h("td", {}, button),
      ),
      logBox,
    );
  }
  return h(
    "table",
    { class: "grid", id: "attempts" },
    h("thead", {}, h("tr", {}, ["#", "strategy", "status", "reason", "python", "build", "tests", "log"].map((t) => h("th", { text: t })))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 8, class: "muted", text: "no attempts recorded" }))),
  );
}

function testsTable(items) {
  return table(
    [
      { label: "test", cell: (t) => h("span", { class: "mono" }, t.test_id), class: "wide" },
      { label: "outcome", cell: (t) => badge(t.outcome) },
      { label: "flaky", cell: (t) => (t.flaky ? badge("flaky") : "") },
      { label: "duration", cell: (t) => fmt.secs(t.duration_s), class: "num" },
    ],
    items,
    { empty: "No tests match.", rowAttrs: (t) => ({ dataset: { test: t.test_id } }) },
  );
}

boot(async (main) => {
  const id = pageId();
  const env = await api(`/v1/environments/${id}`);
  const testsBox = h("div", {});
  const outcome = h("select", { id: "tests-outcome" }, ["", "passed", "failed", "skipped", "error", "flaky"].map((o) => h("option", { value: o, text: o || "any outcome" })));
  const showTests = async () => {
    const o = outcome.value;
    const params = o === "flaky" ? { flaky: "true" } : { outcome: o };
    const p = pager((after) => api(`/ui/api/environments/${id}/tests${query({ ...params, after_id: after, limit: 50 })}`), testsTable, { label: "tests" });
    replace(testsBox, p.node);
    await p.refresh();
  };
  outcome.addEventListener("change", showTests);
  replace(
    main,
    h("h1", {}, `${env.name} `, badge(env.status)),
    h("p", {}, link(ui(`/tasks?environment_id=${id}`), "Tasks"), " · ", link(ui(`/episodes?environment_id=${id}`), "Episodes"), " · ", link(ui(`/environments?name=${encodeURIComponent(env.name)}`), "Other environments of this repository")),
    env.reason ? h("div", { class: "error" }, env.reason) : null,
    h(
      "div",
      { class: "two" },
      card(
        "Environment",
        kv([
          ["source", h("span", { class: "mono" }, env.source)],
          ["commit", h("span", { class: "mono" }, env.commit_sha)],
          ["python", env.python || "–"],
          ["base image", env.base_image || "–"],
          ["image", h("span", { class: "mono" }, env.image_tag || "–")],
          ["image size", env.image_size_mb === null ? "–" : `${env.image_size_mb.toFixed(1)} MB (${env.added_size_mb === null ? "?" : env.added_size_mb.toFixed(1)} MB over the base)`],
          ["strategy", env.strategy || "–"],
          ["test command", h("span", { class: "mono" }, (env.test_command || []).join(" ") || "–")],
          ["install", h("span", { class: "mono small" }, (env.install_steps || []).join(" && ") || "–")],
          ["built", fmt.time(env.created_at)],
        ]),
      ),
      card(
        "Test baseline",
        baselineBar(env),
        kv([
          ["collected", fmt.num(env.tests_collected)],
          ["passed", fmt.num(env.tests_passed)],
          ["failed", fmt.num(env.tests_failed)],
          ["skipped", fmt.num(env.tests_skipped)],
          ["error", fmt.num(env.tests_error)],
          ["flaky", fmt.num(env.tests_flaky)],
        ]),
        h("h3", { text: "Timings" }),
        h("p", { id: "timings" }, timingText(env.timings)),
      ),
    ),
    card(`Build attempts (${env.attempts})`, attemptsTable(env)),
    card("Tests", h("div", { class: "filters" }, h("label", { for: "tests-outcome" }, "show"), outcome), testsBox),
  );
  await showTests();
});
