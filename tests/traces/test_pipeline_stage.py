"""The optional traces stage of the pipeline: run on request, reused for the same snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from forager.config import Settings
from forager.pipeline.embedded import harvest
from forager.pipeline.options import HarvestOptions
from forager.store.submissions import SubmissionStore
from forager.traces.store import TraceStore
from tests.conftest import CALC_PYPROJECT
from tests.repos import calc_package, write

pytestmark = [pytest.mark.docker]


def test_traces_stage_collects_once_per_environment(settings: Settings, tmp_path: Path) -> None:
    repo = write(tmp_path / "calc_tr", {"pyproject.toml": CALC_PYPROJECT, **calc_package("calc")})
    quiet = {"max_tasks": 0, "explore_episodes": 0, "history_tasks": False}
    without = harvest(str(repo), settings, HarvestOptions(**quiet))
    assert without.status == "done" and without.traces == 0
    assert "traces" not in SubmissionStore(settings.db_url).get(without.submission_id).progress

    first = harvest(str(repo), settings, HarvestOptions(**quiet, traces=True, max_traces=50))
    assert first.status == "done" and first.environment is not None
    stored = TraceStore(settings.db_url).count(first.environment.id)
    assert first.traces == stored > 0
    stage = SubmissionStore(settings.db_url).get(first.submission_id).progress["traces"]
    assert stage["status"] == "done" and stage["traces"] == stored and stage["outcome_changes"] == 0

    again = harvest(str(repo), settings, HarvestOptions(**quiet, traces=True))
    assert again.traces == stored
    reused = SubmissionStore(settings.db_url).get(again.submission_id).progress["traces"]
    assert reused["status"] == "done" and reused.get("reused") is True
