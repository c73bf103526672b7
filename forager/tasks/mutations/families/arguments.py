"""Argument families: `remove_parameter` and `reorder_arguments`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

import libcst as cst

from forager.tasks.mutations.edits import Candidate, Edit, clip, remove_separated
from forager.tasks.mutations.functions import FunctionNode, own_of_type
from forager.tasks.mutations.source import ParsedSource


def _rendered(params: cst.Parameters) -> list[cst.CSTNode]:
    """The parameter list in the order libcst renders it, `/` and bare `*` included."""
    out: list[cst.CSTNode] = [*params.posonly_params]
    if isinstance(params.posonly_ind, cst.ParamSlash):
        out.append(params.posonly_ind)
    out.extend(params.params)
    if isinstance(params.star_arg, cst.Param | cst.ParamStar):
        out.append(params.star_arg)
    out.extend(params.kwonly_params)
    if isinstance(params.star_kwarg, cst.Param):
        out.append(params.star_kwarg)
    return out


def _only(group: Sequence[cst.Param], param: cst.Param) -> bool:
    return len(group) == 1 and group[0] is param


def remove_parameter(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Drop one parameter from the signature; calls and the body are left as they are.

    Keeping the call sites is the point: the callers still pass the argument and the body
    still reads the name, so the bug surfaces as a TypeError, a NameError or a silently used
    global, and the fix is to restore the parameter. `self`/`cls` are never dropped (every
    call would fail at once, which teaches nothing). Markers are kept valid: the last
    positional-only parameter goes with its `/`, the last keyword-only one with a bare `*`,
    and `*args` before keyword-only parameters becomes a bare `*`.
    """
    params = fn.node.params
    elements = _rendered(params)
    receiver = fn.receiver
    positional = [*params.posonly_params, *params.params]
    for param in [*positional, params.star_arg, *params.kwonly_params, params.star_kwarg]:
        if not isinstance(param, cst.Param):
            continue
        if receiver is not None and positional and param is positional[0]:
            continue
        index = next(i for i, e in enumerate(elements) if e is param)
        first, last = index, index
        if _only(params.posonly_params, param) and isinstance(params.posonly_ind, cst.ParamSlash):
            last = index + 1
        elif _only(params.kwonly_params, param) and isinstance(params.star_arg, cst.ParamStar):
            first = index - 1
        if param is params.star_arg and params.kwonly_params:
            edit = Edit.replace(src.span(param), "*")
        else:
            edit = remove_separated(src, elements, first, last)
        name = f"{param.star}{param.name.value}"
        description = f"remove parameter `{name}` from `{fn.info.qualname}` (call sites unchanged)"
        yield Candidate("remove_parameter", (edit,), description)


def reorder_arguments(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Swap two neighbouring positional arguments of a call; only the expressions move.

    Neighbours only: that is how argument-order slips happen, and all pairs would grow
    quadratically on calls with long argument lists.
    """
    for call in own_of_type(fn, cst.Call):
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for i, (left, right) in enumerate(pairwise(positional)):
            left_text, right_text = src.text_of(left.value), src.text_of(right.value)
            if left_text == right_text:
                continue
            edits = (
                Edit.replace(src.span(left.value), right_text),
                Edit.replace(src.span(right.value), left_text),
            )
            description = (
                f"swap arguments {i + 1} and {i + 2} of the call to `{clip(src.text_of(call.func))}`"
                f" on line {src.first_line(call)}"
            )
            yield Candidate("reorder_arguments", edits, description)
