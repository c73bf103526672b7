"""Unified diffs in the form `git diff` prints and `git apply` accepts."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# git splits lines at \n only; a \r stays part of its line (and of the patch line).
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _range(start: int, stop: int) -> str:
    """A hunk range as difflib and git write it: `5` for one line, `4,0` for none after 4."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _common_prefix(a: str, b: str) -> int:
    # Binary search over slice comparisons: each comparison runs in C, which beats a
    # character loop in Python by far on large files.
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: str, b: str, limit: int) -> int:
    low, high = 0, limit
    while low < high:
        mid = (low + high + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            low = mid
        else:
            high = mid - 1
    return low


def _back(text: str, pos: int, lines: int) -> int:
    """The start of the line `lines` lines above the one holding `pos`."""
    start = text.rfind("\n", 0, pos) + 1
    for _ in range(lines):
        if start == 0:
            break
        start = text.rfind("\n", 0, start - 1) + 1
    return start


def _forward(text: str, pos: int, lines: int) -> int:
    """The end (after its newline) of the line `lines` lines below the one holding `pos`."""
    end = pos
    for _ in range(lines + 1):
        found = text.find("\n", end)
        if found < 0:
            return len(text)
        end = found + 1
    return end


def git_diff(
    path: str, before: str, after: str, context: int = 3, same: tuple[int, int] | None = None
) -> str:
    """The patch turning `before` into `after` for the file at `path` (repo-relative, POSIX).

    Only the changed region and its context are split into lines and matched, so diffing a
    large file for each of many small mutations stays cheap. A caller that knows how many
    leading and trailing characters the texts share passes them as `same`, which saves
    searching for them.
    """
    if before == after:
        return ""
    if same is None:
        prefix = _common_prefix(before, after)
        suffix = _common_suffix(before, after, min(len(before), len(after)) - prefix)
    else:
        prefix, suffix = same
    start = _back(before, prefix, context)
    # The unchanged tail is the same text in both, shifted by the length difference.
    shift = len(after) - len(before)
    stop = _forward(before, len(before) - suffix, context) if suffix else len(before)
    a, b = _lines(before[start:stop]), _lines(after[start : stop + shift])
    offset = before.count("\n", 0, start)
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1 + offset, i2 + offset)} +{_range(j1 + offset, j2 + offset)} @@\n")
        for tag, ai1, ai2, bj1, bj2 in group:
            if tag == "equal":
                out.extend(_emit(" ", a[ai1:ai2]))
                continue
            out.extend(_emit("-", a[ai1:ai2]))
            out.extend(_emit("+", b[bj1:bj2]))
    return "".join(out)


def _emit(mark: str, lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(mark + line)
        else:
            out.append(f"{mark}{line}\n{_NO_NEWLINE}")
    return out
