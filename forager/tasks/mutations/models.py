"""The data contract of the mutation engine: family names, functions and mutations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Family = Literal[
    # CWM's families (functions, arguments, variables, statements, operators).
    "remove_body",
    "remove_body_part",
    "remove_parameter",
    "reorder_arguments",
    "swap_variables",
    "remove_import",
    "remove_return",
    "operator_swap",
    "unary_swap",
    "boolean_swap",
    "comparison_swap",
    # SWE-smith's procedural extras.
    "invert_condition",
    "change_constant",
    "remove_loop",
    "remove_conditional",
    "remove_assignment",
]

# The canonical order, most specific first: enumeration walks families in this order and
# deduplication keeps the first of identical patches, so dropping a lone `return` line is
# labelled `remove_return` rather than the broader `remove_body_part`.
FAMILIES: tuple[Family, ...] = (
    "operator_swap",
    "comparison_swap",
    "boolean_swap",
    "unary_swap",
    "invert_condition",
    "change_constant",
    "swap_variables",
    "reorder_arguments",
    "remove_parameter",
    "remove_return",
    "remove_import",
    "remove_assignment",
    "remove_loop",
    "remove_conditional",
    "remove_body_part",
    "remove_body",
)


class FunctionInfo(BaseModel):
    """A `def` in a source file; lines are 1-based and inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    qualname: str = Field(description="Python's __qualname__, e.g. `C.m` or `outer.<locals>.inner`")
    name: str
    start_line: int = Field(description="the first decorator's line, else the `def` line")
    def_line: int
    body_start_line: int = Field(description="the first line of the body after the docstring")
    end_line: int
    is_method: bool = Field(description="defined directly in a class body")
    is_async: bool
    is_nested: bool = Field(description="defined inside another function")
    decorators: tuple[str, ...] = ()


class Mutation(BaseModel):
    """One candidate bug: a change to one function of one file, with its git patches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="a stable digest of file and bug_patch")
    family: Family
    file: str = Field(description="POSIX path relative to the repository root")
    symbol: str = Field(description="qualified name of the mutated function")
    lines: tuple[int, int] = Field(description="first and last line of the original text that changed")
    function_lines: tuple[int, int]
    description: str
    mutated_source: str
    bug_patch: str = Field(description="`git diff` form, a/ and b/ prefixes; introduces the bug")
    fix_patch: str = Field(description="the reverse of bug_patch: the gold fix")


class Enumeration(BaseModel):
    """The mutations of one file and how many candidates were dropped, by reason."""

    model_config = ConfigDict(extra="forbid")

    file: str
    mutations: list[Mutation] = Field(default_factory=list)
    dropped_invalid: dict[str, int] = Field(
        default_factory=dict, description="per family: candidates that no longer compile"
    )
    dropped_duplicates: int = 0
    dropped_unchanged: int = 0
