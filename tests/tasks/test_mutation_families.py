"""Each family on hand-written code: every candidate and the exact whole file it produces."""

from __future__ import annotations

from tests.tasks.helpers import outcomes


def test_operator_swap_binary_and_augmented() -> None:
    source = "def f(a, b):\n    c = a + b * 2\n    c -= a\n    return c // b\n"
    assert outcomes(source, "operator_swap") == {
        "replace `+` with `-` on line 2": "def f(a, b):\n    c = a - b * 2\n    c -= a\n    return c // b\n",
        "replace `*` with `/` on line 2": "def f(a, b):\n    c = a + b / 2\n    c -= a\n    return c // b\n",
        "replace `-=` with `+=` on line 3": "def f(a, b):\n    c = a + b * 2\n    c += a\n    return c // b\n",
        "replace `//` with `/` on line 4": "def f(a, b):\n    c = a + b * 2\n    c -= a\n    return c / b\n",
    }


COMPARE = "def g(x, ys):\n    if x < 0 or x in ys:\n        return x is not None\n    return x != 1\n"


def test_comparison_swap() -> None:
    assert outcomes(COMPARE, "comparison_swap") == {
        "replace `<` with `<=` on line 2": (
            "def g(x, ys):\n    if x <= 0 or x in ys:\n        return x is not None\n    return x != 1\n"
        ),
        "replace `in` with `not in` on line 2": (
            "def g(x, ys):\n    if x < 0 or x not in ys:\n        return x is not None\n    return x != 1\n"
        ),
        "replace `is not` with `is` on line 3": (
            "def g(x, ys):\n    if x < 0 or x in ys:\n        return x is None\n    return x != 1\n"
        ),
        "replace `!=` with `==` on line 4": (
            "def g(x, ys):\n    if x < 0 or x in ys:\n        return x is not None\n    return x == 1\n"
        ),
    }


def test_boolean_swap() -> None:
    assert outcomes(COMPARE, "boolean_swap") == {
        "replace `or` with `and` on line 2": (
            "def g(x, ys):\n    if x < 0 and x in ys:\n        return x is not None\n    return x != 1\n"
        ),
    }


def test_unary_swap_drops_the_operator_and_keeps_parentheses() -> None:
    source = "def h(a, b):\n    if not a:\n        return -b\n    return ~a + (+b)\n"
    assert outcomes(source, "unary_swap") == {
        "drop unary `not` on line 2": "def h(a, b):\n    if a:\n        return -b\n    return ~a + (+b)\n",
        "drop unary `-` on line 3": "def h(a, b):\n    if not a:\n        return b\n    return ~a + (+b)\n",
        "drop unary `~` on line 4": "def h(a, b):\n    if not a:\n        return -b\n    return a + (+b)\n",
        "replace unary `+` with `-` on line 4": (
            "def h(a, b):\n    if not a:\n        return -b\n    return ~a + (-b)\n"
        ),
    }


def test_invert_condition_if_elif_while_and_ternary() -> None:
    source = (
        "def k(a, b):\n"
        "    if a and b:\n"
        "        return 1\n"
        "    elif not a:\n"
        "        return 2\n"
        "    while(b):\n"
        "        b -= 1\n"
        "    return 3 if a < b else 4\n"
    )
    assert outcomes(source, "invert_condition") == {
        "negate the `if` condition on line 2": source.replace("if a and b:", "if not (a and b):"),
        "negate the `elif` condition on line 4": source.replace("elif not a:", "elif a:"),
        # `while(b)` has no space to spare: the negation must not fuse into `whilenot`.
        "negate the `while` condition on line 6": source.replace("while(b):", "while not (b):"),
        "negate the `conditional expression` condition on line 8": source.replace(
            "3 if a < b else 4", "3 if not a < b else 4"
        ),
    }


def test_change_constant_numbers_and_booleans_but_not_strings_or_defaults() -> None:
    source = (
        "def c(flag=True):\n"
        "    n = 0x1f + 10\n"
        "    if flag is False:\n"
        "        return n * 0.5\n"
        '    return "s", 1_000, 0\n'
    )

    def with_line(number: int, old: str, new: str) -> str:
        lines = source.splitlines(keepends=True)
        lines[number - 1] = lines[number - 1].replace(old, new)
        return "".join(lines)

    assert outcomes(source, "change_constant") == {
        "change `0x1f` to `0x20` on line 2": with_line(2, "0x1f", "0x20"),
        "change `0x1f` to `0x1e` on line 2": with_line(2, "0x1f", "0x1e"),
        "change `10` to `11` on line 2": with_line(2, "10", "11"),
        "change `10` to `9` on line 2": with_line(2, "10", "9"),
        "change `False` to `True` on line 3": with_line(3, "False", "True"),
        "change `0.5` to `1.5` on line 4": with_line(4, "0.5", "1.5"),
        "change `1_000` to `1001` on line 5": with_line(5, "1_000", "1001"),
        "change `1_000` to `999` on line 5": with_line(5, "1_000", "999"),
        "change `0` to `1` on line 5": with_line(5, ", 0\n", ", 1\n"),
    }


