"""The torch dataset: loss masks token by token, packing, sharding, resuming."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from forager.store.db import session_scope
from model.dataset import (
    IGNORE,
    ROLE_IDS,
    ByteTokenizer,
    ChatFormat,
    DatasetConfig,
    HFTokenizer,
    PackedDataset,
    list_shards,
)
from model.export import ExportOptions, run_export
from tests.model.conftest import settings_for
from tests.model.reference import read_parquet
from tests.model.store_seed import add_episode, add_repo, random_actions

SPECIALS = [
    "<|pad|>",
    "<|bos|>",
    "<|eos|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|trace|>",
    "<|end|>",
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real export (SQLite store) of 40 episodes over 8 repositories, small row groups."""
    tmp = tmp_path_factory.mktemp("dataset")
    url = f"sqlite:///{tmp / 'store.db'}"
    rng = random.Random(0)
    with session_scope(url) as s:
        repos = [add_repo(s, f"https://github.com/org/r{i}") for i in range(8)]
        for k in range(40):
            n = rng.randint(1, 6)
            obs = [
                f"out {k}.{i}: " + "x" * rng.randint(0, 400) + (" <|end|> <|eos|>" if i == 0 else "")
                for i in range(n)
            ]
            add_episode(s, repos[k % 8], random_actions(rng, n, words=rng.randint(5, 60)), observations=obs)
    options = ExportOptions(validation_fraction=0.0, parquet_row_group_documents=3, shard_max_documents=16)
    run_export(settings_for(url, tmp), tmp / "out", options)
    return tmp / "out"


def _docs(export_dir: Path) -> list[list[dict]]:
    return [row["messages"] for s in list_shards(export_dir) for row in read_parquet(s.path)]


def _expected_tokens(
    doc: list[dict], tok: ByteTokenizer, chat: ChatFormat
) -> tuple[list[int], list[bool], list[int]]:
    """Independent rendering: ids, whether each token is a target, role id of each token."""
    ids, loss, roles = [tok.special_id("<|bos|>")], [False], [0]
    for m in doc:
        body = list(m["content"].encode())
        trained = m["loss"] and m["role"] in chat.train_roles
        ids += [tok.special_id(f"<|{m['role']}|>"), *body, tok.special_id("<|end|>")]
        loss += [False] + [trained] * (len(body) + 1)
        roles += [ROLE_IDS[m["role"]]] * (len(body) + 2)
    return [*ids, tok.special_id("<|eos|>")], [*loss, True], [*roles, 0]


def test_loss_masks_line_up_with_roles_token_by_token(export_dir: Path) -> None:
    tok, chat = ByteTokenizer(), ChatFormat()
    config = DatasetConfig(seq_len=1000, packing="concat", shuffle=False, block_documents=1000)
    samples = list(PackedDataset(list_shards(export_dir), config))
    real = torch.cat([s["document_ids"] >= 0 for s in samples])
    stream = {k: torch.cat([s[k] for s in samples])[real].tolist() for k in ("input_ids", "labels", "roles")}

    ids: list[int] = []
    labels: list[int] = []
    roles: list[int] = []
    for doc in _docs(export_dir):
        d_ids, d_loss, d_roles = _expected_tokens(doc, tok, chat)
        ids += d_ids
        roles += d_roles
        # Position i predicts token i+1 of the same document when that token is a target.
        labels += [d_ids[i + 1] if d_loss[i + 1] else IGNORE for i in range(len(d_ids) - 1)] + [IGNORE]
    assert stream["input_ids"] == ids
    assert stream["roles"] == roles
    assert stream["labels"] == labels
    # The per-message flags from the export reached the targets: masked observations are not trained.
    obs_targets = sum(
        1
        for lab, r in zip(stream["labels"][:-1], stream["roles"][1:], strict=True)
        if lab != IGNORE and r == ROLE_IDS["observation"]
    )
    obs_tokens = sum(1 for r in stream["roles"] if r == ROLE_IDS["observation"])
    assert 0 < obs_targets < obs_tokens
    # Special-token text inside an observation stayed text: one <|end|> per message, no more.
    end = tok.special_id("<|end|>")
    assert stream["input_ids"].count(end) == sum(len(d) for d in _docs(export_dir))


def test_best_fit_packing_keeps_every_target_and_fills_sequences(export_dir: Path) -> None:
    shards = list_shards(export_dir)
    concat = list(
        PackedDataset(
            shards, DatasetConfig(seq_len=512, packing="concat", shuffle=False, block_documents=1000)
        )
    )
    best = list(
        PackedDataset(
            shards, DatasetConfig(seq_len=512, packing="best_fit", shuffle=False, block_documents=1000)
        )
    )
    count = lambda samples: Counter(t for s in samples for t in s["labels"].tolist() if t != IGNORE)  # noqa: E731
    assert count(best) == count(concat)
    for s in best:
        # Positions restart per piece; a piece is one contiguous run of document_ids.
        doc_ids = s["document_ids"].tolist()
        for k in set(doc_ids) - {-1}:
            where = [i for i, d in enumerate(doc_ids) if d == k]
            assert where == list(range(where[0], where[-1] + 1))
            assert s["position_ids"][where].tolist() == list(range(len(where)))
        assert not s["loss_mask"][s["document_ids"] < 0].any()
    real = sum(int((s["document_ids"] >= 0).sum()) for s in best)
    assert real / (len(best) * 512) > 0.9


