"""Operator families: `operator_swap`, `unary_swap`, `boolean_swap`, `comparison_swap`.

Each swaps one operator token in place; its operands and all whitespace stay as written.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from forager.tasks.mutations.edits import Candidate, Edit
from forager.tasks.mutations.functions import FunctionNode, own_of_type
from forager.tasks.mutations.models import Family
from forager.tasks.mutations.source import ParsedSource, Span

# One partner per operator keeps the candidate count linear in the number of operators;
# the partners are the confusions real code suffers from (off-by-sign, true vs floor
# division, shift direction, the wrong bit operation).
_BINARY: dict[type[cst.CSTNode], tuple[str, str]] = {
    cst.Add: ("+", "-"),
    cst.Subtract: ("-", "+"),
    cst.Multiply: ("*", "/"),
    cst.Divide: ("/", "*"),
    cst.FloorDivide: ("//", "/"),
    cst.Modulo: ("%", "//"),
    cst.Power: ("**", "*"),
    cst.MatrixMultiply: ("@", "*"),
    cst.LeftShift: ("<<", ">>"),
    cst.RightShift: (">>", "<<"),
    cst.BitAnd: ("&", "|"),
    cst.BitOr: ("|", "&"),
    cst.BitXor: ("^", "&"),
}

_AUGMENTED: dict[type[cst.CSTNode], tuple[str, str]] = {
    cst.AddAssign: ("+=", "-="),
    cst.SubtractAssign: ("-=", "+="),
    cst.MultiplyAssign: ("*=", "/="),
    cst.DivideAssign: ("/=", "*="),
    cst.FloorDivideAssign: ("//=", "/="),
    cst.ModuloAssign: ("%=", "//="),
    cst.PowerAssign: ("**=", "*="),
    cst.MatrixMultiplyAssign: ("@=", "*="),
    cst.LeftShiftAssign: ("<<=", ">>="),
    cst.RightShiftAssign: (">>=", "<<="),
    cst.BitAndAssign: ("&=", "|="),
    cst.BitOrAssign: ("|=", "&="),
    cst.BitXorAssign: ("^=", "&="),
}

_COMPARISON: dict[type[cst.CSTNode], tuple[str, str]] = {
    cst.LessThan: ("<", "<="),
    cst.LessThanEqual: ("<=", "<"),
    cst.GreaterThan: (">", ">="),
    cst.GreaterThanEqual: (">=", ">"),
    cst.Equal: ("==", "!="),
    cst.NotEqual: ("!=", "=="),
    cst.In: ("in", "not in"),
    cst.NotIn: ("not in", "in"),
    cst.Is: ("is", "is not"),
    cst.IsNot: ("is not", "is"),
}


def _token_swap(
    src: ParsedSource, family: Family, operator: cst.CSTNode, table: dict[type[cst.CSTNode], tuple[str, str]]
) -> Candidate | None:
    pair = table.get(type(operator))
    if pair is None:
        return None
    old, new = pair
    # Operator nodes' positions cover the token alone (`not in` included), not its whitespace.
    edit = Edit.replace(src.span(operator), new)
    line = src.first_line(operator)
    return Candidate(family, (edit,), f"replace `{old}` with `{new}` on line {line}")


def operator_swap(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    for node in fn.own_nodes():
        if isinstance(node, cst.BinaryOperation):
            found = _token_swap(src, "operator_swap", node.operator, _BINARY)
        elif isinstance(node, cst.AugAssign):
            found = _token_swap(src, "operator_swap", node.operator, _AUGMENTED)
        else:
            continue
        if found is not None:
            yield found


def comparison_swap(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    for target in own_of_type(fn, cst.ComparisonTarget):
        found = _token_swap(src, "comparison_swap", target.operator, _COMPARISON)
        if found is not None:
            yield found


def boolean_swap(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    for node in own_of_type(fn, cst.BooleanOperation):
        old, new = ("and", "or") if isinstance(node.operator, cst.And) else ("or", "and")
        edit = Edit.replace(src.span(node.operator), new)
        line = src.first_line(node.operator)
        yield Candidate("boolean_swap", (edit,), f"replace `{old}` with `{new}` on line {line}")


def unary_swap(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Drop `not`, `-` and `~`; turn `+x` into `-x` (dropping `+` would change nothing)."""
    for node in own_of_type(fn, cst.UnaryOperation):
        start = src.span(node, parens=False).start
        line = src.first_line(node)
        if isinstance(node.operator, cst.Plus):
            edit = Edit(start, start + 1, "-")
            yield Candidate("unary_swap", (edit,), f"replace unary `+` with `-` on line {line}")
            continue
        token = {cst.Not: "not", cst.Minus: "-", cst.BitInvert: "~"}[type(node.operator)]
        # Delete from the operator up to the operand (its parentheses included), so the
        # operand and any parentheses around the whole operation stay as written.
        edit = Edit.replace(Span(start, src.span(node.expression).start), "")
        yield Candidate("unary_swap", (edit,), f"drop unary `{token}` on line {line}")
