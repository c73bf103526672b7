"""Character edits of a source text, and the two removals every statement family needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from forager.tasks.mutations.models import Family
from forager.tasks.mutations.source import ParsedSource, Span


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `text`."""

    start: int
    end: int
    text: str

    @classmethod
    def replace(cls, span: Span, text: str) -> Edit:
        return cls(span.start, span.end, text)


@dataclass(frozen=True)
class Candidate:
    """A family's proposal before the engine checks, deduplicates and packages it."""

    family: Family
    edits: tuple[Edit, ...]
    description: str


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits; untouched characters are copied verbatim.

    A replacement is padded with a space where it would otherwise fuse with a neighbouring
    word (`if(x)` negated must become `if not (x)`, not `ifnot (x)`).
    """
    out: list[str] = []
    cursor = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        before = text[edit.start - 1] if edit.start > 0 else ""
        after = text[edit.end] if edit.end < len(text) else ""
        new = edit.text
        if not new:
            if _is_word(before) and _is_word(after):
                new = " "
        else:
            if _is_word(before) and _is_word(new[0]):
                new = " " + new
            if _is_word(after) and _is_word(new[-1]):
                new = new + " "
        out.append(text[cursor : edit.start])
        out.append(new)
        cursor = edit.end
    out.append(text[cursor:])
    return "".join(out)


def _separator(node: cst.CSTNode) -> cst.CSTNode | None:
    for attr in ("comma", "semicolon"):
        sep = getattr(node, attr, None)
        if isinstance(sep, cst.Comma | cst.Semicolon):
            return sep
    return None


def _core_end(src: ParsedSource, node: cst.CSTNode) -> int:
    """Where the element's own text ends, before any space ahead of its separator.

    `/` and bare `*` parameters own their comma in libcst's positions, hence the minimum.
    """
    end = src.span(node).end
    sep = _separator(node)
    if sep is not None:
        end = min(end, src.span(sep).start)
    return end


def remove_separated(src: ParsedSource, elements: Sequence[cst.CSTNode], first: int, last: int) -> Edit:
    """Remove elements[first..last] from a comma- or semicolon-separated list.

    The removed text is chosen so that the list's own layout survives: an inner element takes
    its separator and the whitespace up to the next element; the last one takes the separator
    before it (or, with a trailing separator, the line break before it), so a one-per-line list
    loses exactly its line and an inline list loses exactly `, x`.
    """
    start_el, last_el = elements[first], elements[last]
    if last + 1 < len(elements):
        return Edit(src.span(start_el).start, src.span(elements[last + 1]).start, "")
    trailing = _separator(last_el)
    if first == 0:
        end = src.span(trailing).end if trailing is not None else _core_end(src, last_el)
        return Edit(src.span(start_el).start, end, "")
    before = elements[first - 1]
    if trailing is not None:
        before_sep = _separator(before)
        assert before_sep is not None  # an element followed by another always has a separator
        return Edit(src.span(before_sep).end, src.span(trailing).end, "")
    return Edit(_core_end(src, before), _core_end(src, last_el), "")


def remove_statement(src: ParsedSource, stmt: cst.CSTNode) -> Edit:
    """Remove a statement (compound, whole line, or one `;`-separated small statement).

    A statement alone in its block becomes `pass`, since an empty block does not parse.
    Comment lines above a removed line are kept: they lie outside the statement's span.
    """
    if isinstance(stmt, cst.BaseSmallStatement):
        holder = src.parent(stmt)
        assert isinstance(holder, cst.SimpleStatementLine | cst.SimpleStatementSuite)
        if len(holder.body) > 1:
            index = next(i for i, s in enumerate(holder.body) if s is stmt)
            return remove_separated(src, holder.body, index, index)
        if isinstance(holder, cst.SimpleStatementSuite):
            return Edit.replace(src.span(stmt), "pass")
        stmt = holder
    block = src.parent(stmt)
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return Edit.replace(src.statement_span(stmt), "pass")
    return Edit.replace(src.whole_lines(stmt, stmt), "")


def clip(text: str, limit: int = 40) -> str:
    """One line of code, shortened for a description."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def line_range(src: ParsedSource, node: cst.CSTNode) -> str:
    first, last = src.line_of(src.statement_span(node).start), src.last_line(node)
    return f"line {first}" if first == last else f"lines {first}-{last}"