def test_hf_tokenizer_file(export_dir: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    corpus = [m["content"] for doc in _docs(export_dir) for m in doc]
    hf.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=600, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))

    tok = HFTokenizer(path)
    config = DatasetConfig(
        seq_len=4096, packing="concat", shuffle=False, tokenizer=path, block_documents=1000
    )
    samples = list(PackedDataset(list_shards(export_dir), config))
    ids = torch.cat([s["input_ids"][s["document_ids"] >= 0] for s in samples]).tolist()
    roles = torch.cat([s["roles"][s["document_ids"] >= 0] for s in samples]).tolist()
    docs = _docs(export_dir)
    assert ids.count(tok.special_id("<|end|>")) == sum(len(d) for d in docs)
    assert ids.count(tok.special_id("<|eos|>")) == len(docs)  # the "<|eos|>" in observations is text
    # Decoding each assistant span gives back the raw model outputs, in order.
    spans, current = [], []
    for t, r in zip(ids, roles, strict=True):
        if r == ROLE_IDS["assistant"]:
            current.append(t)
        elif current:
            spans.append(current)
            current = []
    assistant = [m["content"] for d in docs for m in d if m["role"] == "assistant"]
    assert [tok.decode(s[1:-1]) for s in spans] == assistant


def _run(ds: PackedDataset, limit: int | None = None) -> list[dict[str, torch.Tensor]]:
    out = []
    for sample in ds:
        out.append(sample)
        if limit is not None and len(out) == limit:
            break
    return out


@pytest.mark.parametrize("cut", [1, 5, 13, 30])
def test_resume_from_a_saved_position_yields_the_same_remaining_sequence(export_dir: Path, cut: int) -> None:
    shards = list_shards(export_dir)
    config = DatasetConfig(seq_len=256, block_documents=4, shuffle=True, seed=3, epochs=2)
    full = _run(PackedDataset(shards, config))
    assert len(full) > 30
    first = PackedDataset(shards, config)
    head = _run(first, limit=cut)
    state = first.state_dict()
    resumed = PackedDataset(shards, config)
    resumed.load_state_dict(state)
    tail = _run(resumed)
    assert len(head) + len(tail) == len(full)
    for a, b in zip(head + tail, full, strict=True):
        assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["labels"], b["labels"])


def test_resume_with_dataloader_workers(export_dir: Path) -> None:
    shards = list_shards(export_dir)
    config = DatasetConfig(seq_len=256, block_documents=3, shuffle=False)

    def batches(ds: PackedDataset, limit: int | None = None) -> list[dict[str, torch.Tensor]]:
        out = []
        for batch in DataLoader(ds, batch_size=2, num_workers=2):
            ds.update_state(batch)
            out.append(batch)
            if limit is not None and len(out) == limit:
                break
        return out

    def per_consumer(bs: list[dict[str, torch.Tensor]]) -> dict[int, list[list[int]]]:
        out: dict[int, list[list[int]]] = {}
        for b in bs:
            for c, ids in zip(b["consumer"].tolist(), b["input_ids"].tolist(), strict=True):
                out.setdefault(c, []).append(ids)
        return out

    full = per_consumer(batches(PackedDataset(shards, config)))
    first = PackedDataset(shards, config)
    head = per_consumer(batches(first, limit=5))
    resumed = PackedDataset(shards, config)
    resumed.load_state_dict(first.state_dict())
    tail = per_consumer(batches(resumed))
    assert set(full) == {0, 1}
    for c in full:
        assert head.get(c, []) + tail.get(c, []) == full[c]


@pytest.mark.parametrize(("world", "workers", "mode"), [(2, 2, "units"), (4, 5, "documents")])
def test_sharding_gives_each_document_to_exactly_one_consumer(
    export_dir: Path, world: int, workers: int, mode: str
) -> None:
    shards = list_shards(export_dir)
    consumers = world * workers
    # Units (row groups) dealt out when there are enough of them, else documents by index.
    assert (len(PackedDataset(shards).units) >= consumers) == (mode == "units")
    seen: list[str] = []
    for rank in range(world):
        ds = PackedDataset(shards, DatasetConfig(seed=1), rank=rank, world_size=world)
        for worker in range(workers):
            consumer = rank * workers + worker
            for doc in ds._documents(ds._plan(0, consumer, consumers), skip=0):
                seen.append(next(c for r, c, _ in doc if r == "assistant"))
    first_actions = [next(m["content"] for m in d if m["role"] == "assistant") for d in _docs(export_dir)]
    assert sorted(seen) == sorted(first_actions)


def test_saved_position_needs_the_same_consumers(export_dir: Path) -> None:
    from model.errors import DatasetError

    ds = PackedDataset(list_shards(export_dir), DatasetConfig(seq_len=256))
    _run(ds, limit=2)
    other = PackedDataset(list_shards(export_dir), DatasetConfig(seq_len=256))
    state = ds.state_dict()
    state["num_consumers"] = 4
    other.load_state_dict(state)
    with pytest.raises(DatasetError, match="same world size"):
        next(iter(other))
