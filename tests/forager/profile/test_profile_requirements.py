"""requirements*.txt discovery, classification and pip-style parsing."""

from __future__ import annotations

import pytest

from forager.profile.files import RepoFiles
from forager.profile.requirements import (
    classify_requirements_file,
    read_requirements,
    read_requirements_file,
    requirement_from_line,
)


@pytest.mark.parametrize(
    ("rel", "kind"),
    [
        ("requirements.txt", "runtime"),
        ("requirements/base.txt", "runtime"),
        ("requirements-dev.txt", "test"),
        ("dev-requirements.txt", "test"),
        ("requirements_test.txt", "test"),
        ("requirements/tests.txt", "test"),
        ("requirements/ci.txt", "test"),
        ("requirements-docs.txt", "ignored"),
        ("requirements/doc.txt", "ignored"),
        ("requirements-gpu.txt", "ignored"),
    ],
)
def test_classify_requirements_file(rel, kind):
    assert classify_requirements_file(rel) == kind


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("requests>=2  ", "requests>=2"),
        ("foo==1.0 --hash=sha256:abc --hash=sha256:def", "foo==1.0"),
        ("-e .", None),
        (".", None),
        ("./local/pkg", None),
        ("../sibling", None),
        ("file:///tmp/x.whl", None),
        ("https://example.com/pkg-1.0.tar.gz", None),
        ("git+https://github.com/o/r.git@v1#egg=r", "r @ git+https://github.com/o/r.git@v1"),
        ("name @ https://example.com/name-1.0.zip", "name @ https://example.com/name-1.0.zip"),
        ("name @ file:///abs/path", None),
        ("--index-url https://x", None),
        ("not a requirement !!", None),
    ],
)
def test_requirement_from_line(line, expected):
    assert requirement_from_line(line) == expected


def test_includes_continuations_comments_and_skips(write_repo):
    root = write_repo(
        {
            "requirements/dev.txt": """
            # development
            -r base.txt
            --requirement=../extra.txt
            -c constraints.txt
            --index-url https://pypi.example/simple
            pytest>=7 \\
                ; python_version >= "3.8"
            -e .[test,docs]
            coverage  # inline comment
            ${UNSET_VAR}
            -r ../../outside.txt
            """,
            "requirements/base.txt": "attrs\n-r dev.txt\n",
            "extra.txt": "tomli\n",
        }
    )
    hints: list[str] = []
    content = read_requirements_file(RepoFiles(root), "requirements/dev.txt", hints)
    assert content.requirements == ["attrs", "tomli", 'pytest>=7 ; python_version >= "3.8"', "coverage"]
    assert content.extras == ["test", "docs"]
    assert hints == [
        "dropped unparsable requirement '${UNSET_VAR}' from requirements/dev.txt",
        "ignored include '../../outside.txt' in requirements/dev.txt: outside the repository",
    ]
    # Includes listed in `skip` are installed separately and not flattened.
    skipped = read_requirements(RepoFiles(root), "requirements/dev.txt", [], skip={"requirements/base.txt"})
    assert skipped == ["tomli", 'pytest>=7 ; python_version >= "3.8"', "coverage"]


def test_requirements_dev_with_include_in_profile(profile_of):
    profile = profile_of(
        {
            "app.py": "",
            "requirements.txt": "flask>=2\n",
            "requirements-dev.txt": "-r requirements.txt\npytest\npytest-flask\n",
            "requirements-docs.txt": "sphinx\n",
        }
    )
    assert profile.installable is False
    assert profile.requirements_files == ["requirements.txt"]
    assert profile.test_requirements_files == ["requirements-dev.txt"]
    assert profile.test_requirements == ["pytest", "pytest-flask"]
    assert profile.dependencies == ["flask>=2"]  # not installable: requirements.txt is what it needs
    assert "ignored requirements files: requirements-docs.txt" in profile.hints
    assert "dependencies from requirements.txt" in profile.hints


def test_test_requirements_never_contain_the_project(profile_of):
    profile = profile_of(
        {
            "selfpkg/__init__.py": "",
            "pyproject.toml": '[project]\nname = "Self_Pkg"\n[project.optional-dependencies]\nsocks = ["pysocks"]\n',
            "requirements-test.txt": "self-pkg[socks]\nPyTest\npytest>=7\n",
        }
    )
    assert profile.test_requirements == ["PyTest"]
    assert profile.test_extras == ["socks"]


def test_test_files_are_preferred_over_dev_files(write_repo):
    from forager.profile import profile_repository

    repo = write_repo(
        {
            "pkg/__init__.py": "",
            "requirements/tests.txt": "pytest==8.3.3\npytest-asyncio\n",
            "requirements/dev.txt": "-r tests.txt\nsphinx==8.1.3\ntox\npre-commit\n",
        }
    )
    profile = profile_repository(repo)
    assert profile.test_requirements == ["pytest==8.3.3", "pytest-asyncio"]
    assert any("skipped requirements/dev.txt" in h for h in profile.hints)


def test_test_groups_are_preferred_over_dev_groups(write_repo):
    from forager.profile import profile_repository

    repo = write_repo(
        {
            "pyproject.toml": """
            [project]
            name = "demo"
            version = "1"

            [dependency-groups]
            tests = ["pytest", "hypothesis"]
            dev = ["pytest", "sphinx", {include-group = "tests"}]
        """,
            "demo/__init__.py": "",
        }
    )
    profile = profile_repository(repo)
    assert profile.test_requirements == ["pytest", "hypothesis"]
