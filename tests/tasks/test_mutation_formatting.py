"""Mutations change only their node's span: comments, odd spacing and line endings survive."""

from __future__ import annotations

import pytest

from forager.tasks.mutations import FAMILIES, Mutation, enumerate_source_mutations
from tests.tasks.helpers import FILE, outcomes

ODD = (
    "# -*- coding: utf-8 -*-\n"
    '"""Module doc."""\n'
    "import  os   # why not\n"
    "\n"
    "\n"
    "@decorator( 1 ,2 + 3 )\n"
    "def   odd( a ,b=( 1 +\n"
    "        2 ) ) :   # weird\n"
    "    x=a+b     # tight\n"
    "    if(x>0)   :\n"
    "        return    -x or os.sep   # neg\n"
    "    # between\n"
    "    y = [ i\n"
    "          for i in range( x ) ]   # multi-line\n"
    "    return y  ;  z = 3\n"
    "\n"
    "\n"
    "\n"
    "# trailing comment"
)


def _split(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _outside_unchanged(original: str, m: Mutation) -> bool:
    """Every line before and after the mutation's line span is byte-identical."""
    before, after = _split(original), _split(m.mutated_source)
    first, last = m.lines
    kept_tail = len(before) - last
    return before[: first - 1] == after[: first - 1] and before[last:] == after[len(after) - kept_tail :]


def test_every_mutation_of_an_oddly_formatted_file_touches_only_its_lines() -> None:
    result = enumerate_source_mutations(ODD, FILE)
    assert {m.family for m in result.mutations} == set(FAMILIES) - {"reorder_arguments", "remove_loop"}
    for m in result.mutations:
        assert _outside_unchanged(ODD, m), m.description
        # The decorator (which holds operators and constants of its own) is never touched.
        assert "@decorator( 1 ,2 + 3 )\n" in _split(m.mutated_source), m.description


def test_exact_results_on_odd_formatting() -> None:
    # Only the body's `+` is a candidate: the default `( 1 + 2 )` and the decorator are not.
    assert outcomes(ODD, "operator_swap") == {
        "replace `+` with `-` on line 9": ODD.replace("x=a+b     # tight", "x=a-b     # tight"),
    }
    assert outcomes(ODD, "comparison_swap") == {
        "replace `>` with `>=` on line 10": ODD.replace("if(x>0)   :", "if(x>=0)   :"),
    }
    assert outcomes(ODD, "invert_condition") == {
        "negate the `if` condition on line 10": ODD.replace("if(x>0)   :", "if not (x>0)   :"),
    }
    assert outcomes(ODD, "unary_swap") == {
        "drop unary `-` on line 11": ODD.replace("return    -x or", "return    x or"),
    }
    assert outcomes(ODD, "boolean_swap") == {
        "replace `or` with `and` on line 11": ODD.replace("-x or os.sep", "-x and os.sep"),
    }
    assert outcomes(ODD, "remove_import") == {
        "remove `import os` on line 3 (used by `odd`)": ODD.replace("import  os   # why not\n", ""),
    }
    assert outcomes(ODD, "remove_parameter") == {
        "remove parameter `a` from `odd` (call sites unchanged)": ODD.replace(
            "odd( a ,b=( 1 +", "odd( b=( 1 +"
        ),
        "remove parameter `b` from `odd` (call sites unchanged)": ODD.replace(
            "odd( a ,b=( 1 +\n        2 ) ) :", "odd( a ) :"
        ),
    }
    assert outcomes(ODD, "remove_assignment") == {
        "remove the assignment to `x` on line 9": ODD.replace("    x=a+b     # tight\n", ""),
        "remove the assignment to `y` on lines 13-14": ODD.replace(
            "    y = [ i\n          for i in range( x ) ]   # multi-line\n", ""
        ),
        "remove the assignment to `z` on line 15": ODD.replace("return y  ;  z = 3", "return y"),
    }
    assert outcomes(ODD, "remove_body")["replace the body of `odd` with `return None`"] == (
        ODD.replace(
            "    x=a+b     # tight\n"
            "    if(x>0)   :\n"
            "        return    -x or os.sep   # neg\n"
            "    # between\n"
            "    y = [ i\n"
            "          for i in range( x ) ]   # multi-line\n"
            "    return y  ;  z = 3\n",
            "    return None\n",
        )
    )


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_foreign_line_endings_are_kept(newline: str) -> None:
    source = "def f(a, b):\n    # sum\n    return a + b\n".replace("\n", newline)
    assert outcomes(source, "operator_swap") == {"replace `+` with `-` on line 3": source.replace("+", "-")}
    assert outcomes(source, "remove_body") == {
        "replace the body of `f` with `return None`": source.replace("return a + b", "return None"),
    }


def test_byte_order_mark_and_missing_final_newline_are_kept() -> None:
    source = "\ufeffdef f(a):\n    return a < 1"
    [m] = enumerate_source_mutations(source, FILE, families={"comparison_swap"}).mutations
    assert m.mutated_source == "\ufeffdef f(a):\n    return a <= 1"
    no_newline = "\\ No newline at end of file\n"
    assert m.bug_patch.endswith(f"-    return a < 1\n{no_newline}+    return a <= 1\n{no_newline}")


def test_non_ascii_text_before_a_node_does_not_shift_it() -> None:
    source = 'def f(a):\n    s = "déjà vu ✓"; return a + 1\n'
    assert outcomes(source, "operator_swap") == {
        "replace `+` with `-` on line 2": 'def f(a):\n    s = "déjà vu ✓"; return a - 1\n',
    }
