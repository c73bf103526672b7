"""Parallel export on PostgreSQL: worker processes that own repositories, one snapshot.

The parent holds the export's REPEATABLE READ transaction and exports its snapshot
(`pg_export_snapshot()`); each worker connects and adopts it (`SET TRANSACTION SNAPSHOT`, as
`pg_dump -j` does), so every process reads the same store. The parent streams the new
finished episodes (no steps), applies the filters that need no steps, and hands each survivor
to the worker that owns its repository: a repository's first episode goes to the worker with
the fewest episodes so far, and the rest follow it. A worker reads the steps of its episodes,
applies min_steps and near-dedup, and writes its own shards into the staging folder.

Near-dedup compares episodes of one repository, in id order, against the ones kept before
them; a repository lives in one worker, which sees its episodes in id order, so the workers'
decisions are those of one process over the whole store (with the exact-verification memory
budget split between them: past it, both fall back to the MinHash estimate). The split and
the masks are functions of the repository and the episode. Only shard boundaries depend on
the number of workers; the parent renames the shards into one sequence per split.

Workers start from a fork server (multiprocessing's "forkserver": a clean interpreter forks
them, and the prompts and the dedup state of earlier exports are pickled to them). A plain
fork of the exporting process would copy whatever it holds: a Celery/kombu connection in a
process that enqueued jobs earlier is closed by kombu's after-fork hook in the child, which
reads the parent's socket and hangs. Workers talk to the parent over queues: batches of
episodes in, progress and results out. Any failure,
or an exception from the progress sink, stops them all; the caller removes the staging folder.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.process
import multiprocessing.queues
import os
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from model.errors import ExportError
from model.export.manifest import ShardInfo
from model.export.near_dedup import NearDuplicateIndex
from model.export.options import ExportOptions
from model.export.partition import PartitionResult, PartitionWriter, PreparedBatch, prepare_batch
from model.export.prefetch import Prefetcher
from model.export.prompts import PromptSource
from model.export.splits import TRAIN, VALIDATION
from model.export.step_source import BatchedSteps, snapshot_connection
from model.export.store_reader import EpisodeRecord

_POLL_S = 0.05
START_METHOD: Literal["forkserver"] = "forkserver"


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(options: ExportOptions, dialect: str) -> int:
    """Worker processes for an export: one (in-process) unless PostgreSQL and a fork server
    are there."""
    if dialect != "postgresql":
        return 1  # SQLite: one connection's snapshot cannot be shared with another process
    # A worker keeps about two cores busy: its Python thread and the shard compression in
    # helper threads (besides its PostgreSQL backend).
    n = options.workers if options.workers is not None else min(available_cpus() // 2, 8)
    if n <= 1 or START_METHOD not in mp.get_all_start_methods() or mp.current_process().daemon:
        return 1
    return n


@dataclass(frozen=True)
class WorkerProgress:
    """One batch done by a worker."""

    worker: int
    episodes: int
    steps_read: int
    exported: int
    last_episode_id: int


class WorkerFailed(ExportError):
    """A worker's exception that could not be sent to the parent as it was."""


@dataclass(frozen=True)
class _Context:
    conninfo: str
    snapshot: str
    staging: Path
    options: ExportOptions
    sequence: int
    prompts: PromptSource
    dedup: NearDuplicateIndex | None


class WorkerPool:
    def __init__(
        self,
        workers: int,
        conninfo: str,
        snapshot: str,
        staging: Path,
        options: ExportOptions,
        sequence: int,
        prompts: PromptSource,
        dedup: NearDuplicateIndex | None,
    ) -> None:
        if dedup is not None:
            # The exact-verification budget is the export's, not each worker's.
            dedup.memory_budget //= workers
        ctx = mp.get_context(START_METHOD)
        # The fork server imports the export once (pyarrow, numpy, psycopg: about a second),
        # and every worker forks from it with them loaded. Takes effect when the server starts
        # (the first parallel export of this process); later ones reuse it.
        ctx.set_forkserver_preload([__name__])
        self._outbox: multiprocessing.queues.Queue[tuple[Any, ...]] = ctx.Queue()
        self._inboxes: list[multiprocessing.queues.Queue[list[EpisodeRecord] | None]] = [
            ctx.Queue(maxsize=3) for _ in range(workers)
        ]
        context = _Context(conninfo, snapshot, staging, options, sequence, prompts, dedup)
        self._procs: list[multiprocessing.process.BaseProcess] = []
        self._results: dict[int, PartitionResult] = {}
        self._owner: dict[str, int] = {}
        self._load = [0] * workers
        try:
            for k in range(workers):
                proc = ctx.Process(
                    target=_worker_main,
                    args=(k, context, self._inboxes, self._outbox),
                    name=f"forager-export-{k}",
                    daemon=True,
                )
                proc.start()
                self._procs.append(proc)
        except BaseException:
            self.terminate()
            raise

    @property
    def size(self) -> int:
        return len(self._inboxes)

    def assign(self, repo: str, episodes: int = 1) -> int:
        """The worker that owns a repository (the least loaded one, when it is new)."""
        k = self._owner.get(repo)
        if k is None:
            k = min(range(self.size), key=self._load.__getitem__)
            self._owner[repo] = k
        self._load[k] += episodes
        return k

    def send(
        self, k: int, records: list[EpisodeRecord], on_progress: Callable[[WorkerProgress], None]
    ) -> None:
        """Queue a batch for worker k, handling the workers' messages while its queue is full."""
        while True:
            self.poll(on_progress)
            try:
                self._inboxes[k].put(records, timeout=_POLL_S)
                return
            except queue.Full:
                self._check_alive()

    def poll(self, on_progress: Callable[[WorkerProgress], None], timeout: float = 0.0) -> None:
        """Handle the messages that are there (waiting up to timeout for the first)."""
        block = timeout > 0
        while True:
            try:
                message = self._outbox.get(block, timeout if block else None)
            except queue.Empty:
                return
            block = False
            kind = message[0]
            if kind == "progress":
                on_progress(message[1])
            elif kind == "done":
                self._results[message[1]] = message[2]
            else:
                _, k, payload, trace = message
                raise _worker_error(k, payload, trace)

    def finish(self, on_progress: Callable[[WorkerProgress], None]) -> list[PartitionResult]:
        """Tell the workers no more batches come, and wait for their results."""
        for k in range(self.size):
            self.send_end(k, on_progress)
        while len(self._results) < self.size:
            self.poll(on_progress, timeout=_POLL_S)
            if len(self._results) < self.size:
                self._check_alive()
        for proc in self._procs:
            proc.join()
        return [self._results[k] for k in range(self.size)]

    def send_end(self, k: int, on_progress: Callable[[WorkerProgress], None]) -> None:
        while True:
            self.poll(on_progress)
            try:
                self._inboxes[k].put(None, timeout=_POLL_S)
                return
            except queue.Full:
                self._check_alive()

    def _check_alive(self) -> None:
        for k, proc in enumerate(self._procs):
            if not proc.is_alive() and k not in self._results:
                # Its error message, when it sent one, is in the outbox: raise that one.
                with contextlib.suppress(queue.Empty):
                    while True:
                        message = self._outbox.get(timeout=_POLL_S)
                        if message[0] == "error":
                            raise _worker_error(message[1], message[2], message[3])
                        if message[0] == "done":
                            self._results[message[1]] = message[2]
                if k not in self._results:
                    raise ExportError(f"export worker {k} exited with code {proc.exitcode}")

    def terminate(self) -> None:
        """Stop every worker now (after a failure; their files are in the staging folder)."""
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        queues: list[multiprocessing.queues.Queue[Any]] = [*self._inboxes, self._outbox]
        for q in queues:
            q.close()
            q.cancel_join_thread()


