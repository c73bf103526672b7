"""Beat-scheduled upkeep: remove orphaned containers, requeue submissions that stalled."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import docker
from sqlalchemy import select

from forager.config import Settings
from forager.dockerhost import LABEL_INSTANCE, get_docker
from forager.store.db import session_scope
from forager.store.models import EpisodeRow, SubmissionRow, utcnow
from workers.dispatch import enqueue_submission

STALE_AFTER = timedelta(minutes=15)


def sweep_orphans(settings: Settings) -> dict[str, Any]:
    """Remove this instance's sandbox containers whose episode is finished or unknown.

    Judged by the store, not by container age: workers sharing an engine must not remove
    each other's live sandboxes.
    """
    client = get_docker()
    found = client.containers.list(
        all=True, filters={"label": [f"{LABEL_INSTANCE}={settings.instance}", "forager.kind=sandbox"]}
    )
    removed = []
    with session_scope(settings.db_url) as s:
        for c in found:
            episode = c.labels.get("forager.episode", "")
            if episode.startswith("pool-"):
                continue
            eid = episode.split("-", 1)[0]
            row = s.get(EpisodeRow, int(eid)) if eid.isdigit() else None
            if row is None or row.status == "finished":
                with contextlib.suppress(docker.errors.APIError):
                    c.remove(force=True)
                    removed.append(c.name)
    return {"removed": removed}


def requeue_stale_submissions(
    settings: Settings, stale_after: timedelta = STALE_AFTER, created_after: datetime | None = None
) -> list[int]:
    """Queued submissions that no worker touched for a while (a lost message, a broker restart)."""
    cutoff = utcnow() - stale_after
    query = select(SubmissionRow.id).where(
        SubmissionRow.status == "queued", SubmissionRow.updated_at <= cutoff
    )
    if created_after is not None:
        query = query.where(SubmissionRow.created_at >= created_after)
    with session_scope(settings.db_url) as s:
        ids = list(s.scalars(query))
    for sid in ids:
        enqueue_submission(sid)
    return ids
