"""Problem statements in CWM's mutate-fix style: inspect the function, run its tests, fix it.

The statement names the function and its file and says what kind of thing went wrong in
the loosest useful words; it never shows the mutation itself.
"""

from __future__ import annotations

FAMILY_HINTS: dict[str, str] = {
    "operator_swap": "an arithmetic or bitwise expression computes the wrong value",
    "comparison_swap": "a comparison gives the wrong answer at or around a boundary",
    "boolean_swap": "a logical condition combines its parts the wrong way",
    "unary_swap": "a sign or a negation is wrong",
    "invert_condition": "a condition is the wrong way round",
    "change_constant": "a constant has the wrong value",
    "swap_variables": "two values are used in each other's places",
    "reorder_arguments": "a call passes its arguments in the wrong order",
    "remove_parameter": "the function's signature lost something callers rely on",
    "remove_return": "the function does not return what it should",
    "remove_import": "a name the function needs is no longer available",
    "remove_assignment": "a value the function relies on is never set",
    "remove_loop": "part of the work that should be repeated is skipped",
    "remove_conditional": "a case the function should handle is not handled",
    "remove_body_part": "part of the function's logic is missing",
    "remove_body": "the function no longer does its job",
}


def mutate_fix_statement(family: str, file: str, symbol: str, tests: list[str]) -> str:
    hint = FAMILY_HINTS.get(family, "it behaves incorrectly")
    shown = ", ".join(f"`{t}`" for t in tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
    return (
        f"The function `{symbol}` in `{file}` has a bug: {hint}.\n"
        f"Inspect the function, run its tests ({shown}) to see the failure, and fix the bug "
        f"without changing the tests. Other behaviour must stay as it is."
    )


def issue_fix_statement(message: str, issue_text: str | None, tests: list[str]) -> str:
    body = issue_text.strip() if issue_text and issue_text.strip() else message.strip()
    shown = ", ".join(f"`{t}`" for t in tests[:3])
    return f"{body}\n\nMake the failing tests pass ({shown}) without changing the tests."
