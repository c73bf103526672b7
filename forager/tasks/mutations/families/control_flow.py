"""Control-flow families: `invert_condition`, `remove_loop` and `remove_conditional`."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from forager.tasks.mutations.edits import Candidate, Edit, line_range, remove_statement
from forager.tasks.mutations.functions import FunctionNode, own_of_type
from forager.tasks.mutations.source import ParsedSource

# Expressions that bind more loosely than `not` (or cannot follow it bare): they need
# parentheses when negated, or `not a or b` would negate only `a`.
_LOOSE = (cst.BooleanOperation, cst.IfExp, cst.Lambda, cst.NamedExpr)


def _negated(src: ParsedSource, test: cst.BaseExpression) -> str:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and not test.lpar:
        return src.text_of(test.expression)
    text = src.text_of(test)
    if isinstance(test, _LOOSE) and not test.lpar:
        return f"not ({text})"
    return f"not {text}"


def invert_condition(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Negate the test of an `if`/`elif`, a `while` or a conditional expression."""
    for node in fn.own_nodes():
        if isinstance(node, cst.If):
            kind = "elif" if isinstance(src.parent(node), cst.If) else "if"
        elif isinstance(node, cst.While):
            kind = "while"
        elif isinstance(node, cst.IfExp):
            kind = "conditional expression"
        else:
            continue
        test = node.test
        edit = Edit.replace(src.span(test), _negated(src, test))
        description = f"negate the `{kind}` condition on line {src.first_line(test)}"
        yield Candidate("invert_condition", (edit,), description)


def remove_loop(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Remove a `for`/`while` loop with its body and `else` clause."""
    for node in fn.own_nodes():
        if isinstance(node, cst.For):
            kind = "async for" if node.asynchronous is not None else "for"
        elif isinstance(node, cst.While):
            kind = "while"
        else:
            continue
        description = f"remove the `{kind}` loop on {line_range(src, node)}"
        yield Candidate("remove_loop", (remove_statement(src, node),), description)


def remove_conditional(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Remove an `if` statement with all its `elif`/`else` branches."""
    for node in own_of_type(fn, cst.If):
        if isinstance(src.parent(node), cst.If):  # an `elif` is part of its `if` statement
            continue
        description = f"remove the `if` statement on {line_range(src, node)}"
        yield Candidate("remove_conditional", (remove_statement(src, node),), description)
