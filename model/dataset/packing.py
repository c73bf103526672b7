"""Documents -> token arrays with loss masks, and packing them into fixed-length sequences.

Documents longer than a sequence are cut into sequence-long pieces; the pieces shorter than a
sequence are packed best-fit-decreasing into sequences, so a document is cut only where it
must be. Labels come from the whole document: the last position of a piece predicts the
first token of the next piece, so no target is lost at a cut. Position ids restart at each
piece and `document_ids` numbers the pieces of a sequence (-1 on padding): attention can be
kept within a piece from either.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from model.dataset.chat_format import NO_ROLE, ROLE_IDS, ChatFormat
from model.dataset.shard_reader import MessageTuple
from model.dataset.tokenizer import Tokenizer
from model.errors import DatasetError

IGNORE = -100
Packing = Literal["best_fit", "concat"]


@dataclass
class TokenizedDoc:
    ids: npt.NDArray[np.int32]
    loss: npt.NDArray[np.bool_]  # token is a target (predicted from the tokens before it)
    roles: npt.NDArray[np.int8]


@dataclass
class Piece:
    doc: TokenizedDoc
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass
class PackedSequence:
    input_ids: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    loss_mask: npt.NDArray[np.bool_]  # labels[i] is a target
    position_ids: npt.NDArray[np.int64]
    document_ids: npt.NDArray[np.int64]
    roles: npt.NDArray[np.int8]

    @property
    def real_tokens(self) -> int:
        return int((self.document_ids >= 0).sum())


class DocumentTokenizer:
    def __init__(self, tokenizer: Tokenizer, chat: ChatFormat) -> None:
        self.tokenizer = tokenizer
        self.chat = chat
        self.bos = tokenizer.special_id(chat.bos) if chat.bos else None
        self.eos = tokenizer.special_id(chat.eos)
        self.pad = tokenizer.special_id(chat.pad)
        self.end = tokenizer.special_id(chat.end_of_message)
        self.markers = {role: tokenizer.special_id(tok) for role, tok in chat.role_markers.items()}
        self.trained = set(chat.train_roles)

    def __call__(self, messages: Sequence[MessageTuple]) -> TokenizedDoc:
        encoded = self.tokenizer.encode_batch([content for _, content, _ in messages])
        ids: list[npt.NDArray[np.int32]] = []
        loss: list[npt.NDArray[np.bool_]] = []
        roles: list[npt.NDArray[np.int8]] = []
        if self.bos is not None:
            ids.append(np.array([self.bos], dtype=np.int32))
            loss.append(np.zeros(1, dtype=np.bool_))
            roles.append(np.full(1, NO_ROLE, dtype=np.int8))
        for (role, _, flag), content in zip(messages, encoded, strict=True):
            marker = self.markers.get(role)
            if marker is None:
                raise DatasetError(f"the chat format has no marker for role {role!r}")
            n = len(content)
            ids.append(np.concatenate(([marker], content, [self.end])).astype(np.int32))
            trained = bool(flag) and role in self.trained
            mask = np.full(n + 2, trained, dtype=np.bool_)
            mask[0] = False  # the marker: known from the format, never a target
            loss.append(mask)
            roles.append(np.full(n + 2, ROLE_IDS.get(role, NO_ROLE), dtype=np.int8))
        ids.append(np.array([self.eos], dtype=np.int32))
        loss.append(np.ones(1, dtype=np.bool_))
        roles.append(np.full(1, NO_ROLE, dtype=np.int8))
        return TokenizedDoc(np.concatenate(ids), np.concatenate(loss), np.concatenate(roles))


def cut(doc: TokenizedDoc, seq_len: int) -> list[Piece]:
    n = len(doc.ids)
    return [Piece(doc, a, min(a + seq_len, n)) for a in range(0, n, seq_len)]


def pack(docs: Sequence[TokenizedDoc], seq_len: int, pad_id: int, mode: Packing) -> list[PackedSequence]:
    """Pack one block of documents; deterministic for the same documents in the same order."""
    pieces = [p for d in docs for p in cut(d, seq_len)]
    bins = _concat(pieces, seq_len) if mode == "concat" else _best_fit_decreasing(pieces, seq_len)
    return [_sequence(b, seq_len, pad_id) for b in bins]


def _concat(pieces: list[Piece], seq_len: int) -> list[list[Piece]]:
    # Fill sequences in document order, cutting pieces at sequence boundaries.
    bins: list[list[Piece]] = [[]]
    free = seq_len
    for piece in pieces:
        start = piece.start
        while start < piece.stop:
            take = min(free, piece.stop - start)
            bins[-1].append(Piece(piece.doc, start, start + take))
            start += take
            free -= take
            if free == 0:
                bins.append([])
                free = seq_len
    return [b for b in bins if b]


def _best_fit_decreasing(pieces: list[Piece], seq_len: int) -> list[list[Piece]]:
    bins: list[list[Piece]] = []
    # (free space, bin index), sorted: the bin with the least free space that still fits.
    open_bins: list[tuple[int, int]] = []
    order = sorted(range(len(pieces)), key=lambda i: (-pieces[i].size, i))
    for i in order:
        piece = pieces[i]
        if piece.size == seq_len:
            bins.append([piece])
            continue
        at = bisect.bisect_left(open_bins, (piece.size, -1))
        if at < len(open_bins):
            free, b = open_bins.pop(at)
            bins[b].append(piece)
            free -= piece.size
        else:
            b = len(bins)
            bins.append([piece])
            free = seq_len - piece.size
        if free > 0:
            bisect.insort(open_bins, (free, b))
    return bins


def _sequence(pieces: list[Piece], seq_len: int, pad_id: int) -> PackedSequence:
    input_ids = np.full(seq_len, pad_id, dtype=np.int64)
    labels = np.full(seq_len, IGNORE, dtype=np.int64)
    position_ids = np.zeros(seq_len, dtype=np.int64)
    document_ids = np.full(seq_len, -1, dtype=np.int64)
    roles = np.full(seq_len, NO_ROLE, dtype=np.int8)
    at = 0
    for k, p in enumerate(pieces):
        n = p.size
        doc = p.doc
        input_ids[at : at + n] = doc.ids[p.start : p.stop]
        roles[at : at + n] = doc.roles[p.start : p.stop]
        # Targets: the next token of the *document* (it may open the next piece), if trained.
        nxt = min(p.stop + 1, len(doc.ids))
        target = doc.ids[p.start + 1 : nxt]
        trained = doc.loss[p.start + 1 : nxt]
        labels[at : at + len(target)] = np.where(trained, target, IGNORE)
        position_ids[at : at + n] = np.arange(n)
        document_ids[at : at + n] = k
        at += n
    return PackedSequence(input_ids, labels, labels != IGNORE, position_ids, document_ids, roles)
