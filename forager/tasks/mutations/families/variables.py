"""The variables family: `swap_variables`."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import libcst as cst
from libcst.metadata import Assignment, ImportAssignment

from forager.tasks.mutations.edits import Candidate, Edit
from forager.tasks.mutations.functions import FunctionNode
from forager.tasks.mutations.source import ParsedSource


def local_reads(src: ParsedSource, fn: FunctionNode) -> dict[str, list[cst.Name]]:
    """Each local variable (parameters included) and the Name nodes that read it.

    Reads in nested scopes (closures, lambdas, comprehensions) count: they use the local.
    Imports, nested defs and classes are names but not variables; `self`/`cls` is left out
    because swapping it only produces crashes on the first attribute access.
    """
    scope = src.scopes[fn.node.body]
    if scope is None:
        return {}
    reads: dict[str, dict[int, cst.Name]] = {}
    for assignment in scope.assignments:
        if not isinstance(assignment, Assignment) or isinstance(assignment, ImportAssignment):
            continue
        if not isinstance(assignment.node, cst.Name | cst.Param) or assignment.name == fn.receiver:
            continue
        bucket = reads.setdefault(assignment.name, {})
        for access in assignment.references:
            if isinstance(access.node, cst.Name) and not (access.is_annotation or access.is_type_hint):
                bucket[id(access.node)] = access.node
    ordered = {
        name: sorted(nodes.values(), key=lambda n: src.span(n, parens=False).start)
        for name, nodes in reads.items()
        if nodes
    }
    return dict(sorted(ordered.items(), key=lambda item: src.span(item[1][0], parens=False).start))


def swap_variables(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Swap two locals at every place they are read, for locals read on a common line.

    Binding sites (assignments, parameters, loop targets) keep their names: renaming those
    as well would be a consistent renaming, i.e. the same program and no bug at all. Pairs
    are limited to variables that meet on some line (`a - b`, `f(a, b)`), where mixing them
    up is a plausible slip; all pairs would grow quadratically with the number of locals.
    """
    reads = local_reads(src, fn)
    lines = {name: {src.first_line(n) for n in nodes} for name, nodes in reads.items()}
    for (a, a_reads), (b, b_reads) in combinations(reads.items(), 2):
        if lines[a].isdisjoint(lines[b]):
            continue
        edits = tuple(
            [Edit.replace(src.span(n, parens=False), b) for n in a_reads]
            + [Edit.replace(src.span(n, parens=False), a) for n in b_reads]
        )
        description = f"swap the reads of `{a}` and `{b}` in `{fn.info.qualname}` ({len(edits)} occurrences)"
        yield Candidate("swap_variables", edits, description)
