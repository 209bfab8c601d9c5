"""Pick a parser by content (the extension only breaks ties)."""
from __future__ import annotations

import importlib
from types import ModuleType

from assistant.errors import InputError
from assistant.ingest.base import RawFile

# Each module defines FORMAT: str, sniff(raw) -> float in [0, 1], parse(raw) -> ParseResult.
PARSER_MODULES = [
    "assistant.ingest.abstract_list",
    "assistant.ingest.author_page",
    "assistant.ingest.arxiv_listing",
    "assistant.ingest.arxiv_jsonl",
    "assistant.ingest.table",
    "assistant.ingest.bibtex",
    "assistant.ingest.ris",
    "assistant.ingest.csl_json",
    "assistant.ingest.pdf",
]


def parsers() -> list[ModuleType]:
    loaded = []
    for name in PARSER_MODULES:
        try:
            loaded.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not a parser not written yet
                raise
    return loaded


def detect(raw: RawFile) -> ModuleType:
    if not raw.data.strip():
        raise InputError(raw.name, "empty file")
    if not raw.data.startswith(b"%PDF-"):
        raw.text  # raises a precise InputError for undecodable text (e.g. broken UTF-16)
    scored = [(module.sniff(raw), module) for module in parsers()]
    score, best = max(scored, key=lambda pair: pair[0])
    if score <= 0:
        if raw.looks_binary():
            raise InputError(raw.name, "binary file in no supported format (PDF, Zotero database, text, JSONL, CSV/TSV, BibTeX, RIS, CSL-JSON)")
        raise InputError(raw.name, "no recognisable paper entries (not an abstract list, author page, arXiv listing, JSONL, CSV/TSV, BibTeX, RIS, CSL-JSON or PDF)")
    return best
