"""src vs flat layout and top-level packages."""

from __future__ import annotations


def test_src_layout_with_namespace_package(profile_of):
    profile = profile_of(
        {
            "src/alpha/__init__.py": "",
            "src/nsbeta/sub/mod.py": "",
            "src/single.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "pyproject.toml": '[project]\nname = "alpha"\n',
        }
    )
    assert (profile.layout, profile.packages) == ("src", ["alpha", "nsbeta", "single"])


def test_flat_layout_skips_tooling_and_tests(profile_of):
    profile = profile_of(
        {
            "flatpkg/__init__.py": "",
            "tests/__init__.py": "",
            "docs/__init__.py": "",
            "scripts/run.py": "",
            "helpers/util.py": "",  # no __init__.py at the root: not a package
            "tool_module.py": "",
            "setup.py": "from setuptools import setup\nsetup()\n",
            "conftest.py": "",
            "noxfile.py": "",
            "test_x.py": "",
        }
    )
    assert (profile.layout, profile.packages) == ("flat", ["flatpkg", "tool_module"])


def test_declared_source_folder_other_than_src(profile_of):
    profile = profile_of(
        {
            "lib/libpkg/__init__.py": "",
            "pyproject.toml": """
            [project]
            name = "libpkg"
            [tool.setuptools.packages.find]
            where = ["lib"]
            """,
        }
    )
    assert (profile.layout, profile.packages) == ("src", ["libpkg"])


def test_no_importable_code(profile_of):
    profile = profile_of({"scripts/tool.py": "", "setup.py": "from setuptools import setup\nsetup()\n"})
    assert (profile.layout, profile.packages) == ("none", [])
