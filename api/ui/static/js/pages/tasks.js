// Tasks: per environment and family, each with its bug patch as a diff and its tests.

import { api, query, ui } from "../api.js";
import { boot, filterBar, filters, pager } from "../app.js";
import { hbars } from "../charts.js";
import { badge, card, h, link, replace, table } from "../dom.js";
import { diffStat, diffView } from "../diff.js";
import { testList } from "../views.js";

function target(t) {
  const where = [t.target_file, t.target_symbol].filter(Boolean).join(" :: ");
  const lines = t.line_start !== null ? ` (lines ${t.line_start}–${t.line_end})` : "";
  return h("span", { class: "mono small" }, `${where || "–"}${lines}`);
}

// A row's expandable detail: the bug patch and the tests, fetched when first opened.
function expander(t) {
  const row = h("tr", { class: "detail-row", hidden: true }, h("td", { colspan: 7 }));
  const button = h("button", {
    type: "button",
    class: "link show-patch",
    text: "bug patch",
    onclick: async () => {
      if (!row.hidden) {
        row.hidden = true;
        return;
      }
      if (!row.dataset.loaded) {
        const full = await api(`/v1/tasks/${t.id}`);
        const stat = diffStat(full.bug_patch);
        replace(
          row.firstChild,
          h("div", { class: "two" },
            h("div", {}, h("h3", {}, `Bug patch (+${stat.add} −${stat.del})`), diffView(full.bug_patch)),
            h("div", {}, testList("fail → pass", full.fail_to_pass), testList("pass → pass", full.pass_to_pass, 10))),
        );
        row.dataset.loaded = "1";
      }
      row.hidden = false;
    },
  });
  return { row, button };
}

function tasksTable(items) {
  const tbl = table(
    [
      { label: "#", cell: (t) => link(ui(`/tasks/${t.id}`), String(t.id), { class: "task-link" }) },
      { label: "environment", cell: (t) => link(ui(`/environments/${t.environment_id}`), `#${t.environment_id}`) },
      { label: "kind", cell: (t) => badge(t.kind) },
      { label: "family", cell: (t) => t.family },
      { label: "target", cell: (t) => target(t), class: "wide" },
      { label: "description", cell: (t) => t.description },
      { label: "", cell: () => "" },
    ],
    items,
    { empty: "No tasks match.", rowAttrs: (t) => ({ dataset: { task: t.id } }) },
  );
  // Each task row gets its expander button and a hidden detail row after it.
  const rows = [...tbl.tBodies[0].rows];
  items.forEach((t, i) => {
    const { row, button } = expander(t);
    rows[i].lastChild.append(button);
    rows[i].after(row);
  });
  return tbl;
}

boot(async (main) => {
  let values = filters(["environment_id", "family", "kind"]);
  const chart = h("div", { id: "families" });
  const box = h("div", {});
  const show = async () => {
    const fams = await api(`/ui/api/task-families${query({ environment_id: values.environment_id })}`);
    const byFamily = {};
    for (const f of fams) byFamily[f.family] = (byFamily[f.family] || 0) + f.tasks;
    const entries = Object.entries(byFamily).sort((a, b) => b[1] - a[1]);
    replace(chart, entries.length ? hbars(entries, { title: "tasks per family" }) : h("p", { class: "muted", text: "no tasks" }));
    const p = pager((after) => api(`/v1/tasks${query({ ...values, after_id: after })}`), tasksTable, { label: "tasks" });
    replace(box, p.node);
    await p.refresh();
  };
  const bar = filterBar(
    [
      { name: "environment_id", label: "environment", type: "number" },
      { name: "family", label: "family", placeholder: "operator_swap…" },
      { name: "kind", label: "kind", options: [["", "any"], ["mutate_fix", "mutate_fix"], ["issue_fix", "issue_fix"]] },
    ],
    values,
    (v) => {
      values = v;
      show();
    },
  );
  replace(
    main,
    h("h1", {}, "Tasks", values.environment_id ? h("small", {}, " in environment ", link(ui(`/environments/${values.environment_id}`), `#${values.environment_id}`)) : null),
    card(null, bar),
    card("Tasks by family", chart),
    card("Tasks", box),
  );
  await show();
});
