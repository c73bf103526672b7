"""The tools offered to policies: names, descriptions and JSON schemas (native tool calls),
and the text forms documented in the system prompt."""

from __future__ import annotations

from typing import Any


def _spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


_PATH = {"type": "string", "description": "path relative to the repository root (or absolute under it)"}

TOOL_SPECS: list[dict[str, Any]] = [
    _spec(
        "bash",
        "Run a bash command in the repository (cwd and exported variables persist).",
        {"command": {"type": "string"}},
        ["command"],
    ),
    _spec(
        "view",
        "Show a file with line numbers (optionally a range), or list a directory.",
        {
            "path": _PATH,
            "view_range": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        },
        ["path"],
    ),
    _spec(
        "create",
        "Create a new file (the path must not exist; its folder must).",
        {"path": _PATH, "file_text": {"type": "string"}},
        ["path", "file_text"],
    ),
    _spec(
        "edit",
        "Replace old_str, which must occur exactly once in the file, with new_str.",
        {"path": _PATH, "old_str": {"type": "string"}, "new_str": {"type": "string"}},
        ["path", "old_str", "new_str"],
    ),
    _spec(
        "insert",
        "Insert new_str after line insert_line (0 inserts at the top).",
        {"path": _PATH, "insert_line": {"type": "integer"}, "new_str": {"type": "string"}},
        ["path", "insert_line", "new_str"],
    ),
    _spec("undo_edit", "Undo the last edit, insert or create of a file.", {"path": _PATH}, ["path"]),
    _spec(
        "run_tests",
        "Run tests (all, or the given test ids) and report each test's outcome.",
        {"tests": {"type": "array", "items": {"type": "string"}}},
        [],
    ),
    _spec("submit", "Finish: your changes to the repository are the answer.", {}, []),
]

TEXT_FORMS = """\
Reply with exactly one tool call per message, in this form:
<tool: NAME>
ARGS
</tool>
Tools and their ARGS:
- bash: a shell command. cwd and exported variables persist between commands.
- view: `PATH` or `PATH START END` (line numbers), or a directory.
- create: `PATH` on the first line, then the file's content.
- edit: `PATH` on the first line, then
  <<<<<<< SEARCH
  exact text that occurs once
  =======
  replacement text
  >>>>>>> REPLACE
- insert: `PATH LINE` on the first line, then the text to insert after LINE.
- undo_edit: `PATH`.
- run_tests: test ids separated by spaces or newlines, or nothing for the whole suite.
- submit: nothing. Ends the episode; your changes are the answer."""
