// One task: what the bug is, the patches as diffs, its tests and the episodes that tried it.

import { api, query, ui } from "../api.js";
import { boot, pageId, pager } from "../app.js";
import { badge, card, fmt, h, kv, link, replace } from "../dom.js";
import { diffView } from "../diff.js";
import { episodesTable, testList } from "../views.js";

boot(async (main) => {
  const id = pageId();
  const t = await api(`/v1/tasks/${id}`);
  const eps = pager((after) => api(`/v1/episodes${query({ task_id: id, after_id: after, limit: 25 })}`), episodesTable, { label: "episodes" });
  replace(
    main,
    h("h1", {}, `Task #${t.id} `, badge(t.kind), " ", h("small", { text: t.family })),
    card(
      null,
      kv([
        ["environment", link(ui(`/environments/${t.environment_id}`), `#${t.environment_id}`)],
        ["target", h("span", { class: "mono" }, [t.target_file, t.target_symbol].filter(Boolean).join(" :: ") || "–")],
        ["lines", t.line_start !== null ? `${t.line_start}–${t.line_end}` : "–"],
        ["description", t.description || "–"],
        ["created", fmt.time(t.created_at)],
      ]),
      t.problem_statement ? h("div", {}, h("h3", { text: "Problem statement" }), h("p", { class: "prose", text: t.problem_statement })) : null,
    ),
    h(
      "div",
      { class: "two" },
      card("Bug patch (introduces the bug)", h("div", { id: "bug-patch" }, diffView(t.bug_patch))),
      card("Fix patch (gold)", h("div", { id: "fix-patch" }, diffView(t.fix_patch))),
    ),
    card("Tests", h("div", { class: "two", id: "task-tests" }, testList("fail → pass", t.fail_to_pass), testList("pass → pass", t.pass_to_pass))),
    card("Episodes on this task", eps.node),
  );
  await eps.refresh();
});
