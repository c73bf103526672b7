"""Submissions: `POST /v1/sources` starts a harvest; its status, progress and cancellation."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Query, Request, Response

from api import queries
from api.auth import ReadKey, SubmitKey
from api.deps import MAX_ID, ApiSettingsDep, DbDep, PageDep, SettingsDep, json_response, page_of
from api.errors import ApiError
from api.schemas import CancelAccepted, Page, SubmissionAccepted, SubmitRequest
from api.schemas import Submission as SubmissionOut
from api.source_policy import check_source
from forager.store.submissions import TERMINAL, SubmissionStore

# Imported with the app, not on the first submission: importing Celery holds the GIL for a
# few hundred milliseconds, a stall every request in flight would feel.
from workers.dispatch import BrokerUnavailableError, enqueue_submission

router = APIRouter(prefix="/v1/sources", tags=["sources"])
log = structlog.get_logger("forager.api")
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.post("", status_code=202, response_model=SubmissionAccepted)
def submit(
    body: SubmitRequest,
    response: Response,
    principal: SubmitKey,
    settings: SettingsDep,
    api_settings: ApiSettingsDep,
) -> SubmissionAccepted:
    """Queue a source for harvesting. Everything is checked before anything is stored."""
    spec = check_source(body.source, body.ref, api_settings)
    submission_id = SubmissionStore(settings.db_url).create(
        spec.spec, spec.ref, body.stored_options(), api_key_id=principal.id
    )
    note = None
    try:
        enqueue_submission(submission_id)
    except BrokerUnavailableError as exc:
        # The row is the source of truth: the beat's requeue job picks up queued rows.
        log.warning("submission.enqueue_failed", submission=submission_id, error=str(exc))
        note = "the broker is unavailable: the submission is stored and will be queued when it returns"
    log.info("submission.created", submission=submission_id, source=spec.spec, key=principal.prefix)
    location = f"/v1/sources/{submission_id}"
    response.headers["Location"] = location
    return SubmissionAccepted(
        id=submission_id,
        status="queued",
        links={"self": location, "cancel": f"{location}/cancel"},
        note=note,
    )


@router.get("", response_model=Page[SubmissionOut])
def list_sources(
    request: Request,
    db: DbDep,
    page: PageDep,
    _: ReadKey,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    items, cursor = db.read(lambda s: queries.list_submissions(s, page, status))
    return page_of(request, page, items, cursor)


@router.get("/{submission_id}", response_model=SubmissionOut)
def get_source(submission_id: SubmissionId, db: DbDep, _: ReadKey) -> Response:
    return json_response(db.read(lambda s: queries.get_submission(s, submission_id)))


@router.post("/{submission_id}/cancel", status_code=202, response_model=CancelAccepted)
def cancel(submission_id: SubmissionId, principal: SubmitKey, settings: SettingsDep) -> CancelAccepted:
    """Ask the pipeline to stop; workers check the flag between stages and episodes."""
    row = SubmissionStore(settings.db_url).request_cancel(submission_id)
    if row.status in TERMINAL and row.status != "cancelled":
        raise ApiError(
            409,
            "already_finished",
            f"submission {submission_id} has already finished ({row.status})",
            {"status": row.status},
        )
    log.info("submission.cancel_requested", submission=submission_id, key=principal.prefix)
    return CancelAccepted(id=row.id, status=row.status, cancel_requested=row.cancel_requested)
