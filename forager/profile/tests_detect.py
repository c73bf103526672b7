"""Which test framework a repository uses, where its tests live, and which plugins they need."""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from packaging.utils import canonicalize_name

from forager.profile.files import RepoFiles
from forager.profile.findings import PytestConfig, TestCommand
from forager.profile.pep508 import parse_requirement
from forager.profile.plugin_table import (
    ALTERNATIVE_PLUGINS,
    BUILTIN_PLUGINS,
    FIXTURE_PLUGINS,
    IMPORT_PLUGINS,
    INI_KEY_PLUGINS,
    MARKER_PLUGINS,
    OPTION_PLUGINS,
    OPTION_PREFIX_PLUGINS,
)

TEST_DIR_NAMES = frozenset({"tests", "test", "testing"})
_MAX_SCANNED_FILES = 1000
_MAX_SCANNED_BYTES = 2 * 1024 * 1024
_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][^\n#;]*))", re.MULTILINE
)
_NOT_FIXTURES = frozenset({"self", "cls", "request"})


@dataclass
class SuiteFacts:
    """What the AST of the test files shows, aggregated over all of them."""

    imports: set[str] = field(default_factory=set)
    unittest_classes: int = 0
    pytest_style_tests: int = 0
    requested_fixtures: set[str] = field(default_factory=set)
    defined_fixtures: set[str] = field(default_factory=set)
    markers: set[str] = field(default_factory=set)
    plugin_modules: list[str] = field(default_factory=list)
    has_conftest: bool = False


@dataclass
class SuiteReport:
    framework: Literal["pytest", "unittest"]
    test_paths: list[str]
    plugins: list[str]
    hints: list[str] = field(default_factory=list)


def is_test_file_name(name: str) -> bool:
    """pytest's default `test_*.py`/`*_test.py`, unittest's `test*.py`, and conftest.py."""
    return name.endswith(".py") and (
        name.startswith("test") or name.endswith("_test.py") or name == "conftest.py"
    )


def detect_suite(
    files: RepoFiles,
    config: PytestConfig | None,
    commands: list[TestCommand],
    test_requirements: Iterable[str],
    own_packages: Iterable[str],
    project_name: str,
) -> SuiteReport:
    """Framework, test paths and plugin distributions of the suite (plugins only for pytest)."""
    hints: list[str] = []
    test_paths = find_test_paths(files, config, hints)
    scanned = _test_files(files, test_paths)
    facts = scan_test_files(files, scanned, hints)
    declared: set[str] = {
        canonicalize_name(req.name) for text in test_requirements if (req := parse_requirement(text))
    }
    framework = _framework(config, commands, declared, facts, hints)
    local = _local_modules(files, scanned) | set(own_packages)
    plugins = _plugins(facts, config, commands, local) if framework == "pytest" else set()
    own = canonicalize_name(project_name)
    kept = [
        p for p in plugins if canonicalize_name(p) != own and not ALTERNATIVE_PLUGINS.get(p, set()) & declared
    ]
    return SuiteReport(framework, test_paths, sorted(kept, key=str.lower), hints)


# --- where the tests are -----------------------------------------------------------------------


def find_test_paths(files: RepoFiles, config: PytestConfig | None, hints: list[str]) -> list[str]:
    """Configured testpaths that exist, else test-named folders and loose test files."""
    if config and config.testpaths:
        existing = [p.rstrip("/") for p in config.testpaths if files.is_dir(p) or files.is_file(p)]
        if existing:
            return existing
        hints.append(f"configured testpaths {config.testpaths} do not exist")
    folders: set[str] = set()
    for rel in files.python_files():
        parts = rel.split("/")
        if not is_test_file_name(parts[-1]):
            continue
        test_dir = next((i for i, part in enumerate(parts[:-1]) if part in TEST_DIR_NAMES), None)
        if test_dir is not None:
            folders.add("/".join(parts[: test_dir + 1]))
        elif parts[-1] != "conftest.py":
            folders.add(posixpath.dirname(rel) or rel)
    # A root tests/ folder is the suite; test-named files elsewhere are vendored or helpers.
    if any(path in TEST_DIR_NAMES for path in folders):
        folders = {path for path in folders if "/" not in path}
    return _topmost(folders)


