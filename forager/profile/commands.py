"""Shell-ish command lines from tox, nox and CI files: test runs and `pip install` arguments."""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from forager.profile.findings import TestCommand
from forager.profile.requirements import local_extras, requirement_from_line

_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
# pip options that consume the next argument.
_VALUE_OPTIONS = frozenset(
    {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links"}
    | {"--trusted-host", "-t", "--target", "--prefix", "--root", "--upgrade-strategy", "--python-version"}
    | {"--platform", "--only-binary", "--no-binary", "--progress-bar", "--config-settings", "-C", "--src"}
    | {"--group"}
)
_PYTEST_PROGRAMS = frozenset({"pytest", "py.test"})
_INSTALL_VERBS = frozenset({"install", "add"})


@dataclass
class PipInstall:
    """What a `pip install` argument list asks for."""

    requirements: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)


def shell_commands(line: str) -> list[list[str]]:
    """Token lists of the commands on one shell line (split at &&, ||, ;, |)."""
    commands: list[list[str]] = []
    for part in _SEPARATORS.split(line):
        try:
            tokens = shlex.split(part, comments=True)
        except ValueError:  # unbalanced quotes in YAML-embedded shell
            tokens = part.split()
        if tokens:
            commands.append(tokens)
    return commands


def find_test_command(tokens: list[str], source: str) -> TestCommand | None:
    """A pytest or unittest invocation in `tokens` (`python -m pytest`, `coverage run -m pytest`)."""
    for index, token in enumerate(tokens):
        if token in _INSTALL_VERBS:
            return None  # `pip install pytest` installs, it does not run
        after_option = index > 0 and tokens[index - 1].startswith("-")  # `uv run --with pytest pytest`
        if posixpath.basename(token) in _PYTEST_PROGRAMS and not after_option:
            return TestCommand("pytest", _plain_args(tokens[index + 1 :]), source)
        if token == "-m" and index + 1 < len(tokens) and tokens[index + 1] == "pytest":
            return TestCommand("pytest", _plain_args(tokens[index + 2 :]), source)
        if token == "-m" and index + 1 < len(tokens) and tokens[index + 1] == "unittest":
            return TestCommand("unittest", _plain_args(tokens[index + 2 :]), source)
    return None


def _plain_args(args: list[str]) -> list[str]:
    """Drop substitutions (`{posargs}`, `${{ matrix.x }}`, `$VAR`) nobody can expand here."""
    return [arg for arg in args if "{" not in arg and "$" not in arg]


def pip_install_args(tokens: list[str]) -> list[str] | None:
    """Arguments after `pip install` / `python -m pip install` / `uv pip install`, else None."""
    for index, token in enumerate(tokens[:-1]):
        if posixpath.basename(token) in {"pip", "pip3"} and tokens[index + 1] == "install":
            return tokens[index + 2 :]
    return None


def parse_pip_args(args: list[str]) -> PipInstall:
    """Requirements, `-r` files and `.[extras]` named by pip install arguments."""
    result = PipInstall()
    queue = _split_option_values(args)
    while queue:
        arg = queue.pop(0)
        if arg in {"-r", "--requirement"} and queue:
            result.requirement_files.append(queue.pop(0))
        elif arg.startswith("--requirement="):
            result.requirement_files.append(arg.split("=", 1)[1])
        elif arg.startswith("-r") and len(arg) > 2 and not arg.startswith("--"):
            result.requirement_files.append(arg[2:])
        elif arg in {"-e", "--editable"} and queue:
            result.extras += local_extras(queue.pop(0))
        elif arg in _VALUE_OPTIONS and queue:
            queue.pop(0)
        elif arg.startswith("-"):
            continue
        elif (extras := local_extras(arg)) or _is_project_itself(arg):
            result.extras += extras
        elif (requirement := requirement_from_line(arg)) is not None:
            result.requirements.append(requirement)
    return result


def _split_option_values(args: list[str]) -> list[str]:
    """Tox writes `-r requirements.txt` and `-e .[test]` as one line: split option and value."""
    split: list[str] = []
    for arg in args:
        arg = arg.strip()
        if arg.startswith("-") and " " in arg:
            split += arg.split(None, 1)
        elif arg:
            split.append(arg)
    return split


def _is_project_itself(arg: str) -> bool:
    return arg.strip("'\"") in {".", "./", "-e."}
