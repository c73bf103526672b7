"""Documents built column-wise: an export's step texts never become Python strings.

The steps of a batch arrive as Arrow string arrays (`StepColumns`, in episode and step order);
a split's documents are assembled from them with numpy index arithmetic and Arrow's `take`
(one copy of the text), and each document's `content_sha256` is hashed straight from the
Arrow buffers. The Parquet shards are written from the same arrays. Building a Python string,
dict and JSON text per message instead cost most of an export's time (a Python thread is the
one core an export has for it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from model.errors import ExportError

I64 = npt.NDArray[np.int64]

# glibc's allocator for the arrays built per batch and the Parquet writers' buffers: mimalloc
# (pyarrow's default) hands freed buffers back to the kernel, which then zeroes fresh pages
# for the next batch. (model/__init__.py makes it the default pool too, when it can.)
POOL = pa.system_memory_pool()

ROLES = ("system", "user", "assistant", "observation", "trace")
SYSTEM, USER, ASSISTANT, OBSERVATION, TRACE = range(len(ROLES))
_ROLE_NAMES = pa.array(ROLES, type=pa.string())
_LOSS_NAMES = pa.array(["0", "1"], type=pa.string())

MESSAGE_TYPE = pa.struct(
    [
        pa.field("role", pa.string(), nullable=False),
        pa.field("content", pa.string(), nullable=False),
        pa.field("loss", pa.bool_(), nullable=False),
    ]
)
MESSAGES_TYPE = pa.list_(pa.field("item", MESSAGE_TYPE, nullable=False))


def string_array(values: Sequence[str]) -> pa.StringArray:
    """Python strings as an Arrow string array; text that is not valid Unicode (lone
    surrogates, which SQLite can hand back) gets U+FFFD in their place."""
    try:
        return pa.array(values, type=pa.string(), memory_pool=POOL)
    except (UnicodeEncodeError, pa.ArrowException):
        # Through UTF-16, where a lone surrogate is one invalid unit: one U+FFFD for each.
        clean = [v.encode("utf-16", "surrogatepass").decode("utf-16", "replace") for v in values]
        return pa.array(clean, type=pa.string(), memory_pool=POOL)


def _offsets(array: pa.Array) -> I64:
    """The value offsets of a string array (relative to its data buffer) as int64."""
    raw = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1 + array.offset)
    return raw[array.offset :].astype(np.int64)


@dataclass(slots=True)
class StepColumns:
    """Steps in episode and step order: the episode id of each, its action and observation."""

    episode_ids: I64
    actions: pa.StringArray
    observations: pa.StringArray

    @classmethod
    def empty(cls) -> StepColumns:
        none = pa.array([], type=pa.string())
        return cls(np.zeros(0, dtype=np.int64), none, none)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, str, str]]) -> StepColumns:
        """From (episode id, action, observation) rows, as SQLAlchemy returns them."""
        rows = rows if isinstance(rows, list) else list(rows)
        if not rows:
            return cls.empty()
        ids, actions, observations = zip(*rows, strict=True)
        return cls(np.asarray(ids, dtype=np.int64), string_array(actions), string_array(observations))

    @classmethod
    def from_table(cls, table: pa.Table) -> StepColumns:
        """From a table of (episode_id, raw_output, observation), as ADBC streams it."""
        if table.num_rows == 0:
            return cls.empty()
        table = table.combine_chunks(memory_pool=POOL)

        def text(i: int) -> pa.StringArray:
            col = table.column(i).chunk(0)
            return col if col.type == pa.string() else col.cast(pa.string(), memory_pool=POOL)

        ids = table.column(0).chunk(0).to_numpy().astype(np.int64, copy=False)
        return cls(ids, text(1), text(2))

    def __len__(self) -> int:
        return len(self.episode_ids)

    def of_episodes(self, ids: Sequence[int]) -> tuple[StepColumns, I64]:
        """The steps of these episodes (ids ascending) and how many each has."""
        wanted = np.asarray(ids, dtype=np.int64)
        if len(self.episode_ids) and np.any(np.diff(self.episode_ids) < 0):
            raise ExportError("step rows are not grouped by episode")
        lo = np.searchsorted(self.episode_ids, wanted, side="left")
        hi = np.searchsorted(self.episode_ids, wanted, side="right")
        counts = (hi - lo).astype(np.int64)
        if int(counts.sum()) == len(self.episode_ids):
            return self, counts
        mask = pa.array(np.isin(self.episode_ids, wanted))
        return (
            StepColumns(
                self.episode_ids[mask.to_numpy(zero_copy_only=False)],
                pc.filter(self.actions, mask, memory_pool=POOL),
                pc.filter(self.observations, mask, memory_pool=POOL),
            ),
            counts,
        )

    def action_bytes(self) -> tuple[npt.NDArray[np.uint8], I64]:
        """The actions' UTF-8 bytes end to end, and the offset of each action in them."""
        offsets = _offsets(self.actions)
        data = self.actions.buffers()[2]
        if data is None:
            return np.zeros(0, dtype=np.uint8), offsets - offsets[0]
        whole = np.frombuffer(data, dtype=np.uint8)
        return whole[offsets[0] : offsets[-1]], offsets - offsets[0]


@dataclass(slots=True)
class Messages:
    """The messages of some documents, flat: role code, content and loss per message, and
    where each document's messages start (`offsets`, one more than the documents)."""

    roles: npt.NDArray[np.int8]
    contents: pa.StringArray
    losses: npt.NDArray[np.bool_]
    offsets: I64


