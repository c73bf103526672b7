"""Test environments declared for tox (tox.ini, setup.cfg, pyproject legacy_tox_ini) and nox."""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from forager.profile.commands import find_test_command, parse_pip_args, shell_commands
from forager.profile.files import RepoFiles, inside_repo_path
from forager.profile.findings import TestCommand
from forager.profile.ini import get_value, ini_lines, ini_words, parse_ini
from forager.profile.literals import NotLiteral, literal_value, module_names
from forager.profile.pep508 import merge_requirements
from forager.profile.requirements import read_requirements_file
from forager.profile.versions import sort_versions, versions_in_text

_TEST_TOKENS = frozenset({"test", "tests", "testing", "unit", "unittest", "unittests", "pytest"})
_NON_TEST_TOKENS = frozenset(
    {"lint", "docs", "doc", "typing", "mypy", "flake8", "format", "style", "release", "build"}
    | {"pre", "commit"}  # pre-commit
)
_INTERPRETER_ENV = re.compile(r"^(?:py|pypy)\d*$")
_SECTION_REF = re.compile(r"\{\[([^\]]+)\]([^}:]+)\}")
_POSARGS = re.compile(r"\{posargs(?::([^}]*))?\}")
# `py38,!docs: dep` — but not a substitution like `{env:X:}` or a URL scheme like `https://`.
_FACTOR_PREFIX = re.compile(r"^(?!\{(?:env|tty|posargs|\[))([\w!.,{}-]+):\s*(?!//)")
_MAX_REF_DEPTH = 5


@dataclass
class RunnerInfo:
    """Dependencies and commands of the test environments of tox or nox."""

    source: str
    deps: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    commands: list[TestCommand] = field(default_factory=list)
    python_versions: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def is_test_env(name: str) -> bool:
    """tox env / nox session names like `py311`, `tests`, `unit-py39`, but not `lint`/`docs`."""
    tokens = set(re.split(r"[^a-z0-9]+", name.lower()))
    if tokens & _NON_TEST_TOKENS:
        return False
    return bool(tokens & _TEST_TOKENS) or any(_INTERPRETER_ENV.match(token) for token in tokens)


# --- tox ---------------------------------------------------------------------------------------


def tox_parser(
    files: RepoFiles,
    setup_cfg: configparser.ConfigParser | None,
    legacy_tox_ini: str | None,
    hints: list[str],
) -> tuple[str, configparser.ConfigParser] | None:
    """The tox configuration tox itself would read first: tox.ini, setup.cfg, pyproject.toml."""
    text = files.read_text("tox.ini")
    if text is not None:
        parser = parse_ini(text, "tox.ini", hints)
        return ("tox.ini", parser) if parser is not None else None
    if setup_cfg is not None and setup_cfg.has_section("tox:tox"):
        return "setup.cfg", setup_cfg
    if legacy_tox_ini is not None:
        parser = parse_ini(legacy_tox_ini, "pyproject [tool.tox] legacy_tox_ini", hints)
        return ("pyproject legacy_tox_ini", parser) if parser is not None else None
    return None


def read_tox(
    source: str, parser: configparser.ConfigParser, files: RepoFiles, skip: Collection[str]
) -> RunnerInfo:
    """Deps, extras and commands of [testenv] and the test-looking [testenv:NAME] sections."""
    info = RunnerInfo(source=source)
    sections = [
        s for s in parser.sections() if s == "testenv" or (s.startswith("testenv:") and is_test_env(s[8:]))
    ]
    for section in sections:
        _read_env(parser, section, files, skip, info)
    info.deps = merge_requirements(info.deps)
    info.extras = list(dict.fromkeys(info.extras))
    info.python_versions = _envlist_versions(parser)
    return info


def _read_env(
    parser: configparser.ConfigParser, section: str, files: RepoFiles, skip: Collection[str], info: RunnerInfo
) -> None:
    deps = _joined(_unconditional_lines(parser, section, "deps", info))
    substituted = [line.replace("{toxinidir}", ".").replace("\\#", "#") for line in deps]
    unresolved = [line for line in substituted if "{" in line]
    if unresolved:
        info.hints.append(f"dropped {len(unresolved)} tox deps with unexpanded substitutions ({section})")
    pip = parse_pip_args([line for line in substituted if "{" not in line])
    info.deps += pip.requirements
    info.extras += pip.extras + ini_words(" ".join(_unconditional_lines(parser, section, "extras", info)))
    _add_requirement_files(files, pip.requirement_files, skip, info)
    for line in _joined(_unconditional_lines(parser, section, "commands", info)):
        line = _POSARGS.sub(lambda m: m.group(1) or "", line).lstrip("-! ")
        info.commands += [c for t in shell_commands(line) if (c := find_test_command(t, f"tox [{section}]"))]


def _unconditional_lines(
    parser: configparser.ConfigParser, section: str, key: str, info: RunnerInfo
) -> list[str]:
    """Lines of a tox value with `{[sec]key}` expanded and factor conditions resolved.

    A conditional line (`py38: mock`, `tests: pytest`) is kept without its condition when the
    factors look like a test run, and dropped otherwise (`docs: sphinx`, `django32: ...`).
    """
    value = _expand_refs(parser, get_value(parser, section, key) or "", 0)
    kept: list[str] = []
    dropped = 0
    for line in ini_lines(value):
        factor = _FACTOR_PREFIX.match(line)
        if factor is None:
            kept.append(line)
        elif _factors_apply(factor.group(1)):
            kept.append(line[factor.end() :])
        else:
            dropped += 1
    if dropped:
        info.hints.append(f"ignored {dropped} factor-conditional tox {key} ({section})")
    return kept