def _topmost(paths: set[str]) -> list[str]:
    ordered = sorted(paths)
    return [p for p in ordered if not any(p.startswith(other + "/") for other in ordered if other != p)]


def _test_files(files: RepoFiles, test_paths: list[str]) -> list[str]:
    selected = [
        rel
        for rel in files.python_files()
        if is_test_file_name(posixpath.basename(rel)) or any(rel.startswith(p + "/") for p in test_paths)
    ]
    # conftest.py files first: they hold the fixtures and plugin declarations of a whole folder.
    return sorted(selected, key=lambda rel: (not rel.endswith("conftest.py"), rel))


# --- what the test files contain ---------------------------------------------------------------


def scan_test_files(files: RepoFiles, paths: list[str], hints: list[str]) -> SuiteFacts:
    """Facts from the test files, within a file-count and byte budget (parsing costs ~0.3 s/MB)."""
    facts = SuiteFacts()
    budget = _MAX_SCANNED_BYTES
    for count, rel in enumerate(paths):
        if budget <= 0 or count >= _MAX_SCANNED_FILES:
            hints.append(f"scanned {count} of {len(paths)} test files")
            break
        text = files.read_text(rel)
        if text is None:
            continue
        budget -= len(text)
        facts.has_conftest = facts.has_conftest or rel.endswith("conftest.py")
        facts.imports |= imported_modules(text)
        try:
            tree = ast.parse(text, filename=rel)
        except (SyntaxError, ValueError):
            continue
        _scan_body(tree.body, facts, collects_tests=True)
    return facts


def imported_modules(text: str) -> set[str]:
    """Top-level modules of absolute imports anywhere in the text (also inside functions)."""
    found: set[str] = set()
    for match in _IMPORT_LINE.finditer(text):
        names = [match.group(1)] if match.group(1) else match.group(2).split(",")
        for name in names:
            words = name.split()
            root = words[0].split(".")[0] if words else ""
            if root.isidentifier():
                found.add(root)
    return found


def _scan_body(body: list[ast.stmt], facts: SuiteFacts, *, collects_tests: bool) -> None:
    """Walk definitions only (not function bodies): that is where tests, fixtures and marks are."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _scan_function(stmt, facts, collects_tests=collects_tests)
        elif isinstance(stmt, ast.ClassDef):
            _scan_class(stmt, facts)
        elif isinstance(stmt, ast.Assign):
            _scan_assignment(stmt, facts)
        elif isinstance(stmt, (ast.If, ast.Try)):
            _scan_body(stmt.body + stmt.orelse, facts, collects_tests=collects_tests)


def _scan_class(node: ast.ClassDef, facts: SuiteFacts) -> None:
    _add_markers(node.decorator_list, facts)
    if any(_dotted_name(base).endswith("TestCase") for base in node.bases):
        facts.unittest_classes += 1
        _scan_body(node.body, facts, collects_tests=False)
    else:
        _scan_body(node.body, facts, collects_tests=node.name.startswith("Test"))


def _scan_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, facts: SuiteFacts, *, collects_tests: bool
) -> None:
    _add_markers(node.decorator_list, facts)
    is_test = node.name.startswith("test")
    if is_test and collects_tests:
        facts.pytest_style_tests += 1
    fixture_name = _fixture_name(node)
    if fixture_name is not None:
        facts.defined_fixtures.add(fixture_name)
    if fixture_name is not None or is_test:
        arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
        facts.requested_fixtures.update(a.arg for a in arguments if a.arg not in _NOT_FIXTURES)


def _scan_assignment(node: ast.Assign, facts: SuiteFacts) -> None:
    names = {target.id for target in node.targets if isinstance(target, ast.Name)}
    if "pytest_plugins" in names:
        facts.plugin_modules += _string_constants(node.value)
    if "pytestmark" in names:
        _add_markers([node.value], facts)


def _add_markers(expressions: list[ast.expr], facts: SuiteFacts) -> None:
    for expression in expressions:
        for node in ast.walk(expression):
            if isinstance(node, ast.Attribute) and _is_mark(node.value):
                facts.markers.add(node.attr)


def _fixture_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """Name a `@pytest.fixture`-decorated function registers (honouring `name=`)."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted_name(target).split(".")[-1] not in {"fixture", "yield_fixture"}:
            continue
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
        return node.name
    return None


