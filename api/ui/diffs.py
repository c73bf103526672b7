"""File edits of a trajectory's steps as unified diffs, from the tool's arguments alone."""

from __future__ import annotations

import difflib
from typing import Any

MAX_DIFF_CHARS = 200_000


def edit_diff(tool: str | None, args: dict[str, Any]) -> str | None:
    """The change an edit, create or insert step asked for; None for other tools.

    Edits are shown against the replaced snippet (the file around it is not stored), so
    their hunk line numbers count from the snippet, not the file.
    """
    path = args.get("path")
    if not isinstance(path, str):
        return None
    if tool == "edit":
        old, new = _text(args.get("old_str")), _text(args.get("new_str"))
        diff = _unified(old, new, f"a/{path}", f"b/{path}")
    elif tool == "create":
        diff = _unified("", _text(args.get("file_text")), "/dev/null", f"b/{path}")
    elif tool == "insert":
        new = _text(args.get("new_str"))
        at = args.get("insert_line")
        start = at if isinstance(at, int) and at >= 0 else 0
        lines = new.splitlines()
        body = "".join(f"+{line}\n" for line in lines)
        diff = f"--- a/{path}\n+++ b/{path}\n@@ -{start},0 +{start + 1},{len(lines)} @@\n{body}"
    else:
        return None
    return diff[:MAX_DIFF_CHARS]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _unified(old: str, new: str, a: str, b: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), a, b, n=3, lineterm="\n"
    )
    # difflib leaves a last line without its newline; the viewer splits on newlines.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
