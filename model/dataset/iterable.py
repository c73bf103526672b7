"""`PackedDataset`: a torch IterableDataset of packed, loss-masked sequences over export shards.

Sharding. Every (rank, dataloader worker) pair is one *consumer*, numbered
rank * num_workers + worker. Units (Parquet row groups, JSONL shards) are dealt round-robin to
consumers when there are at least as many units as consumers; otherwise every consumer reads
every unit and keeps the documents whose global index is its number modulo the consumer count.
Either way each document goes to exactly one consumer, and the assignment depends only on the
shards, the seed, the epoch and the consumer count.

Resuming. A consumer's documents are packed in blocks of `block_documents`; its position is
(epoch, block, sequences of that block already yielded). Every sample carries its consumer's
position after it, so the training loop knows what it has consumed even with worker processes
prefetching ahead: `update_state(batch)` records it, `state_dict()` returns it, and a dataset
given `load_state_dict(state)` re-packs each consumer's block and skips what was consumed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.utils.data import IterableDataset, get_worker_info

from model.dataset.chat_format import ChatFormat
from model.dataset.packing import DocumentTokenizer, PackedSequence, Packing, pack
from model.dataset.shard_reader import MessageTuple, ShardRef, Unit, read_unit, units_of
from model.dataset.tokenizer import Tokenizer, load_tokenizer
from model.errors import DatasetError

Position = tuple[int, int, int]  # epoch, block, sequences of the block already yielded
STATE_VERSION = 1


class DatasetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq_len: int = Field(default=4096, ge=8)
    packing: Packing = "best_fit"
    block_documents: int = Field(default=128, ge=1, description="documents packed together")
    chat: ChatFormat = Field(default_factory=ChatFormat)
    tokenizer: Path | None = Field(default=None, description="a tokenizers JSON file; bytes when None")
    shuffle: bool = Field(default=True, description="shuffle the unit order each epoch (seeded)")
    seed: int = 0
    epochs: int | None = Field(default=1, ge=1, description="None: repeat forever")


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class PackedDataset(IterableDataset[dict[str, torch.Tensor]]):
    def __init__(
        self,
        shards: Sequence[ShardRef],
        config: DatasetConfig | None = None,
        tokenizer: Tokenizer | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        super().__init__()
        self.shards = list(shards)
        self.config = config or DatasetConfig()
        self.tokenizer = tokenizer or load_tokenizer(self.config.tokenizer)
        dist_rank, dist_world = _distributed()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise DatasetError(f"rank {self.rank} is outside a world of {self.world_size}")
        self._units: list[Unit] | None = None
        self._positions: dict[int, Position] = {}
        self._num_consumers: int | None = None
        self._resume: dict[int, Position] = {}

    # --- sharding -------------------------------------------------------------------------

    @property
    def units(self) -> list[Unit]:
        if self._units is None:
            self._units = units_of(self.shards)
        return self._units

    def _plan(self, epoch: int, consumer: int, consumers: int) -> list[tuple[Unit, list[int] | None]]:
        """This consumer's units in reading order, each with its rows (None: all rows)."""
        units = list(self.units)
        if self.config.shuffle:
            random.Random(self.config.seed * 1_000_003 + epoch).shuffle(units)
        if len(units) >= consumers:
            return [(u, None) for u in units[consumer::consumers]]
        plan: list[tuple[Unit, list[int] | None]] = []
        base = 0
        for u in units:
            first = (consumer - base) % consumers
            rows = list(range(first, u.documents, consumers))
            if rows:
                plan.append((u, rows))
            base += u.documents
        return plan

    def _documents(
        self, plan: list[tuple[Unit, list[int] | None]], skip: int
    ) -> Iterator[list[MessageTuple]]:
        for unit, rows in plan:
            count = unit.documents if rows is None else len(rows)
            if skip >= count:
                skip -= count  # skipped without reading
                continue
            if rows is None:
                rows = list(range(unit.documents))
            wanted = rows[skip:]
            skip = 0
            yield from read_unit(unit, None if len(wanted) == unit.documents else wanted)

    # --- iteration ------------------------------------------------------------------------

    def _consumer(self) -> tuple[int, int]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        return self.rank * workers + worker, self.world_size * workers

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        consumer, consumers = self._consumer()
        if self._resume and self._num_consumers not in (None, consumers):
            raise DatasetError(
                f"the saved position is for {self._num_consumers} consumers (ranks x workers), "
                f"this run has {consumers}: resume with the same world size and num_workers"
            )
        self._num_consumers = consumers
        start = self._resume.get(consumer, (0, 0, 0))
        for position, seq in self._sequences(consumer, consumers, start):
            self._positions[consumer] = position
            yield _sample(seq, consumer, consumers, position)

    def _sequences(
        self, consumer: int, consumers: int, start: Position
    ) -> Iterator[tuple[Position, PackedSequence]]:
        cfg = self.config
        tokenize = DocumentTokenizer(self.tokenizer, cfg.chat)
        epoch, block, done = start
        while cfg.epochs is None or epoch < cfg.epochs:
            docs = self._documents(self._plan(epoch, consumer, consumers), block * cfg.block_documents)
            while batch := list(itertools.islice(docs, cfg.block_documents)):
                packed = pack([tokenize(d) for d in batch], cfg.seq_len, tokenize.pad, cfg.packing)
                for k in range(done, len(packed)):
                    yield (epoch, block, k + 1), packed[k]
                block, done = block + 1, 0
            epoch, block, done = epoch + 1, 0, 0

    # --- resumable position ---------------------------------------------------------------

    def update_state(self, batch: Mapping[str, torch.Tensor]) -> None:
        """Record the position a batch from a DataLoader reached (its worker's last sample)."""
        consumers = batch["consumer"].reshape(-1)
        states = batch["state"].reshape(-1, 3)
        self._num_consumers = int(batch["num_consumers"].reshape(-1)[-1])
        for c, s in zip(consumers.tolist(), states.tolist(), strict=True):
            self._positions[int(c)] = (int(s[0]), int(s[1]), int(s[2]))

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "num_consumers": self._num_consumers,
            "positions": {str(c): list(p) for c, p in sorted(self._positions.items())},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise DatasetError(f"unknown dataset state version {state.get('version')!r}")
        positions = state.get("positions") or {}
        self._resume = {int(c): (int(p[0]), int(p[1]), int(p[2])) for c, p in positions.items()}
        self._positions = dict(self._resume)
        self._num_consumers = state.get("num_consumers")


def _sample(
    seq: PackedSequence, consumer: int, consumers: int, position: Position
) -> dict[str, torch.Tensor]:
    return {
        "input_ids": torch.from_numpy(seq.input_ids),
        "labels": torch.from_numpy(seq.labels),
        "loss_mask": torch.from_numpy(seq.loss_mask),
        "position_ids": torch.from_numpy(seq.position_ids),
        "document_ids": torch.from_numpy(seq.document_ids),
        "roles": torch.from_numpy(seq.roles.astype(np.int64)),
        "consumer": torch.tensor(consumer, dtype=torch.int64),
        "num_consumers": torch.tensor(consumers, dtype=torch.int64),
        "state": torch.tensor(position, dtype=torch.int64),
    }
