"""tox and nox test environments."""

from __future__ import annotations

import pytest

from forager.profile.tox_nox import is_test_env

SETUP_PY = """
from setuptools import setup
setup(name="tpkg", extras_require={"test": ["pytest"], "speedups": ["ujson"], "unit": [], "lint": ["ruff"]})
"""
PKG = {"tpkg/__init__.py": "", "setup.py": SETUP_PY}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("py", True),
        ("py311", True),
        ("pypy3", True),
        ("tests", True),
        ("unit-py39", True),
        ("lint", False),
        ("docs", False),
        ("py311-lint", False),
        ("django42", False),
        ("coverage", False),
    ],
)
def test_is_test_env(name, expected):
    assert is_test_env(name) is expected


def test_tox_ini_deps_refs_extras_and_commands(profile_of):
    profile = profile_of(
        {
            **PKG,
            "requirements.txt": "six\n",
            "requirements/testing.txt": "-r ../requirements.txt\npytest-cov\n",
            "tox.ini": """
            [tox]
            envlist = py{39,310}-django, py311, lint

            [base]
            deps =
                mock

            [testenv]
            deps =
                -r{toxinidir}/requirements/testing.txt
                {[base]deps}
                pytest>=7  # the runner
                py39: importlib-metadata
                django: Django>=4
                {env:EXTRA_DEP:}
                -e .[speedups]
            extras = test
            commands =
                - pytest {posargs:tests} -n auto \\
                    --timeout=60

            [testenv:lint]
            deps = flake8
            extras = lint
            commands = flake8 tpkg
            """,
        }
    )
    # inline deps first, then the contents of `-r` files
    assert profile.tox_deps == ["mock", "pytest>=7", "importlib-metadata", "pytest-cov"]
    assert profile.test_requirements == ["pytest-cov", "mock", "pytest>=7", "importlib-metadata"]
    assert profile.test_requirements_files == ["requirements/testing.txt"]
    assert profile.requirements_files == ["requirements.txt"]
    assert profile.test_extras == ["test", "speedups"]
    assert profile.pytest_args == ["tests", "-n", "auto", "--timeout=60"]
    assert profile.pytest_plugins == ["pytest-timeout", "pytest-xdist"]
    assert profile.python_versions == ["3.9", "3.10", "3.11"]
    assert "ignored 1 factor-conditional tox deps (testenv)" in profile.hints
    assert "dropped 1 tox deps with unexpanded substitutions (testenv)" in profile.hints


def test_tox_in_setup_cfg_and_unittest_command(profile_of):
    profile = profile_of(
        {
            **PKG,
            "tests/test_x.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        pass\n",
            "setup.cfg": """
            [tox:tox]
            envlist = py312

            [testenv]
            deps = parameterized
            commands = python -m unittest discover -s tests
            """,
        }
    )
    assert profile.tox_deps == ["parameterized"]
    assert profile.test_framework == "unittest"
    assert profile.pytest_args == []
    assert profile.python_versions == ["3.12"]


def test_tox_legacy_ini_in_pyproject(profile_of):
    profile = profile_of(
        {
            "lpkg/__init__.py": "",
            "pyproject.toml": '''
            [project]
            name = "lpkg"
            [tool.tox]
            legacy_tox_ini = """
            [testenv]
            deps = pytest-randomly
            commands = pytest
            """
            ''',
        }
    )
    assert profile.tox_deps == ["pytest-randomly"]
    assert profile.test_requirements == ["pytest-randomly"]
    assert "test environments from pyproject legacy_tox_ini" in profile.hints


def test_noxfile_sessions(profile_of):
    profile = profile_of(
        {
            **PKG,
            "requirements-test.txt": "pytest\n",
            "noxfile.py": """
            import nox

            TEST_DEPS = ["hypothesis", "freezegun"]
            VERSIONS = ["3.10", "3.11", "pypy3.10"]

            @nox.session(python=VERSIONS)
            def tests(session):
                session.install("-r", "requirements-test.txt")
                session.install(*TEST_DEPS, ".[test]")
                session.install(computed_thing())
                session.run("pytest", "--cov=tpkg", *session.posargs)

            @nox.session(name="lint")
            def lint(session):
                session.install("ruff")
                session.run("ruff", "check")

            @nox.session
            def unit(s):
                s.install("-e", ".[unit]")
            """,
        }
    )
    assert profile.test_requirements == ["pytest", "hypothesis", "freezegun"]
    assert profile.tox_deps == []
    assert profile.test_extras == ["test", "unit"]
    assert profile.pytest_args == ["--cov=tpkg"]
    assert profile.pytest_plugins == ["pytest-cov"]
    assert profile.python_versions == ["3.10", "3.11"]
    assert "test environments from noxfile.py" in profile.hints
