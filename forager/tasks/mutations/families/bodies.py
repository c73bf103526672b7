"""Function-body families: `remove_body` and `remove_body_part`."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from forager.tasks.mutations.edits import Candidate, Edit, line_range
from forager.tasks.mutations.functions import FunctionNode, body_statements, docstring_count
from forager.tasks.mutations.source import ParsedSource, Span


def _returns_value(fn: FunctionNode) -> bool:
    return any(isinstance(n, cst.Return) and n.value is not None for n in fn.own_nodes())


def remove_body(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Replace everything after the docstring with `pass`, or `return None` if it returned values.

    The docstring stays so the task still says what the function should do.
    """
    statements = body_statements(fn.node)
    rest = statements[docstring_count(statements) :]
    if not rest:
        return
    filler = "return None" if _returns_value(fn) else "pass"
    if isinstance(fn.node.body, cst.IndentedBlock):
        # Whole lines, so no trailing comment of the old last line is left dangling after
        # the filler; comment lines above the first statement stay.
        lines = src.whole_lines(rest[0], rest[-1])
        indent = src.text[lines.start : src.statement_span(rest[0]).start]
        ending = src.line_ending(src.last_line(rest[-1]))
        edit = Edit(lines.start, lines.end, indent + filler + ending)
    else:
        edit = Edit.replace(Span(src.span(rest[0]).start, src.span(rest[-1]).end), filler)
    description = f"replace the body of `{fn.info.qualname}` with `{filler}`"
    yield Candidate("remove_body", (edit,), description)


def remove_body_part(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Drop one top-level statement (a line or a whole compound block) of a longer body."""
    if not isinstance(fn.node.body, cst.IndentedBlock):
        return
    statements = body_statements(fn.node)
    rest = statements[docstring_count(statements) :]
    if len(rest) < 2:
        return
    for stmt in rest:
        edit = Edit.replace(src.whole_lines(stmt, stmt), "")
        description = f"remove the statement on {line_range(src, stmt)} of `{fn.info.qualname}`"
        yield Candidate("remove_body_part", (edit,), description)
