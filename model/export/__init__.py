"""Export: the store's finished episodes -> sharded mid-training documents (see `run_export`)."""

from model.export.documents import DOCUMENT_FORMAT, Document, Message
from model.export.manifest import ExportCounts, ExportManifest, ShardInfo, Watermark, read_manifest
from model.export.options import ExportOptions
from model.export.progress import ExportProgress, ProgressSink
from model.export.run import run_export

__all__ = [
    "DOCUMENT_FORMAT",
    "Document",
    "ExportCounts",
    "ExportManifest",
    "ExportOptions",
    "ExportProgress",
    "Message",
    "ProgressSink",
    "ShardInfo",
    "Watermark",
    "read_manifest",
    "run_export",
]
