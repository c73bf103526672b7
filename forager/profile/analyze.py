"""Orchestration: read every known file of a repository and merge the findings into a RepoProfile."""

from __future__ import annotations

import configparser
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from forager.errors import ProfileError
from forager.profile.ci_hints import CiHints, read_ci_hints
from forager.profile.files import RepoFiles
from forager.profile.findings import DYNAMIC, Metadata, PytestConfig, TestCommand
from forager.profile.layout import detect_layout
from forager.profile.models import BuildBackend, RepoProfile
from forager.profile.pep508 import is_test_group, merge_requirements, parse_requirement
from forager.profile.pyproject import PyprojectInfo, read_pyproject
from forager.profile.pytest_config import read_pytest_config
from forager.profile.requirements import (
    RequirementFiles,
    RequirementsContent,
    classify_requirements_file,
    discover_requirement_files,
    is_strict_test_name,
    read_requirements_file,
)
from forager.profile.setup_cfg import SetupCfgInfo, read_setup_cfg
from forager.profile.setup_py import read_setup_py
from forager.profile.tests_detect import detect_suite
from forager.profile.tox_nox import RunnerInfo, read_noxfile, read_tox, tox_parser
from forager.profile.versions import sort_versions


def profile_repository(repo_dir: Path) -> RepoProfile:
    """Static profile of the checkout at `repo_dir`; never imports or runs repository code.

    Raises ProfileError when the folder does not exist or holds no Python code at all; any
    malformed file only leaves a hint.
    """
    if not repo_dir.is_dir():
        raise ProfileError(f"repository folder {repo_dir} does not exist or is not a folder")
    files = RepoFiles(repo_dir)
    if not files.has_python_code() and not files.is_file("pyproject.toml"):
        raise ProfileError(f"{repo_dir} holds no Python code (no .py/.pyi/.pyx file, no pyproject.toml)")
    return _Analysis(files, repo_dir.resolve().name).profile()


@dataclass
class _Sources:
    """Everything read from the repository, before merging."""

    pyproject: PyprojectInfo | None
    setup_cfg: SetupCfgInfo | None
    setup_py: Metadata | None
    requirement_files: RequirementFiles = field(default_factory=RequirementFiles)
    metadata: list[Metadata] = field(default_factory=list)
    tox_ini: configparser.ConfigParser | None = None
    runners: list[RunnerInfo] = field(default_factory=list)
    ci: CiHints = field(default_factory=CiHints)


