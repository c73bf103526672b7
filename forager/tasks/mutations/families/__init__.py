"""The mutation families, one module per group, and the registry the engine walks."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from forager.tasks.mutations.edits import Candidate
from forager.tasks.mutations.families.arguments import remove_parameter, reorder_arguments
from forager.tasks.mutations.families.bodies import remove_body, remove_body_part
from forager.tasks.mutations.families.constants import change_constant
from forager.tasks.mutations.families.control_flow import invert_condition, remove_conditional, remove_loop
from forager.tasks.mutations.families.operators import (
    boolean_swap,
    comparison_swap,
    operator_swap,
    unary_swap,
)
from forager.tasks.mutations.families.statements import remove_assignment, remove_import, remove_return
from forager.tasks.mutations.families.variables import swap_variables
from forager.tasks.mutations.functions import FunctionNode
from forager.tasks.mutations.models import Family
from forager.tasks.mutations.source import ParsedSource

Generator = Callable[[ParsedSource, FunctionNode], Iterator[Candidate]]

GENERATORS: dict[Family, Generator] = {
    "operator_swap": operator_swap,
    "comparison_swap": comparison_swap,
    "boolean_swap": boolean_swap,
    "unary_swap": unary_swap,
    "invert_condition": invert_condition,
    "change_constant": change_constant,
    "swap_variables": swap_variables,
    "reorder_arguments": reorder_arguments,
    "remove_parameter": remove_parameter,
    "remove_return": remove_return,
    "remove_import": remove_import,
    "remove_assignment": remove_assignment,
    "remove_loop": remove_loop,
    "remove_conditional": remove_conditional,
    "remove_body_part": remove_body_part,
    "remove_body": remove_body,
}
