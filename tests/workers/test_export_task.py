"""The export's Celery task, run eagerly in this process against the test store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from forager.config import Settings, get_settings
from forager.pipeline.embedded import harvest
from forager.pipeline.options import HarvestOptions
from tests.conftest import CALC_PYPROJECT
from tests.repos import calc_package, write

pytestmark = [pytest.mark.docker]


def test_export_task_exports_finished_episodes(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write(tmp_path / "calc", {"pyproject.toml": CALC_PYPROJECT, **calc_package("calc")})
    summary = harvest(str(repo), settings, HarvestOptions(max_tasks=0, explore_episodes=1, max_steps=6))
    assert summary.status == "done" and summary.episodes_by_exit
    monkeypatch.setenv("FORAGER_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("FORAGER_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        from workers.tasks import run_export_job

        out = tmp_path / "exports"
        first = run_export_job.apply(kwargs={"out_dir": str(out)}).get()
        assert first["export_id"]
        manifest = next(out.rglob("manifest.json"))
        data = json.loads(manifest.read_text())
        assert data["counts"]["exported"] >= 1 and data["counts"]["steps_exported"] >= 1
        again = run_export_job.apply(kwargs={"out_dir": str(out)}).get()
        assert again["export_id"] is None  # incremental: nothing new since the watermark
    finally:
        get_settings.cache_clear()
