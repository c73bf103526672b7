"""Turning a model's text reply into an action.

Accepted forms, in order: CWM's `<tool: NAME>\\nARGS\\n</tool>` block; a fenced ```bash block
(taken as the `bash` tool). Exactly one action per reply; anything else is a format error
whose message is shown to the policy so it can correct itself.
"""

from __future__ import annotations

import json
import re
import shlex

from forager.agent.errors import FormatError
from forager.agent.models import Action

_TOOL_BLOCK = re.compile(r"<tool:\s*([a-z_]+)\s*>\n?(.*?)\n?</tool>", re.S)
_FENCE = re.compile(r"```(?:bash|sh|shell)\s*\n(.*?)\n```", re.S)
_SEARCH_REPLACE = re.compile(r"<<<<<<< SEARCH\n(.*?)\n?=======\n(.*?)\n?>>>>>>> REPLACE", re.S)

TOOL_NAMES = ("bash", "view", "create", "edit", "insert", "undo_edit", "run_tests", "submit")


def parse_action(text: str) -> Action:
    blocks = _TOOL_BLOCK.findall(text)
    if len(blocks) > 1:
        raise FormatError(
            f"found {len(blocks)} tool calls; send exactly one <tool: NAME>...</tool> block per reply"
        )
    if blocks:
        name, body = blocks[0]
        return Action(tool=name, args=tool_args(name, body))
    fences = _FENCE.findall(text)
    if len(fences) == 1:
        return Action(tool="bash", args={"command": fences[0]})
    if len(fences) > 1:
        raise FormatError(f"found {len(fences)} bash blocks; send exactly one command per reply")
    raise FormatError(
        "no tool call found; reply with exactly one block of the form <tool: NAME>\\nARGS\\n</tool>"
    )


def tool_args(name: str, body: str) -> dict[str, object]:
    """Arguments of a text tool call: a JSON object, or the tool's plain-text form."""
    if name not in TOOL_NAMES:
        raise FormatError(f"unknown tool {name!r}; tools: {', '.join(TOOL_NAMES)}")
    stripped = body.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            return data
    first, _, rest = body.partition("\n")
    first = first.strip()
    if name == "bash":
        return {"command": body.strip("\n")}
    if name == "submit":
        return {}
    if name == "run_tests":
        return {"tests": shlex.split(body)} if body.strip() else {}
    if not first:
        raise FormatError(f"{name}: the first line must be a path")
    if name == "view":
        parts = first.split()
        if len(parts) == 3:
            return {"path": parts[0], "view_range": [_int(parts[1], name), _int(parts[2], name)]}
        return {"path": first}
    if name == "undo_edit":
        return {"path": first}
    if name == "create":
        return {"path": first, "file_text": rest}
    if name == "insert":
        parts = first.split()
        if len(parts) != 2:
            raise FormatError("insert: the first line must be `PATH LINE`")
        return {"path": parts[0], "insert_line": _int(parts[1], name), "new_str": rest}
    # edit
    m = _SEARCH_REPLACE.search(rest)
    if not m:
        raise FormatError(
            "edit: after the path give\n<<<<<<< SEARCH\nexact old text\n=======\nnew text\n>>>>>>> REPLACE"
        )
    return {"path": first, "old_str": m.group(1), "new_str": m.group(2)}


def _int(text: str, tool: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormatError(f"{tool}: {text!r} is not a line number") from None