def test_remove_body_keeps_docstring_and_picks_filler() -> None:
    source = (
        "def a(x):\n"
        '    """Doc."""\n'
        "    y = x + 1  # note\n"
        "    return y\n"
        "\n"
        "\n"
        "def b(x):\n"
        "    for i in x:\n"
        "        print(i)\n"
        "    # tail comment\n"
        "\n"
        "\n"
        "def c(x): return x\n"
        "\n"
        "\n"
        "def d():\n"
        '    """Only a docstring: nothing to remove."""\n'
    )
    assert outcomes(source, "remove_body") == {
        "replace the body of `a` with `return None`": source.replace(
            "    y = x + 1  # note\n    return y\n", "    return None\n"
        ),
        "replace the body of `b` with `pass`": source.replace(
            "    for i in x:\n        print(i)\n", "    pass\n"
        ),
        "replace the body of `c` with `return None`": source.replace(
            "def c(x): return x\n", "def c(x): return None\n"
        ),
    }


def test_remove_body_part_drops_one_top_level_statement() -> None:
    source = 'def p(x):\n    """Doc."""\n    y = 1\n    for i in x:\n        y += i\n    return y\n'
    assert outcomes(source, "remove_body_part") == {
        "remove the statement on line 3 of `p`": source.replace("    y = 1\n", ""),
        "remove the statement on lines 4-5 of `p`": source.replace("    for i in x:\n        y += i\n", ""),
        "remove the statement on line 6 of `p`": source.replace("    return y\n", ""),
    }


def test_remove_parameter_keeps_markers_valid_and_skips_self() -> None:
    source = (
        "class C:\n"
        "    def m(self, a, b=2, *args, **kw):\n"
        "        return a\n"
        "\n"
        "    @staticmethod\n"
        "    def s(x, /, y, *, z):\n"
        "        return x\n"
    )
    m_sig = "def m(self, a, b=2, *args, **kw):"
    s_sig = "def s(x, /, y, *, z):"
    suffix = "(call sites unchanged)"
    assert outcomes(source, "remove_parameter") == {
        f"remove parameter `a` from `C.m` {suffix}": source.replace(m_sig, "def m(self, b=2, *args, **kw):"),
        f"remove parameter `b` from `C.m` {suffix}": source.replace(m_sig, "def m(self, a, *args, **kw):"),
        f"remove parameter `*args` from `C.m` {suffix}": source.replace(m_sig, "def m(self, a, b=2, **kw):"),
        f"remove parameter `**kw` from `C.m` {suffix}": source.replace(m_sig, "def m(self, a, b=2, *args):"),
        # A static method has no receiver, so its first parameter may go; `/` goes with it.
        f"remove parameter `x` from `C.s` {suffix}": source.replace(s_sig, "def s(y, *, z):"),
        f"remove parameter `y` from `C.s` {suffix}": source.replace(s_sig, "def s(x, /, *, z):"),
        f"remove parameter `z` from `C.s` {suffix}": source.replace(s_sig, "def s(x, /, y):"),
    }


def test_remove_parameter_one_per_line_and_star_args_before_keyword_only() -> None:
    source = "def multi(\n    a,\n    b: int = (1 +\n        2),\n):\n    return a\n\n\ndef star(*args, k):\n    pass\n"
    assert outcomes(source, "remove_parameter") == {
        "remove parameter `a` from `multi` (call sites unchanged)": source.replace("    a,\n", ""),
        "remove parameter `b` from `multi` (call sites unchanged)": source.replace(
            "    b: int = (1 +\n        2),\n", ""
        ),
        # `k` must stay keyword-only, so `*args` becomes a bare `*`.
        "remove parameter `*args` from `star` (call sites unchanged)": source.replace("(*args, k)", "(*, k)"),
        "remove parameter `k` from `star` (call sites unchanged)": source.replace("(*args, k)", "(*args)"),
    }


def test_reorder_arguments_swaps_neighbours_and_moves_only_the_expressions() -> None:
    source = (
        "def r(a, b, c):\n    return pow(a, b, mod=c) + max(a,\n                                  b, c)\n"
    )
    head = "def r(a, b, c):\n    return pow(a, b, mod=c) + max("
    assert outcomes(source, "reorder_arguments") == {
        "swap arguments 1 and 2 of the call to `pow` on line 2": source.replace("pow(a, b,", "pow(b, a,"),
        "swap arguments 1 and 2 of the call to `max` on line 2": head
        + "b,\n                                  a, c)\n",
        "swap arguments 2 and 3 of the call to `max` on line 2": head
        + "a,\n                                  c, b)\n",
    }


