"""`functions_in` and `function_at`: the map from lines (e.g. coverage data) to functions."""

from __future__ import annotations

from forager.tasks.mutations import FunctionInfo, function_at, functions_in

SOURCE = (
    "class Shape:\n"
    "    @property\n"
    "    def area(self):\n"
    '        """The area."""\n'
    "        return 0\n"
    "\n"
    "    @area.setter\n"
    "    def area(self, value): pass\n"
    "\n"
    "    class Unit:\n"
    "        @staticmethod\n"
    "        async def load():\n"
    "            def helper():\n"
    "                return 1\n"
    "            return helper()\n"
)


def test_functions_in_lists_every_def_with_its_qualified_name_and_lines() -> None:
    assert functions_in(SOURCE) == [
        FunctionInfo(
            qualname="Shape.area",
            name="area",
            start_line=2,
            def_line=3,
            body_start_line=5,
            end_line=5,
            is_method=True,
            is_async=False,
            is_nested=False,
            decorators=("property",),
        ),
        FunctionInfo(
            qualname="Shape.area",
            name="area",
            start_line=7,
            def_line=8,
            body_start_line=8,
            end_line=8,
            is_method=True,
            is_async=False,
            is_nested=False,
            decorators=("area.setter",),
        ),
        FunctionInfo(
            qualname="Shape.Unit.load",
            name="load",
            start_line=11,
            def_line=12,
            body_start_line=13,
            end_line=15,
            is_method=True,
            is_async=True,
            is_nested=False,
            decorators=("staticmethod",),
        ),
        FunctionInfo(
            qualname="Shape.Unit.load.<locals>.helper",
            name="helper",
            start_line=13,
            def_line=13,
            body_start_line=14,
            end_line=14,
            is_method=False,
            is_async=False,
            is_nested=True,
            decorators=(),
        ),
    ]


def test_function_at_picks_the_innermost_function() -> None:
    functions = functions_in(SOURCE)
    at = {
        line: (f.qualname if (f := function_at(functions, line)) else None) for line in (1, 2, 5, 9, 14, 15)
    }
    assert at == {
        1: None,
        2: "Shape.area",
        5: "Shape.area",
        9: None,
        14: "Shape.Unit.load.<locals>.helper",
        15: "Shape.Unit.load",
    }
