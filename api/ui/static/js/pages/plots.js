// Plots of the whole store: verified share per submission, tasks per family, episode lengths,
// exit statuses and step latency.

import { api } from "../api.js";
import { boot } from "../app.js";
import { hbars, histogram, shareBars } from "../charts.js";
import { card, fmt, h, replace } from "../dom.js";

function msLabel(v) {
  if (v >= 1000) return `${v / 1000}s`;
  return `${v}ms`;
}

boot(async (main) => {
  const p = await api("/ui/api/plots");
  const exits = Object.entries(p.exit_status).sort((a, b) => b[1] - a[1]);
  const finished = exits.reduce((a, [, n]) => a + n, 0);
  replace(
    main,
    h("h1", { text: "Plots" }),
    card(
      "Verified share per submission",
      h("p", { class: "muted", text: "Finished episodes in the submission's environment whose patch made the tests pass (reward 1)." }),
      h("div", { id: "plot-verified" }, p.verified_share.length ? shareBars(p.verified_share, { title: "verified share" }) : h("p", { class: "muted", text: "no submissions with an environment yet" })),
    ),
    h(
      "div",
      { class: "two" },
      card("Tasks per family", h("div", { id: "plot-families" }, hbars(Object.entries(p.tasks_per_family).sort((a, b) => b[1] - a[1]), { title: "tasks per family" }))),
      card(
        `Exit status (${fmt.num(finished)} finished episodes)`,
        h("div", { id: "plot-exits" }, hbars(exits.map(([k, v]) => [k === "null" ? "none" : k, v]), { title: "exit status", fmt: (v) => `${v.toLocaleString("en-US")} (${fmt.pct(v, finished)})` })),
      ),
    ),
    h(
      "div",
      { class: "two" },
      card(`Episode length in steps (${fmt.num(p.episode_length.sample)} episodes)`, h("div", { id: "plot-lengths" }, histogram(p.episode_length, { title: "episode length" }))),
      card(
        `Step latency, newest ${fmt.num(p.step_latency.sample)} steps`,
        h("div", { id: "plot-latency" }, histogram(p.step_latency, { title: "step latency", edgeFmt: msLabel })),
      ),
    ),
  );
});
