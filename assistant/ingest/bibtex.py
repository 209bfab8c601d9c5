"""BibTeX exports (Zotero, Google Scholar, arXiv's "Export BibTeX", DBLP), via bibtexparser v2.

Broken entries become Problems with their line numbers; the good entries around them still parse.
"""
from __future__ import annotations

import logging
import re
from typing import Any

import bibtexparser
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry, ParsingFailedBlock

from assistant.errors import InputError
from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import (
    arxiv_id_in,
    arxiv_id_mentioned,
    clean_name,
    clean_text,
    cut_title,
    decode_latex,
    doi_in,
    month_number,
    oversized_field,
    parse_date,
    require_papers,
    split_authors,
    split_list,
    strip_braces,
)
from assistant.papers import Paper, Source, finalise

FORMAT = "bibtex"

ENTRY_TYPES = {
    "article", "inproceedings", "conference", "proceedings", "misc", "book", "inbook", "incollection",
    "phdthesis", "mastersthesis", "techreport", "unpublished", "online", "report", "thesis", "manual",
    "booklet", "preprint", "software", "dataset", "electronic", "www",
}
_BLOCK_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*[{(]", re.M)
_ET_AL_NAMES = {"others", "et al", "et al."}


def sniff(raw: RawFile) -> float:
    head = raw.head_text(65536)
    if head.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return 0.0
    types = [m.group(1).lower() for m in _BLOCK_START.finditer(head)]
    if not types:
        return 0.0
    if any(t in ENTRY_TYPES for t in types):
        return 0.95
    return 0.4 if any(t not in {"string", "comment", "preamble"} for t in types) else 0.2


# ---- field values -------------------------------------------------------------------------------

def latex_text(value: Any) -> str:
    """A field value as plain text: LaTeX accents decoded, protective braces dropped."""
    return clean_text(strip_braces(decode_latex(clean_text(value))))


def bibtex_authors(value: str) -> tuple[list[str], bool]:
    """`Last, First and First Last and others` → (["First Last", ...], truncated)."""
    value = clean_text(value)
    if not value:
        return [], False
    if not re.search(r"\sand\s", value, re.I) and value.count(",") > 1:
        return split_authors(decode_latex(value))  # "A. Smith, B. Jones, C. Li": not BibTeX syntax
    names: list[str] = []
    truncated = False
    for person in split_multiple_persons_names(value):
        if person.strip().lower() in _ET_AL_NAMES:
            truncated = True
            continue
        try:
            name = parse_single_name_into_parts(person, strict=False).merge_first_name_first
        except Exception:  # bibtexparser's name grammar on odd input: keep the name as written
            name = person
        name = clean_name(name)
        if name:
            names.append(name)
    return names, truncated


def entry_date(fields: dict[str, str]) -> str | None:
    date = parse_date(fields.get("date"))
    if date:
        return date
    year = parse_date(fields.get("year"))
    month = month_number(clean_text(fields.get("month", "")).strip("{}"))
    if year and month and len(year) == 4:
        return f"{year}-{month:02d}"
    return year


def entry_arxiv_id(fields: dict[str, str]) -> str | None:
    prefix = fields.get("archiveprefix", "") or fields.get("eprinttype", "")
    eprint = fields.get("eprint", "")
    if eprint and (prefix.lower() == "arxiv" or not prefix):
        found = arxiv_id_in(eprint)
        if found:
            return found
    for key in ("journal", "url", "note", "howpublished", "publisher", "volume"):
        found = arxiv_id_mentioned(fields.get(key, ""))
        if found:
            return found
    return None


def _unenclose(value: Any) -> str:
    """A field value without its outer `"..."` (entries that skipped bibtexparser's middleware)."""
    text = value if isinstance(value, str) else str(value)
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1]
    return text


def entry_paper(entry: Entry, source: Source) -> tuple[Paper, list[str]]:
    """A finalised Paper from one BibTeX entry; and notes."""
    fields = {f.key.lower(): _unenclose(f.value) for f in entry.fields}
    title, notes = cut_title(latex_text(fields.get("title")))
    authors, truncated = bibtex_authors(fields.get("author", ""))
    keywords = split_list(latex_text(fields.get("keywords", "")))
    primary = clean_text(fields.get("primaryclass"))
    paper = Paper(
        title=title,
        abstract=latex_text(fields.get("abstract")),
        authors=authors,
        authors_truncated=truncated,
        date=entry_date(fields),
        arxiv_id=entry_arxiv_id(fields),
        doi=doi_in(fields.get("doi", "")),
        categories=list(dict.fromkeys([c for c in (primary, *keywords) if c])),
        comments=latex_text(fields.get("note"))[:2000],
        sources=[source],
        aliases=[entry.key] if entry.key else [],
        citation_key=entry.key or None,
        venue=latex_text(fields.get("journal") or fields.get("booktitle")),
    )
    return finalise(paper), notes


# ---- the file -----------------------------------------------------------------------------------

def _failed_message(block: ParsingFailedBlock) -> str:
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"duplicate entry key '{block.key}'; both entries kept"
    if isinstance(block, DuplicateFieldKeyBlock):
        return f"field given twice ({', '.join(sorted(block.duplicate_keys))}); the last value used"
    detail = str(block.error).strip()
    return "broken BibTeX entry (unbalanced braces or quotes?)" + (f": {detail[:200]}" if detail else "")


def _line(block: Any) -> int | None:
    start = getattr(block, "start_line", None)
    return start + 1 if isinstance(start, int) else None


def _entries(raw: RawFile, text: str) -> tuple[list[Entry], list[Problem]]:
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its warnings repeat what our Problems say
    try:
        library = bibtexparser.parse_string(text)
    except RecursionError as exc:
        raise InputError(raw.name, "BibTeX nested too deeply") from exc
    except Exception as exc:  # the library's grammar on hostile input: the file as a whole is unusable
        raise InputError(raw.name, f"cannot read as BibTeX ({type(exc).__name__}: {exc})") from exc
    finally:
        logger.setLevel(level)
    entries: list[Entry] = []
    problems: list[Problem] = []
    for block in library.blocks:
        if isinstance(block, Entry):
            entries.append(block)
        elif isinstance(block, ParsingFailedBlock):
            problems.append(Problem(raw.name, _failed_message(block), _line(block)))
            if isinstance(block, (DuplicateBlockKeyBlock, DuplicateFieldKeyBlock)) and isinstance(
                    block.ignore_error_block, Entry):
                entries.append(block.ignore_error_block)
    return entries, problems


def parse(raw: RawFile) -> ParseResult:
    text = raw.text.replace("\x00", "")
    entries, problems = _entries(raw, text)
    result = ParseResult(path=raw.name, format=FORMAT, problems=problems)
    for number, entry in enumerate(entries):
        line = _line(entry)
        values = {f.key: f.value for f in entry.fields if isinstance(f.value, str)}
        too_big = oversized_field(values)
        if too_big:
            result.problems.append(Problem(raw.name, too_big, line))
            continue
        if entry.entry_type.lower() in {"string", "comment", "preamble"}:
            continue
        source = Source(path=raw.name, entry=number, line=line, format=FORMAT)
        paper, notes = entry_paper(entry, source)
        result.problems.extend(Problem(raw.name, note, line) for note in notes)
        if paper.title or paper.abstract:
            result.papers.append(paper)
        else:
            result.problems.append(Problem(raw.name, f"entry '{entry.key}' has no title or abstract", line))
    result.problems.sort(key=lambda p: p.line or 0)
    return require_papers(result)
