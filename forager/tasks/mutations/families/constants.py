"""The constants family: `change_constant` (numbers ±1, booleans flipped, strings kept)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import libcst as cst

from forager.tasks.mutations.edits import Candidate, Edit
from forager.tasks.mutations.functions import FunctionNode
from forager.tasks.mutations.source import ParsedSource

_BASES = {"0x": "x", "0o": "o", "0b": "b"}


def shifted_integer(literal: str, delta: int) -> str | None:
    """`literal + delta` written in the literal's base, or None if it would turn negative.

    Negative results are skipped: a `-` in front of a literal changes how it binds
    (`2 ** -1` vs `2 ** 0`), which is no longer a one-token typo.
    """
    raw = literal.replace("_", "")
    new = int(raw, 0) + delta
    if new < 0:
        return None
    prefix = raw[:2].lower()
    if prefix in _BASES:
        digits = format(new, _BASES[prefix])
        if raw[2:] != raw[2:].lower():
            digits = digits.upper()
        return raw[:2] + digits
    return str(new)


def shifted_float(literal: str, delta: int) -> str | None:
    value = float(literal.replace("_", ""))
    new = value + delta
    # A large float absorbs ±1 (1e300 + 1 == 1e300): that would be no change at all.
    if new < 0 or new == value or not math.isfinite(new):
        return None
    return repr(new)


def change_constant(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    for node in fn.own_nodes():
        line = src.first_line(node)
        old = src.text_of(node, parens=False)
        if isinstance(node, cst.Integer | cst.Float):
            shift = shifted_integer if isinstance(node, cst.Integer) else shifted_float
            for delta in (1, -1):
                new = shift(old, delta)
                if new is None:
                    continue
                edit = Edit.replace(src.span(node, parens=False), new)
                description = f"change `{old}` to `{new}` on line {line}"
                yield Candidate("change_constant", (edit,), description)
        elif isinstance(node, cst.Name) and node.value in ("True", "False"):
            new = "False" if node.value == "True" else "True"
            edit = Edit.replace(src.span(node, parens=False), new)
            yield Candidate("change_constant", (edit,), f"change `{old}` to `{new}` on line {line}")
