"""setup.cfg: setuptools declarative metadata ([metadata], [options], extras)."""

from __future__ import annotations

import configparser
from dataclasses import dataclass

from forager.profile.files import RepoFiles, inside_repo_path
from forager.profile.findings import Metadata
from forager.profile.ini import get_value, ini_lines, parse_ini
from forager.profile.pep508 import parse_requirement, valid_requirements
from forager.profile.requirements import read_requirements
from forager.profile.versions import versions_from_classifiers


@dataclass
class SetupCfgInfo:
    metadata: Metadata
    parser: configparser.ConfigParser | None

    @property
    def declares_project(self) -> bool:
        """True when setup.cfg carries packaging metadata (not just tool settings)."""
        return self.parser is not None and (
            self.parser.has_section("metadata") or self.parser.has_section("options")
        )


def read_setup_cfg(files: RepoFiles) -> SetupCfgInfo | None:
    text = files.read_text("setup.cfg")
    if text is None:
        return None
    metadata = Metadata(source="setup.cfg")
    parser = parse_ini(text, "setup.cfg", metadata.hints)
    if parser is not None:
        _fill(files, parser, metadata)
    return SetupCfgInfo(metadata=metadata, parser=parser)


def _fill(files: RepoFiles, parser: configparser.ConfigParser, metadata: Metadata) -> None:
    hints = metadata.hints
    metadata.name = (get_value(parser, "metadata", "name") or "").strip() or None
    python_requires = get_value(parser, "options", "python_requires")
    metadata.requires_python = python_requires.strip() if python_requires else None
    classifiers = get_value(parser, "metadata", "classifiers") or ""
    if not classifiers.strip().startswith("file:"):
        metadata.python_versions = versions_from_classifiers(ini_lines(classifiers))
    install_requires = get_value(parser, "options", "install_requires")
    if install_requires is not None:
        metadata.dependencies = _requirements(files, install_requires, "install_requires", hints)
    tests_require = get_value(parser, "options", "tests_require")
    if tests_require is not None:
        metadata.test_requirements = _requirements(files, tests_require, "tests_require", hints)
    if parser.has_section("options.extras_require"):
        metadata.extras = {
            extra: _requirements(files, value, f"extras_require {extra}", hints)
            for extra, value in parser.items("options.extras_require")
        }
    metadata.source_dir = _source_dir(get_value(parser, "options", "package_dir"))


def _requirements(files: RepoFiles, value: str, where: str, hints: list[str]) -> list[str]:
    """A setuptools 'list-semi' value: one requirement per line, `file:` references, or `a; b`."""
    stripped = value.strip()
    if stripped.startswith("file:"):
        found: list[str] = []
        for path in stripped.removeprefix("file:").replace(",", " ").split():
            rel = inside_repo_path("", path)
            found += read_requirements(files, rel, hints) if rel else []
        return found
    lines = ini_lines(value)
    if len(lines) == 1 and ";" in lines[0] and parse_requirement(lines[0]) is None:
        lines = [part for part in lines[0].split(";") if part.strip()]  # deprecated one-line form
    return valid_requirements(lines, f"setup.cfg {where}", hints)


def _source_dir(package_dir: str | None) -> str | None:
    """`package_dir = =src` (root package mapping) names the source folder."""
    for line in ini_lines(package_dir or ""):
        key, _, value = line.partition("=")
        if not key.strip() and value.strip():
            return value.strip().strip("/")
    return None
