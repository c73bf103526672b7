"""Statement families: `remove_import`, `remove_return` and `remove_assignment`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst
from libcst.metadata import ImportAssignment

from forager.tasks.mutations.edits import (
    Candidate,
    Edit,
    clip,
    line_range,
    remove_separated,
    remove_statement,
)
from forager.tasks.mutations.functions import FunctionNode, own_of_type
from forager.tasks.mutations.source import ParsedSource, Span


def _bound_name(alias: cst.ImportAlias) -> str:
    """The name an alias binds: `b` for `a as b`, `a` for `import a.b.c`."""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    node: cst.BaseExpression = alias.name
    while isinstance(node, cst.Attribute):
        node = node.value
    assert isinstance(node, cst.Name)
    return node.value


def _is_future(stmt: cst.Import | cst.ImportFrom) -> bool:
    return (
        isinstance(stmt, cst.ImportFrom)
        and isinstance(stmt.module, cst.Name)
        and stmt.module.value == "__future__"
    )


def remove_import(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Remove an import the function reads at run time (module level or in its own body).

    From a list of names only the one name goes (`from x import a, b` → `from x import b`);
    an import of a single name loses its whole line. Uses in annotations do not count.
    """
    own = {id(n) for n in fn.own_nodes()}
    local_scope = src.scopes[fn.node.body]
    if local_scope is None:
        return
    found: dict[tuple[int, int], tuple[cst.Import | cst.ImportFrom, Sequence[cst.ImportAlias], int]] = {}
    for scope in (local_scope.globals, local_scope):
        for assignment in scope.assignments:
            if not isinstance(assignment, ImportAssignment):
                continue
            stmt = assignment.node
            if not isinstance(stmt, cst.Import | cst.ImportFrom) or _is_future(stmt):
                continue
            names = stmt.names
            if isinstance(names, cst.ImportStar):
                continue
            used = any(
                id(ref.node) in own and not (ref.is_annotation or ref.is_type_hint)
                for ref in assignment.references
            )
            if not used:
                continue
            for index, alias in enumerate(names):
                if _bound_name(alias) == assignment.name:
                    found[(src.span(alias).start, index)] = (stmt, names, index)
    for key in sorted(found):
        stmt, names, index = found[key]
        alias = names[index]
        line = src.first_line(alias)
        used_by = f"(used by `{fn.info.qualname}`)"
        if len(names) > 1:
            edit = remove_separated(src, names, index, index)
            description = f"remove `{src.text_of(alias)}` from the import on line {line} {used_by}"
        else:
            edit = remove_statement(src, stmt)
            description = f"remove `{clip(src.text_of(stmt), 60)}` on line {line} {used_by}"
        yield Candidate("remove_import", (edit,), description)


def remove_return(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Turn `return x` into a bare `return`, and drop each `return` statement."""
    for ret in own_of_type(fn, cst.Return):
        line = src.first_line(ret)
        value = ret.value
        # `return None` and a bare `return` are the same program.
        if value is not None and not (isinstance(value, cst.Name) and value.value == "None"):
            span = Span(src.span(ret).start, src.span(value).end)
            description = f"change `return {clip(src.text_of(value))}` to a bare `return` on line {line}"
            yield Candidate("remove_return", (Edit.replace(span, "return"),), description)
        yield Candidate("remove_return", (remove_statement(src, ret),), f"drop the `return` on line {line}")


def remove_assignment(src: ParsedSource, fn: FunctionNode) -> Iterator[Candidate]:
    """Remove an assignment statement (plain, augmented, or annotated with a value)."""
    for node in fn.own_nodes():
        if isinstance(node, cst.Assign):
            target = " = ".join(src.text_of(t.target) for t in node.targets)
        elif isinstance(node, cst.AugAssign) or (isinstance(node, cst.AnnAssign) and node.value is not None):
            target = src.text_of(node.target)
        else:
            continue
        description = f"remove the assignment to `{clip(target)}` on {line_range(src, node)}"
        yield Candidate("remove_assignment", (remove_statement(src, node),), description)
