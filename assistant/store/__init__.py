"""The paper library: its Chroma gateway, BM25 index and facets, write journal and consistency
checks behind one `Store` object (`core.py`), and reading files into it (`files.py`)."""
from assistant.store.connection import EmbedderMismatchWarning
from assistant.store.core import Store, TextProgress, WriteReport, open_store, open_store_with
from assistant.store.files import IngestReport, forget_files, ingest_paths, parse_paths

__all__ = [
    "EmbedderMismatchWarning",
    "IngestReport",
    "Store",
    "TextProgress",
    "WriteReport",
    "forget_files",
    "ingest_paths",
    "open_store",
    "open_store_with",
    "parse_paths",
]