def episode_messages(
    system: str | None,
    prompts: Sequence[str],
    steps: StepColumns,
    starts: I64,
    counts: I64,
    observation_keep: npt.NDArray[np.bool_],
) -> Messages:
    """Per document: the system prompt (when given, loss off: it is the same everywhere), the
    task prompt, then action/observation pairs of steps `starts[d]`..`+counts[d]` of `steps`,
    the observation's loss from `observation_keep` (one flag per row of `steps`)."""
    docs = len(prompts)
    h = 2 if system is not None else 1
    head_texts = [t for p in prompts for t in (system, p)] if system is not None else list(prompts)
    head_roles = np.array([SYSTEM, USER] if system is not None else [USER], dtype=np.int8)
    head_loss = np.array([False, True] if system is not None else [True], dtype=np.bool_)

    per_doc = h + 2 * counts
    offsets = np.zeros(docs + 1, dtype=np.int64)
    np.cumsum(per_doc, out=offsets[1:])
    total = int(offsets[-1])
    doc = np.repeat(np.arange(docs, dtype=np.int64), per_doc)
    pos = np.arange(total, dtype=np.int64) - offsets[:-1][doc]
    head = pos < h
    rel = pos - h
    is_obs = ~head & ((rel & 1) == 1)
    step_row = starts[doc] + (rel >> 1)  # meaningless (unused) on head messages

    # One pool of text: the heads, then the batch's actions, then its observations.
    n_heads, n_steps = len(head_texts), len(steps)
    index = np.where(head, doc * h + pos, n_heads + np.where(is_obs, n_steps, 0) + step_row)
    pool = pa.concat_arrays([string_array(head_texts), steps.actions, steps.observations], memory_pool=POOL)
    contents = pc.take(pool, pa.array(index, type=pa.int64()), memory_pool=POOL)

    roles = np.where(head, head_roles[np.minimum(pos, h - 1)], np.where(is_obs, OBSERVATION, ASSISTANT))
    losses = np.ones(total, dtype=np.bool_)
    losses[head] = head_loss[pos[head]]
    losses[is_obs] = observation_keep[step_row[is_obs]]
    return Messages(roles.astype(np.int8), contents, losses, offsets)


def single_messages(texts: Sequence[str], role: int) -> Messages:
    """One message per document, with loss on (traces)."""
    n = len(texts)
    return Messages(
        np.full(n, role, dtype=np.int8),
        string_array(texts),
        np.ones(n, dtype=np.bool_),
        np.arange(n + 1, dtype=np.int64),
    )


def content_digests(roles: pa.StringArray, messages: Messages) -> tuple[list[str], I64]:
    """Each document's `content_sha256` (defined in model.export.documents), from the
    buffers, and its text bytes."""
    content_offsets = _offsets(messages.contents)
    lengths = np.diff(content_offsets)
    line = pc.binary_join_element_wise(
        roles,
        pc.take(_LOSS_NAMES, pa.array(messages.losses.astype(np.int8)), memory_pool=POOL),
        pa.array(lengths).cast(pa.string(), memory_pool=POOL),
        " ",
        memory_pool=POOL,
    )
    lines = pc.binary_join_element_wise(line, "", "\n", memory_pool=POOL)
    line_offsets = _offsets(lines)
    line_data = lines.buffers()[2]
    content_data = messages.contents.buffers()[2]
    index_view = memoryview(line_data) if line_data is not None else memoryview(b"")
    content_view = memoryview(content_data) if content_data is not None else memoryview(b"")
    m = messages.offsets.tolist()
    lo, co = line_offsets.tolist(), content_offsets.tolist()
    digests: list[str] = []
    sha256 = hashlib.sha256
    for d in range(len(m) - 1):
        a, b = m[d], m[d + 1]
        h = sha256(index_view[lo[a] : lo[b]])
        h.update(b"\n")
        h.update(content_view[co[a] : co[b]])  # large updates release the GIL
        digests.append(h.hexdigest())
    text = content_offsets[messages.offsets[1:]] - content_offsets[messages.offsets[:-1]]
    return digests, text


@dataclass(slots=True)
class DocumentTable:
    """Documents as an Arrow table in their schema, with per document what shards count."""

    table: pa.Table
    text_bytes: I64
    messages: I64
    steps: I64

    def __len__(self) -> int:
        return self.table.num_rows

    def slice(self, start: int, stop: int) -> DocumentTable:
        return DocumentTable(
            self.table.slice(start, stop - start),
            self.text_bytes[start:stop],
            self.messages[start:stop],
            self.steps[start:stop],
        )


def document_table(
    schema: pa.Schema, fields: dict[str, list[Any]], messages: Messages, steps: I64 | None = None
) -> DocumentTable:
    """The documents' table: `fields` holds every scalar column of `schema` but
    `content_sha256`, which is computed here, and `messages`."""
    roles = pc.take(_ROLE_NAMES, pa.array(messages.roles))
    digests, text = content_digests(roles, messages)
    if int(messages.offsets[-1]) > np.iinfo(np.int32).max:
        raise ExportError("too many messages in one batch of documents")
    items = pa.StructArray.from_arrays(
        [roles, messages.contents, pa.array(messages.losses)], fields=list(MESSAGE_TYPE)
    )
    message_lists = pa.ListArray.from_arrays(
        pa.array(messages.offsets.astype(np.int32)), items, type=MESSAGES_TYPE
    )
    columns: list[pa.Array] = []
    for f in schema:
        if f.name == "messages":
            columns.append(message_lists)
        elif f.name == "content_sha256":
            columns.append(pa.array(digests, type=f.type))
        else:
            columns.append(pa.array(fields[f.name], type=f.type))
    n = len(digests)
    return DocumentTable(
        pa.Table.from_arrays(columns, schema=schema),
        text,
        np.diff(messages.offsets),
        steps if steps is not None else np.zeros(n, dtype=np.int64),
    )
