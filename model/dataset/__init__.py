"""The torch dataset over export shards: tokenization, packing, sharding, resumable position."""

from model.dataset.chat_format import ROLE_IDS, ChatFormat
from model.dataset.iterable import DatasetConfig, PackedDataset
from model.dataset.packing import IGNORE, PackedSequence, pack
from model.dataset.shard_reader import ShardRef, list_shards
from model.dataset.tokenizer import ByteTokenizer, HFTokenizer, Tokenizer, load_tokenizer

__all__ = [
    "IGNORE",
    "ROLE_IDS",
    "ByteTokenizer",
    "ChatFormat",
    "DatasetConfig",
    "HFTokenizer",
    "PackedDataset",
    "PackedSequence",
    "ShardRef",
    "Tokenizer",
    "list_shards",
    "load_tokenizer",
    "pack",
]
