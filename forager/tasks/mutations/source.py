"""A parsed source file: its libcst tree with metadata, and exact character offsets of nodes.

Every mutation is expressed as character edits of the original text, located through libcst's
position metadata, so everything outside the edited spans stays byte-identical by construction.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import libcst as cst
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)
from libcst.metadata.scope_provider import Scope

from forager.tasks.mutations.errors import MutationError

# libcst (like Python's tokenizer) ends a line at \r\n, \r or \n; offsets must agree with it.
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Span:
    """A half-open range of character offsets into the source text."""

    start: int
    end: int


class ParsedSource:
    """The text of one module (without a byte-order mark) and its libcst tree."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise MutationError(f"the source does not parse ({exc.message} at line {exc.raw_line})") from exc
        # unsafe_skip_copy: the tree is never changed, and nodes must stay the ones we visit.
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self.positions: Mapping[cst.CSTNode, CodeRange] = self.wrapper.resolve(PositionProvider)
        self._parents: Mapping[cst.CSTNode, cst.CSTNode] = self.wrapper.resolve(ParentNodeProvider)
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]

    @cached_property
    def scopes(self) -> Mapping[cst.CSTNode, Scope | None]:
        # Resolved on demand: only the families that reason about names need scopes.
        return self.wrapper.resolve(ScopeProvider)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode:
        return self._parents[node]

    def line_start(self, line: int) -> int:
        """Offset of the first character of a 1-based line; one past the last line is EOF."""
        if line > len(self._line_starts):
            return len(self.text)
        return self._line_starts[line - 1]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._line_starts, offset)

    def line_ending(self, line: int) -> str:
        """The newline characters that end a line ("" for a last line without one)."""
        body = self.text[self.line_start(line) : self.line_start(line + 1)]
        return body[len(body.rstrip("\r\n")) :]

    def offset(self, line: int, column: int) -> int:
        return self._line_starts[line - 1] + column

    def span(self, node: cst.CSTNode, *, parens: bool = True) -> Span:
        """The node's syntactic span; with `parens`, its own enclosing parentheses too.

        libcst's positions exclude a node's parentheses, but replacing an expression must
        replace them as well, or moved text would leave a stray pair behind.
        """
        rng = self.positions[node]
        start = self.offset(rng.start.line, rng.start.column)
        end = self.offset(rng.end.line, rng.end.column)
        if isinstance(node, cst.Param):
            # libcst ends a parameter's position after its name; its annotation and default
            # belong to it all the same.
            tail = node.default if node.default is not None else node.annotation
            if tail is not None:
                end = self.span(tail).end
        if parens:
            # Only expressions and patterns hold a sequence of parentheses; `lpar` of a class
            # or a from-import is a single optional token of a different meaning.
            lpar = getattr(node, "lpar", None)
            rpar = getattr(node, "rpar", None)
            if isinstance(lpar, Sequence) and isinstance(rpar, Sequence) and lpar and rpar:
                left = self.positions[lpar[0]].start
                right = self.positions[rpar[-1]].end
                start = self.offset(left.line, left.column)
                end = self.offset(right.line, right.column)
        return Span(start, end)

    def text_of(self, node: cst.CSTNode, *, parens: bool = True) -> str:
        span = self.span(node, parens=parens)
        return self.text[span.start : span.end]

    def first_line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def last_line(self, node: cst.CSTNode) -> int:
        return self.positions[node].end.line

    def statement_span(self, node: cst.CSTNode) -> Span:
        """A statement's span with its decorators: libcst starts a decorated def at `def`."""
        span = self.span(node)
        decorators = getattr(node, "decorators", None)
        if decorators:
            span = Span(self.span(decorators[0]).start, span.end)
        return span

    def whole_lines(self, first: cst.CSTNode, last: cst.CSTNode) -> Span:
        """The full lines from `first`'s line (decorators included) to `last`'s, with the
        final line's newline."""
        start_line = self.line_of(self.statement_span(first).start)
        return Span(self.line_start(start_line), self.line_start(self.last_line(last) + 1))
