"""Evaluate literal expressions in a Python AST without executing anything.

Module-level names are resolved when they are assigned exactly once and never mutated, so
`REQUIRES = ["a"]; setup(install_requires=REQUIRES)` is understood while
`REQUIRES.append(...)` or a loop-built list makes the value non-literal.
"""

from __future__ import annotations

import ast

_MAX_DEPTH = 12
_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "remove", "add", "clear"})


class NotLiteral(Exception):
    """The expression depends on something only running the code could tell."""


def module_names(tree: ast.Module) -> dict[str, ast.expr]:
    """Top-level `NAME = <expr>` bindings that are safe to substitute."""
    bindings: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}
    for node in tree.body:
        for name, value in _simple_bindings(node):
            counts[name] = counts.get(name, 0) + 1
            bindings[name] = value
    unsafe = _mutated_names(tree) | {name for name, count in counts.items() if count > 1}
    return {name: value for name, value in bindings.items() if name not in unsafe}


def _simple_bindings(node: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(node, ast.Assign):
        return [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [(node.target.id, node.value)]
    return []


def _mutated_names(tree: ast.Module) -> set[str]:
    """Names changed anywhere besides their top-level assignment: mutation, rebinding in branches."""
    top_level_targets = {id(target) for stmt in tree.body for target in _statement_targets(stmt)}
    mutated: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            if id(node) not in top_level_targets:
                mutated.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr in _MUTATORS and isinstance(owner, ast.Name):
                mutated.add(owner.id)
        elif (
            isinstance(node, (ast.Subscript, ast.Attribute))
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
        ):
            mutated.add(node.value.id)
    return mutated


def _statement_targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, ast.AnnAssign):
        return [stmt.target]
    return []


def literal_value(node: ast.expr, names: dict[str, ast.expr], depth: int = 0) -> object:
    """Python value of a literal expression; raises NotLiteral for anything computed."""
    if depth > _MAX_DEPTH:
        raise NotLiteral("too deeply nested")
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return _sequence(node.elts, names, depth)
    if isinstance(node, ast.Dict):
        return _mapping(node, names, depth)
    if isinstance(node, ast.Name) and node.id in names:
        return literal_value(names[node.id], names, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _concat(node, names, depth)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"dict", "list"}:
        return _builtin_call(node, names, depth)
    raise NotLiteral(ast.dump(node)[:80])


def _sequence(elements: list[ast.expr], names: dict[str, ast.expr], depth: int) -> list[object]:
    values: list[object] = []
    for element in elements:
        if isinstance(element, ast.Starred):
            inner = literal_value(element.value, names, depth + 1)
            if not isinstance(inner, list):
                raise NotLiteral("starred non-list")
            values.extend(inner)
        else:
            values.append(literal_value(element, names, depth + 1))
    return values


def _mapping(node: ast.Dict, names: dict[str, ast.expr], depth: int) -> dict[object, object]:
    result: dict[object, object] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:  # {**other}
            inner = literal_value(value, names, depth + 1)
            if not isinstance(inner, dict):
                raise NotLiteral("** of non-dict")
            result.update(inner)
        else:
            result[_hashable(literal_value(key, names, depth + 1))] = literal_value(value, names, depth + 1)
    return result


def _hashable(value: object) -> object:
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    raise NotLiteral("unhashable key")


def _concat(node: ast.BinOp, names: dict[str, ast.expr], depth: int) -> object:
    left = literal_value(node.left, names, depth + 1)
    right = literal_value(node.right, names, depth + 1)
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    raise NotLiteral("unsupported +")


def _builtin_call(node: ast.Call, names: dict[str, ast.expr], depth: int) -> object:
    assert isinstance(node.func, ast.Name)
    if node.func.id == "list" and len(node.args) == 1 and not node.keywords:
        value = literal_value(node.args[0], names, depth + 1)
        if isinstance(value, list):
            return value
        raise NotLiteral("list() of non-list")
    if node.func.id == "dict" and not node.args and all(kw.arg for kw in node.keywords):
        return {kw.arg: literal_value(kw.value, names, depth + 1) for kw in node.keywords}
    raise NotLiteral("unsupported call")


def string_list(value: object) -> list[str] | None:
    """A list of strings (a lone string counts as one item per line), else None."""
    if isinstance(value, str):
        return [line for line in value.splitlines() if line.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item for item in value if isinstance(item, str)]
    return None
