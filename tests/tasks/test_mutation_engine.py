"""The engine: target selection, validity, deduplication, determinism and errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from forager.tasks.mutations import (
    MutationError,
    deduplicate_mutations,
    enumerate_mutations,
    enumerate_source_mutations,
)
from tests.tasks.helpers import FILE, outcomes
from tests.tasks.test_mutation_patches import SAMPLE

NESTED = (
    "import functools\n"
    "\n"
    "\n"
    "class Box:\n"
    "    @functools.lru_cache(maxsize=2 + 126)\n"
    "    def size(self, n):\n"
    "        return n + 1\n"
    "\n"
    "    async def fetch(self, items):\n"
    "        async for item in items:\n"
    "            await item\n"
    "        return not items\n"
    "\n"
    "\n"
    "def outer(a):\n"
    "    def inner(b):\n"
    "        return b * 2\n"
    "    return inner(a) - 1\n"
)


def test_targets_by_symbol_nested_name_and_line_span() -> None:
    by_symbol = enumerate_source_mutations(NESTED, FILE, "outer.<locals>.inner").mutations
    assert by_symbol and {m.symbol for m in by_symbol} == {"outer.<locals>.inner"}
    # The same function without the `<locals>` part of its qualified name.
    assert enumerate_source_mutations(NESTED, FILE, "outer.inner").mutations == by_symbol
    # A line span picks the innermost function holding it.
    assert enumerate_source_mutations(NESTED, FILE, lines=(17, 17)).mutations == by_symbol
    assert {m.symbol for m in enumerate_source_mutations(NESTED, FILE, lines=(18, 18)).mutations} == {"outer"}


def test_an_outer_function_does_not_mutate_its_nested_function() -> None:
    assert outcomes(NESTED, "operator_swap", "outer") == {
        "replace `-` with `+` on line 18": NESTED.replace("inner(a) - 1", "inner(a) + 1"),
    }
    assert outcomes(NESTED, "operator_swap", "outer.inner") == {
        "replace `*` with `/` on line 17": NESTED.replace("b * 2", "b / 2"),
    }


def test_methods_async_defs_and_decorators() -> None:
    # The decorator's `2 + 126` is not part of the method.
    assert outcomes(NESTED, "operator_swap", "Box.size") == {
        "replace `+` with `-` on line 7": NESTED.replace("n + 1", "n - 1"),
    }
    assert outcomes(NESTED, "remove_loop", "Box.fetch") == {
        "remove the `async for` loop on lines 10-11": NESTED.replace(
            "        async for item in items:\n            await item\n", ""
        ),
    }
    assert outcomes(NESTED, "unary_swap", "Box.fetch") == {
        "drop unary `not` on line 12": NESTED.replace("return not items", "return items"),
    }
    everything = enumerate_source_mutations(NESTED, FILE).mutations
    for m in everything:
        assert "    @functools.lru_cache(maxsize=2 + 126)\n" in m.mutated_source, m.description
    # The receiver is never dropped or swapped.
    assert not [m.description for m in everything if "`self`" in m.description]


def test_candidates_that_no_longer_compile_are_dropped_and_counted() -> None:
    # Without `count = 0` the `nonlocal` has no binding: libcst parses that, compile() does not.
    source = (
        "def outer():\n"
        "    count = 0\n"
        "    def inc():\n"
        "        nonlocal count\n"
        "        count += 1\n"
        "    inc()\n"
        "    return count\n"
    )
    result = enumerate_source_mutations(source, FILE, families={"remove_assignment"})
    assert result.dropped_invalid == {"remove_assignment": 1}
    assert [(m.symbol, m.description) for m in result.mutations] == [
        ("outer.<locals>.inc", "remove the assignment to `count` on line 5"),
    ]


def test_newer_syntax_than_this_interpreter_is_checked_with_the_parser() -> None:
    # PEP 695 generics (3.12) do not compile on 3.11; libcst still parses the candidates.
    source = "def first[T](xs: list[T]) -> T:\n    return xs[0 + 0]\n"
    assert outcomes(source, "operator_swap") == {
        "replace `+` with `-` on line 2": "def first[T](xs: list[T]) -> T:\n    return xs[0 - 0]\n",
    }


def test_identical_results_are_kept_once_under_the_most_specific_family() -> None:
    source = "def f(x):\n    y = 1\n    return x + y\n"
    result = enumerate_source_mutations(source, FILE, families={"remove_assignment", "remove_body_part"})
    assert [(m.family, m.description) for m in result.mutations] == [
        ("remove_assignment", "remove the assignment to `y` on line 2"),
        ("remove_body_part", "remove the statement on line 3 of `f`"),
    ]
    assert result.dropped_duplicates == 1
    # Swapping two equal arguments would change nothing, so it is no candidate.
    assert outcomes("def g(a):\n    return max(a, a)\n", "reorder_arguments") == {}


def test_deduplicate_across_runs() -> None:
    first = enumerate_source_mutations(SAMPLE, FILE).mutations
    second = enumerate_source_mutations(SAMPLE, FILE, "compute", {"operator_swap"}).mutations
    merged = deduplicate_mutations([*first, *second])
    assert merged == first
    assert len({m.bug_patch for m in first}) == len(first)
    assert len({m.id for m in first}) == len(first)


def test_enumeration_is_deterministic() -> None:
    runs = [enumerate_source_mutations(SAMPLE, FILE) for _ in range(2)]
    assert runs[0] == runs[1]
    assert [m.id for m in runs[0].mutations] == [m.id for m in runs[1].mutations]


def test_mutation_fields() -> None:
    [m] = enumerate_source_mutations(SAMPLE, FILE, "compute", {"comparison_swap"}).mutations[:1]
    assert m.family == "comparison_swap"
    assert m.file == FILE
    assert m.symbol == "compute"
    assert m.lines == (8, 8)
    assert m.function_lines == (5, 13)
    assert m.description == "replace `<` with `<=` on line 8"
    assert m.mutated_source == SAMPLE.replace("a < b", "a <= b")
    assert len(m.id) == 16


def test_read_from_a_repository_keeps_line_endings(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / FILE).write_bytes(b"def f(a):\r\n    return a + 1\r\n")
    [m] = enumerate_mutations(tmp_path, FILE, "f", {"operator_swap"})
    assert m.mutated_source == "def f(a):\r\n    return a - 1\r\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"families": {"operator_swap", "typo_swap"}}, "unknown mutation families ['typo_swap']"),
        ({"symbol": "nope"}, "has no function named 'nope'"),
        ({"lines": (1, 2)}, "no function of pkg/mod.py holds lines 1-2"),
        ({"lines": (9, 8)}, "line span 9-8 is empty"),
    ],
)
def test_bad_requests_raise(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(MutationError, match=re.escape(message)):
        enumerate_source_mutations(SAMPLE, FILE, **kwargs)


def test_bad_files_raise(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    with pytest.raises(MutationError, match=re.escape("broken.py: the source does not parse")):
        enumerate_mutations(tmp_path, "broken.py")
    with pytest.raises(MutationError, match=re.escape("latin.py is not UTF-8")):
        enumerate_mutations(tmp_path, "latin.py")
    with pytest.raises(MutationError, match=re.escape("cannot read missing.py")):
        enumerate_mutations(tmp_path, "missing.py")
    with pytest.raises(MutationError, match="must be a path inside the repository"):
        enumerate_mutations(tmp_path, "../outside.py")
