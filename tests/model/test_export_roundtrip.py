"""What an export holds is exactly what the store holds after the filters (PostgreSQL, SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.export import Document, ExportOptions, read_manifest, run_export
from model.export.documents import content_sha256
from model.export.options import ALL_FORMATS
from model.export.shards import file_sha256
from tests.model.conftest import settings_for
from tests.model.reference import as_docs, content_hash, document_sha256, expected_documents, exported
from tests.model.store_seed import seed_scenario


def _check_roundtrip(url: str, tmp_path: Path, options: ExportOptions) -> None:
    sc = seed_scenario(url)
    out = tmp_path / "out"
    manifest = run_export(settings_for(url, tmp_path), out, options)
    expected = expected_documents(url, sc, options)

    assert manifest.export_id == "episodes-000001"
    assert manifest.counts.exported == len(expected) > 0
    assert manifest.counts.considered == len(sc.all_ids) - len(sc.running)
    assert manifest.counts.steps_exported == sum((len(d) - 2) // 2 for d in expected.values())
    assert {s.format for s in manifest.shards} == set(options.formats)
    for fmt in options.formats:
        docs = exported(out, fmt)
        assert set(docs) == set(expected), fmt
        assert content_hash(as_docs(docs)) == content_hash(expected), fmt
        for doc in docs.values():
            Document.model_validate(doc)
            assert doc["content_sha256"] == document_sha256(doc["messages"])
            assert doc["content_sha256"] == content_sha256(doc["messages"])
    # The manifest describes the files as they are.
    on_disk = read_manifest(out / "exports" / manifest.export_id)
    assert on_disk == manifest
    for shard in manifest.shards:
        path = out / "exports" / manifest.export_id / shard.path
        assert path.stat().st_size == shard.bytes
        assert file_sha256(path) == shard.sha256
    assert sum(s.documents for s in manifest.shards if s.format == "parquet") == len(expected)
    assert manifest.watermark is not None and manifest.watermark.pending == sorted(sc.running)


def test_postgres_export_equals_store_after_filters(fresh_pg: str, tmp_path: Path) -> None:
    options = ExportOptions(
        exit_statuses=["submitted", "step_limit", "env_error"],
        policy_kinds=["openai", "explorer"],
        batch_episodes=7,  # several cursor batches, and bulk step loads per batch
        shard_max_documents=9,  # several shards per split
        parquet_row_group_documents=4,
        validation_fraction=0.3,
        formats=list(ALL_FORMATS),
    )
    _check_roundtrip(fresh_pg, tmp_path, options)


def test_sqlite_export_equals_store_after_filters(sqlite_url: str, tmp_path: Path) -> None:
    options = ExportOptions(batch_episodes=5, min_steps=2)
    assert options.formats == ["parquet"]  # the default: Parquet only
    _check_roundtrip(sqlite_url, tmp_path, options)


@pytest.mark.parametrize(
    ("options", "dropped"),
    [
        (ExportOptions(), {"decontaminated", "near_duplicate", "min_steps"}),
        (ExportOptions(dedup=False, decontaminate=False, min_steps=0), set()),
        (ExportOptions(only_successful=True, policy_kinds=["openai"]), None),
    ],
)
def test_filters_drop_what_they_say(
    sqlite_url: str, tmp_path: Path, options: ExportOptions, dropped: set[str] | None
) -> None:
    sc = seed_scenario(sqlite_url)
    manifest = run_export(settings_for(sqlite_url, tmp_path), tmp_path / "out", options)
    expected = expected_documents(sqlite_url, sc, options)
    assert set(exported(tmp_path / "out", "parquet")) == set(expected)
    if dropped is not None:
        assert set(manifest.counts.dropped) == dropped
    if options.dedup:
        assert not sc.near_copies & set(expected)
        assert sc.kept_similar <= set(expected)
    if options.only_successful:
        docs = exported(tmp_path / "out", "parquet").values()
        assert all(d["reward"] > 0 and d["policy_kind"] == "openai" for d in docs)
    else:
        # Failed episodes are kept by default: CWM trains on them.
        assert any(d["reward"] == 0 for d in exported(tmp_path / "out", "parquet").values())
