"""The service image's Dockerfile and .dockerignore, read as text (nothing is built here):
the base is a build argument, the project is installed from the files it copies, every copied
path exists and survives .dockerignore, and the image runs the API unprivileged by default."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

import pytest

from tests.deploy.manifests import DEPLOY, REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
DEFAULT_BASE = "python:3.11-slim-bookworm"
API_COMMAND = ["uvicorn", "api.app:app", "--host", "0.0.0.0", "--port", "8000"]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continuation"
    return result


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage name, in order (dicts keep insertion order)."""
    found: dict[str, list[tuple[str, str]]] = {}
    current = None
    for word, rest in instructions():
        if word == "FROM":
            m = re.fullmatch(r"(\S+) AS (\S+)", rest, flags=re.I)
            assert m, f"every stage is named: FROM {rest}"
            current = m.group(2)
            found[current] = [(word, rest)]
        elif current is not None:
            found[current].append((word, rest))
    return found


def ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(.dockerignore) -> [(excludes, regex)], Docker's matching: `*` stays within a folder."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((not negated, re.compile(regex)))
    return patterns


def ignored(path: str) -> bool:
    """Whether `path` (relative to the context) is left out: the last pattern that matches it
    or one of its parent folders decides."""
    parts = path.strip("/").split("/")
    for depth in range(1, len(parts) + 1):
        candidate = "/".join(parts[:depth])
        verdict = None
        for excludes, regex in ignore_patterns():
            if regex.fullmatch(candidate):
                verdict = excludes
        if verdict:
            return True
    return False


def test_base_is_a_build_argument() -> None:
    steps = instructions()
    first_from = next(i for i, (word, _) in enumerate(steps) if word == "FROM")
    args = [rest for word, rest in steps[:first_from] if word == "ARG"]
    assert f"BASE_IMAGE={DEFAULT_BASE}" in args
    for word, rest in steps:
        if word == "FROM":
            assert rest.split()[0] == "${BASE_IMAGE}", rest


def test_project_installed_into_a_venv_from_its_own_files() -> None:
    build = stages()["build"]
    runs = " && ".join(rest for word, rest in build if word == "RUN")
    assert "python3 -m venv /opt/venv" in runs
    # Dependencies from pyproject.toml first (cached), then the project itself, not editable.
    assert "tomllib" in runs and "pip install -r /tmp/requirements.txt" in runs
    assert "pip install --no-deps ." in runs
    assert "pip install -e" not in runs and "--editable" not in runs
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    copied = {shlex.split(rest)[-2].rstrip("/") for word, rest in build if word == "COPY"}
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, f"packages the wheel includes but the image does not copy: {packages - copied}"
    assert project["project"]["readme"] in copied
    assert "pyproject.toml" in copied


def test_copied_files_exist_and_reach_the_context() -> None:
    for stage, steps in stages().items():
        for word, rest in steps:
            if word != "COPY" or rest.startswith("--from"):
                continue
            for source in shlex.split(rest)[:-1]:
                path = REPO / source
                assert path.exists(), f"{stage}: COPY {source}: no such path"
                assert not ignored(source), f"{stage}: COPY {source} is excluded by .dockerignore"


def test_runtime_stage() -> None:
    names = list(stages())
    assert names[-1] == "runtime", "the last stage is the image"
    runtime = stages()["runtime"]
    words = dict(runtime)
    assert "--from=build /opt/venv /opt/venv" in [rest for word, rest in runtime if word == "COPY"]
    user = words["USER"].split(":")[0]
    assert user.isdigit() and int(user) >= 1000, "a numeric non-root user (runAsNonRoot can check it)"
    # Exec form (JSON): signals reach tini, which forwards them and reaps children.
    assert json.loads(words["ENTRYPOINT"]) == ["/usr/bin/tini", "--"]
    assert json.loads(words["CMD"]) == API_COMMAND
    assert words["EXPOSE"] == "8000"
    env = " ".join(rest for word, rest in runtime if word == "ENV")
    assert "FORAGER_DATA_DIR=/data" in env and "PATH=/opt/venv/bin:$PATH" in env
    installs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "git" in installs.split() and "tini" in installs.split()
    # The engine is reached through DOCKER_HOST by the Python SDK: no Docker CLI or engine.
    assert not re.search(r"\b(docker\.io|docker-ce|docker-ce-cli)\b", DOCKERFILE.read_text())


@pytest.mark.parametrize(
    "path",
    [".env", ".env.local", ".git/config", ".venv/bin/python", "tests/conftest.py", "x/__pycache__/a.pyc"],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "forager/config.py",
        "deploy/docker/requirements.txt",
        "images/__init__.py",
    ],
)
def test_dockerignore_keeps_in(path: str) -> None:
    assert not ignored(path)


def test_image_only_requirements_are_pinned() -> None:
    lines = (DEPLOY / "docker" / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert requirements
    for line in requirements:
        assert re.fullmatch(r"[A-Za-z0-9._-]+(\[[A-Za-z0-9,._-]+\])?==[0-9][A-Za-z0-9.+-]*", line), line