class _Analysis:
    def __init__(self, files: RepoFiles, folder_name: str) -> None:
        self.files = files
        self.folder_name = folder_name
        self.hints: list[str] = []

    def profile(self) -> RepoProfile:
        sources = self._read_sources()
        name = _first(m.name for m in sources.metadata) or self.folder_name
        installable = self._installable(sources)
        runtime_files, test_files = self._requirement_files(sources)
        contents = self._read_requirement_files(runtime_files, test_files)
        extras, extras_known = self._extras(sources.metadata)
        groups = _merged_groups(sources.metadata)
        layout = detect_layout(
            self.files,
            _first(m.source_dir for m in sources.metadata),
            [module for m in sources.metadata for module in m.modules],
        )
        candidates = self._test_requirement_lists(sources, groups, [contents[rel] for rel in test_files])
        test_requirements = merge_requirements(*candidates, exclude=[name])
        file_extras = [extra for content in contents.values() for extra in content.extras]
        referenced_extras = file_extras + _self_extras(candidates, name)
        commands = [c for runner in sources.runners for c in runner.commands] + sources.ci.commands
        suite = detect_suite(
            self.files,
            self._pytest_config(sources),
            commands,
            test_requirements,
            layout.packages,
            name,
        )
        self.hints += suite.hints + self.files.notes
        return RepoProfile(
            name=name,
            build_backend=self._build_backend(sources, installable),
            installable=installable,
            layout=layout.kind,
            packages=layout.packages,
            requires_python=self._requires_python(sources.metadata),
            python_versions=self._python_versions(sources),
            dependencies=self._dependencies(sources.metadata, installable, runtime_files, contents),
            extras=extras,
            test_extras=self._test_extras(extras, extras_known, sources, referenced_extras),
            dependency_groups=groups,
            test_requirements=test_requirements,
            requirements_files=runtime_files,
            test_requirements_files=test_files,
            tox_deps=next((r.deps for r in sources.runners if r.source != "noxfile.py"), []),
            build_requires=sources.pyproject.build_requires if sources.pyproject else [],
            test_framework=suite.framework,
            test_paths=suite.test_paths,
            pytest_plugins=suite.plugins,
            pytest_args=_pytest_args(commands),
            system_packages=sources.ci.system_packages,
            hints=list(dict.fromkeys(self.hints)),
        )

    # --- reading ---------------------------------------------------------------------------------

    def _read_sources(self) -> _Sources:
        pyproject = read_pyproject(self.files)
        setup_cfg = read_setup_cfg(self.files)
        sources = _Sources(pyproject=pyproject, setup_cfg=setup_cfg, setup_py=read_setup_py(self.files))
        # setuptools lets setup.py keywords override setup.cfg; [project] overrides both.
        candidates = [pyproject.metadata if pyproject else None, sources.setup_py]
        candidates.append(setup_cfg.metadata if setup_cfg else None)
        sources.metadata = [m for m in candidates if m is not None]
        for metadata in sources.metadata:
            self.hints += metadata.hints
        sources.requirement_files = discover_requirement_files(self.files)
        sources.runners = self._read_runners(sources)
        sources.ci = read_ci_hints(self.files)
        if sources.ci.files:
            self.hints.append(f"CI hints from {', '.join(sources.ci.files)}")
        return sources

    def _read_runners(self, sources: _Sources) -> list[RunnerInfo]:
        runtime = sources.requirement_files.runtime
        runners: list[RunnerInfo] = []
        legacy = sources.pyproject.legacy_tox_ini if sources.pyproject else None
        cfg_parser = sources.setup_cfg.parser if sources.setup_cfg else None
        found = tox_parser(self.files, cfg_parser, legacy, self.hints)
        if found is not None:
            source, parser = found
            sources.tox_ini = parser if source == "tox.ini" else None
            runners.append(read_tox(source, parser, self.files, runtime))
        nox = read_noxfile(self.files, runtime)
        if nox is not None:
            runners.append(nox)
        for runner in runners:
            self.hints += [f"test environments from {runner.source}", *runner.hints]
        return runners

    def _pytest_config(self, sources: _Sources) -> PytestConfig | None:
        config = read_pytest_config(
            self.files,
            sources.pyproject.data if sources.pyproject else None,
            sources.tox_ini,
            sources.setup_cfg.parser if sources.setup_cfg else None,
            self.hints,
        )
        if config is not None:
            self.hints.append(f"pytest configuration from {config.source}")
        return config

    # --- merging ---------------------------------------------------------------------------------

    def _installable(self, sources: _Sources) -> bool:
        pyproject = sources.pyproject
        if (pyproject and (pyproject.has_build_system or pyproject.has_project)) or sources.setup_py:
            return True
        if sources.setup_cfg and sources.setup_cfg.declares_project:
            self.hints.append("setup.cfg declares a project but pip needs setup.py or pyproject.toml")
        return False

    def _build_backend(self, sources: _Sources, installable: bool) -> BuildBackend:
        if not installable:
            return "none"
        declared = sources.pyproject.build_backend if sources.pyproject else None
        return declared or "setuptools"

    def _requires_python(self, metadata: list[Metadata]) -> str | None:
        for m in metadata:
            if m.requires_python is None:
                continue
            try:
                SpecifierSet(m.requires_python)
            except InvalidSpecifier:
                self.hints.append(f"requires-python {m.requires_python!r} from {m.source} does not parse")
                continue
            return m.requires_python
        return None

    def _python_versions(self, sources: _Sources) -> list[str]:
        versions = [v for m in sources.metadata for v in m.python_versions]
        versions += [v for runner in sources.runners for v in runner.python_versions]
        return sort_versions(versions + sources.ci.python_versions)

    def _dependencies(
        self,
        metadata: list[Metadata],
        installable: bool,
        runtime_files: list[str],
        contents: dict[str, RequirementsContent],
    ) -> list[str] | None:
        deferred = False
        for m in metadata:
            if m.dependencies is None:
                continue
            if m.dependencies == DYNAMIC:
                # [project] dynamic defers to setup.py/setup.cfg; setup.py computing them is final.
                if m.source.startswith("pyproject"):
                    deferred = True
                    continue
                self.hints.append(f"dependencies computed in {m.source}; pip resolves them")
                return None
            self.hints.append(f"dependencies from {m.source}")
            return list(m.dependencies)
        if deferred:
            self.hints.append("dependencies are dynamic; pip resolves them")
            return None
        if installable or not runtime_files:
            return []
        self.hints.append(f"dependencies from {', '.join(runtime_files)}")
        return merge_requirements(*(contents[rel].requirements for rel in runtime_files))

    def _extras(self, metadata: list[Metadata]) -> tuple[dict[str, list[str]], bool]:
        """(extras, whether they are known statically)."""
        for m in metadata:
            if m.extras is None or (m.extras == DYNAMIC and m.source.startswith("pyproject")):
                continue
            if m.extras == DYNAMIC:
                self.hints.append(f"extras computed in {m.source}; unknown")
                return {}, False
            return dict(m.extras), True
        return {}, not any(m.extras == DYNAMIC for m in metadata)

    def _requirement_files(self, sources: _Sources) -> tuple[list[str], list[str]]:
        """(runtime files, test files): conventional names plus files tox/nox/CI install."""
        found = sources.requirement_files
        runtime, test = list(found.runtime), list(found.test)
        if found.ignored:
            self.hints.append(f"ignored requirements files: {', '.join(found.ignored)}")
        if any(is_strict_test_name(rel) for rel in test):
            loose = [rel for rel in test if not is_strict_test_name(rel)]
            if loose:
                test = [rel for rel in test if rel not in loose]
                self.hints.append(
                    f"test requirements files preferred over dev files: skipped {', '.join(loose)}"
                )
        for rel in (r for runner in sources.runners for r in runner.requirement_files):
            if rel not in runtime and rel not in test and self.files.is_file(rel):
                test.append(rel)  # a test environment installs it, whatever its name says
        for rel in sources.ci.requirement_files:
            kind = classify_requirements_file(rel)
            target = runtime if kind == "runtime" else test
            if kind != "ignored" and rel not in runtime and rel not in test:
                target.append(rel)
        return runtime, test

    def _read_requirement_files(
        self, runtime_files: list[str], test_files: list[str]
    ) -> dict[str, RequirementsContent]:
        """Contents per file; test files skip includes of runtime files (installed on their own)."""
        contents = {rel: read_requirements_file(self.files, rel, self.hints) for rel in runtime_files}
        for rel in test_files:
            contents[rel] = read_requirements_file(self.files, rel, self.hints, skip=runtime_files)
        return contents

    def _test_requirement_lists(
        self, sources: _Sources, groups: dict[str, list[str]], test_contents: list[RequirementsContent]
    ) -> list[list[str]]:
        """Test requirement candidates in priority order: groups, tests_require, files, tox, nox, CI."""
        chosen = {group: deps for group, deps in groups.items() if is_test_group(group, deps)}
        strict = {group: deps for group, deps in chosen.items() if is_strict_test_name(group)}
        lists: list[list[str]] = list((strict or chosen).values())
        lists += [m.test_requirements for m in sources.metadata]
        lists += [content.requirements for content in test_contents]
        lists += [runner.deps for runner in sources.runners]
        lists.append(sources.ci.test_requirements)
        return lists

    def _test_extras(
        self, extras: dict[str, list[str]], known: bool, sources: _Sources, referenced: list[str]
    ) -> list[str]:
        """Extras that look like test deps plus extras tox/nox/hatch/CI/files install with the project."""
        chosen = [extra for extra, deps in extras.items() if is_test_group(extra, deps)]
        declared = {canonicalize_name(extra): extra for extra in extras}
        referenced = [e for m in sources.metadata for e in m.test_extras] + referenced
        referenced += [e for runner in sources.runners for e in runner.extras] + sources.ci.extras
        for extra in referenced:
            if not known:
                chosen.append(extra)  # extras unknown statically: trust the reference
            elif canonicalize_name(extra) in declared:
                chosen.append(declared[canonicalize_name(extra)])
        return list(dict.fromkeys(chosen))


def _self_extras(lists: list[list[str]], name: str) -> list[str]:
    """Extras of the project named in its own test requirements (`requests[socks]`)."""
    own = canonicalize_name(name)
    found: list[str] = []
    for text in (item for items in lists for item in items):
        req = parse_requirement(text)
        if req is not None and canonicalize_name(req.name) == own:
            found += sorted(req.extras)
    return found


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _merged_groups(metadata: list[Metadata]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for m in metadata:
        for group, deps in m.groups.items():
            groups[group] = merge_requirements(groups.get(group, []), deps)
    return groups


def _pytest_args(commands: Sequence[TestCommand]) -> list[str]:
    """Arguments of the first pytest run in tox/nox (listed first), else in CI."""
    return next((list(c.args) for c in commands if c.runner == "pytest" and c.args), [])
