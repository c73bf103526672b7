"""GitHub Actions workflows read with regexes."""

from __future__ import annotations

from forager.profile.ci_hints import apt_packages, workflow_python_versions

WORKFLOW = """
name: tests
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python-version: ["3.9", "3.10", '3.11', "3.13t", "3.14-dev", "pypy-3.10"]
        include:
          - python-version: "3.12"
          - {python: '3.8', os: windows-latest}
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
      - run: sudo apt-get update && sudo apt-get install -y --no-install-recommends libxml2-dev \\
          libxslt1-dev gettext=0.21
      - name: Install
        run: |
          python -m pip install --upgrade pip setuptools wheel
          pip install -r requirements/ci.txt -e ".[test,yaml]" pytest-randomly flake8 "hypothesis>=6"
          pip install -r docs/requirements-docs.txt
      - run: python -m pytest -p no:cacheprovider --cov=ci_pkg tests/ ${{ matrix.args }}
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
"""


def test_workflow_python_versions_block_list_and_flow_forms():
    block = """
    strategy:
      matrix:
        python:
          - "3.7"
          - 3.8  # comment
        os: [ubuntu-latest]
    """
    assert workflow_python_versions(block) == ["3.7", "3.8"]
    assert sorted(workflow_python_versions(WORKFLOW)) == ["3.10", "3.11", "3.12", "3.12", "3.8", "3.9"]


def test_apt_packages():
    assert apt_packages("install -y libpq-dev python3-dev=3.11 && echo") == ["libpq-dev", "python3-dev"]
    assert apt_packages("update") == []


def test_workflow_hints_in_profile(profile_of):
    profile = profile_of(
        {
            "ci_pkg/__init__.py": "",
            "setup.py": """
            from setuptools import setup
            setup(name="ci-pkg", extras_require={"test": ["pytest"], "yaml": ["pyyaml"], "toml": ["tomli"]})
            """,
            "requirements/ci.txt": "tox\npytest-cov\n",
            "docs/requirements-docs.txt": "sphinx\n",
            ".github/workflows/tests.yml": WORKFLOW,
            ".github/workflows/notes.txt": "python-version: 3.5\n",
        }
    )
    assert profile.python_versions == ["3.8", "3.9", "3.10", "3.11", "3.12"]
    assert profile.system_packages == ["libxml2-dev", "libxslt1-dev", "gettext"]
    assert profile.test_requirements_files == ["requirements/ci.txt"]
    assert profile.test_requirements == ["tox", "pytest-cov", "pytest-randomly", "hypothesis>=6"]
    assert profile.test_extras == ["test", "yaml"]
    assert profile.pytest_args == ["-p", "no:cacheprovider", "--cov=ci_pkg", "tests/"]
    assert profile.pytest_plugins == ["pytest-cov"]
    assert "CI hints from .github/workflows/tests.yml" in profile.hints
