"""Real image builds for small synthetic repositories of every common layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from forager.config import Settings
from forager.envs.harvest import build_from_source
from forager.store.environments import EnvironmentStore
from tests.repos import CALC, PYTEST_TESTS, calc_package, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]

UNITTEST_TESTS = """
import unittest

from calcu import add, mul


class CalcTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_mul(self):
        self.assertEqual(mul(2, 3), 6)

    def test_zero(self):
        self.assertEqual(mul(0, 3), 0)
"""

LAYOUTS: dict[str, dict[str, str]] = {
    "setup_py": {
        "setup.py": """
            from setuptools import setup
            setup(name="calc-setuppy", version="0.1", packages=["calc_sp"], install_requires=["six"])
        """,
        **calc_package("calc_sp"),
        "tests/test_six.py": "import six\n\ndef test_six():\n    assert six.PY3\n",
    },
    "setup_cfg": {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n',
        "setup.cfg": """
            [metadata]
            name = calc-setupcfg
            version = 0.1

            [options]
            packages = calc_sc
            install_requires =
                six
        """,
        **calc_package("calc_sc"),
    },
    "pyproject_setuptools": {
        "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-pep621"
            version = "0.1"
            requires-python = ">=3.9"
            dependencies = ["six"]

            [tool.setuptools]
            packages = ["calc_pp"]
        """,
        **calc_package("calc_pp"),
    },
    "poetry": {
        "pyproject.toml": """
            [build-system]
            requires = ["poetry-core>=1.0"]
            build-backend = "poetry.core.masonry.api"

            [tool.poetry]
            name = "calc-poetry"
            version = "0.1.0"
            description = "x"
            authors = ["A <a@b.c>"]
            packages = [{include = "calc_po"}]

            [tool.poetry.dependencies]
            python = "^3.9"
            six = "^1.16"

            [tool.poetry.group.dev.dependencies]
            pytest = ">=7"
        """,
        **calc_package("calc_po"),
    },
    "hatch": {
        "pyproject.toml": """
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "calc-hatch"
            version = "0.1"

            [tool.hatch.build.targets.wheel]
            packages = ["calc_ha"]

            [tool.hatch.envs.test]
            dependencies = ["pytest", "toposort"]
        """,
        **calc_package("calc_ha"),
        "tests/test_topo.py": "import toposort\n\ndef test_topo():\n    assert toposort.toposort_flatten({1: {2}}) == [2, 1]\n",
    },
    "flit": {
        "pyproject.toml": """
            [build-system]
            requires = ["flit_core>=3.4"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "calc_fl"
            dynamic = ["version", "description"]

            [project.optional-dependencies]
            test = ["pytest"]
        """,
        "calc_fl/__init__.py": '"""A calculator."""\n__version__ = "0.1"\nfrom calc_fl.core import add, mul\n',
        "calc_fl/core.py": CALC,
        "tests/test_core.py": PYTEST_TESTS.format(pkg="calc_fl"),
    },
    "src_layout": {
        "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-src"
            version = "0.1"
        """,
        "src/calc_src/__init__.py": "from calc_src.core import add, mul\n",
        "src/calc_src/core.py": CALC,
        "tests/test_core.py": PYTEST_TESTS.format(pkg="calc_src"),
    },
    "unittest_only": {
        "setup.py": 'from setuptools import setup\nsetup(name="calcu", version="0.1", py_modules=["calcu"])\n',
        "calcu.py": CALC,
        "tests/__init__.py": "",
        "tests/test_calcu.py": UNITTEST_TESTS,
    },
    "test_extras": {
        "pyproject.toml": """
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "calc-extras"
            version = "0.1"

            [project.optional-dependencies]
            test = ["pytest", "iniconfig"]

            [tool.setuptools]
            packages = ["calc_ex"]
        """,
        **calc_package("calc_ex"),
        "tests/test_ini.py": "import iniconfig\n\ndef test_ini():\n    assert iniconfig.IniConfig\n",
    },
    "requirements_dev": {
        "requirements-dev.txt": "pytest\n-r requirements-extra.txt\n",
        "requirements-extra.txt": "toposort\n",
        **calc_package("calc_rd"),
        "tests/test_topo.py": "import toposort\n\ndef test_topo():\n    assert toposort.toposort_flatten({1: {2}}) == [2, 1]\n",
    },
    "tox_ini": {
        "setup.py": 'from setuptools import setup\nsetup(name="calc-tox", version="0.1", packages=["calc_tx"])\n',
        "tox.ini": """
            [tox]
            envlist = py3

            [testenv]
            deps =
                pytest
                text-unidecode
            commands = pytest tests
        """,
        **calc_package("calc_tx"),
        "tests/test_unidecode.py": (
            "from text_unidecode import unidecode\n\ndef test_it():\n    assert unidecode('é') == 'e'\n"
        ),
    },
}

EXPECTED_PASSED = {"setup_py": 4, "hatch": 4, "test_extras": 4, "requirements_dev": 4, "tox_ini": 4}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_builds_and_verifies(layout: str, tmp_path: Path, settings: Settings) -> None:
    repo = write(tmp_path / layout, LAYOUTS[layout])
    summary = build_from_source(str(repo), settings)
    detail = f"{summary.reason}; attempts={[(a.strategy, a.status, a.reason) for a in summary.attempt_log]}"
    assert summary.status == "verified", detail
    assert summary.tests_passed == EXPECTED_PASSED.get(layout, 3), detail
    assert summary.tests_failed == 0 and summary.tests_flaky == 0
    assert summary.python == "3.11"
    assert summary.image_tag and summary.image_size_mb and summary.added_size_mb is not None
    assert summary.added_size_mb < 120, f"image grew {summary.added_size_mb} MB over its base"
    store = EnvironmentStore(settings.db_url)
    results = store.test_results(summary.id)
    assert {r.outcome for r in results} == {"passed"}
    if layout == "unittest_only":
        assert summary.test_command[1].endswith("forager_unittest.py")
        assert "tests.test_calcu.CalcTest.test_add" in {r.test_id for r in results}
    else:
        assert any(r.test_id.startswith("tests/test_core.py::test_add") for r in results)
