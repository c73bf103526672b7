"""choose_python: versions allowed by requires-python, preferred first, then newest first."""

from __future__ import annotations

import pytest

from forager.errors import ProfileError
from forager.profile import RepoProfile, choose_python

AVAILABLE = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _profile(requires_python: str | None) -> RepoProfile:
    return RepoProfile(name="p", installable=True, requires_python=requires_python)


@pytest.mark.parametrize(
    ("requires_python", "preferred", "expected"),
    [
        (">=3.10", "3.12", ["3.12", "3.13", "3.11", "3.10"]),
        (">=3.10", "3.9", ["3.13", "3.12", "3.11", "3.10"]),
        ("<3.11", "3.12", ["3.10", "3.9"]),
        (">=3.9,!=3.11.*,<3.13", "3.11", ["3.12", "3.10", "3.9"]),
        ("~=3.10", "3.12", ["3.12", "3.13", "3.11", "3.10"]),
        (">3.10", "3.12", ["3.12", "3.13", "3.11", "3.10"]),  # 3.10.x > 3.10
        ("<=3.11", "3.12", ["3.10", "3.9"]),  # pip would refuse 3.11.9
        (None, "3.11", ["3.11", "3.13", "3.12", "3.10", "3.9"]),
        ("not a specifier", "3.11", ["3.11", "3.13", "3.12", "3.10", "3.9"]),
        (None, "3.7", ["3.13", "3.12", "3.11", "3.10", "3.9"]),  # unavailable preference ignored
    ],
)
def test_choose_python(requires_python, preferred, expected):
    assert choose_python(_profile(requires_python), AVAILABLE, preferred) == expected


def test_no_version_satisfies():
    with pytest.raises(ProfileError, match=r"requires Python '>=3\.14'.*3\.9, 3\.10"):
        choose_python(_profile(">=3.14"), ["3.9", "3.10"], "3.10")


def test_nothing_available():
    with pytest.raises(ProfileError, match="no Python versions are available"):
        choose_python(_profile(None), [], "3.12")