def test_swap_variables_swaps_reads_of_variables_read_on_a_common_line() -> None:
    # `a` and `total` are never read on the same line: no candidate pairs them.
    source = "def s(a, b):\n    total = a - b\n    return [total + i for i in range(b)]\n"
    assert outcomes(source, "swap_variables") == {
        "swap the reads of `a` and `b` in `s` (3 occurrences)": (
            "def s(a, b):\n    total = b - a\n    return [total + i for i in range(a)]\n"
        ),
        "swap the reads of `b` and `total` in `s` (3 occurrences)": (
            "def s(a, b):\n    total = a - total\n    return [b + i for i in range(total)]\n"
        ),
    }


def test_remove_import_of_names_the_function_reads() -> None:
    source = (
        "import os\n"
        "import sys, json\n"
        "from math import (floor,\n"
        "                  ceil)\n"
        "from typing import TYPE_CHECKING\n"
        "\n"
        "\n"
        "def use(x) -> sys.Foo:\n"
        "    import re\n"
        '    return os.sep + json.dumps(floor(x)) + re.escape("")\n'
    )
    used = "(used by `use`)"
    assert outcomes(source, "remove_import") == {
        f"remove `import os` on line 1 {used}": source.replace("import os\n", ""),
        f"remove `json` from the import on line 2 {used}": source.replace(
            "import sys, json\n", "import sys\n"
        ),
        f"remove `floor` from the import on line 3 {used}": source.replace(
            "(floor,\n                  ceil)", "(ceil)"
        ),
        f"remove `import re` on line 9 {used}": source.replace("    import re\n", ""),
    }


def test_remove_return_bare_and_dropped() -> None:
    source = "def rr(x):\n    if x:\n        return None\n    return x * 2\n"
    assert outcomes(source, "remove_return") == {
        # Alone in its block, the dropped return leaves `pass` so the block still parses.
        "drop the `return` on line 3": "def rr(x):\n    if x:\n        pass\n    return x * 2\n",
        "change `return x * 2` to a bare `return` on line 4": (
            "def rr(x):\n    if x:\n        return None\n    return\n"
        ),
        "drop the `return` on line 4": "def rr(x):\n    if x:\n        return None\n",
    }


def test_remove_loop() -> None:
    source = (
        "def lp(xs):\n"
        "    for x in xs:\n"
        "        print(x)\n"
        "    else:\n"
        '        print("done")\n'
        "    while xs:\n"
        "        xs.pop()\n"
    )
    assert outcomes(source, "remove_loop") == {
        "remove the `for` loop on lines 2-5": "def lp(xs):\n    while xs:\n        xs.pop()\n",
        "remove the `while` loop on lines 6-7": (
            'def lp(xs):\n    for x in xs:\n        print(x)\n    else:\n        print("done")\n'
        ),
    }


def test_remove_conditional_takes_elif_and_else_along() -> None:
    source = (
        "def cond(x):\n"
        "    if x > 0:\n"
        "        x = 1\n"
        "    elif x < 0:\n"
        "        x = -1\n"
        "    else:\n"
        "        if x:\n"
        "            pass\n"
        "    return x\n"
    )
    assert outcomes(source, "remove_conditional") == {
        "remove the `if` statement on lines 2-8": "def cond(x):\n    return x\n",
        "remove the `if` statement on lines 7-8": source.replace(
            "        if x:\n            pass\n", "        pass\n"
        ),
    }


def test_remove_assignment_plain_augmented_annotated_and_semicolons() -> None:
    source = "def asg(x):\n    y: int = x; z = 2\n    y += z\n    w: str\n    return y\n"
    assert outcomes(source, "remove_assignment") == {
        "remove the assignment to `y` on line 2": source.replace("y: int = x; z = 2", "z = 2"),
        "remove the assignment to `z` on line 2": source.replace("y: int = x; z = 2", "y: int = x"),
        "remove the assignment to `y` on line 3": source.replace("    y += z\n", ""),
    }


def test_statement_removal_takes_a_nested_def_with_its_decorators() -> None:
    source = (
        "def outer(x):\n"
        "    @wraps(x)\n"
        "    def inner():\n"
        "        return x\n"
        "    return inner\n"
        "\n"
        "\n"
        "def only(x):\n"
        "    @cache\n"
        "    def inner():\n"
        "        return x\n"
    )
    assert outcomes(source, "remove_body_part") == {
        "remove the statement on lines 2-4 of `outer`": source.replace(
            "    @wraps(x)\n    def inner():\n        return x\n", ""
        ),
        "remove the statement on line 5 of `outer`": source.replace("    return inner\n", ""),
    }
    assert outcomes(source, "remove_body") == {
        "replace the body of `outer` with `return None`": source.replace(
            "    @wraps(x)\n    def inner():\n        return x\n    return inner\n", "    return None\n"
        ),
        "replace the body of `only` with `pass`": source.replace(
            "    @cache\n    def inner():\n        return x\n", "    pass\n"
        ),
        "replace the body of `outer.<locals>.inner` with `return None`": source.replace(
            "        return x\n    return inner", "        return None\n    return inner"
        ),
        "replace the body of `only.<locals>.inner` with `return None`": (
            source[: source.rindex("        return x\n")] + "        return None\n"
        ),
    }
