"""Parallel exports (PostgreSQL): worker processes that own repositories, in one exported
snapshot, write exactly the documents one process writes; failures and interruptions leave
nothing behind, no worker included."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from forager.store.db import session_scope
from model.export import ExportManifest, ExportOptions, ExportProgress, run_export
from model.export.layout import ExportDir
from model.export.options import ALL_FORMATS
from model.export.parallel import worker_count
from model.export.prompts import TemplatePrompts
from model.export.shards import file_sha256
from model.export.store_reader import EpisodeRecord
from tests.model.conftest import settings_for
from tests.model.reference import as_docs, content_hash, expected_documents, exported
from tests.model.store_seed import add_episode, add_repo, random_actions, seed_scenario

FORMATS = ALL_FORMATS


class Crash(Exception):
    pass


class CrashAfter:
    def __init__(self, updates: int) -> None:
        self.left = updates

    def update(self, progress: ExportProgress) -> None:
        self.left -= 1
        if self.left <= 0:
            raise Crash(f"stopped after episode {progress.last_episode_id}")


class FailingPrompts(TemplatePrompts):
    """Fails in whichever worker renders the prompt of one episode."""

    def __init__(self, episode_id: int) -> None:
        super().__init__()
        self.episode_id = episode_id

    def task(self, record: EpisodeRecord) -> str:
        if record.id == self.episode_id:
            raise RuntimeError(f"no prompt for episode {record.id}")
        return super().task(record)


def _signatures(root: Path, manifest: ExportManifest) -> list[dict[str, Any]]:
    assert manifest.export_id and manifest.dedup_file
    rows = pq.read_table(root / "exports" / manifest.export_id / manifest.dedup_file).to_pylist()
    return sorted(rows, key=lambda r: (r["repo"], r["episode_id"]))


def _check_shards(root: Path, manifest: ExportManifest) -> None:
    """Shard names and indexes run 0..n-1 per split and format, and describe the files."""
    assert manifest.export_id
    folder = root / "exports" / manifest.export_id
    for split in ("train", "validation"):
        for fmt in FORMATS:
            shards = manifest.shards_of(split, fmt)
            assert [s.index for s in shards] == list(range(len(shards)))
            assert [s.path for s in shards] == [f"{split}-{s.index:05d}.{fmt}" for s in shards]
            for s in shards:
                assert file_sha256(folder / s.path) == s.sha256
                assert (folder / s.path).stat().st_size == s.bytes
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [s.path for s in manifest.shards] + ["manifest.json", "dedup.parquet"]
    )


def test_parallel_export_writes_what_one_process_writes(fresh_pg: str, tmp_path: Path) -> None:
    sc = seed_scenario(fresh_pg, episodes_per_repo=10)
    settings = settings_for(fresh_pg, tmp_path)
    common: dict[str, Any] = {
        "batch_episodes": 7,  # several batches, split between the workers
        "shard_max_documents": 6,  # several shards per split and worker, renamed into one sequence
        "parquet_row_group_documents": 4,
        "validation_fraction": 0.3,
        "formats": list(FORMATS),
    }
    one = run_export(settings, tmp_path / "one", ExportOptions(workers=1, **common))
    three = run_export(settings, tmp_path / "three", ExportOptions(workers=3, **common))

    for fmt in FORMATS:
        single, parallel = exported(tmp_path / "one", fmt), exported(tmp_path / "three", fmt)
        assert single == parallel, fmt  # every field, content hashes and loss flags included
    expected = expected_documents(fresh_pg, sc, ExportOptions())
    assert content_hash(as_docs(exported(tmp_path / "three", "parquet"))) == content_hash(expected)
    assert one.counts == three.counts
    assert one.counts.dropped.get("near_duplicate") == len(sc.near_copies)
    assert one.watermark == three.watermark
    assert _signatures(tmp_path / "one", one) == _signatures(tmp_path / "three", three)
    _check_shards(tmp_path / "three", three)
    assert len(three.shards) > 4  # several shards per split and worker were merged


def test_interrupted_parallel_export_leaves_nothing_then_resumes(fresh_pg: str, tmp_path: Path) -> None:
    sc = seed_scenario(fresh_pg)
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    options = ExportOptions(workers=2, batch_episodes=5, shard_max_documents=4, formats=list(FORMATS))

    with pytest.raises(Crash):
        run_export(settings, out, options, progress=CrashAfter(3))
    assert ExportDir(out).committed() == []
    assert list(out.glob(".staging-*")) == []
    assert multiprocessing.active_children() == []  # the workers were stopped and reaped

    manifest = run_export(settings, out, options)
    assert manifest.sequence == 1
    expected = expected_documents(fresh_pg, sc, options)
    for fmt in FORMATS:
        assert content_hash(as_docs(exported(out, fmt))) == content_hash(expected)


def test_a_failing_worker_fails_the_export(fresh_pg: str, tmp_path: Path) -> None:
    sc = seed_scenario(fresh_pg)
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    victim = max(sc.kept_similar)
    with pytest.raises(RuntimeError, match=f"no prompt for episode {victim}"):
        run_export(settings, out, ExportOptions(workers=2, batch_episodes=4), prompts=FailingPrompts(victim))
    assert ExportDir(out).committed() == []
    assert list(out.glob(".staging-*")) == []
    assert multiprocessing.active_children() == []


def test_parallel_exports_are_incremental_and_dedup_across_them(fresh_pg: str, tmp_path: Path) -> None:
    settings, out = settings_for(fresh_pg, tmp_path), tmp_path / "out"
    options = ExportOptions(workers=2, batch_episodes=3)
    rng = random.Random(11)
    with session_scope(fresh_pg) as s:
        repos = [add_repo(s, f"https://github.com/acme/r{i}") for i in range(5)]
        firsts = {repo.spec: random_actions(rng, 8) for repo in repos}
        old = [add_episode(s, repo, firsts[repo.spec]) for repo in repos]
    first = run_export(settings, out, options)
    assert first.counts.exported == len(old)

    with session_scope(fresh_pg) as s:
        copies = [add_episode(s, repo, [*firsts[repo.spec][:7], *random_actions(rng, 1)]) for repo in repos]
        fresh = [add_episode(s, repo, random_actions(rng, 8)) for repo in repos]
    second = run_export(settings, out, options)
    assert second.counts.considered == len(copies) + len(fresh)
    assert second.counts.dropped == {"near_duplicate": len(copies)}  # against the first export
    assert set(exported(out, "parquet")) == set(old) | set(fresh)


def test_only_postgresql_exports_run_in_parallel() -> None:
    assert worker_count(ExportOptions(workers=4), "postgresql") == 4
    assert worker_count(ExportOptions(workers=4), "sqlite") == 1
    assert worker_count(ExportOptions(workers=1), "postgresql") == 1
    assert worker_count(ExportOptions(), "postgresql") >= 1
