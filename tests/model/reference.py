"""An independent reading of what an export must hold: the store's trajectories, the filters
and CWM's dedup rule re-implemented plainly (Python sets, exact Jaccard, no hashing), and the
shards read back without the dataset code."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import zstandard
from sqlalchemy import select

from forager.agent.prompts import system_prompt, task_prompt
from forager.store.db import session_scope
from forager.store.episodes import EpisodeStore
from forager.store.models import EnvironmentRow, EpisodeRow, SnapshotRow, SourceRow, TaskRow
from model.export import ExportOptions
from tests.model.store_seed import Scenario

Doc = list[tuple[str, str]]  # (role, content) per message


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = text.split()
    if not words:
        return set()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set[Any], b: set[Any]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def expected_documents(url: str, sc: Scenario, options: ExportOptions, since_id: int = 0) -> dict[int, Doc]:
    """Episode id -> messages, for what an export with `options` must write."""
    store = EpisodeStore(url)
    with session_scope(url) as s:
        rows = s.execute(
            select(EpisodeRow.id, SourceRow.spec, SnapshotRow.name, TaskRow.problem_statement)
            .join(EnvironmentRow, EnvironmentRow.id == EpisodeRow.environment_id)
            .join(SnapshotRow, SnapshotRow.id == EnvironmentRow.snapshot_id)
            .join(SourceRow, SourceRow.id == SnapshotRow.source_id)
            .outerjoin(TaskRow, TaskRow.id == EpisodeRow.task_id)
            .where(EpisodeRow.id > since_id)
            .order_by(EpisodeRow.id)
        ).all()
    kept: dict[str, list[set[tuple[str, ...]]]] = {}
    out: dict[int, Doc] = {}
    for episode_id, spec, name, problem in rows:
        t = store.trajectory(episode_id)
        if t.status != "finished":
            continue
        if options.exit_statuses is not None and t.exit_status not in options.exit_statuses:
            continue
        if options.policy_kinds is not None and t.policy.kind not in options.policy_kinds:
            continue
        if options.only_successful and not (t.reward or 0) > 0:
            continue
        if options.decontaminate and episode_id in sc.decontaminated:
            continue
        if len(t.steps) < options.min_steps:
            continue
        if options.dedup:
            sh = shingles("\n".join(step.raw_output for step in t.steps))
            repo = kept.setdefault(sc.repo_key[spec], [])
            if any(jaccard(sh, other) >= options.dedup_threshold for other in repo):
                continue
            repo.append(sh)
        doc: Doc = [("system", system_prompt())] if options.include_system_prompt else []
        doc.append(("user", task_prompt(name, "3.11", "pytest -q", problem or None)))
        for step in t.steps:
            doc += [("assistant", step.raw_output), ("observation", step.observation.text)]
        out[episode_id] = doc
    return out


def content_hash(docs: dict[int, Doc]) -> str:
    return hashlib.sha256(json.dumps(sorted(docs.items())).encode()).hexdigest()


def document_sha256(messages: list[dict[str, Any]]) -> str:
    """`content_sha256` as the document format defines it, written out plainly: an index line
    `<role> <loss 0|1> <UTF-8 bytes>` per message, an empty line, then the texts."""
    index = b"".join(
        f"{m['role']} {1 if m['loss'] else 0} {len(m['content'].encode('utf-8'))}\n".encode()
        for m in messages
    )
    body = b"".join(m["content"].encode("utf-8") for m in messages)
    return hashlib.sha256(index + b"\n" + body).hexdigest()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, "rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as raw:
        return [json.loads(line) for line in io.TextIOWrapper(raw, encoding="utf-8")]


def read_parquet(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def exported(root: Path, fmt: str) -> dict[int, dict[str, Any]]:
    """Every document of every committed episode export under root, by episode id; a document
    seen twice fails the test."""
    out: dict[int, dict[str, Any]] = {}
    for manifest_path in sorted((root / "exports").glob("episodes-*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        for shard in manifest["shards"]:
            if shard["format"] != fmt:
                continue
            path = manifest_path.parent / shard["path"]
            docs = read_jsonl(path) if fmt == "jsonl.zst" else read_parquet(path)
            assert len(docs) == shard["documents"]
            for doc in docs:
                assert doc["episode_id"] not in out, f"episode {doc['episode_id']} exported twice"
                out[doc["episode_id"]] = doc
    return out


def as_docs(docs: dict[int, dict[str, Any]]) -> dict[int, Doc]:
    return {i: [(m["role"], m["content"]) for m in d["messages"]] for i, d in docs.items()}
