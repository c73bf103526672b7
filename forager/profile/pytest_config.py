"""The pytest configuration pytest would use, from whichever file it would pick first."""

from __future__ import annotations

import configparser
import shlex
from typing import Any

from forager.profile.files import RepoFiles
from forager.profile.findings import PytestConfig
from forager.profile.ini import ini_lines, ini_words, parse_ini


def read_pytest_config(
    files: RepoFiles,
    pyproject: dict[str, Any] | None,
    tox: configparser.ConfigParser | None,
    setup_cfg: configparser.ConfigParser | None,
    hints: list[str],
) -> PytestConfig | None:
    """Same precedence as pytest: pytest.ini, .pytest.ini, pyproject.toml, tox.ini, setup.cfg."""
    for name in ("pytest.ini", ".pytest.ini"):
        text = files.read_text(name)
        if text is not None:
            parser = parse_ini(text, name, hints)
            return _from_section(parser, "pytest", name) or PytestConfig(source=name)
    toml_config = _from_toml(pyproject or {})
    if toml_config is not None:
        return toml_config
    return _from_section(tox, "pytest", "tox.ini [pytest]") or _from_section(
        setup_cfg, "tool:pytest", "setup.cfg [tool:pytest]"
    )


def _from_section(parser: configparser.ConfigParser | None, section: str, source: str) -> PytestConfig | None:
    if parser is None or not parser.has_section(section):
        return None
    values = dict(parser.items(section))
    return PytestConfig(
        source=source,
        testpaths=ini_words(values.get("testpaths", "")),
        addopts=split_args(" ".join(ini_lines(values.get("addopts", "")))),
        keys=set(values),
        required_plugins=ini_words(values.get("required_plugins", "")),
    )


def _from_toml(data: dict[str, Any]) -> PytestConfig | None:
    tool = data.get("tool")
    pytest = tool.get("pytest") if isinstance(tool, dict) else None
    if not isinstance(pytest, dict):
        return None
    ini_options = pytest.get("ini_options")
    # pytest 9 reads native [tool.pytest] keys when there is no ini_options table.
    table = ini_options if isinstance(ini_options, dict) else pytest
    source = "pyproject [tool.pytest.ini_options]" if table is ini_options else "pyproject [tool.pytest]"
    return PytestConfig(
        source=source,
        testpaths=_words(table.get("testpaths")),
        addopts=_toml_args(table.get("addopts")),
        keys=set(table),
        required_plugins=_words(table.get("required_plugins")),
    )


def _words(value: object) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _toml_args(value: object) -> list[str]:
    if isinstance(value, list):
        return [arg for item in value if isinstance(item, str) for arg in split_args(item)]
    return split_args(value) if isinstance(value, str) else []


def split_args(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
