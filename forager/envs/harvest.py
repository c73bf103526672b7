"""From a source spec to a stored environment: parse, ingest, record the snapshot, build."""

from __future__ import annotations

from forager.config import Settings
from forager.envs.models import EnvironmentSummary
from forager.envs.pipeline import build_environment
from forager.protocols import NullReporter, Reporter
from forager.sources.ingest import ingest
from forager.sources.spec import parse_source
from forager.store.environments import EnvironmentStore


def build_from_source(
    source: str, settings: Settings, ref: str | None = None, reporter: Reporter | None = None
) -> EnvironmentSummary:
    """Raises a SourceError (and stores nothing) when the source cannot be fetched."""
    reporter = reporter or NullReporter()
    spec = parse_source(source, ref)
    snap = ingest(spec, settings, reporter)
    store = EnvironmentStore(settings.db_url)
    snapshot_id = store.save_snapshot(snap)
    return build_environment(snap, snapshot_id, settings, store, reporter)