def merge_shards(staging: Path, results: list[PartitionResult]) -> list[ShardInfo]:
    """Rename the workers' shards into one sequence per split (worker by worker, each in its
    own order), as a single partition names them."""
    merged: list[ShardInfo] = []
    for split in (TRAIN, VALIDATION):
        index = 0
        for result in results:
            by_index: dict[int, list[ShardInfo]] = {}
            for info in result.shards:
                if info.split == split:
                    by_index.setdefault(info.index, []).append(info)
            for old in sorted(by_index):
                for info in by_index[old]:
                    name = f"{split}-{index:05d}.{info.format}"
                    os.rename(staging / info.path, staging / name)
                    merged.append(info.model_copy(update={"path": name, "index": index}))
                index += 1
    return merged


def _worker_error(k: int, payload: bytes | None, trace: str) -> BaseException:
    exc: BaseException | None = None
    if payload is not None:
        with contextlib.suppress(Exception):
            exc = pickle.loads(payload)
    if exc is None:
        exc = WorkerFailed(f"export worker {k} failed:\n{trace}")
    else:
        exc.add_note(f"in export worker {k}:\n{trace}")
    return exc


def _worker_main(
    k: int,
    context: _Context,
    inboxes: list[multiprocessing.queues.Queue[list[EpisodeRecord] | None]],
    outbox: multiprocessing.queues.Queue[tuple[Any, ...]],
) -> None:
    writer: PartitionWriter | None = None
    inbox = inboxes[k]
    for q in inboxes:
        # Each worker was given the parent's (writing) end of every inbox too: close
        # them, so that the end of the parent is an end of file here, not a read that waits
        # forever for the rest of a batch.
        getattr(q, "_writer").close()  # noqa: B009 - a private attribute (mypy)
    try:
        options = context.options
        with snapshot_connection(context.conninfo, context.snapshot, f"forager-export-{k}") as conn:
            writer = PartitionWriter(
                context.staging,
                options,
                context.sequence,
                context.prompts,
                context.dedup,
                name_prefix=f".w{k}-",
            )
            source = BatchedSteps(conn)
            stop = threading.Event()
            parent = os.getppid()

            def batches() -> Iterator[PreparedBatch]:
                # In the prefetch thread: the next batch's steps and sketches while the
                # main thread writes the previous one. It polls, so that a failure of the
                # main thread (which sets `stop`), or the end of the parent, never leaves it
                # waiting for the parent.
                while not stop.is_set():
                    try:
                        records = inbox.get(timeout=_POLL_S)
                    except queue.Empty:
                        if os.getppid() != parent:
                            raise ExportError("the export's parent process is gone") from None
                        continue
                    if records is None:
                        return
                    steps = source.steps([r.id for r in records], records[-1].id)
                    yield prepare_batch(records, steps, options, context.dedup)

            prepared = Prefetcher(batches())
            try:
                for batch in prepared:
                    before = writer.result.exported
                    writer.add(batch)
                    progress = WorkerProgress(
                        k,
                        len(batch.records),
                        batch.steps_read,
                        writer.result.exported - before,
                        batch.records[-1].id,
                    )
                    outbox.put(("progress", progress))
            finally:
                stop.set()
                prepared.close()
        outbox.put(("done", k, writer.close()))
    except BaseException as exc:
        if writer is not None:
            writer.abort()
        try:
            payload: bytes | None = pickle.dumps(exc)
        except Exception:
            payload = None
        outbox.put(("error", k, payload, traceback.format_exc()))
    finally:
        outbox.close()
        outbox.join_thread()
