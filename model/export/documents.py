"""The mid-training document of one episode (`forager.midtrain/1`).

One JSON object per episode: its provenance, and `messages` in order: the system prompt, the
task prompt (role `user`), then per step the raw model output (role `assistant`) and what the
environment showed back (role `observation`). CWM trains on actions *and* observations, with
the loss masked on a random half of the observations; `loss` carries that per message, seeded
by (mask_seed, episode id) so re-exports agree.

Documents are built as plain dicts on the hot path; `Document` is the validated contract for
readers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict

from model.export.minhash import fmix64

DOCUMENT_FORMAT = "forager.midtrain/1"
TRACE_FORMAT = "forager.trace-text/1"
Role = Literal["system", "user", "assistant", "observation", "trace"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str
    loss: bool


class Document(BaseModel):
    """One episode as a training document (what each JSONL line and Parquet row holds)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["forager.midtrain/1"] = "forager.midtrain/1"
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

    format: Literal["forager.trace-text/1"] = "forager.trace-text/1"
    trace_id: int
    repo: str | None
    split: str
    content_sha256: str
    messages: list[Message]


def messages_json(messages: Sequence[dict[str, Any]]) -> bytes:
    """The messages array as compact UTF-8 JSON: what `content_sha256` is the sha256 of.

    Equal to `json.dumps(messages, separators=(",", ":"), ensure_ascii=False).encode()`;
    orjson writes it several times faster, which keeps the export near the store's read speed.
    """
    return orjson.dumps(messages)


def content_sha256(messages: Sequence[dict[str, Any]]) -> str:
    return hashlib.sha256(messages_json(messages)).hexdigest()


def encode_document(header: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[bytes, str]:
    """One JSON line (`header` fields, `content_sha256`, then `messages`) and its content hash.

    The messages are serialized once and spliced in: they are nearly all of the bytes.
    Text that is not valid Unicode (lone surrogates, possible from SQLite) is replaced first.
    """
    try:
        body = messages_json(messages)
    except orjson.JSONEncodeError:
        for m in messages:
            m["content"] = m["content"].encode("utf-8", "replace").decode("utf-8")
        body = messages_json(messages)
    digest = hashlib.sha256(body).hexdigest()
    head = orjson.dumps({**header, "content_sha256": digest})
    return head[:-1] + b',"messages":' + body + b"}\n", digest


def observation_masks(
    episode_ids: Sequence[int], counts: Sequence[int], fraction: float, seed: int
) -> list[list[bool]]:
    """Per episode and observation: True when its loss is kept.

    An episode of n observations gets floor(fraction * n) or that plus one masked, chosen at
    random so the expected share is `fraction`; the masked ones are those whose seeded hash
    of (seed, episode id, step index) is smallest. Random, yet the same for an episode in
    whichever batch it is exported. Vectorized over a batch of episodes.
    """
    n_total = int(sum(counts))
    if n_total == 0:
        return [[] for _ in counts]
    counts_a = np.asarray(counts, dtype=np.int64)
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
    keep = (rank >= np.repeat(masked, counts_a)).tolist()
    bounds = np.concatenate((starts, [n_total])).tolist()
    return [keep[bounds[i] : bounds[i + 1]] for i in range(len(counts_a))]


def observation_mask(episode_id: int, n: int, fraction: float, seed: int) -> list[bool]:
    return observation_masks([episode_id], [n], fraction, seed)[0]


def build_messages(
    system: str | None,
    prompt: str,
    actions: Sequence[str],
    observations: Sequence[str],
    observation_loss: Sequence[bool],
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if system is not None:
        # The system prompt is the same in every episode: nothing to learn from it.
        messages.append({"role": "system", "content": system, "loss": False})
    messages.append({"role": "user", "content": prompt, "loss": True})
    for action, observation, loss in zip(actions, observations, observation_loss, strict=True):
        messages.append({"role": "assistant", "content": action, "loss": True})
        messages.append({"role": "observation", "content": observation, "loss": loss})
    return messages
