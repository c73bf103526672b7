"""Poetry tables and constraint conversion to PEP 440 / PEP 508."""

from __future__ import annotations

import pytest

from forager.profile.poetry import poetry_constraint, poetry_requirements, python_marker


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^1.2", ">=1.2,<2.0"),
        ("^1", ">=1,<2"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0.0", ">=0.0,<0.1"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1", ">=1,<2"),
        ("~=1.4", "~=1.4"),
        ("*", ""),
        ("", ""),
        ("1.2.3", "==1.2.3"),
        ("1.2.*", "==1.2.*"),
        ("=1.0", "==1.0"),
        (">= 1.2, < 1.5", ">=1.2,<1.5"),
        (">=1.2 <2", ">=1.2,<2"),
        ("^1.0 || ^2.0", None),
        ("^not.a.version", None),
    ],
)
def test_poetry_constraint(constraint, expected):
    assert poetry_constraint(constraint) == expected


def test_python_marker():
    assert python_marker("^3.8") == 'python_version >= "3.8" and python_version < "4.0"'
    assert python_marker("*") is None


def test_poetry_requirement_tables():
    hints: list[str] = []
    assert poetry_requirements("a", {"version": "^1.0", "python": "<3.8", "extras": ["x"]}, hints) == (
        ['a[x]>=1.0,<2.0; python_version < "3.8"'],
        False,
    )
    assert poetry_requirements("b", {"version": "*", "optional": True}, hints) == (["b"], True)
    assert poetry_requirements("c", {"git": "https://github.com/o/c.git", "tag": "v1"}, hints) == (
        ["c @ git+https://github.com/o/c.git@v1"],
        False,
    )
    assert poetry_requirements(
        "d", [{"version": "<2", "python": "<3.9"}, {"version": ">=2", "python": ">=3.9"}], hints
    ) == (['d<2; python_version < "3.9"', 'd>=2; python_version >= "3.9"'], False)
    assert poetry_requirements("e", {"path": "../e"}, hints) == ([], False)
    assert poetry_requirements(
        "f", {"version": "^1", "platform": "linux", "markers": "extra == 'x'"}, hints
    ) == (
        ["f>=1,<2; (sys_platform == \"linux\") and (extra == 'x')"],
        False,
    )
    assert hints == ["skipped poetry path dependency e"]


def test_old_style_poetry_project(profile_of):
    profile = profile_of(
        {
            "poetpkg/__init__.py": "",
            "pyproject.toml": """
            [tool.poetry]
            name = "poetpkg"
            version = "0.1.0"
            classifiers = ["Programming Language :: Python :: 3.10"]

            [tool.poetry.dependencies]
            python = "^3.8"
            requests = "^2.28"
            pendulum = {version = "~2.1", optional = true}

            [tool.poetry.extras]
            dates = ["pendulum"]

            [tool.poetry.dev-dependencies]
            pytest = "^7.0"
            pytest-mock = "*"

            [build-system]
            requires = ["poetry-core>=1.0.0"]
            build-backend = "poetry.core.masonry.api"
            """,
        }
    )
    assert profile.name == "poetpkg"
    assert profile.build_backend == "poetry"
    assert profile.requires_python == ">=3.8,<4.0"
    assert profile.dependencies == ["requests>=2.28,<3.0"]
    assert profile.extras == {"dates": ["pendulum>=2.1,<2.2"]}
    assert profile.dependency_groups == {"dev": ["pytest>=7.0,<8.0", "pytest-mock"]}
    assert profile.test_requirements == ["pytest>=7.0,<8.0", "pytest-mock"]
    assert profile.python_versions == ["3.10"]
    assert "dependencies from pyproject [tool.poetry]" in profile.hints


def test_group_style_poetry_project_with_src_packages(profile_of):
    profile = profile_of(
        {
            "src/gpkg/__init__.py": "",
            "pyproject.toml": """
            [tool.poetry]
            name = "gpkg"
            packages = [{include = "gpkg", from = "src"}]

            [tool.poetry.dependencies]
            python = ">=3.9,<3.13"
            pydantic = {version = "^2.0", extras = ["email"]}

            [tool.poetry.group.test.dependencies]
            pytest = ">=7"
            hypothesis = "^6"

            [tool.poetry.group.docs.dependencies]
            mkdocs = "*"

            [build-system]
            requires = ["poetry-core"]
            build-backend = "poetry.core.masonry.api"
            """,
        }
    )
    assert profile.requires_python == ">=3.9,<3.13"
    assert profile.dependencies == ["pydantic[email]>=2.0,<3.0"]
    assert profile.dependency_groups == {"test": ["pytest>=7", "hypothesis>=6,<7"], "docs": ["mkdocs"]}
    assert profile.test_requirements == ["pytest>=7", "hypothesis>=6,<7"]
    assert (profile.layout, profile.packages) == ("src", ["gpkg"])


def test_poetry2_project_table_with_poetry_groups(profile_of):
    profile = profile_of(
        {
            "p2/__init__.py": "",
            "pyproject.toml": """
            [project]
            name = "p2"
            dependencies = ["rich>=13"]
            [tool.poetry.group.dev.dependencies]
            pytest = "^8.0"
            [build-system]
            requires = ["poetry-core>=2.0"]
            build-backend = "poetry.core.masonry.api"
            """,
        }
    )
    assert profile.dependencies == ["rich>=13"]
    assert profile.dependency_groups == {"dev": ["pytest>=8.0,<9.0"]}
    assert profile.test_requirements == ["pytest>=8.0,<9.0"]
