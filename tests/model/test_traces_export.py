"""Trace shards from rendered CWM traces, beside the episode exports, read by the dataset."""

from __future__ import annotations

from pathlib import Path

from forager.traces.models import TraceEvent
from forager.traces.render import FRAME_SEP, TRACE_CONTEXT_START, render_event
from model.dataset import ByteTokenizer, DatasetConfig, PackedDataset, list_shards
from model.export.layout import ExportDir
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
        items, out, TraceExportOptions(shard_max_documents=8, parquet_row_group_documents=3)
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
