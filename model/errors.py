"""The exception family of the `model` package (export, dataset, serving config)."""

from __future__ import annotations

from forager.errors import ForagerError


class ModelError(ForagerError):
    """Root of every error raised on purpose by `model`."""


class ExportError(ModelError):
    """An export could not be carried out (or its output folder is inconsistent)."""


class DatasetError(ModelError):
    """The dataset cannot read its shards, tokenizer or saved position."""
