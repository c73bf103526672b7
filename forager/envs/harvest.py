"""From a source spec to a stored environment: parse, ingest, record the snapshot, build."""

from __future__ import annotations

from forager.config import Settings
from forager.dockerhost import image_size
from forager.envs.models import EnvironmentSummary
from forager.envs.pipeline import build_environment
from forager.protocols import NullReporter, Reporter
from forager.sources.ingest import ingest
from forager.sources.spec import parse_source
from forager.store.environments import EnvironmentStore


def build_from_source(
    source: str,
    settings: Settings,
    ref: str | None = None,
    reporter: Reporter | None = None,
    rebuild: bool = False,
) -> EnvironmentSummary:
    """Raises a SourceError (and stores nothing) when the source cannot be fetched.

    A snapshot that already has a verified environment whose image still exists is not
    built again unless `rebuild` is set: harvesting the same commit twice is a no-op.
    """
    reporter = reporter or NullReporter()
    spec = parse_source(source, ref)
    snap = ingest(spec, settings, reporter)
    store = EnvironmentStore(settings.db_url)
    snapshot_id = store.save_snapshot(snap)
    if not rebuild:
        existing = store.find_verified(snapshot_id)
        if existing is not None:
            summary = EnvironmentSummary.from_row(store.get(existing))
            if summary.image_tag and image_size(summary.image_tag) is not None:
                reporter.stage("exists", f"environment {existing} ({summary.image_tag})")
                return summary
    return build_environment(snap, snapshot_id, settings, store, reporter)
