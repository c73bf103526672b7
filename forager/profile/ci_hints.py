"""Hints from GitHub Actions workflows, read with regexes (no YAML dependency).

Workflows are only hints: they name Python versions, Debian packages and install/test
commands, but a regex reading can be fooled, so nothing here overrides packaging metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forager.profile.commands import find_test_command, parse_pip_args, pip_install_args, shell_commands
from forager.profile.files import RepoFiles, inside_repo_path
from forager.profile.findings import TestCommand
from forager.profile.pep508 import requirement_name
from forager.profile.plugin_table import CI_TEST_TOOLS
from forager.profile.versions import sort_versions, versions_in_text

_WORKFLOWS = ".github/workflows"
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[\w-]+)\s*:\s*(?P<value>.*?)\s*$")
_PYTHON_KEY = re.compile(r"(?i)^(?:python|py|pyver|python[-_]?ver|python[-_]?versions?|py[-_]?versions?)$")
# `key: value` inside a flow mapping: `- {python: '3.13', os: ubuntu-latest}`.
_FLOW_PAIR = re.compile(r"[{,]\s*(?P<key>[\w-]+)\s*:\s*(?P<value>[^,}]+)")
_GHA_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_YAML_RUN_PREFIX = re.compile(r"^\s*(?:-\s+)?(?:run\s*:\s*[|>]?[-+]?)?\s*")
_APT = re.compile(r"\bapt(?:-get)?\s+(.*)$")
_APT_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9.+-]+(?::[a-z0-9]+)?$")


@dataclass
class CiHints:
    python_versions: list[str] = field(default_factory=list)
    system_packages: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    test_requirements: list[str] = field(default_factory=list)
    commands: list[TestCommand] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def read_ci_hints(repo: RepoFiles) -> CiHints:
    hints = CiHints()
    for name in repo.listdir(_WORKFLOWS):
        if not name.endswith((".yml", ".yaml")):
            continue
        rel = f"{_WORKFLOWS}/{name}"
        text = repo.read_text(rel)
        if text is None:
            continue
        hints.files.append(rel)
        hints.python_versions += workflow_python_versions(text)
        for line in _logical_lines(text):
            _read_shell_line(repo, line, rel, hints)
    hints.python_versions = sort_versions(hints.python_versions)
    hints.system_packages = list(dict.fromkeys(hints.system_packages))
    return hints


def workflow_python_versions(text: str) -> list[str]:
    """Versions under python-version-like keys: scalars, `[..]` flow lists and `- x` block lists."""
    lines = text.splitlines()
    versions: list[str] = []
    for index, line in enumerate(lines):
        for pair in _FLOW_PAIR.finditer(line):
            if _PYTHON_KEY.match(pair.group("key")):
                versions += versions_in_text(pair.group("value"))
        match = _KEY_LINE.match(line)
        if match is None or not _PYTHON_KEY.match(match.group("key")):
            continue
        value = re.sub(r"\s+#.*$", "", match.group("value"))
        if value.startswith("{"):
            continue  # a flow mapping, read above
        if value:
            versions += versions_in_text(value)
        else:
            versions += _block_list(lines[index + 1 :], len(match.group("indent")))
    return versions


def _block_list(lines: list[str], key_indent: int) -> list[str]:
    """Items of a `- x` block list following a key (YAML allows them at the key's indent)."""
    versions: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not stripped.startswith("-") or len(line) - len(line.lstrip()) < key_indent:
            break
        versions += versions_in_text(stripped[1:])
    return versions


def _logical_lines(text: str) -> list[str]:
    """Shell lines with backslash continuations joined and YAML `- run:` prefixes removed."""
    joined = re.sub(r"\\\s*\n\s*", " ", text)
    # `${{ matrix.x }}` would split into three tokens; one `$`-token is dropped as a unit later.
    joined = _GHA_EXPRESSION.sub("$GHA", joined)
    return [_YAML_RUN_PREFIX.sub("", line) for line in joined.splitlines() if line.strip()]


def _read_shell_line(repo: RepoFiles, line: str, source: str, hints: CiHints) -> None:
    for segment in re.split(r"&&|\|\||;", line):
        if (apt := _APT.search(segment)) is not None:
            hints.system_packages += apt_packages(apt.group(1))
    for tokens in shell_commands(line):
        args = pip_install_args(tokens)
        if args is not None:
            _read_pip_install(repo, args, hints)
        elif (command := find_test_command(tokens, source)) is not None:
            hints.commands.append(command)


def apt_packages(rest: str) -> list[str]:
    """Package names of `apt-get [opts] install [opts] pkg...` (the part after `apt-get`)."""
    command = re.split(r"&&|\|\||;|\||>", rest, maxsplit=1)[0]
    words = [word.strip("'\"") for word in command.split()]
    verbs = [word for word in words if not word.startswith("-")]
    if not verbs or verbs[0] != "install":
        return []
    packages = [word.split("=", 1)[0] for word in verbs[1:]]
    return [package for package in packages if _APT_PACKAGE.match(package)]


def _read_pip_install(repo: RepoFiles, args: list[str], hints: CiHints) -> None:
    pip = parse_pip_args([arg for arg in args if "$" not in arg])
    hints.extras += pip.extras
    for path in pip.requirement_files:
        rel = inside_repo_path("", path)
        if rel is not None and repo.is_file(rel) and rel not in hints.requirement_files:
            hints.requirement_files.append(rel)
    # Only well-known test tools: CI also installs linters, uploaders and build tools.
    for requirement in pip.requirements:
        if _known_test_tool(requirement_name(requirement) or ""):
            hints.test_requirements.append(requirement)


def _known_test_tool(name: str) -> bool:
    return name.startswith("pytest") or name in CI_TEST_TOOLS
