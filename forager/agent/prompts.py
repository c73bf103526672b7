"""Prompts rendered from the templates beside this module."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from forager.agent.tool_specs import TEXT_FORMS


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("forager.agent", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def system_prompt() -> str:
    return _env().get_template("system.j2").render(text_forms=TEXT_FORMS)


def task_prompt(name: str, python: str, test_command: str, problem_statement: str | None) -> str:
    if problem_statement:
        return (
            _env()
            .get_template("task_mutate_fix.j2")
            .render(problem_statement=problem_statement, name=name, python=python, test_command=test_command)
        )
    return _env().get_template("task_explore.j2").render(name=name, python=python, test_command=test_command)
