// Environments: one row per built (or failed) repository snapshot; filter by repository.

import { api, query, ui } from "../api.js";
import { boot, filterBar, filters, pager } from "../app.js";
import { badge, card, fmt, h, link, replace, table } from "../dom.js";
import { baselineBar, timingText } from "../views.js";

function envTable(items) {
  return table(
    [
      { label: "#", cell: (e) => link(ui(`/environments/${e.id}`), String(e.id), { class: "env-link" }) },
      {
        label: "repository",
        cell: (e) => h("span", {}, link(ui(`/environments?name=${encodeURIComponent(e.name)}`), e.name), h("div", { class: "muted small mono" }, e.source)),
        class: "wide",
      },
      { label: "commit", cell: (e) => h("span", { class: "mono" }, e.commit_sha.slice(0, 10)) },
      { label: "status", cell: (e) => h("span", { title: e.reason || "" }, badge(e.status)) },
      { label: "python", cell: (e) => e.python || "–" },
      { label: "test baseline", cell: (e) => (e.tests_collected ? baselineBar(e) : h("span", { class: "muted", text: e.reason || "no tests" })) },
      { label: "image", cell: (e) => fmt.bytes(e.image_size_bytes), class: "num" },
      { label: "timings", cell: (e) => timingText(e.timings) },
      { label: "attempts", cell: (e) => String(e.attempts), class: "num" },
      { label: "created", cell: (e) => fmt.time(e.created_at) },
    ],
    items,
    { empty: "No environments match.", rowAttrs: (e) => ({ dataset: { env: e.id } }) },
  );
}

boot(async (main) => {
  let values = filters(["name", "status"]);
  const box = h("div", {});
  const show = async () => {
    const p = pager((after) => api(`/ui/api/environments${query({ ...values, after_id: after })}`), envTable, { label: "environments" });
    replace(box, p.node);
    await p.refresh();
  };
  const bar = filterBar(
    [
      { name: "name", label: "repository", placeholder: "exact name" },
      { name: "status", label: "status", options: [["", "any"], ["verified", "verified"], ["failed", "failed"], ["building", "building"]] },
    ],
    values,
    (v) => {
      values = v;
      show();
    },
  );
  replace(main, h("h1", { text: "Environments" }), card(null, bar, box));
  await show();
});
