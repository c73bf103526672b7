"""Pick the Python versions to try for a profile, most promising first."""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from forager.errors import ProfileError
from forager.profile.models import RepoProfile
from forager.profile.versions import version_key

# Images ship the newest patch release of a minor version, and pip checks requires-python
# against the full version: "<=3.11" excludes 3.11.9. Test "X.Y" as a late patch release.
_LATE_PATCH = 99


def choose_python(profile: RepoProfile, available: list[str], preferred: str) -> list[str]:
    """Available versions allowed by `requires_python`: `preferred` first, then newest first.

    Without a usable `requires_python` every available version qualifies. Raises ProfileError
    when the constraint excludes all of them.
    """
    specifier = _specifier(profile.requires_python)
    candidates = list(dict.fromkeys(available))
    allowed = [v for v in candidates if specifier is None or _satisfies(specifier, v)]
    if not allowed:
        if not candidates:
            raise ProfileError("no Python versions are available to choose from")
        raise ProfileError(
            f"{profile.name} requires Python {profile.requires_python!r}, which none of the available "
            f"versions ({', '.join(candidates)}) satisfies; add a matching base image"
        )
    rest = sorted((v for v in allowed if v != preferred), key=version_key, reverse=True)
    return [preferred, *rest] if preferred in allowed else rest


def _specifier(requires_python: str | None) -> SpecifierSet | None:
    if not requires_python or not requires_python.strip():
        return None
    try:
        return SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None


def _satisfies(specifier: SpecifierSet, version: str) -> bool:
    full = version if version.count(".") >= 2 else f"{version}.{_LATE_PATCH}"
    try:
        return specifier.contains(Version(full), prereleases=True)
    except InvalidVersion:
        return False
