"""Small synthetic repositories for tests, written as files (optionally with git history)."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

CALC = """
def add(a, b):
    return a + b


def mul(a, b):
    return a * b
"""

PYTEST_TESTS = """
from {pkg} import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6


def test_add_negative():
    assert add(-1, 1) == 0
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def git_commit(root: Path, message: str = "initial") -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, check=True, env=env)
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, env=env, capture_output=True, text=True
    )
    return out.stdout.strip()


def calc_package(pkg: str) -> dict[str, str]:
    return {
        f"{pkg}/__init__.py": f"from {pkg}.core import add, mul\n",
        f"{pkg}/core.py": CALC,
        "tests/test_core.py": PYTEST_TESTS.format(pkg=pkg),
    }
