"""setup.py read through its AST only: the literal keyword arguments of the setup() call."""

from __future__ import annotations

import ast

from forager.profile.files import RepoFiles
from forager.profile.findings import DYNAMIC, Extras, Metadata
from forager.profile.literals import NotLiteral, literal_value, module_names, string_list
from forager.profile.pep508 import valid_requirements
from forager.profile.versions import versions_from_classifiers

_SOURCE = "setup.py"


def read_setup_py(files: RepoFiles) -> Metadata | None:
    text = files.read_text("setup.py")
    if text is None:
        return None
    metadata = Metadata(source=_SOURCE)
    try:
        tree = ast.parse(text, filename="setup.py")
    except (SyntaxError, ValueError):
        metadata.hints.append("setup.py does not parse as Python 3; its metadata is unknown")
        _mark_dynamic(metadata)
        return metadata
    call = find_setup_call(tree)
    if call is None:
        metadata.hints.append("no setup() call found in setup.py; its metadata is unknown")
        _mark_dynamic(metadata)
        return metadata
    names = module_names(tree)
    keywords, opaque = _keywords(call, names)
    if opaque:
        metadata.hints.append("setup() takes **kwargs that are not literal; unset fields are unknown")
        _mark_dynamic(metadata)
    _fill(metadata, keywords, names)
    return metadata


def _mark_dynamic(metadata: Metadata) -> None:
    metadata.dependencies = DYNAMIC
    metadata.extras = DYNAMIC


def find_setup_call(tree: ast.Module) -> ast.Call | None:
    """The `setup(...)`/`setuptools.setup(...)` call with the most keywords (helpers wrap it)."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and _is_setup(node.func)]
    return max(calls, key=lambda call: len(call.keywords), default=None)


def _is_setup(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id == "setup"
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "setup"
        and isinstance(func.value, (ast.Name, ast.Attribute))
    )


def _keywords(call: ast.Call, names: dict[str, ast.expr]) -> tuple[dict[str, ast.expr], bool]:
    """Keyword nodes of the call with literal `**dict` expanded; True if some `**` is opaque."""
    keywords: dict[str, ast.expr] = {}
    opaque = False
    for keyword in call.keywords:
        if keyword.arg is not None:
            keywords[keyword.arg] = keyword.value
            continue
        expanded = _expand_double_star(keyword.value, names)
        if expanded is None:
            opaque = True
        else:
            keywords.update(expanded)
    return keywords, opaque


def _expand_double_star(node: ast.expr, names: dict[str, ast.expr]) -> dict[str, ast.expr] | None:
    if isinstance(node, ast.Name) and node.id in names:
        node = names[node.id]
    if isinstance(node, ast.Dict):
        pairs = zip(node.keys, node.values, strict=True)
        expanded = {k.value: v for k, v in pairs if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        return expanded if len(expanded) == len(node.keys) else None
    if _is_dict_call(node):
        assert isinstance(node, ast.Call)
        return {str(kw.arg): kw.value for kw in node.keywords}
    return None


def _is_dict_call(node: ast.expr) -> bool:
    """`dict(a=..., b=...)` with keyword arguments only."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and not node.args
        and all(kw.arg for kw in node.keywords)
    )


def _fill(metadata: Metadata, keywords: dict[str, ast.expr], names: dict[str, ast.expr]) -> None:
    hints = metadata.hints
    values = {key: _value(node, names) for key, node in keywords.items()}
    name, requires_python = values.get("name"), values.get("python_requires")
    metadata.name = name if isinstance(name, str) else None
    metadata.requires_python = requires_python if isinstance(requires_python, str) else None
    if "install_requires" in keywords:
        deps = string_list(values["install_requires"])
        if deps is None:
            hints.append("setup.py install_requires is computed; dependencies unknown")
        metadata.dependencies = DYNAMIC if deps is None else valid_requirements(deps, "setup.py", hints)
    if "extras_require" in keywords:
        metadata.extras = _extras(values["extras_require"], hints)
    if "tests_require" in keywords:
        metadata.test_requirements = valid_requirements(
            string_list(values["tests_require"]) or [], "setup.py tests_require", hints
        )
    metadata.python_versions = versions_from_classifiers(string_list(values.get("classifiers")) or [])
    metadata.source_dir = _source_dir(values.get("package_dir"), keywords.get("packages"))


def _value(node: ast.expr, names: dict[str, ast.expr]) -> object:
    try:
        return literal_value(node, names)
    except NotLiteral:
        return _Computed()


class _Computed:
    """Marker for a keyword value that is not a literal."""


def _extras(value: object, hints: list[str]) -> Extras:
    if not isinstance(value, dict):
        hints.append("setup.py extras_require is computed; extras unknown")
        return DYNAMIC
    extras: dict[str, list[str]] = {}
    for extra, deps in value.items():
        requirements = string_list(deps)
        if not isinstance(extra, str) or requirements is None:
            hints.append(f"setup.py extra {extra!r} is not a literal list; ignored")
            continue
        extras[extra] = valid_requirements(requirements, f"setup.py extras_require {extra}", hints)
    return extras


def _source_dir(package_dir: object, packages: ast.expr | None) -> str | None:
    """`package_dir={"": "src"}` or `packages=find_packages("src")`/`(where="src")`."""
    if isinstance(package_dir, dict) and isinstance(package_dir.get(""), str):
        return str(package_dir[""]).strip("/") or None
    if isinstance(packages, ast.Call):
        args = list(packages.args[:1]) + [kw.value for kw in packages.keywords if kw.arg == "where"]
        for arg in args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.strip("./"):
                return arg.value.strip("/")
    return None
