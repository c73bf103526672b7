"""Progress of a submission's episodes, read from the store (never counted in memory, so a
redelivered job cannot count twice)."""

from __future__ import annotations

from sqlalchemy import func, select

from forager.config import Settings
from forager.store.db import session_scope
from forager.store.models import EpisodeRow, SubmissionRow


def episodes_finished(submission_id: int, settings: Settings) -> tuple[int, int]:
    """(finished episodes of the submission, how many it plans)."""
    with session_scope(settings.db_url) as s:
        total = int(
            (s.get_one(SubmissionRow, submission_id).progress or {}).get("episodes", {}).get("total", 0)
        )
        done = s.scalar(
            select(func.count()).where(
                EpisodeRow.idempotency_key.like(f"sub{submission_id}-%"), EpisodeRow.status == "finished"
            )
        )
        return int(done or 0), total
