"""The mid-training document of one episode (`forager.midtrain/2`).

One JSON object per episode: its provenance, and `messages` in order: the system prompt, the
task prompt (role `user`), then per step the raw model output (role `assistant`) and what the
environment showed back (role `observation`). CWM trains on actions *and* observations, with
the loss masked on a random half of the observations; `loss` carries that per message, seeded
by (mask_seed, episode id) so re-exports agree.

Documents are built column-wise from Arrow arrays (model.export.columns); `Document` is the
validated contract for readers. Format 2 differs from 1 only in `content_sha256` (see
`content_sha256`: 1 hashed the messages' JSON, which needed a Python object per message).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from model.export.minhash import fmix64

DOCUMENT_FORMAT = "forager.midtrain/2"
TRACE_FORMAT = "forager.trace-text/2"
Role = Literal["system", "user", "assistant", "observation", "trace"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str
    loss: bool


class Document(BaseModel):
    """One episode as a training document (what each JSONL line and Parquet row holds)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.midtrain/2"] = "forager.midtrain/2"
    episode_id: int
    repo: str
    source: str
    split: str
    environment_id: int
    task_id: int | None
    task_kind: str | None
    task_family: str | None
    policy_kind: str | None
    policy_model: str | None
    exit_status: str | None
    reward: float | None
    steps: int
    content_sha256: str
    messages: list[Message]


class TraceDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.trace-text/2"] = "forager.trace-text/2"
    trace_id: int
    repo: str | None
    split: str
    content_sha256: str
    messages: list[Message]


def content_sha256(messages: Sequence[dict[str, Any]]) -> str:
    """What `content_sha256` is: the sha256 of an index of the messages, then their text.

    The index is one line per message, `<role> <loss 0|1> <UTF-8 length of content>`, each
    ended by a newline, then an empty line; the contents follow, end to end, in UTF-8. The
    lengths make it unambiguous, and it needs no JSON: the export computes it straight from
    the Arrow buffers the Parquet shards are written from (see model.export.columns), a
    reader from any message list, in any language.
    """
    h = hashlib.sha256()
    encoded = [str(m["content"]).encode() for m in messages]
    index = "".join(
        f"{m['role']} {int(bool(m['loss']))} {len(e)}\n" for m, e in zip(messages, encoded, strict=True)
    )
    h.update(index.encode() + b"\n")
    for e in encoded:
        h.update(e)
    return h.hexdigest()


def observation_keep(
    episode_ids: Sequence[int] | npt.NDArray[np.int64],
    counts: Sequence[int] | npt.NDArray[np.int64],
    fraction: float,
    seed: int,
) -> npt.NDArray[np.bool_]:
    """Per observation of a batch of episodes (episode after episode): True when its loss is
    kept.

    An episode of n observations gets floor(fraction * n) or that plus one masked, chosen at
    random so the expected share is `fraction`; the masked ones are those whose seeded hash
    of (seed, episode id, step index) is smallest. Random, yet the same for an episode in
    whichever batch it is exported. Vectorized over a batch of episodes.
    """
    counts_a = np.asarray(counts, dtype=np.int64)
    n_total = int(counts_a.sum())
    if n_total == 0:
        return np.zeros(0, dtype=np.bool_)
    starts = np.concatenate(([0], np.cumsum(counts_a)[:-1]))
    episode = np.repeat(np.arange(len(counts_a)), counts_a)
    index = np.arange(n_total) - np.repeat(starts, counts_a)
    salt = fmix64(np.array([seed & (2**64 - 1)], dtype=np.uint64))
    episode_hash = fmix64(np.asarray(episode_ids, dtype=np.int64).astype(np.uint64) ^ salt)
    with np.errstate(over="ignore"):
        keys = fmix64(np.repeat(episode_hash, counts_a) + index.astype(np.uint64))
    order = np.lexsort((keys, episode))
    rank = np.empty(n_total, dtype=np.int64)
    rank[order] = index  # order keeps episodes together: position j holds episode-local rank index[j]
    u = fmix64(episode_hash) >> np.uint64(11)  # 53 random bits -> uniform in [0, 1)
    masked = np.floor(fraction * counts_a + u.astype(np.float64) / 2.0**53).astype(np.int64)
    keep: npt.NDArray[np.bool_] = rank >= np.repeat(masked, counts_a)
    return keep


def observation_masks(
    episode_ids: Sequence[int], counts: Sequence[int], fraction: float, seed: int
) -> list[list[bool]]:
    """`observation_keep`, as one list per episode."""
    keep = observation_keep(episode_ids, counts, fraction, seed).tolist()
    bounds = np.concatenate(([0], np.cumsum(np.asarray(counts, dtype=np.int64)))).tolist()
    return [keep[bounds[i] : bounds[i + 1]] for i in range(len(counts))]


def observation_mask(episode_id: int, n: int, fraction: float, seed: int) -> list[bool]:
    return observation_masks([episode_id], [n], fraction, seed)[0]
