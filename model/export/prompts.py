"""Where the task prompt of an exported episode comes from.

Episodes do not store their prompts: the runner renders them from the agent's templates with
the environment's and task's fields, so the export renders them the same way. A store that
keeps prompts per episode would plug in another `PromptSource`.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from typing import Protocol

from forager.agent.prompts import system_prompt, task_prompt
from model.export.store_reader import EpisodeRecord


class PromptSource(Protocol):
    def system(self) -> str: ...

    def task(self, record: EpisodeRecord) -> str: ...


class TemplatePrompts:
    """The prompts of `forager.agent.prompts`, as the agent loop was given them.

    One instance per export and store (`run_export` makes its own): prompts are remembered by
    environment and task id.
    """

    def __init__(self) -> None:
        # The prompt is a function of the environment (name, Python, test command) and the
        # task (problem statement): kept per (environment, task) id, so an episode costs a
        # dict lookup on two ints rather than hashing and comparing its problem statement.
        self._by_ids: dict[tuple[int, int | None], str] = {}

    def system(self) -> str:
        return _system()

    def task(self, record: EpisodeRecord) -> str:
        key = (record.environment_id, record.task_id)
        prompt = self._by_ids.get(key)
        if prompt is None:
            args = tuple(str(a) for a in record.test_command or ())
            command = _command(args) if args else "pytest"
            prompt = _task(
                record.repo_name, record.python_version or "3", command, record.problem_statement or None
            )
            if len(self._by_ids) < 65536:
                self._by_ids[key] = prompt
        return prompt


@lru_cache(maxsize=1)
def _system() -> str:
    return system_prompt()


@lru_cache(maxsize=1024)
def _command(args: tuple[str, ...]) -> str:
    return shlex.join(args)


@lru_cache(maxsize=4096)
def _task(name: str, python: str, command: str, problem: str | None) -> str:
    # Many episodes share a task: rendering Jinja once per task keeps it off the hot path.
    return task_prompt(name, python, command, problem)
