"""'X.Y' Python version strings: extraction from classifiers and free text, ordering."""

from __future__ import annotations

import re
from collections.abc import Iterable

_MINOR = re.compile(r"^3\.\d{1,2}$")
_CLASSIFIER = re.compile(r"^Programming Language :: Python :: (\d+\.\d+)\s*$")
# A bare X.Y not glued to a word ("pypy3.9", "pypy-3.9", "3.14t" are other interpreters) and not
# a pre-release ("3.15-dev"): no image ships those.
_IN_TEXT = re.compile(r"(?<![\w.-])(3\.\d{1,2})(?:\.\d+)?(?![\w.]|-(?:dev|alpha|beta|rc))")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def sort_versions(versions: Iterable[str]) -> list[str]:
    """Unique Python 3 'X.Y' versions, oldest first; anything else ("3.14t", "pypy3.10") dropped."""
    unique = {v for v in versions if _MINOR.match(v)}
    return sorted(unique, key=version_key)


def versions_from_classifiers(classifiers: Iterable[object]) -> list[str]:
    found: list[str] = []
    for classifier in classifiers:
        if isinstance(classifier, str) and (match := _CLASSIFIER.match(classifier.strip())):
            found.append(match.group(1))
    return sort_versions(found)


def versions_in_text(text: str) -> list[str]:
    """Python 3 versions written as X.Y (optionally X.Y.Z) somewhere in `text`."""
    return [match.group(1) for match in _IN_TEXT.finditer(text)]
