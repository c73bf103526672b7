"""`forager export run` and `forager export show`, as a user runs them (the typer sub-app)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forager.cli import export_cmd
from forager.config import get_settings
from tests.model.store_seed import seed_scenario


@pytest.fixture
def store_env(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FORAGER_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FORAGER_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_run_json_then_show(store_env: str, tmp_path: Path) -> None:
    seed_scenario(store_env)
    runner = CliRunner()
    out = tmp_path / "out"
    done = runner.invoke(
        export_cmd.app, ["run", "--out", str(out), "--min-steps", "2", "--exit-status", "submitted", "--json"]
    )
    assert done.exit_code == 0, done.output
    manifest = json.loads(done.stdout)
    assert manifest["export_id"] == "episodes-000001" and manifest["counts"]["exported"] > 0
    assert manifest["options"]["min_steps"] == 2 and manifest["options"]["exit_statuses"] == ["submitted"]
    assert {s["format"] for s in manifest["shards"]} == {"parquet"}  # the default

    again = runner.invoke(
        export_cmd.app, ["run", "--out", str(out), "--min-steps", "2", "--exit-status", "submitted"]
    )
    assert again.exit_code == 0 and "nothing new" in again.output

    shown = runner.invoke(
        export_cmd.app, ["show", str(out / "exports" / "episodes-000001" / "manifest.json")]
    )
    assert shown.exit_code == 0, shown.output
    assert "train-00000.parquet" in shown.stdout and "watermark" in shown.stdout
    as_json = runner.invoke(export_cmd.app, ["show", str(out / "exports" / "episodes-000001"), "--json"])
    assert json.loads(as_json.stdout) == manifest


def test_errors_are_one_line_and_exit_2(store_env: str, tmp_path: Path) -> None:
    seed_scenario(store_env)
    runner = CliRunner()
    out = tmp_path / "out"
    assert runner.invoke(export_cmd.app, ["run", "--out", str(out)]).exit_code == 0
    changed = runner.invoke(export_cmd.app, ["run", "--out", str(out), "--min-steps", "4"])
    assert changed.exit_code == 2 and "other filter or format options" in changed.output
    missing = runner.invoke(export_cmd.app, ["show", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read the manifest" in missing.output
    bad = runner.invoke(export_cmd.app, ["run", "--out", str(tmp_path / "o2"), "--format", "csv"])
    assert bad.exit_code == 2


def test_both_formats_on_request(store_env: str, tmp_path: Path) -> None:
    seed_scenario(store_env)
    args = ["run", "--out", str(tmp_path / "out"), "--format", "jsonl.zst", "--format", "parquet", "--json"]
    done = CliRunner().invoke(export_cmd.app, args)
    assert done.exit_code == 0, done.output
    shards = json.loads(done.stdout)["shards"]
    by_format = {
        f: sorted(s["documents"] for s in shards if s["format"] == f) for f in ("jsonl.zst", "parquet")
    }
    assert by_format["jsonl.zst"] == by_format["parquet"] and sum(by_format["parquet"]) > 0
