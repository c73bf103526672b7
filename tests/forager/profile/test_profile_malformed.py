"""Broken, huge and hostile inputs never crash the analysis."""

from __future__ import annotations

import os

import pytest

from forager.errors import ProfileError
from forager.profile import profile_repository
from forager.profile.files import MAX_FILE_BYTES


def test_missing_folder_raises(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        profile_repository(tmp_path / "nope")


def test_folder_without_python_raises(write_repo):
    root = write_repo({"README.md": "# hi\n", "src/main.rs": "fn main() {}\n"})
    with pytest.raises(ProfileError, match="holds no Python code"):
        profile_repository(root)


def test_broken_files_leave_hints(profile_of):
    profile = profile_of(
        {
            "okpkg/__init__.py": "",
            "pyproject.toml": "[project\nname = 'x'\n",
            "setup.cfg": "this is not ini\n[metadata]\nname = fromcfg\n",
            "setup.py": "print 'python 2'\n",
            "tox.ini": "[testenv\n",
            "noxfile.py": "def (:\n",
            "tests/test_broken.py": "def test_x(:\n",
            "tests/test_ok.py": "import pytest\n",
            "requirements.txt": "ok-dep\n",
        }
    )
    assert profile.name == "repo"
    assert profile.installable is True  # setup.py exists, even if broken
    assert profile.dependencies is None
    assert profile.requirements_files == ["requirements.txt"]
    assert profile.test_framework == "pytest"
    hints = "\n".join(profile.hints)
    assert "pyproject.toml does not parse" in hints
    assert "setup.cfg does not parse (MissingSectionHeaderError); ignored" in hints
    assert "setup.py does not parse as Python 3; its metadata is unknown" in hints
    assert "tox.ini does not parse" in hints
    assert "noxfile.py does not parse; ignored" in hints


def test_wrong_types_in_pyproject_are_ignored(profile_of):
    profile = profile_of(
        {
            "w/__init__.py": "",
            "pyproject.toml": """
            [build-system]
            requires = "setuptools"
            [project]
            name = 42
            requires-python = "not a specifier"
            dependencies = ["ok", 3, "bad req"]
            optional-dependencies = "nope"
            [dependency-groups]
            test = "pytest"
            """,
        }
    )
    assert profile.name == "repo"
    assert profile.dependencies == ["ok"]
    assert profile.extras == {}
    assert profile.requires_python is None
    assert profile.build_requires == []
    assert "ignored non-string requirement 3 in [project] dependencies" in profile.hints
    assert "ignored [build-system]: expected a list of requirements, got a string" in profile.hints
    assert "requires-python 'not a specifier' from pyproject [project] does not parse" in profile.hints


def test_huge_files_are_skipped(write_repo):
    root = write_repo({"big/__init__.py": ""})
    (root / "requirements.txt").write_text("x" * (MAX_FILE_BYTES + 1))
    profile = profile_repository(root)
    assert profile.requirements_files == ["requirements.txt"]
    assert "skipped requirements.txt: larger than 2 MB" in profile.hints


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_out_of_the_repository_are_not_followed(tmp_path, write_repo):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("leaked-dep\n")
    (outside / "mod.py").write_text("")
    root = write_repo({"inpkg/__init__.py": "", "requirements-dev.txt": "-r linked.txt\npytest\n"})
    (root / "linked.txt").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "setup.py").symlink_to(outside / "mod.py")
    profile = profile_repository(root)
    assert profile.test_requirements == ["pytest"]
    assert profile.installable is False
    assert profile.packages == ["inpkg"]
    assert "requirements file linked.txt is missing or unreadable" in profile.hints
