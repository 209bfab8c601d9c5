"""The paper library: its Chroma gateway, BM25 index and facets, write journal and consistency
checks behind one `Library` object (`core.py`), and reading files into it (`files.py`)."""
from assistant.library.connection import EmbedderMismatchWarning
from assistant.library.core import Library, TextProgress, WriteReport, open_library, open_library_with
from assistant.library.files import IngestReport, forget_files, ingest_paths, parse_paths

__all__ = [
    "EmbedderMismatchWarning",
    "IngestReport",
    "Library",
    "TextProgress",
    "WriteReport",
    "forget_files",
    "ingest_paths",
    "open_library",
    "open_library_with",
    "parse_paths",
]
