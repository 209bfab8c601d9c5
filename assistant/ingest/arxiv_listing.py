"""An arXiv listing export: entries separated by blank lines.

    The Llama 3 Herd of Models                         (first entry only: title and full author line)
    Abhimanyu Dubey, Abhinav Jauhri, ...

    The abstract.

    12 pages, 5 figures                                (optional comment)

    arXiv:2304.10190 - doi: 10.1145/3530190.3534809
    Created: 2023-04-20

A comment may mention `arXiv:2201.01144`; only a line that STARTS with `arXiv:` is an id line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.names import is_plausible_name, split_names
from assistant.ingest.text_utils import (
    Block,
    add_outcome,
    blocks,
    clean_space,
    fraction,
    numbered_lines,
    parse_date,
    sniff_lines,
    source,
)
from assistant.papers import Paper, normalise_arxiv_id, normalise_doi

FORMAT = "arxiv_listing"

ID_LINE = re.compile(r"^arXiv:\s*(?P<id>\S+)(?P<rest>.*)$", re.I)
DOI_PART = re.compile(r"\bdoi:\s*(?P<doi>\S+)", re.I)
CREATED_LINE = re.compile(r"^Created:\s*(?P<date>.+?)\s*$", re.I)
MAX_TITLE_CHARS = 400


@dataclass
class Entry:
    """The blocks before one id block, and the id block itself."""

    text_blocks: list[Block] = field(default_factory=list)
    id_block: Block | None = None


@dataclass
class IdFields:
    arxiv_id: str
    doi: str | None = None
    date: str | None = None


@dataclass
class Head:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    truncated: bool = False


def is_id_block(block: Block) -> bool:
    return bool(ID_LINE.match(block.texts[0]))


def _is_created_block(block: Block) -> bool:
    return bool(CREATED_LINE.match(block.texts[0]))


def sniff(raw: RawFile) -> float:
    lines = sniff_lines(raw)
    ids = sum(1 for text in lines if ID_LINE.match(text))
    created = sum(1 for text in lines if CREATED_LINE.match(text))
    if ids and created:
        return 0.95
    return 0.3 if ids else 0.0


def _entries(all_blocks: list[Block]) -> list[Entry]:
    entries = [Entry()]
    for block in all_blocks:
        if is_id_block(block):
            entries[-1].id_block = block
            entries.append(Entry())
        elif _is_created_block(block) and len(entries) > 1 and not entries[-1].text_blocks:
            previous = entries[-2].id_block
            assert previous is not None
            previous.lines.extend(block.lines)  # "Created:" after a blank line still belongs to the id
        else:
            entries[-1].text_blocks.append(block)
    if not entries[-1].text_blocks and entries[-1].id_block is None:
        entries.pop()
    return entries


def _looks_like_head(title: str, authors: str) -> bool:
    """A short title line followed by a line of comma-separated person names."""
    names, _ = split_names(authors)
    plausible = sum(1 for name in names if is_plausible_name(name, min_words=1, max_words=5))
    return len(title) <= MAX_TITLE_CHARS and bool(names) and fraction(plausible, len(names)) >= 0.8


def _split_head(text_blocks: list[Block]) -> tuple[Head, list[Block]]:
    """Title and authors when the entry opens with them (first entry only), and the other blocks."""
    first = text_blocks[0]
    if len(first.lines) < 2 or not _looks_like_head(first.texts[0], first.texts[1]):
        return Head(), text_blocks
    authors, truncated = split_names(first.texts[1])
    head = Head(title=clean_space(first.texts[0]), authors=authors, truncated=truncated)
    rest = [Block(first.lines[2:])] if len(first.lines) > 2 else []
    return head, rest + text_blocks[1:]


def _id_fields(block: Block) -> IdFields | str:
    """arXiv id, DOI and date from an id block, or a problem message."""
    match = ID_LINE.match(block.texts[0])
    assert match is not None
    arxiv_id = normalise_arxiv_id(match["id"])
    if arxiv_id is None:
        return f"not an arXiv id: {match['id']}"
    doi = DOI_PART.search(match["rest"])
    fields = IdFields(arxiv_id=arxiv_id, doi=normalise_doi(doi["doi"]) if doi else None)
    for text in block.texts[1:]:
        created = CREATED_LINE.match(text)
        if created:
            fields.date = parse_date(created["date"])
            if fields.date is None:
                return f"not a date: {created['date']}"
    return fields


def _paper(raw: RawFile, index: int, entry: Entry) -> Paper | Problem:
    if entry.id_block is None:
        return Problem(raw.name, "entry has no 'arXiv:' id line after it", entry.text_blocks[0].start)
    if not entry.text_blocks:
        return Problem(raw.name, "arXiv id line with no abstract before it", entry.id_block.start)
    ids = _id_fields(entry.id_block)
    if isinstance(ids, str):
        return Problem(raw.name, ids, entry.id_block.start)
    head, rest = _split_head(entry.text_blocks)
    if not rest:
        return Problem(raw.name, "entry has a title and authors but no abstract", entry.text_blocks[0].start)
    abstract, *comment_blocks = rest
    comments = " ".join(clean_space(" ".join(b.texts)) for b in comment_blocks)
    return Paper(
        title=head.title,
        authors=head.authors,
        authors_truncated=head.truncated,
        date=ids.date,
        arxiv_id=ids.arxiv_id,
        doi=ids.doi,
        comments=comments,
        abstract=clean_space(" ".join(abstract.texts)),
        versions=[ids.date] if ids.date else [],
        sources=[source(raw, index, entry.text_blocks[0].start, FORMAT)],
    )


def parse(raw: RawFile) -> ParseResult:
    result = ParseResult(path=raw.name, format=FORMAT)
    for index, entry in enumerate(_entries(blocks(numbered_lines(raw.text)))):
        add_outcome(result, _paper(raw, index, entry))
    return result
