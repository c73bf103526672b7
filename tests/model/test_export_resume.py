"""Incremental exports: a watermark per folder, interrupted runs leave nothing, nothing is lost
or duplicated across runs (PostgreSQL)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from forager.store.db import session_scope
from model.errors import ExportError
from model.export import ExportManifest, ExportOptions, ExportProgress, Watermark, run_export
from model.export.layout import ExportDir
from model.export.options import ALL_FORMATS
from tests.model.conftest import settings_for
from tests.model.reference import as_docs, content_hash, expected_documents, exported, read_parquet
from tests.model.store_seed import add_episode, add_repo, finish, random_actions, seed_scenario


class Crash(Exception):
    pass


class CrashAfter:
    """A progress sink that fails the export after `batches` batches (a worker killed mid-way)."""

    def __init__(self, batches: int) -> None:
        self.left = batches

    def update(self, progress: ExportProgress) -> None:
        self.left -= 1
        if self.left <= 0:
            raise Crash(f"stopped after episode {progress.last_episode_id}")


def test_interrupted_export_then_rerun_neither_loses_nor_duplicates(fresh_pg: str, tmp_path: Path) -> None:
    sc = seed_scenario(fresh_pg)
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    options = ExportOptions(batch_episodes=6, shard_max_documents=5, formats=list(ALL_FORMATS))

    with pytest.raises(Crash):
        run_export(settings, out, options, progress=CrashAfter(3))
    assert ExportDir(out).committed() == []  # nothing committed, the watermark has not moved
    assert list(out.glob(".staging-*")) == []  # and no partial shard is left behind
    with pytest.raises(Crash):
        run_export(settings, out, options, progress=CrashAfter(1))

    manifest = run_export(settings, out, options)
    assert manifest.sequence == 1 and manifest.previous_watermark is not None
    assert manifest.previous_watermark.last_id == 0
    expected = expected_documents(fresh_pg, sc, options)
    for fmt in ("jsonl.zst", "parquet"):
        assert content_hash(as_docs(exported(out, fmt))) == content_hash(expected)


def test_second_run_exports_only_new_and_newly_finished_episodes(fresh_pg: str, tmp_path: Path) -> None:
    sc = seed_scenario(fresh_pg)
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    options = ExportOptions(batch_episodes=4, formats=list(ALL_FORMATS))
    first = run_export(settings, out, options)
    assert first.watermark is not None and first.watermark.pending == sorted(sc.running)
    assert run_export(settings, out, options).export_id is None  # nothing new: nothing committed

    rng = random.Random(7)
    with session_scope(fresh_pg) as s:
        repo = add_repo(s, "https://github.com/acme/later")
        new = [add_episode(s, repo, random_actions(rng, 3)) for _ in range(4)]
        still_running = add_episode(s, repo, random_actions(rng, 2), status="running")
        for episode_id in sc.running:  # the episode running during the first export finishes
            finish(s, episode_id)
    second = run_export(settings, out, options)
    assert second.sequence == 2
    assert second.counts.considered == len(new) + len(sc.running)
    # Past the last finished id, a running episode needs no pending entry: `id > last_id` finds it.
    assert second.watermark is not None and second.watermark == Watermark(last_id=max(new), pending=[])
    assert exported_ids(second, out) == set(new) | sc.running

    with session_scope(fresh_pg) as s:
        finish(s, still_running, exit_status="step_limit", reward=0.0)
    third = run_export(settings, out, options)
    assert exported_ids(third, out) == {still_running}

    # Across both exports: every finished episode exactly once (exported() fails on repeats).
    sc.repo_key["https://github.com/acme/later"] = "github.com/acme/later"
    expected = expected_documents(fresh_pg, sc, options)
    for fmt in ("jsonl.zst", "parquet"):
        assert content_hash(as_docs(exported(out, fmt))) == content_hash(expected)


def exported_ids(manifest: ExportManifest, out: Path) -> set[int]:
    assert manifest.export_id
    folder = out / "exports" / manifest.export_id
    return {
        d["episode_id"]
        for s in manifest.shards
        if s.format == "parquet"
        for d in read_parquet(folder / s.path)
    }


def test_dedup_reaches_across_exports(sqlite_url: str, tmp_path: Path) -> None:
    settings, out = settings_for(sqlite_url, tmp_path), tmp_path / "out"
    rng = random.Random(3)
    actions = random_actions(rng, 8)
    with session_scope(sqlite_url) as s:
        repo = add_repo(s, "https://github.com/acme/widgets")
        first = add_episode(s, repo, actions)
    assert run_export(settings, out).counts.exported == 1
    with session_scope(sqlite_url) as s:
        copy = add_episode(s, repo, [*actions[:7], *random_actions(rng, 1)])
        fresh = add_episode(s, repo, random_actions(rng, 8))
    second = run_export(settings, out)
    assert second.counts.dropped == {"near_duplicate": 1}
    assert set(exported(out, "parquet")) == {first, fresh}
    assert copy not in exported(out, "jsonl.zst")


def test_an_output_folder_keeps_its_options(sqlite_url: str, tmp_path: Path) -> None:
    settings, out = settings_for(sqlite_url, tmp_path), tmp_path / "out"
    seed_scenario(sqlite_url)
    run_export(settings, out, ExportOptions())
    with pytest.raises(ExportError, match="other filter or format options"):
        run_export(settings, out, ExportOptions(min_steps=3))
    # Shard sizes do not change the dataset: allowed.
    assert run_export(settings, out, ExportOptions(shard_max_documents=3)).export_id is None


def test_one_writer_per_folder(sqlite_url: str, tmp_path: Path) -> None:
    settings, out = settings_for(sqlite_url, tmp_path), tmp_path / "out"
    seed_scenario(sqlite_url)
    with ExportDir(out).locked(), pytest.raises(ExportError, match="another export"):
        run_export(settings, out)


def test_max_episodes_exports_a_prefix_and_the_next_run_the_rest(fresh_pg: str, tmp_path: Path) -> None:
    """A capped export streams the steps of exactly the episodes it reads (one query for
    both sides of the cap): the documents of two capped runs are the store's, once each."""
    sc = seed_scenario(fresh_pg)
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    options = ExportOptions(batch_episodes=4, max_episodes=7, formats=list(ALL_FORMATS))
    runs = 0
    while (manifest := run_export(settings, out, options)).export_id is not None:
        assert manifest.counts.considered <= 7
        runs += 1
    assert runs >= 3
    expected = expected_documents(fresh_pg, sc, options)
    for fmt in ("jsonl.zst", "parquet"):
        assert content_hash(as_docs(exported(out, fmt))) == content_hash(expected)


def test_a_folder_of_another_document_format_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    settings, out = settings_for(sqlite_url, tmp_path), tmp_path / "out"
    seed_scenario(sqlite_url)
    first = run_export(settings, out)
    assert first.export_id is not None
    path = out / "exports" / first.export_id / "manifest.json"
    path.write_text(path.read_text().replace(first.document_format, "forager.midtrain/1"))
    with session_scope(sqlite_url) as s:
        add_episode(s, add_repo(s, "https://github.com/acme/later"), random_actions(random.Random(1), 3))
    with pytest.raises(ExportError, match=r"forager\.midtrain/1 documents"):
        run_export(settings, out)
