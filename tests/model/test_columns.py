"""Documents built column-wise: messages in order, loss flags, and the content hash."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from model.export.columns import StepColumns, document_table, episode_messages, string_array
from model.export.partition import EPISODE_SCHEMA
from tests.model.reference import document_sha256


def test_messages_interleave_prompts_actions_and_observations_with_their_loss() -> None:
    steps = StepColumns.from_rows(
        [(1, "a0", "o0"), (1, "a1", "o1"), (2, "b0", "p0"), (3, "c0", "q0"), (3, "c1", "q1"), (3, "c2", "")]
    )
    keep = np.array([True, False, True, False, True, True])
    # Episodes 3 and 1 (in that order), episode 2 dropped: rows are taken where they lie.
    messages = episode_messages("SYS", ["task 3", "task 1"], steps, np.array([3, 0]), np.array([3, 2]), keep)
    contents = messages.contents.to_pylist()
    assert messages.offsets.tolist() == [0, 8, 14]
    assert contents == [
        "SYS",
        "task 3",
        "c0",
        "q0",
        "c1",
        "q1",
        "c2",
        "",
        "SYS",
        "task 1",
        "a0",
        "o0",
        "a1",
        "o1",
    ]
    assert messages.roles.tolist() == [0, 1, 2, 3, 2, 3, 2, 3, 0, 1, 2, 3, 2, 3]
    assert messages.losses.tolist() == [
        False, True, True, False, True, True, True, True,
        False, True, True, True, True, False,
    ]  # fmt: skip


def test_content_sha256_from_buffers_equals_the_definition() -> None:
    steps = StepColumns.from_rows([(7, "déjà vu", "日本語\n"), (7, "", "x" * 5000)])
    messages = episode_messages(
        None, ["prompt"], steps, np.array([0]), np.array([2]), np.array([True, False])
    )
    fields = {
        "format": ["forager.midtrain/2"],
        "episode_id": [7],
        "repo": ["r"],
        "source": ["s"],
        "split": ["train"],
        "environment_id": [1],
        "task_id": [None],
        "task_kind": [None],
        "task_family": [None],
        "policy_kind": [None],
        "policy_model": [None],
        "exit_status": [None],
        "reward": [None],
        "steps": [2],
    }
    docs = document_table(EPISODE_SCHEMA, fields, messages, np.array([2]))
    row = docs.table.to_pylist()[0]
    assert row["content_sha256"] == document_sha256(row["messages"])
    assert docs.text_bytes.tolist() == [sum(len(m["content"].encode()) for m in row["messages"])]
    assert docs.messages.tolist() == [5]


def test_text_that_is_not_unicode_is_replaced() -> None:
    arr = string_array(["ok", "bad \ud800 half"])
    assert arr.to_pylist() == ["ok", "bad \ufffd half"]
    assert arr.type == pa.string()
