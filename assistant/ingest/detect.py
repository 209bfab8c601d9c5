"""Pick a parser by content (the extension only breaks ties)."""
from __future__ import annotations

import assistant.ingest.abstract_list as abstract_list
import assistant.ingest.arxiv_jsonl as arxiv_jsonl
import assistant.ingest.arxiv_listing as arxiv_listing
import assistant.ingest.author_page as author_page
import assistant.ingest.bibtex as bibtex
import assistant.ingest.csl_json as csl_json
import assistant.ingest.pdf as pdf
import assistant.ingest.ris as ris
import assistant.ingest.table as table
from assistant.errors import InputError
from assistant.ingest.base import Parser, RawFile

# The parsers of single files, in the order that breaks a tie between equal sniff scores.
PARSERS: tuple[Parser, ...] = (abstract_list, author_page, arxiv_listing, arxiv_jsonl, table, bibtex, ris, csl_json, pdf)


def detect(raw: RawFile) -> Parser:
    if not raw.data.strip():
        raise InputError(raw.name, "empty file")
    if not raw.data.startswith(b"%PDF-"):
        raw.text  # raises a precise InputError for undecodable text (e.g. broken UTF-16)
    scored = [(parser.sniff(raw), parser) for parser in PARSERS]
    score, best = max(scored, key=lambda pair: pair[0])
    if score <= 0:
        if raw.looks_binary():
            raise InputError(raw.name, "binary file in no supported format (PDF, Zotero database, text, JSONL, CSV/TSV, BibTeX, RIS, CSL-JSON)")
        raise InputError(raw.name, "no recognisable paper entries (not an abstract list, author page, arXiv listing, JSONL, CSV/TSV, BibTeX, RIS, CSL-JSON or PDF)")
    return best
