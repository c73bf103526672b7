"""Sharded writers: Parquet and zstd-compressed JSON lines, cut at the same documents.

Each split has its own sequence of shards; shard N of a split holds the same documents in
every format written, so a reader may pick either. A shard is closed after `max_documents`
documents or `max_bytes` of message text, and its size and sha256 go into the manifest.
Documents come as Arrow tables (model.export.columns).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from model.export.columns import MESSAGE_TYPE, POOL, DocumentTable
from model.export.manifest import ShardInfo
from model.export.options import ShardFormat

__all__ = ["MESSAGE_TYPE", "HashingFile", "SplitShards", "file_sha256"]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class HashingFile:
    """A file being written, with the size and sha256 of what went into it (so a shard is not
    read back to be hashed). Enough of a binary file for zstandard and pyarrow."""

    def __init__(self, path: Path) -> None:
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._sha = hashlib.sha256()
        self.size = 0

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def write(self, data: bytes) -> int:
        self._sha.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        """Close, once the data is on disk: shards are synced as they are finished, in their
        writers' threads, so the commit's own sync of the folder finds little left to do."""
        if self._fh.closed:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        finally:
            self._fh.close()

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class ShardFileWriter(Protocol):
    """One shard file of one format; `file` holds its size and sha256 once closed."""

    path: Path
    file: HashingFile

    def write(self, docs: pa.Table) -> None: ...

    def finish(self) -> Future[None]:
        """Write what is buffered and close the file, in the background where it can."""
        ...

    def close(self) -> None: ...


class JsonlZstdWriter:
    def __init__(self, path: Path, level: int) -> None:
        self.path = path
        self.file = HashingFile(path)
        # threads=-1: zstd compresses in its own threads beside the Python thread. (A
        # single-threaded compressor fed from a helper thread took as much CPU over whole
        # exports: 6.1-6.4 against 5.9-6.0 CPU-s in 4 alternating runs, within the noise.)
        self._zw = zstandard.ZstdCompressor(level=level, threads=-1).stream_writer(
            cast("IO[bytes]", self.file), closefd=False
        )

    def write(self, docs: pa.Table) -> None:
        # One JSON object per row, keys in the schema's order. (On request only: the Parquet
        # shards are what the dataset reads.)
        dumps = orjson.dumps
        self._zw.write(b"".join(dumps(row) + b"\n" for row in docs.to_pylist()))

    def finish(self) -> Future[None]:
        done: Future[None] = Future()
        try:
            self.close()
            done.set_result(None)
        except Exception as exc:
            done.set_exception(exc)
        return done

    def close(self) -> None:
        try:
            self._zw.close()
        finally:
            self.file.close()


_SINK_BUFFER = 4 << 20


class ParquetWriter:
    """Buffers documents and writes row groups of `row_group` documents or so.

    Encoding and compressing runs in a helper thread (pyarrow releases the GIL), while the
    export thread builds the next documents; at most one write is in flight.
    """

    def __init__(
        self, path: Path, schema: pa.Schema, row_group: int, metadata: dict[str, str], level: int
    ) -> None:
        self.path = path
        self.schema = schema.with_metadata(metadata)
        self.row_group = row_group
        self.file = HashingFile(path)
        # Buffered in Arrow (the Parquet writer makes a small write per page header and page):
        # each write into the Python file takes the GIL from the export's threads, and a
        # compression thread waiting for it stalls the export.
        self._sink = pa.output_stream(self.file, buffer_size=_SINK_BUFFER)
        self._writer = pq.ParquetWriter(
            self._sink,
            self.schema,
            compression="zstd",
            compression_level=level,
            use_dictionary=["role"],
            # Statistics of the scalar columns only: min/max of every message text would
            # compare hundreds of megabytes to tell a reader nothing useful.
            write_statistics=[f.name for f in schema if f.name != "messages"],
            memory_pool=POOL,  # glibc's allocator, as for the documents (model.export.columns)
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forager-parquet")
        self._pending: Future[None] | None = None
        self._buffered: list[pa.Table] = []
        self._rows = 0

    def write(self, docs: pa.Table) -> None:
        self._buffered.append(docs.replace_schema_metadata(self.schema.metadata))
        self._rows += docs.num_rows
        if self._rows >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        table = pa.concat_tables(self._buffered)  # no copy: the row groups are cut from the chunks
        self._wait()
        self._pending = self._pool.submit(self._writer.write_table, table, self.row_group)
        self._buffered, self._rows = [], 0

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def finish(self) -> Future[None]:
        """The last row groups and the file's footer, written and synced in the writer's
        thread; the returned future fails if any write of this file failed."""
        self._flush()
        pending, self._pending = self._pending, None

        def finish_file() -> None:
            try:
                if pending is not None:
                    pending.result()  # done already (one thread): a failed write fails the shard
            finally:
                try:
                    self._writer.close()
                    self._sink.close()  # flushes into the file, and closes (and syncs) it
                finally:
                    self.file.close()

        done = self._pool.submit(finish_file)
        self._pool.shutdown(wait=False)
        return done

    def close(self) -> None:
        try:
            self.finish().result()
        finally:
            self._pool.shutdown(wait=True)


class _Shard:
    def __init__(self, index: int, files: list[tuple[ShardFormat, ShardFileWriter]]) -> None:
        self.index = index
        self.files = files
        self.documents = 0
        self.messages = 0
        self.steps = 0
        self.uncompressed = 0


class SplitShards:
    """The shard sequence of one split, in every requested format.

    With `lanes` > 1, that many shards are open at once and each `write` (a batch of
    documents) goes to the next in turn: each shard file compresses in its own thread, and
    compression is the slowest stage of an export (one thread of it kept the rest waiting).
    Shards are numbered in the order they are opened.
    """

    def __init__(
        self,
        folder: Path,
        split: str,
        formats: list[ShardFormat],
        schema: pa.Schema,
        metadata: dict[str, str],
        max_documents: int,
        max_bytes: int,
        row_group: int,
        zstd_level: int,
        name_prefix: str = "",
        lanes: int = 1,
    ) -> None:
        self.folder = folder
        self.name_prefix = name_prefix
        self.split = split
        self.formats = formats
        self.schema = schema
        self.metadata = metadata
        self.max_documents = max_documents
        self.max_bytes = max_bytes
        self.row_group = row_group
        self.zstd_level = zstd_level
        self.closed: list[ShardInfo] = []
        self._lanes: list[_Shard | None] = [None] * max(1, lanes)
        self._turn = 0
        self._next = 0
        # Shards being finished in their writers' threads, with each file's future.
        self._closing: list[tuple[_Shard, list[tuple[ShardFormat, ShardFileWriter, Future[None]]]]] = []

    def _open(self) -> _Shard:
        files: list[tuple[ShardFormat, ShardFileWriter]] = []
        stem = f"{self.name_prefix}{self.split}-{self._next:05d}"
        for fmt in self.formats:
            path = self.folder / f"{stem}.{fmt}"
            writer: ShardFileWriter
            if fmt == "jsonl.zst":
                writer = JsonlZstdWriter(path, self.zstd_level)
            else:
                writer = ParquetWriter(path, self.schema, self.row_group, self.metadata, self.zstd_level)
            files.append((fmt, writer))
        shard = _Shard(self._next, files)
        self._next += 1
        return shard

    def write(self, docs: DocumentTable) -> None:
        """Append documents (to the next lane's shard), closing a shard after
        `max_documents` documents or once its text reaches `max_bytes` (with the document
        that crosses it)."""
        lane = self._turn
        self._turn = (lane + 1) % len(self._lanes)
        start, n = 0, len(docs)
        while start < n:
            shard = self._lanes[lane] or self._open()
            self._lanes[lane] = shard
            room = min(self.max_documents - shard.documents, n - start)
            filled = shard.uncompressed + np.cumsum(docs.text_bytes[start : start + room])
            over = np.flatnonzero(filled >= self.max_bytes)
            stop = start + (int(over[0]) + 1 if over.size else room)
            part = docs.slice(start, stop)
            for _, writer in shard.files:
                writer.write(part.table)
            shard.documents += stop - start
            shard.messages += int(part.messages.sum())
            shard.steps += int(part.steps.sum())
            shard.uncompressed += int(part.text_bytes.sum())
            if shard.documents >= self.max_documents or shard.uncompressed >= self.max_bytes:
                self._close_shard(lane)
            start = stop

    def _close_shard(self, lane: int) -> None:
        shard, self._lanes[lane] = self._lanes[lane], None
        if shard is not None:
            self._closing.append((shard, [(fmt, writer, writer.finish()) for fmt, writer in shard.files]))

    def _record(self) -> None:
        """Wait for the shards being finished and describe them."""
        closing, self._closing = self._closing, []
        for shard, files in closing:
            for fmt, writer, done in files:
                done.result()
                self.closed.append(
                    ShardInfo(
                        path=writer.path.name,
                        format=fmt,
                        split=self.split,
                        index=shard.index,
                        documents=shard.documents,
                        messages=shard.messages,
                        steps=shard.steps,
                        bytes=writer.file.size,
                        uncompressed_bytes=shard.uncompressed,
                        sha256=writer.file.hexdigest(),
                    )
                )

    def finish(self) -> None:
        """Start finishing the open shards (all splits' can then finish together)."""
        for lane in range(len(self._lanes)):
            self._close_shard(lane)

    def close(self) -> list[ShardInfo]:
        self.finish()
        self._record()
        return sorted(self.closed, key=lambda info: (info.index, info.format))

    def abort(self) -> None:
        """Close open files after a failure; the staging folder is removed by the caller."""
        shards, self._lanes = self._lanes, [None] * len(self._lanes)
        closing, self._closing = self._closing, []
        # The export failed already: its error is the one to report.
        for shard in shards:
            for _, writer in shard.files if shard else []:
                with contextlib.suppress(Exception):
                    writer.close()
        for _, files in closing:
            for _, _, done in files:
                with contextlib.suppress(Exception):
                    done.result()