def _is_mark(node: ast.expr) -> bool:
    """`pytest.mark` or a bare `mark` imported from pytest."""
    return _dotted_name(node) in {"pytest.mark", "mark"}


def _dotted_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    return ""


def _string_constants(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _local_modules(files: RepoFiles, scanned: list[str]) -> set[str]:
    """Modules a test can import from the checkout itself: siblings of test files and root ones."""
    folders = {""} | {posixpath.dirname(rel) for rel in scanned}
    local: set[str] = set()
    for rel in files.python_files():
        folder, name = posixpath.split(rel)
        if folder in folders:
            local.add(name.removesuffix(".py"))
        parent, package = posixpath.split(folder)
        if name == "__init__.py" and parent in folders:
            local.add(package)
    return local


# --- decisions ---------------------------------------------------------------------------------


def _framework(
    config: PytestConfig | None,
    commands: list[TestCommand],
    names: set[str],
    facts: SuiteFacts,
    hints: list[str],
) -> Literal["pytest", "unittest"]:
    pytest_signals = {
        "pytest configuration": config is not None,
        "pytest in test requirements": any(n == "pytest" or n.startswith("pytest-") for n in names),
        "conftest.py": facts.has_conftest,
        "pytest command": any(c.runner == "pytest" for c in commands),
        "import pytest": "pytest" in facts.imports,
        "pytest-style tests": facts.pytest_style_tests > 0,
    }
    reasons = [reason for reason, present in pytest_signals.items() if present]
    if reasons:
        hints.append(f"pytest: {', '.join(reasons)}")
        return "pytest"
    if facts.unittest_classes or any(c.runner == "unittest" for c in commands):
        hints.append("unittest: TestCase classes and no sign of pytest")
        return "unittest"
    hints.append("no tests recognised; assuming pytest")
    return "pytest"


def _plugins(
    facts: SuiteFacts, config: PytestConfig | None, commands: list[TestCommand], local: set[str]
) -> set[str]:
    found = {IMPORT_PLUGINS[m] for m in facts.imports - local if m in IMPORT_PLUGINS}
    found |= {
        FIXTURE_PLUGINS[f] for f in facts.requested_fixtures - facts.defined_fixtures if f in FIXTURE_PLUGINS
    }
    found |= {MARKER_PLUGINS[m] for m in facts.markers if m in MARKER_PLUGINS}
    modules = list(facts.plugin_modules)
    args = [arg for command in commands if command.runner == "pytest" for arg in command.args]
    if config is not None:
        args = config.addopts + args
        found |= {INI_KEY_PLUGINS[key] for key in config.keys if key in INI_KEY_PLUGINS}
        found |= {r.name for text in config.required_plugins if (r := parse_requirement(text))}
    option_plugins, loaded = option_plugins_in(args)
    found |= option_plugins
    found |= {dist for module in modules + loaded if (dist := _plugin_module_dist(module, local))}
    found.discard("pytest")
    return found


def option_plugins_in(args: list[str]) -> tuple[set[str], list[str]]:
    """(plugins implied by command-line options, modules loaded with `-p`)."""
    plugins: set[str] = set()
    loaded: list[str] = []
    for index, arg in enumerate(args):
        option = arg.split("=", 1)[0]
        if option == "-p" and index + 1 < len(args):
            loaded.append(args[index + 1])
        elif option.startswith("-p") and not option.startswith("--") and len(option) > 2:
            loaded.append(option[2:])
        elif option in OPTION_PLUGINS:
            plugins.add(OPTION_PLUGINS[option])
        elif option.startswith("-n") and (option[2:].isdigit() or option[2:] in {"auto", "logical"}):
            plugins.add("pytest-xdist")  # -nauto / -n4
        else:
            plugins |= {dist for prefix, dist in OPTION_PREFIX_PLUGINS.items() if option.startswith(prefix)}
    return plugins, loaded


def _plugin_module_dist(module: str, local: set[str]) -> str | None:
    """Distribution providing a plugin module named in `pytest_plugins` or `-p`."""
    root = module.split(".")[0]
    if module.startswith("no:") or root in local or root in BUILTIN_PLUGINS:
        return None
    if root in IMPORT_PLUGINS:
        return IMPORT_PLUGINS[root]
    return root.replace("_", "-") if root.startswith("pytest_") else None
