"""JSON Lines and JSON arrays of paper objects; first of all the arXiv metadata snapshot.

arXiv snapshot records have `id`, `authors`/`authors_parsed`, `title`, `abstract`, `categories`,
`doi`, `comments`, `versions` [{version, created}] and `update_date`. Any other object with keys
such as title/abstract/authors/id/year is read through the shared field aliases; its own `id` is
kept in `Paper.aliases`.
"""
from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import (
    arxiv_id_in,
    clean_name,
    clean_text,
    cut_title,
    doi_in,
    map_fields,
    oversized_field,
    paper_from_fields,
    parse_date,
    parsed_name,
    require_papers,
    split_authors,
    split_list,
)
from assistant.papers import Paper, Source, finalise

FORMAT = "arxiv_jsonl"

_PAPER_KEYS = {"title", "abstract", "summary", "authors", "author"}
_ARXIV_KEYS = {"authors_parsed", "versions", "submitter", "update_date", "journal-ref"}

# One record: (line it starts on, the decoded value or None, an error message or None)
Record = tuple[int, Any, str | None]


# ---- sniffing -----------------------------------------------------------------------------------

def sniff(raw: RawFile) -> float:
    head = raw.head_text(65536).lstrip("\ufeff \t\r\n")
    if not head.startswith(("{", "[")):
        return 0.0
    first_line = head.split("\n", 1)[0].strip()
    value = _loads_or_none(first_line)
    if isinstance(value, dict):
        keys = {str(k).lower() for k in value}
        if keys & _ARXIV_KEYS and "id" in keys:
            return 0.98
        return 0.95 if keys & _PAPER_KEYS else 0.6
    if head.startswith("["):
        return 0.9 if any(f'"{k}"' in head[:20000].lower() for k in _PAPER_KEYS) else 0.5
    # A first line that is not a whole JSON value: a pretty-printed object, or a broken first record.
    return 0.8 if any(f'"{k}"' in head.lower() for k in _PAPER_KEYS) else 0.3


def _loads_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# ---- reading records ----------------------------------------------------------------------------

def _decode(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except RecursionError:
        return None, "JSON nested too deeply"
    except ValueError as exc:
        return None, f"invalid JSON ({getattr(exc, 'msg', exc)})"


def _json_lines(text: str) -> Iterator[Record]:
    # Only "\n" ends a record: JSON strings may hold U+2028 and other characters splitlines() breaks on.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("//"):
            continue
        value, error = _decode(line)
        yield number, value, error


def _array_items(text: str, start: int) -> Iterator[Record]:
    """The elements of a JSON array starting at `start`, each with its line number."""
    decoder = json.JSONDecoder()
    pos, line, end = start + 1, text.count("\n", 0, start) + 1, len(text)

    def skip(p: int) -> int:
        while p < end and text[p] in " \t\r\n,":
            p += 1
        return p

    while True:
        nxt = skip(pos)
        line += text.count("\n", pos, nxt)
        pos = nxt
        if pos >= end:
            yield line, None, "JSON array not closed (file truncated?)"
            return
        if text[pos] == "]":
            return
        try:
            value, stop = decoder.raw_decode(text, pos)
        except RecursionError:
            yield line, None, "JSON nested too deeply; rest of the array not read"
            return
        except ValueError as exc:
            yield line, None, f"invalid JSON ({getattr(exc, 'msg', exc)}); rest of the array not read"
            return
        yield line, value, None
        line += text.count("\n", pos, stop)
        pos = stop


def _container_items(value: Any) -> list[Any] | None:
    """`{"papers": [...]}` and the like: the one list of objects inside a wrapper object."""
    if not isinstance(value, dict) or set(map(str.lower, map(str, value))) & _PAPER_KEYS:
        return None
    lists = [v for v in value.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    return lists[0] if len(lists) == 1 else None


def records(text: str) -> Iterator[Record]:
    """Every record of a JSONL file, a JSON array, or one (pretty-printed) JSON document."""
    stripped = text.lstrip("\ufeff \t\r\n")
    offset = len(text) - len(stripped)
    if stripped.startswith("["):
        yield from _array_items(text, offset)
        return
    first_line = stripped.split("\n", 1)[0].strip()
    if _loads_or_none(first_line) is None and "\n" in stripped.strip():
        value, error = _decode(text)  # a pretty-printed document, or JSONL with a bad first line
        if error is None:
            items = _container_items(value)
            if items is not None:
                yield from ((1, item, None) for item in items)
            else:
                yield 1, value, None
            return
    for number, value, error in _json_lines(text):
        items = _container_items(value)
        if items is not None:
            yield from ((number, item, None) for item in items)
        else:
            yield number, value, error


# ---- records to papers --------------------------------------------------------------------------

def is_arxiv_record(record: Mapping[str, Any]) -> bool:
    return bool(set(record) & _ARXIV_KEYS) and arxiv_id_in(str(record.get("id", ""))) is not None


def _arxiv_authors(record: Mapping[str, Any]) -> tuple[list[str], bool]:
    parsed = record.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(p, list) for p in parsed):
        names = [clean_name(parsed_name([str(x) for x in p])) for p in parsed]
        return [n for n in names if n], False
    return split_authors(record.get("authors"))


def _version_dates(record: Mapping[str, Any]) -> list[str]:
    versions = record.get("versions")
    if not isinstance(versions, list):
        return []
    dates = []
    for version in versions:
        created = version.get("created") if isinstance(version, dict) else version
        date = parse_date(created)
        if date:
            dates.append(date)
    return dates


def arxiv_paper(record: Mapping[str, Any], source: Source) -> tuple[Paper, list[str]]:
    """A finalised Paper from one arXiv metadata snapshot record; and notes."""
    title, notes = cut_title(clean_text(record.get("title")))
    authors, truncated = _arxiv_authors(record)
    dates = _version_dates(record)
    paper = Paper(
        title=title,
        abstract=clean_text(record.get("abstract")),
        authors=authors,
        authors_truncated=truncated,
        date=dates[0] if dates else parse_date(record.get("update_date")),
        versions=dates,
        arxiv_id=arxiv_id_in(str(record.get("id", ""))),
        doi=doi_in(clean_text(record.get("doi"))),
        categories=split_list(record.get("categories")),
        comments=clean_text(record.get("comments"))[:2000],
        sources=[source],
    )
    return finalise(paper), notes


def generic_paper(record: Mapping[str, Any], source: Source) -> tuple[Paper, list[str]]:
    mapping = map_fields(str(k) for k in record)
    values = {fld: record[key] for fld, key in mapping.items()}
    return paper_from_fields(values, source)


def parse(raw: RawFile) -> ParseResult:
    result = ParseResult(path=raw.name, format=FORMAT)
    text = raw.text.replace("\x00", "")
    for entry, (line, value, error) in enumerate(records(text)):
        problem = _record_problem(value, error)
        if problem:
            result.problems.append(Problem(raw.name, problem, line))
            continue
        source = Source(path=raw.name, entry=entry, line=line, format=FORMAT)
        if is_arxiv_record(value):
            paper, notes = arxiv_paper(value, source)
        else:
            paper, notes = generic_paper(value, source)
        result.problems.extend(Problem(raw.name, note, line) for note in notes)
        if not (paper.title or paper.abstract):
            result.problems.append(Problem(raw.name, "record has no title or abstract", line))
            continue
        result.papers.append(paper)
    return require_papers(result)


def _record_problem(value: Any, error: str | None) -> str | None:
    if error:
        return error
    if not isinstance(value, dict):
        return f"expected a JSON object per record, got {type(value).__name__}"
    return oversized_field({str(k): v for k, v in value.items()})
