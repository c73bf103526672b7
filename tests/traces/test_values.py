"""Values in traces: repr strings cut at a limit, computed without a full repr of big values."""

from __future__ import annotations

import collections
import time

import pytest

from forager.traces.runtime.forager_tracer import _Repr


def cut(obj: object, limit: int, marker: str = "...") -> str:
    full = repr(obj)
    return full if len(full) <= limit else full[:limit] + marker


class Loud:
    def __repr__(self) -> str:
        return "Loud(" + "!" * 50 + ")"


def _recursive_list() -> list[object]:
    items: list[object] = [1, 2]
    items.append(items)
    return items


def _recursive_dict() -> dict[str, object]:
    mapping: dict[str, object] = {"a": 1}
    mapping["self"] = mapping
    return mapping


def _tuple_cycle() -> tuple[list[object]]:
    inner: list[object] = []
    outer = (inner,)
    inner.append(outer)
    return outer


VALUES = [
    0,
    None,
    3.5,
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "x" * 500,
    "'" + "y" * 500,
    "y" * 500 + "'",
    "y" * 500 + "'" + '"',
    "é\n\t\x00" * 100,
    b"bytes",
    b"it's" * 100,
    b"\x00\xff" * 100,
    [],
    (),
    {},
    set(),
    frozenset(),
    (1,),
    ("a" * 300,),
    list(range(1000)),
    tuple(range(1000)),
    set(range(1000)),
    frozenset(range(3)),
    {i: str(i) * 10 for i in range(100)},
    {"k" * 300: 1},
    {1: "v" * 300},
    [[1, [2, [3, ["deep" * 50]]]]],
    [Loud(), Loud()],
    _recursive_list(),
    _recursive_dict(),
    _tuple_cycle(),
    collections.OrderedDict(a=1),
    range(10**6),
]


@pytest.mark.parametrize("limit", [1, 2, 7, 20, 200])
def test_cut_repr_equals_the_prefix_of_the_full_repr(limit):
    serialize = _Repr(limit, "...")
    for value in VALUES:
        assert serialize(value) == cut(value, limit), repr(value)[:80]


def test_repr_that_raises_or_returns_a_non_string():
    class Raises:
        def __repr__(self):
            raise KeyError("x")

    class NotText:
        def __repr__(self):
            return 42

    serialize = _Repr(200, "...")
    assert serialize(Raises()) == "<unrepresentable Raises>"
    assert serialize(NotText()) == "<unrepresentable NotText>"
    assert serialize([1, Raises()]) == "<unrepresentable list>"  # as repr() of the list would fail


def test_int_too_big_to_print_is_unrepresentable():
    assert _Repr(200, "...")(10**5000) == "<unrepresentable int>"


def test_marker_is_configurable():
    assert _Repr(3, " [cut]")("abcdef") == "'ab [cut]"


class _Scope(collections.ChainMap):  # type: ignore[type-arg]
    pass


def _chain(depth: int) -> collections.ChainMap[str, object]:
    scope: collections.ChainMap[str, object] = collections.ChainMap({"root": [1, 2]})
    for level in range(depth):
        scope = scope.new_child({"level": level, "parent": scope})
    return scope


@pytest.mark.parametrize("limit", [5, 40, 200, 10_000])
def test_chain_maps_are_cut_like_builtins(limit: int) -> None:
    looped: collections.ChainMap[str, object] = collections.ChainMap({"a": 1})
    looped.maps.append({"me": looped})
    for value in (_chain(3), _Scope({"x": 1}, {}), looped, collections.ChainMap()):
        assert _Repr(limit, "...")(value) == cut(value, limit)


def test_a_chain_too_long_to_print_is_cut_quickly() -> None:
    # glom's scopes in a deep recursion: the full repr would take minutes.
    value = _Repr(200, "...")(_chain(2000))
    assert value.startswith("ChainMap({'level': 1999, 'parent': ChainMap(") and value.endswith("...")


class _Slow:
    def __repr__(self) -> str:
        time.sleep(0.06)
        return "_Slow()"


def test_a_type_with_a_slow_repr_is_shown_neutrally_afterwards() -> None:
    shown = _Repr(200, "...")
    first, second = _Slow(), _Slow()
    assert shown(first) == "_Slow()"
    assert shown(second) == f"<{__name__}._Slow object at {id(second):#x}>"
    assert shown([second]) == f"[<{__name__}._Slow object at {id(second):#x}>]"
