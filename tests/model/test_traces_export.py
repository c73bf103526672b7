"""Trace shards from rendered CWM traces, beside the episode exports, read by the dataset."""

from __future__ import annotations

from pathlib import Path

from forager.traces.models import TraceEvent
from forager.traces.render import FRAME_SEP, TRACE_CONTEXT_START, render_event
from model.dataset import ByteTokenizer, DatasetConfig, PackedDataset, list_shards
from model.export.layout import ExportDir
from model.export.options import ALL_FORMATS
from model.export.shards import file_sha256
from model.export.traces import TraceExportOptions, TraceText, export_trace_shards
from tests.model.reference import read_jsonl, read_parquet


def rendered(a: int, b: int) -> str:
    context = f"def add(a, b):  # << START_OF_TRACE\n    return a + b\n{FRAME_SEP}"
    events = [
        TraceEvent(kind="call", depth=0, line=1, source="def add(a, b):", locals={"a": str(a), "b": str(b)}),
        TraceEvent(kind="line", depth=0, line=2, source="    return a + b", locals={"a": "..", "b": ".."}),
        TraceEvent(kind="return", depth=0, line=2, source="    return a + b", value=str(a + b)),
    ]
    return TRACE_CONTEXT_START + context + "".join(render_event(e) for e in events)


def test_trace_shards_round_trip_and_feed_the_dataset(tmp_path: Path) -> None:
    traces = [rendered(i, i + 1) for i in range(30)]
    items: list[str | TraceText] = [
        *traces[:20],
        *(TraceText(text=t, repo="https://github.com/acme/x") for t in traces[20:]),
    ]
    out = tmp_path / "out"
    manifest = export_trace_shards(
        items,
        out,
        TraceExportOptions(shard_max_documents=8, parquet_row_group_documents=3, formats=list(ALL_FORMATS)),
    )

    assert manifest.kind == "traces" and manifest.export_id == "traces-000001"
    assert manifest.counts.exported == 30 and manifest.watermark is not None
    folder = out / "exports" / manifest.export_id
    texts: dict[str, list[tuple[int, str]]] = {"jsonl.zst": [], "parquet": []}
    for shard in manifest.shards:
        assert file_sha256(folder / shard.path) == shard.sha256
        rows = (
            read_jsonl(folder / shard.path)
            if shard.format == "jsonl.zst"
            else read_parquet(folder / shard.path)
        )
        assert len(rows) == shard.documents
        texts[shard.format] += [(r["trace_id"], r["messages"][0]["content"]) for r in rows]
        assert all(r["messages"][0]["role"] == "trace" and r["messages"][0]["loss"] for r in rows)
    for fmt in texts:
        assert sorted(t for _, t in texts[fmt]) == sorted(traces)

    # The dataset reads trace shards like episode shards: every token of a trace is a target.
    shards = list_shards(out, "train", "parquet", kind="traces")
    ds = PackedDataset(shards, DatasetConfig(seq_len=512, shuffle=False, packing="concat"))
    tok = ByteTokenizer()
    stream = [t for sample in ds for t in sample["input_ids"][sample["document_ids"] >= 0].tolist()]
    assert tok.decode(stream).count(TRACE_CONTEXT_START) == sum(s.documents for s in shards)

    # Episode and trace exports number themselves separately in one folder.
    assert [seq for seq, _ in ExportDir(out).committed("traces")] == [1]
    assert export_trace_shards([], out).export_id is None
    assert export_trace_shards(traces[:2], out).export_id == "traces-000002"


def _traced(n: int) -> str:
    from forager.traces.runtime.forager_tracer import trace_call

    def total(xs: list[int]) -> int:
        s = 0
        for x in xs:
            s += x
        return s

    _, trace = trace_call(total, list(range(n)), roots=[str(Path(__file__).parent)])
    return trace.to_json()


def test_store_traces_export_incrementally_on_their_repository_side(sqlite_url: str, tmp_path: Path) -> None:
    from forager.store.db import session_scope
    from forager.store.models import TraceRow
    from model.export.repos import repo_key
    from model.export.splits import split_of
    from model.export.trace_source import export_store_traces
    from tests.model.store_seed import add_repo

    def add(env_id: int, n: int, status: str = "complete") -> None:
        text = _traced(n)
        with session_scope(sqlite_url) as s:
            s.add(
                TraceRow(
                    environment_id=env_id,
                    test_id=f"t::{n}",
                    function="m.total",
                    file="m.py",
                    first_line=1,
                    status=status,
                    outcome="return",
                    events=3,
                    line_events=1,
                    bytes=len(text),
                    digest=f"{env_id}-{n}",
                    trace=text,
                )
            )

    with session_scope(sqlite_url) as s:
        a = add_repo(s, "https://github.com/acme/widgets")
        b = add_repo(s, "pypi:toolz==0.12.0")
    for n in range(3):
        add(a.environment_id, n)
    add(b.environment_id, 5)
    add(b.environment_id, 6, status="truncated")  # only complete traces are training data
    out = tmp_path / "ds"
    options = TraceExportOptions(validation_fraction=0.5)
    first = export_store_traces(sqlite_url, out, options)
    assert first.export_id == "traces-000001" and first.counts.exported == 4
    rows = [r for shard in first.shards for r in read_parquet(out / "exports" / "traces-000001" / shard.path)]
    assert {s.format for s in first.shards} == {"parquet"}  # the default
    assert sorted(r["repo"] for r in rows) == sorted([repo_key(a.spec)] * 3 + [repo_key(b.spec)])
    for r in rows:  # the same side of the split as the repository's episodes
        assert r["split"] == split_of(r["repo"], 0.5, 0)
        assert r["messages"][0]["content"].startswith(TRACE_CONTEXT_START)
    assert export_store_traces(sqlite_url, out, options).export_id is None  # nothing new
    add(a.environment_id, 9)
    again = export_store_traces(sqlite_url, out, options)
    assert again.export_id == "traces-000002" and again.counts.exported == 1
