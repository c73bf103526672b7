// One submission: its stages as they progress, then its environment, tasks and episodes.

import { api, query, ui } from "../api.js";
import { boot, every, pageId, pager } from "../app.js";
import { badge, card, errorBox, fmt, h, kv, link, replace } from "../dom.js";
import { STAGES, episodesTable, stagePills } from "../views.js";

const TERMINAL = ["done", "failed", "cancelled"];

function stageRows(sub) {
  return h(
    "table",
    { class: "grid" },
    h("thead", {}, h("tr", {}, ["stage", "status", "started", "took", "details"].map((t) => h("th", { text: t })))),
    h(
      "tbody",
      {},
      STAGES.map((st) => {
        const p = (sub.progress || {})[st] || { status: "pending" };
        const rest = Object.entries(p).filter(([k]) => !["status", "started_at", "finished_at"].includes(k));
        return h(
          "tr",
          { dataset: { stage: st } },
          h("td", { text: st }),
          h("td", {}, badge(p.status || "pending")),
          h("td", { text: fmt.time(p.started_at) }),
          h("td", { text: p.finished_at ? fmt.between(p.started_at, p.finished_at) : p.started_at ? "running" : "–" }),
          h("td", { class: "mono", text: rest.map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join("  ") }),
        );
      }),
    ),
  );
}

boot(async (main) => {
  const id = pageId();
  const head = h("div", {});
  const stages = h("div", {});
  const below = h("div", {});
  replace(main, h("h1", {}, `Submission #${id}`), card(null, head), card("Stages", stages), below);
  let shownEnv = null;
  const load = async () => {
    const sub = await api(`/v1/sources/${id}`);
    replace(
      head,
      kv([
        ["source", h("span", { class: "mono" }, sub.source)],
        sub.ref ? ["ref", sub.ref] : null,
        ["status", h("span", {}, badge(sub.status), " ", stagePills(sub))],
        ["created", fmt.time(sub.created_at)],
        ["updated", `${fmt.time(sub.updated_at)} (${fmt.ago(sub.updated_at)})`],
        sub.cancel_requested ? ["cancel", "requested"] : null,
        ["environment", sub.environment_id ? link(ui(`/environments/${sub.environment_id}`), `#${sub.environment_id}`) : "not built yet"],
      ]),
      sub.error ? errorBox(sub.error) : null,
    );
    replace(stages, stageRows(sub));
    if (sub.environment_id && shownEnv !== sub.environment_id) {
      shownEnv = sub.environment_id;
      const env = sub.environment_id;
      const eps = pager((after) => api(`/v1/episodes${query({ environment_id: env, after_id: after, limit: 25 })}`), episodesTable, { label: "episodes" });
      replace(
        below,
        card(
          "Episodes in this environment",
          h("p", {}, link(ui(`/tasks?environment_id=${env}`), "Tasks of this environment"), " · ", link(ui(`/episodes?environment_id=${env}`), "All its episodes")),
          eps.node,
        ),
      );
      await eps.refresh();
    }
    return sub;
  };
  const first = await load();
  if (!TERMINAL.includes(first.status)) {
    const stop = every(
      async () => {
        const sub = await load();
        if (TERMINAL.includes(sub.status)) stop();
      },
      { now: false },
    );
  }
});
