"""Test framework, test paths and pytest plugin detection."""

from __future__ import annotations

from forager.profile.tests_detect import imported_modules, option_plugins_in

PKG = {"dpkg/__init__.py": "", "setup.py": "from setuptools import setup\nsetup(name='dpkg')\n"}


def test_unittest_only_repository(profile_of):
    profile = profile_of(
        {
            **PKG,
            "tests/__init__.py": "",
            "tests/test_core.py": """
            import unittest
            from unittest import mock

            class CoreTest(unittest.TestCase):
                def test_one(self):
                    self.assertTrue(True)

            def helper():
                return 1
            """,
        }
    )
    assert profile.test_framework == "unittest"
    assert profile.test_paths == ["tests"]
    assert profile.pytest_plugins == []
    assert "unittest: TestCase classes and no sign of pytest" in profile.hints


def test_plain_test_functions_mean_pytest(profile_of):
    profile = profile_of(
        {
            **PKG,
            "test_loose.py": "import unittest\n\ndef test_plain():\n    assert True\n",
        }
    )
    assert profile.test_framework == "pytest"
    assert profile.test_paths == ["test_loose.py"]
    assert "pytest: pytest-style tests" in profile.hints


def test_plugin_detection_from_code_and_config(profile_of):
    profile = profile_of(
        {
            **PKG,
            "pytest.ini": """
            [pytest]
            testpaths = tests missing_dir
            addopts = --cov=dpkg -n auto -p pytest_randomly --benchmark-disable -p no:warnings
            asyncio_mode = auto
            required_plugins = pytest-env>=1.0
            """,
            "tests/conftest.py": """
            import pytest
            pytest_plugins = ["pytester", "pytest_httpserver", "tests.fixtures"]

            @pytest.fixture(name="snapshot_dir")
            def _snapshot_dir(tmp_path):
                return tmp_path

            @pytest.fixture
            def benchmark():  # a local fixture shadows pytest-benchmark's
                return None
            """,
            "tests/test_things.py": """
            import hypothesis.strategies as st
            from freezegun import freeze_time
            import dpkg
            import helpers

            pytestmark = pytest.mark.timeout(5)

            @pytest.mark.asyncio
            async def test_async(mocker, snapshot_dir, benchmark, requests_mock):
                pass

            class TestGroup:
                @pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.django_db)])
                def test_x(self, x, faker):
                    pass
            """,
            "tests/helpers.py": "",
        }
    )
    assert profile.test_paths == ["tests"]
    assert profile.pytest_plugins == [
        "Faker",
        "freezegun",
        "hypothesis",
        "pytest-asyncio",
        "pytest-benchmark",  # from --benchmark-disable, not from the shadowed fixture
        "pytest-cov",
        "pytest-django",
        "pytest-env",
        "pytest-httpserver",
        "pytest-mock",
        "pytest-randomly",
        "pytest-timeout",
        "pytest-xdist",
        "requests-mock",
    ]
    assert "pytest configuration from pytest.ini" in profile.hints


def test_shadowed_fixture_is_not_a_plugin(profile_of):
    profile = profile_of(
        {
            **PKG,
            "tests/conftest.py": "import pytest\n\n@pytest.fixture\ndef mocker():\n    return None\n",
            "tests/test_a.py": "def test_a(mocker, benchmark):\n    pass\n",
            "requirements-test.txt": "pytest-codspeed\n",
        }
    )
    # `benchmark` is also pytest-codspeed's fixture, which the suite already declares.
    assert profile.pytest_plugins == []


def test_imports_of_the_project_itself_are_not_plugins(profile_of):
    profile = profile_of(
        {
            "hypothesis/__init__.py": "",
            "setup.py": "from setuptools import setup\nsetup(name='hypothesis')\n",
            "tests/test_h.py": "import hypothesis\nimport mock\n\ndef test_h():\n    pass\n",
        }
    )
    assert profile.pytest_plugins == ["mock"]


def test_test_paths_prefer_root_test_folders(profile_of):
    profile = profile_of(
        {
            **PKG,
            "tests/unit/test_a.py": "def test_a():\n    pass\n",
            "dpkg/_vendor/lib/tests/test_v.py": "def test_v():\n    pass\n",
            "test_root.py": "def test_r():\n    pass\n",
        }
    )
    assert profile.test_paths == ["test_root.py", "tests"]


def test_in_package_tests_without_root_folder(profile_of):
    profile = profile_of(
        {
            "src/ipkg/__init__.py": "",
            "src/ipkg/tests/__init__.py": "",
            "src/ipkg/tests/test_i.py": "def test_i():\n    pass\n",
            "src/ipkg/core_test.py": "def test_c():\n    pass\n",
            "setup.py": "from setuptools import setup\nsetup(name='ipkg', package_dir={'': 'src'})\n",
        }
    )
    assert profile.test_paths == ["src/ipkg"]


def test_no_tests_defaults_to_pytest(profile_of):
    profile = profile_of({**PKG})
    assert (profile.test_framework, profile.test_paths) == ("pytest", [])
    assert "no tests recognised; assuming pytest" in profile.hints


def test_imported_modules_and_option_plugins():
    text = "import os, sys as system\nfrom a.b import c\nfrom . import rel\n    import inner.mod\n"
    assert imported_modules(text) == {"os", "sys", "a", "inner"}
    assert option_plugins_in(["-nauto", "--cov-report=xml", "-pxdist", "--reruns=2", "--lf"]) == (
        {"pytest-xdist", "pytest-cov", "pytest-rerunfailures"},
        ["xdist"],
    )
