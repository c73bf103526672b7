"""Tokenizers behind one protocol: a Hugging Face `tokenizers` JSON file, or bytes.

Message contents are encoded as plain text: special-token strings inside them (an agent may
well print `<|end|>`) stay text. Special tokens are only ever placed by the chat format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from model.errors import DatasetError

Ids = npt.NDArray[np.int32]

BYTE_SPECIALS: tuple[str, ...] = (
    "<|pad|>",
    "<|bos|>",
    "<|eos|>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
    "<|trace|>",
    "<|end|>",
)


class Tokenizer(Protocol):
    @property
    def vocab_size(self) -> int: ...

    def encode_batch(self, texts: Sequence[str]) -> list[Ids]:
        """Token ids of each text, special-token strings included as plain text."""
        ...

    def special_id(self, token: str) -> int:
        """The id of a special token; DatasetError when the vocabulary lacks it."""
        ...

    def decode(self, ids: Sequence[int]) -> str: ...


class ByteTokenizer:
    """UTF-8 bytes are ids 0-255; the special tokens follow. Needs no file and no training."""

    def __init__(self, specials: Sequence[str] = BYTE_SPECIALS) -> None:
        self.specials = {tok: 256 + i for i, tok in enumerate(specials)}
        self._names = {i: tok for tok, i in self.specials.items()}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.specials)

    def encode_batch(self, texts: Sequence[str]) -> list[Ids]:
        return [np.frombuffer(t.encode("utf-8", "replace"), dtype=np.uint8).astype(np.int32) for t in texts]

    def special_id(self, token: str) -> int:
        try:
            return self.specials[token]
        except KeyError:
            raise DatasetError(f"the byte tokenizer has no special token {token!r}") from None

    def decode(self, ids: Sequence[int]) -> str:
        out = bytearray()
        parts: list[str] = []
        for i in ids:
            i = int(i)
            if i < 256:
                out.append(i)
            else:
                parts.append(out.decode("utf-8", "replace"))
                out.clear()
                parts.append(self._names.get(i, "<|unk|>"))
        parts.append(out.decode("utf-8", "replace"))
        return "".join(parts)


class HFTokenizer:
    """A `tokenizer.json` of the Hugging Face `tokenizers` library (no download: a local file)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as _HF

        try:
            self._tok = _HF.from_file(str(path))
        except Exception as exc:  # the Rust side raises plain Exceptions with its message
            raise DatasetError(f"cannot load the tokenizer {path}: {exc}") from exc
        # Special-token strings inside message text are split like any other text.
        self._tok.encode_special_tokens = True
        self.path = path

    @property
    def vocab_size(self) -> int:
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def encode_batch(self, texts: Sequence[str]) -> list[Ids]:
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int32) for e in encodings]

    def special_id(self, token: str) -> int:
        i = self._tok.token_to_id(token)
        if i is None:
            raise DatasetError(
                f"the tokenizer {self.path} has no token {token!r}: give a chat format whose markers it has"
            )
        return int(i)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tok.decode([int(i) for i in ids], skip_special_tokens=False))


def load_tokenizer(path: Path | None) -> Tokenizer:
    return HFTokenizer(path) if path is not None else ByteTokenizer()
