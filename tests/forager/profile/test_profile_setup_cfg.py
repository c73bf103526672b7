"""setup.cfg declarative metadata."""

from __future__ import annotations

SETUP_PY = "from setuptools import setup\nsetup()\n"


def test_setup_cfg_metadata_options_and_pytest_section(profile_of):
    profile = profile_of(
        {
            "setup.py": SETUP_PY,
            "src/cfgpkg/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "setup.cfg": """
            [metadata]
            name = cfgpkg
            classifiers =
                Programming Language :: Python :: 3.11
                Programming Language :: Python :: 3.12

            [options]
            package_dir =
                =src
            packages = find:
            python_requires = >=3.10
            install_requires =
                requests >= 2  # comment
                tomli ; python_version < "3.11"
            tests_require =
                pytest

            [options.extras_require]
            testing =
                pytest-mock
            docs = sphinx

            [tool:pytest]
            testpaths = tests
            addopts = --cov=cfgpkg -p pytest_asyncio
            timeout = 30
            """,
        }
    )
    assert profile.name == "cfgpkg"
    assert profile.dependencies == ["requests >= 2", 'tomli ; python_version < "3.11"']
    assert profile.requires_python == ">=3.10"
    assert profile.python_versions == ["3.11", "3.12"]
    assert profile.extras == {"testing": ["pytest-mock"], "docs": ["sphinx"]}
    assert profile.test_extras == ["testing"]
    assert profile.test_requirements == ["pytest"]
    assert profile.layout == "src"
    assert profile.packages == ["cfgpkg"]
    assert profile.test_paths == ["tests"]
    assert profile.pytest_plugins == ["pytest-asyncio", "pytest-cov", "pytest-timeout"]
    assert "pytest configuration from setup.cfg [tool:pytest]" in profile.hints


def test_install_requires_from_file_directive(profile_of):
    profile = profile_of(
        {
            "setup.py": SETUP_PY,
            "pkg/__init__.py": "",
            "setup.cfg": "[options]\ninstall_requires = file: reqs/base.txt\n",
            "reqs/base.txt": "six\n-r extra.txt\n",
            "reqs/extra.txt": "idna\n",
        }
    )
    assert profile.dependencies == ["six", "idna"]


def test_setup_cfg_without_setup_py_is_not_installable(profile_of):
    profile = profile_of({"mod.py": "", "setup.cfg": "[metadata]\nname = x\n"})
    assert profile.installable is False
    assert profile.build_backend == "none"
    assert profile.name == "x"
    assert "setup.cfg declares a project but pip needs setup.py or pyproject.toml" in profile.hints
