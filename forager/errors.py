"""The exception root of the `forager` package and its families.

Every error a user can cause carries a message that says what went wrong and what to do;
HTTP status codes are chosen in `api/`, never here.
"""

from __future__ import annotations


class ForagerError(Exception):
    """Root of every error raised on purpose by `forager`."""


class ConfigError(ForagerError):
    """A setting is missing or invalid."""


class SourceError(ForagerError):
    """A source spec is invalid or its code cannot be fetched."""


class InvalidSourceError(SourceError):
    """The source spec itself does not parse or names a disallowed scheme."""


class SourceNotFoundError(SourceError):
    """The repository, path, or package does not exist."""


class RefNotFoundError(SourceError):
    """The requested branch, tag or commit does not exist in the repository."""


class LimitExceededError(SourceError):
    """The repository is larger than the configured limits allow."""


class ProfileError(ForagerError):
    """The repository could not be analyzed (e.g. it has no Python code)."""


class DockerUnavailableError(ForagerError):
    """The Docker engine does not answer."""


class ImageError(ForagerError):
    """A base image is missing or could not be bootstrapped."""


class BuildError(ForagerError):
    """An image build failed or timed out."""


class TestRunError(ForagerError):
    """A test run could not be carried out (not: tests failed)."""


class StoreError(ForagerError):
    """The store could not be read or written."""


class NotFoundError(StoreError):
    """A record with the given id does not exist."""
