// Episodes: filtered, newest first, each a link to its trajectory.

import { api, query } from "../api.js";
import { boot, filterBar, filters, pager } from "../app.js";
import { card, h, replace } from "../dom.js";
import { episodesTable } from "../views.js";

const EXITS = ["submitted", "step_limit", "time_limit", "token_limit", "format_error", "env_error", "policy_error"];

boot(async (main) => {
  const names = ["environment_id", "task_id", "exit_status", "policy_kind"];
  let values = filters(names);
  const box = h("div", {});
  const show = async () => {
    const p = pager((after) => api(`/v1/episodes${query({ ...values, after_id: after })}`), episodesTable, { label: "episodes" });
    replace(box, p.node);
    await p.refresh();
  };
  const bar = filterBar(
    [
      { name: "environment_id", label: "environment", type: "number" },
      { name: "task_id", label: "task", type: "number" },
      { name: "exit_status", label: "exit", options: [["", "any"], ...EXITS.map((x) => [x, x])] },
      { name: "policy_kind", label: "policy", placeholder: "explorer, openai…" },
    ],
    values,
    (v) => {
      values = v;
      show();
    },
  );
  replace(main, h("h1", { text: "Episodes" }), card(null, bar, box));
  await show();
});