def _factors_apply(condition: str) -> bool:
    """`py38`, `tests`, `!docs` apply to a test run; `py{38,39}-postgresql` (AND) does not."""
    alternatives = re.sub(r"\{[^}]*\}", "", condition).split(",")
    return any(
        all(factor.startswith("!") or is_test_env(factor) for factor in alternative.split("-") if factor)
        for alternative in alternatives
    )


def _expand_refs(parser: configparser.ConfigParser, value: str, depth: int) -> str:
    if depth >= _MAX_REF_DEPTH:
        return value

    def replace(match: re.Match[str]) -> str:
        referenced = get_value(parser, match.group(1), match.group(2).strip())
        return _expand_refs(parser, referenced, depth + 1) if referenced is not None else match.group(0)

    return _SECTION_REF.sub(replace, value)


def _joined(lines: list[str]) -> list[str]:
    """Join lines continued with a trailing backslash."""
    joined: list[str] = []
    pending = ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
        else:
            joined.append(pending + line)
            pending = ""
    return joined + ([pending] if pending.strip() else [])


def _envlist_versions(parser: configparser.ConfigParser) -> list[str]:
    """`envlist = py{39,310}-x, py311` -> 3.9, 3.10, 3.11."""
    envlist = get_value(parser, "tox:tox", "envlist") or get_value(parser, "tox", "envlist") or ""
    expanded = re.sub(r"\{([^}]*)\}", lambda m: "(" + m.group(1) + ")", envlist)
    versions: list[str] = []
    for match in re.finditer(r"\bpy(\d)(\d+)\b|\bpy\(([\d,\s]+)\)", expanded):
        if match.group(1):
            versions.append(f"{match.group(1)}.{match.group(2)}")
        else:
            versions += [f"{v[0]}.{v[1:]}" for v in re.split(r"[,\s]+", match.group(3)) if len(v) > 1]
    return sort_versions(versions)


def _add_requirement_files(
    files: RepoFiles, paths: list[str], skip: Collection[str], info: RunnerInfo
) -> None:
    """Read `-r` files (relative to the repository root) unless they are runtime files in `skip`."""
    for path in paths:
        rel = inside_repo_path("", path)
        if rel is None:
            info.hints.append(
                f"ignored requirements file {path!r} from {info.source}: outside the repository"
            )
            continue
        if rel not in info.requirement_files:
            info.requirement_files.append(rel)
        if rel not in skip:
            content = read_requirements_file(files, rel, info.hints, skip=skip)
            info.deps += content.requirements
            info.extras += content.extras


# --- nox ---------------------------------------------------------------------------------------


def read_noxfile(files: RepoFiles, skip: Collection[str]) -> RunnerInfo | None:
    """`session.install(...)`/`session.run(...)` literals of the test-looking nox sessions."""
    text = files.read_text("noxfile.py")
    if text is None:
        return None
    info = RunnerInfo(source="noxfile.py")
    try:
        tree = ast.parse(text, filename="noxfile.py")
    except (SyntaxError, ValueError):
        info.hints.append("noxfile.py does not parse; ignored")
        return info
    names = module_names(tree)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _read_session(node, names, files, skip, info)
    info.deps = merge_requirements(info.deps)
    info.extras = list(dict.fromkeys(info.extras))
    info.python_versions = sort_versions(v for text in info.python_versions for v in versions_in_text(text))
    return info


def _read_session(
    func: ast.FunctionDef | ast.AsyncFunctionDef,
    names: dict[str, ast.expr],
    files: RepoFiles,
    skip: Collection[str],
    info: RunnerInfo,
) -> None:
    decorator = next((d for d in func.decorator_list if _is_session_decorator(d)), None)
    if decorator is None:
        return
    options = _decorator_options(decorator, names)
    name = options.get("name")
    if not is_test_env(name if isinstance(name, str) else func.name):
        return
    python = options.get("python")
    info.python_versions += (
        [python] if isinstance(python, str) else [v for v in _as_list(python) if isinstance(v, str)]
    )
    session = func.args.args[0].arg if func.args.args else "session"
    for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
        method = _session_method(call, session)
        if method == "install":
            pip = parse_pip_args(_literal_args(call, names))
            info.deps += pip.requirements
            info.extras += pip.extras
            _add_requirement_files(files, pip.requirement_files, skip, info)
        elif method == "run" and (command := find_test_command(_literal_args(call, names), "noxfile.py")):
            info.commands.append(command)


def _is_session_decorator(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr == "session"
    return isinstance(target, ast.Name) and target.id == "session"


def _decorator_options(node: ast.expr, names: dict[str, ast.expr]) -> dict[str, object]:
    options: dict[str, object] = {}
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg in {"name", "python"}:
                try:
                    options[keyword.arg] = literal_value(keyword.value, names)
                except NotLiteral:
                    continue
    return options


def _session_method(call: ast.Call, session: str) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == session:
        return func.attr
    return None


def _literal_args(call: ast.Call, names: dict[str, ast.expr]) -> list[str]:
    """String positional arguments, `*LIST` expanded; computed ones are skipped."""
    args: list[str] = []
    for arg in call.args:
        node = arg.value if isinstance(arg, ast.Starred) else arg
        try:
            value = literal_value(node, names)
        except NotLiteral:
            continue
        args += [item for item in _as_list(value) if isinstance(item, str)]
    return args


def _as_list(value: object) -> list[object]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value] if value is not None else []
