"""The functions of a module: qualified names, line spans, and the nodes each one owns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

import libcst as cst

from forager.tasks.mutations.errors import MutationError
from forager.tasks.mutations.models import FunctionInfo
from forager.tasks.mutations.source import ParsedSource

NodeT = TypeVar("NodeT", bound=cst.CSTNode)


def docstring_count(statements: Sequence[cst.CSTNode]) -> int:
    """1 when the first statement is a docstring (a lone string expression), else 0."""
    if not statements:
        return 0
    first = statements[0]
    if isinstance(first, cst.SimpleStatementLine):
        if len(first.body) != 1:
            return 0
        first = first.body[0]
    if isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString | cst.ConcatenatedString):
        return 1
    return 0


def body_statements(node: cst.FunctionDef) -> Sequence[cst.CSTNode]:
    """The statements of a body: lines of an indented block, or small statements of `def f(): x`."""
    return node.body.body


@dataclass
class FunctionNode:
    """A function's libcst node with its description."""

    info: FunctionInfo
    node: cst.FunctionDef
    # The outermost def around this one (itself if not nested): the unit the compiler
    # checks as a whole, since `nonlocal` can reach any enclosing function.
    outermost: cst.FunctionDef
    _own: list[cst.CSTNode] | None = field(default=None, repr=False)

    def own_nodes(self) -> list[cst.CSTNode]:
        """The nodes of the body in source order, without nested defs, classes and annotations.

        A nested function or class is a target of its own; annotations are not evaluated at
        run time for locals, so mutating them would only produce equivalent mutants.
        """
        if self._own is None:
            collector = _OwnNodes()
            self.node.body.visit(collector)
            self._own = collector.nodes
        return self._own

    @property
    def receiver(self) -> str | None:
        """The name of `self`/`cls` for methods that bind one."""
        if not self.info.is_method or "staticmethod" in self.info.decorators:
            return None
        params = [*self.node.params.posonly_params, *self.node.params.params]
        return params[0].name.value if params else None


class _OwnNodes(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.FunctionDef | cst.ClassDef | cst.Annotation):
            return False
        self.nodes.append(node)
        return True


class _Collector(cst.CSTVisitor):
    def __init__(self, src: ParsedSource) -> None:
        self.src = src
        self.stack: list[tuple[str, str]] = []  # ("class" | "def", name) of enclosing scopes
        self.found: list[FunctionNode] = []
        self.defs: list[cst.FunctionDef] = []  # enclosing functions, outermost first

    def _prefix(self) -> str:
        parts = [f"{name}.<locals>." if kind == "def" else f"{name}." for kind, name in self.stack]
        return "".join(parts)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(("class", node.name.value))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        src = self.src
        statements = body_statements(node)
        skip = docstring_count(statements)
        first_body = statements[skip] if len(statements) > skip else statements[0]
        start = src.first_line(node.decorators[0]) if node.decorators else src.first_line(node)
        info = FunctionInfo(
            qualname=self._prefix() + node.name.value,
            name=node.name.value,
            start_line=start,
            def_line=src.first_line(node),
            body_start_line=src.first_line(first_body),
            end_line=src.last_line(node),
            is_method=bool(self.stack) and self.stack[-1][0] == "class",
            is_async=node.asynchronous is not None,
            is_nested=any(kind == "def" for kind, _ in self.stack),
            decorators=tuple(src.text_of(d.decorator) for d in node.decorators),
        )
        outermost = self.defs[0] if self.defs else node
        self.found.append(FunctionNode(info=info, node=node, outermost=outermost))
        self.stack.append(("def", node.name.value))
        self.defs.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()
        self.defs.pop()


def collect_functions(src: ParsedSource) -> list[FunctionNode]:
    collector = _Collector(src)
    src.module.visit(collector)
    return collector.found


@lru_cache(maxsize=4)
def parse_functions(text: str) -> tuple[ParsedSource, tuple[FunctionNode, ...]]:
    """A module's parse and functions, kept for the last few texts.

    Callers walk a file one function at a time (`functions_in`, then one enumeration per
    covered function); parsing with metadata is most of the cost on large files, so it
    happens once per text rather than once per call.
    """
    src = ParsedSource(text)
    return src, tuple(collect_functions(src))


def functions_in(source: str) -> list[FunctionInfo]:
    """Every function and method of a module, in source order (nested ones included)."""
    _, functions = parse_functions(source.removeprefix("\ufeff"))
    return [f.info for f in functions]


def function_at(functions: Sequence[FunctionInfo], line: int) -> FunctionInfo | None:
    """The innermost function whose lines (decorators included) contain `line`."""
    holding = [f for f in functions if f.start_line <= line <= f.end_line]
    return max(holding, key=lambda f: f.start_line, default=None)


def _without_locals(qualname: str) -> str:
    return qualname.replace(".<locals>.", ".")


def select_functions(
    functions: Sequence[FunctionNode], symbol: str | None, lines: tuple[int, int] | None, file: str
) -> list[FunctionNode]:
    """The targets: all functions, those named `symbol`, or the innermost one holding `lines`.

    A symbol matches the exact qualified name, or the name without `<locals>` parts (so
    `outer.inner` finds a nested function); several defs can share one name (a property's
    getter and setter) and are all targets.
    """
    chosen = list(functions)
    if symbol is not None:
        chosen = [f for f in chosen if f.info.qualname == symbol]
        if not chosen:
            chosen = [f for f in functions if _without_locals(f.info.qualname) == symbol]
        if not chosen:
            known = ", ".join(sorted({f.info.qualname for f in functions})[:20]) or "none"
            raise MutationError(f"{file} has no function named {symbol!r} (functions: {known})")
    if lines is not None:
        first, last = lines
        if first > last:
            raise MutationError(f"line span {first}-{last} is empty")
        holding = [f for f in chosen if f.info.start_line <= first and last <= f.info.end_line]
        if not holding:
            raise MutationError(f"no function of {file} holds lines {first}-{last}")
        chosen = [max(holding, key=lambda f: f.info.start_line)]
    return chosen


def own_of_type(fn: FunctionNode, kind: type[NodeT]) -> Iterator[NodeT]:
    """The function's own nodes of one type, in source order."""
    for node in fn.own_nodes():
        if isinstance(node, kind):
            yield node
