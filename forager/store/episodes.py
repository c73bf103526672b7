"""Episodes and their steps: each step committed as it happens, the episode finished last."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from forager.agent.models import (
    Action,
    Limits,
    Observation,
    PolicyInfo,
    StepRecord,
    TestResult,
    Totals,
    Trajectory,
)
from forager.errors import NotFoundError
from forager.store.db import session_scope
from forager.store.models import EpisodeRow, StepRow, utcnow


class EpisodeStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def start(
        self,
        environment_id: int,
        task_id: int | None,
        policy: PolicyInfo,
        seed: int,
        limits: Limits,
        idempotency_key: str | None = None,
    ) -> int:
        """A new running episode. With a key that exists already, that episode's steps are
        cleared and it starts over (a redelivered job), so one key yields one episode."""
        with session_scope(self.url) as s:
            if idempotency_key:
                old = s.scalar(select(EpisodeRow).where(EpisodeRow.idempotency_key == idempotency_key))
                if old is not None:
                    if old.status == "finished":
                        return old.id
                    s.query(StepRow).filter(StepRow.episode_id == old.id).delete()
                    old.started_at, old.finished_at, old.exit_status = utcnow(), None, None
                    return old.id
            row = EpisodeRow(
                environment_id=environment_id,
                task_id=task_id,
                status="running",
                policy=policy.model_dump(),
                seed=seed,
                limits=limits.model_dump(),
                idempotency_key=idempotency_key,
                test_results=[],
                totals={},
            )
            s.add(row)
            try:
                s.flush()
            except IntegrityError:  # a concurrent start with the same key won
                s.rollback()
                return self.start(environment_id, task_id, policy, seed, limits, idempotency_key)
            return row.id

    def is_finished(self, episode_id: int) -> bool:
        with session_scope(self.url) as s:
            return s.get_one(EpisodeRow, episode_id).status == "finished"

    def add_step(self, episode_id: int, step: StepRecord, stored_output_cap: int) -> None:
        obs = step.observation
        output = _text(obs.output[:stored_output_cap]) if obs.output is not None else None
        with session_scope(self.url) as s:
            s.add(
                StepRow(
                    episode_id=episode_id,
                    index=step.index,
                    raw_output=_text(step.raw_output),
                    tool=step.action.tool if step.action else None,
                    args=step.action.args if step.action else {},
                    error=_text(step.error) if step.error else None,
                    observation=_text(obs.text),
                    output=output,
                    exit_code=obs.exit_code,
                    duration_ms=obs.duration_ms,
                    truncated=obs.truncated,
                    timed_out=obs.timed_out,
                    output_bytes=obs.output_bytes,
                    prompt_tokens=step.prompt_tokens,
                    completion_tokens=step.completion_tokens,
                    llm_ms=step.llm_ms,
                    exec_ms=step.exec_ms,
                    started_at=step.started_at,
                    finished_at=step.finished_at,
                )
            )

    def finish(
        self,
        episode_id: int,
        exit_status: str,
        detail: str | None,
        final_patch: str | None,
        reward: float | None,
        test_results: list[TestResult],
        totals: Totals,
    ) -> None:
        with session_scope(self.url) as s:
            row = s.get_one(EpisodeRow, episode_id)
            row.exit_status, row.exit_detail, row.final_patch = exit_status, detail, final_patch
            row.reward = reward
            row.test_results = [t.model_dump() for t in test_results]
            row.totals = totals.model_dump()
            row.finished_at = utcnow()
            row.status = "finished"  # last: a half episode never looks complete

    def trajectory(self, episode_id: int) -> Trajectory:
        with session_scope(self.url) as s:
            row = s.get(EpisodeRow, episode_id)
            if row is None:
                raise NotFoundError(f"no episode with id {episode_id}")
            steps = s.scalars(
                select(StepRow).where(StepRow.episode_id == episode_id).order_by(StepRow.index)
            ).all()
            return _trajectory(row, steps)

    def list(
        self, environment_id: int | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[EpisodeRow]:
        with session_scope(self.url) as s:
            q = select(EpisodeRow).order_by(EpisodeRow.id.desc()).limit(limit).offset(offset)
            if environment_id is not None:
                q = q.where(EpisodeRow.environment_id == environment_id)
            return s.scalars(q).all()

    def count_steps(self, episode_id: int) -> int:
        with session_scope(self.url) as s:
            return int(s.scalar(select(func.count()).where(StepRow.episode_id == episode_id)) or 0)


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; binary output keeps its length with U+FFFD in its place.
    return value.replace("\x00", "\ufffd")


def _trajectory(row: EpisodeRow, steps: Sequence[StepRow]) -> Trajectory:
    return Trajectory(
        episode_id=row.id,
        environment_id=row.environment_id,
        task_id=row.task_id,
        policy=PolicyInfo(**row.policy),
        seed=row.seed,
        limits=Limits(**row.limits),
        status=row.status,
        exit_status=row.exit_status,
        exit_detail=row.exit_detail,
        final_patch=row.final_patch,
        reward=row.reward,
        test_results=[TestResult(**t) for t in row.test_results],
        totals=Totals(**(row.totals or {})),
        started_at=row.started_at,
        finished_at=row.finished_at,
        steps=[_step(st) for st in steps],
    )


def _step(st: StepRow) -> StepRecord:
    return StepRecord(
        index=st.index,
        raw_output=st.raw_output,
        action=Action(tool=st.tool, args=st.args) if st.tool else None,
        observation=Observation(
            text=st.observation,
            output=st.output,
            exit_code=st.exit_code,
            duration_ms=st.duration_ms,
            truncated=st.truncated,
            timed_out=st.timed_out,
            output_bytes=st.output_bytes,
        ),
        error=st.error,
        prompt_tokens=st.prompt_tokens,
        completion_tokens=st.completion_tokens,
        llm_ms=st.llm_ms,
        exec_ms=st.exec_ms,
        started_at=st.started_at,
        finished_at=st.finished_at,
    )


def iter_jsonl(store: EpisodeStore, episode_ids: list[int]) -> Iterator[str]:
    for eid in episode_ids:
        yield store.trajectory(eid).model_dump_json() + "\n"
