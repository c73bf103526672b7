"""pyproject.toml: PEP 621, build backends, hatch, flit, pdm and PEP 735 groups."""

from __future__ import annotations

import pytest


def test_pep621_setuptools(profile_of):
    profile = profile_of(
        {
            "src/proj/__init__.py": "",
            "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61", "wheel"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "proj"
            requires-python = ">=3.9"
            dependencies = ["httpx>=0.23", "anyio"]
            classifiers = ["Programming Language :: Python :: 3.12", "Programming Language :: Python :: 3 :: Only"]

            [project.optional-dependencies]
            test = ["pytest>=7", "respx"]
            extra = ["rich"]
            qa = ["pytest-cov"]

            [tool.pytest.ini_options]
            testpaths = ["tests"]
            addopts = "-ra --strict-markers"
            """,
        }
    )
    assert profile.name == "proj"
    assert profile.build_backend == "setuptools"
    assert profile.build_requires == ["setuptools>=61", "wheel"]
    assert profile.installable is True
    assert profile.requires_python == ">=3.9"
    assert profile.python_versions == ["3.12"]
    assert profile.dependencies == ["httpx>=0.23", "anyio"]
    assert profile.extras == {"test": ["pytest>=7", "respx"], "extra": ["rich"], "qa": ["pytest-cov"]}
    assert profile.test_extras == ["test"]
    assert profile.layout == "src"
    assert profile.hints[-1] == "dependencies from pyproject [project]"


def test_dynamic_dependencies_read_from_setuptools_file(profile_of):
    profile = profile_of(
        {
            "proj/__init__.py": "",
            "requirements.txt": "numpy\n",
            "requirements-test.txt": "pytest\n",
            "pyproject.toml": """
            [build-system]
            requires = ["setuptools"]
            [project]
            name = "proj"
            dynamic = ["dependencies", "optional-dependencies"]
            [tool.setuptools.dynamic]
            dependencies = {file = ["requirements.txt"]}
            optional-dependencies.test = {file = ["requirements-test.txt"]}
            """,
        }
    )
    assert profile.dependencies == ["numpy"]
    assert profile.extras == {"test": ["pytest"]}
    assert profile.build_backend == "setuptools"  # [build-system] without build-backend


def test_dynamic_dependencies_defer_to_setup_py(profile_of):
    profile = profile_of(
        {
            "proj/__init__.py": "",
            "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n[project]\nname = "proj"\ndynamic = ["dependencies"]\n',
            "setup.py": "from setuptools import setup\nsetup(install_requires=['click'])\n",
        }
    )
    assert profile.dependencies == ["click"]


def test_dynamic_dependencies_nowhere_static_are_unknown(profile_of):
    profile = profile_of(
        {
            "proj/__init__.py": "",
            "pyproject.toml": '[project]\nname = "proj"\ndynamic = ["dependencies"]\n',
        }
    )
    assert profile.dependencies is None
    assert profile.build_backend == "setuptools"


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("hatchling.build", "hatch"),
        ("poetry.core.masonry.api", "poetry"),
        ("flit_core.buildapi", "flit"),
        ("pdm.backend", "pdm"),
        ("maturin", "maturin"),
        ("setuptools.build_meta:__legacy__", "setuptools"),
        ("mesonpy", "other"),
    ],
)
def test_build_backend_kinds(profile_of, backend, expected):
    profile = profile_of(
        {"m.py": "", "pyproject.toml": f'[build-system]\nrequires = []\nbuild-backend = "{backend}"\n'}
    )
    assert profile.build_backend == expected


def test_hatch_test_environments(profile_of):
    profile = profile_of(
        {
            "src/hpkg/__init__.py": "",
            "pyproject.toml": """
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"
            [project]
            name = "hpkg"
            [project.optional-dependencies]
            cli = ["click"]
            [tool.hatch.envs.default]
            dependencies = ["pytest", "coverage[toml]", "hpkg-helper @ {root:uri}/helper"]
            features = ["cli"]
            [tool.hatch.envs.docs]
            dependencies = ["mkdocs"]
            [tool.hatch.envs.test]
            extra-dependencies = ["pytest-xdist"]
            """,
        }
    )
    assert profile.build_backend == "hatch"
    assert profile.test_requirements == ["pytest", "coverage[toml]", "pytest-xdist"]
    assert profile.test_extras == ["cli"]
    assert profile.layout == "src"


def test_flit_pep621(profile_of):
    profile = profile_of(
        {
            "fmod.py": "",
            "pyproject.toml": """
            [build-system]
            requires = ["flit_core >=3.2,<4"]
            build-backend = "flit_core.buildapi"
            [project]
            name = "fmod"
            dependencies = ["docutils"]
            [project.optional-dependencies]
            test = ["pytest"]
            """,
        }
    )
    assert (profile.build_backend, profile.dependencies, profile.test_extras) == (
        "flit",
        ["docutils"],
        ["test"],
    )
    assert (profile.layout, profile.packages) == ("flat", ["fmod"])


def test_flit_old_metadata(profile_of):
    profile = profile_of(
        {
            "oldflit/__init__.py": "",
            "pyproject.toml": """
            [build-system]
            requires = ["flit"]
            build-backend = "flit.buildapi"
            [tool.flit.metadata]
            module = "oldflit"
            dist-name = "old-flit"
            requires = ["requests"]
            requires-python = ">=3.6"
            classifiers = ["Programming Language :: Python :: 3.7"]
            [tool.flit.metadata.requires-extra]
            test = ["pytest", "responses"]
            doc = ["sphinx"]
            """,
        }
    )
    assert profile.name == "old-flit"
    assert profile.build_backend == "flit"
    assert profile.dependencies == ["requests"]
    assert profile.extras == {"test": ["pytest", "responses"], "doc": ["sphinx"]}
    assert profile.test_extras == ["test"]
    assert profile.requires_python == ">=3.6"
    assert profile.python_versions == ["3.7"]
    assert profile.packages == ["oldflit"]


def test_pdm_dev_dependencies(profile_of):
    profile = profile_of(
        {
            "pdmpkg/__init__.py": "",
            "pyproject.toml": """
            [build-system]
            requires = ["pdm-backend"]
            build-backend = "pdm.backend"
            [project]
            name = "pdmpkg"
            dependencies = []
            [tool.pdm.dev-dependencies]
            test = ["pytest>=7", "-e file:///${PROJECT_ROOT}/plugins/x"]
            lint = ["ruff"]
            """,
        }
    )
    assert profile.build_backend == "pdm"
    assert profile.dependency_groups == {"test": ["pytest>=7"], "lint": ["ruff"]}
    assert profile.test_requirements == ["pytest>=7"]
    assert any(h.startswith("dropped unparsable requirement '-e file://") for h in profile.hints)


def test_pep735_groups_with_include(profile_of):
    profile = profile_of(
        {
            "g/__init__.py": "",
            "pyproject.toml": """
            [project]
            name = "g"
            [dependency-groups]
            test = ["pytest", {include-group = "coverage"}]
            coverage = ["coverage[toml]>=7"]
            typing = ["mypy"]
            loop = [{include-group = "loop"}]
            """,
        }
    )
    assert profile.dependency_groups == {
        "test": ["pytest", "coverage[toml]>=7"],
        "coverage": ["coverage[toml]>=7"],
        "typing": ["mypy"],
        "loop": [],
    }
    assert profile.test_requirements == ["pytest", "coverage[toml]>=7"]
    assert "[dependency-groups] include of 'loop' is unknown or cyclic" in profile.hints


def test_pyproject_tool_config_only_is_not_installable(profile_of):
    profile = profile_of({"script.py": "", "pyproject.toml": "[tool.black]\nline-length = 100\n"})
    assert profile.installable is False
    assert profile.build_backend == "none"
    assert profile.dependencies == []
