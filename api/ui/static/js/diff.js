// Unified diffs as colored lines.

import { h } from "./dom.js";

function lineClass(line) {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff --git") || line.startsWith("index ")) {
    return "d-file";
  }
  if (line.startsWith("@@")) return "d-hunk";
  if (line.startsWith("+")) return "d-add";
  if (line.startsWith("-")) return "d-del";
  return "d-ctx";
}

export function diffView(text, { empty = "(no changes)" } = {}) {
  if (!text || !text.trim()) return h("p", { class: "muted", text: empty });
  const lines = text.replace(/\n$/, "").split("\n");
  return h(
    "pre",
    { class: "diff" },
    lines.map((line) => h("span", { class: lineClass(line) }, `${line}\n`)),
  );
}

// Added and removed line counts of a diff.
export function diffStat(text) {
  let add = 0;
  let del = 0;
  for (const line of (text || "").split("\n")) {
    if (line.startsWith("+++") || line.startsWith("---")) continue;
    if (line.startsWith("+")) add += 1;
    else if (line.startsWith("-")) del += 1;
  }
  return { add, del };
}
