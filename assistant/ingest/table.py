"""CSV and TSV exports (spreadsheets, reference managers, Kaggle dumps): one paper per row.

Columns are recognised by name, case-insensitively (`Title`, `Abstract`/`Summary`, `Authors`,
`Published`/`Year`, `arXiv ID`/`URL`, `Categories`, `DOI`, ...). `parse_with_columns` takes a
user's mapping (`--columns title=Name,abstract=Text`) for the fields it cannot guess.
"""
from __future__ import annotations

import contextlib
import csv
import io
from collections import Counter
from typing import Iterator

from assistant.errors import InputError
from assistant.ingest.base import MAX_FILE_BYTES, ParseResult, Problem, RawFile
from assistant.ingest.fields import (
    FIELD_ALIASES,
    FIELDS,
    column_key,
    map_fields,
    oversized_field,
    paper_from_fields,
    require_papers,
)
from assistant.papers import Source

FORMAT = "table"
DELIMITERS = ("\t", ",", ";", "|")
_SNIFF_LINES = 30


# ---- delimiter and header -----------------------------------------------------------------------

@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Let the csv module read fields up to `limit` (we refuse absurd ones ourselves, per row)."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _head_rows(text: str, delimiter: str) -> list[list[str]]:
    lines = text.splitlines()[:_SNIFF_LINES]
    try:
        with _field_limit(MAX_FILE_BYTES):
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error:
        return []
    return [r for r in rows[:-1] or rows if any(cell.strip() for cell in r)]


def sniff_delimiter(text: str) -> tuple[str, float]:
    """The delimiter that splits the first lines most consistently, and how consistently (0..1).

    A delimiter that yields a recognised title/abstract column in the header wins over one that
    merely splits consistently.
    """
    best, best_key = ",", (False, 0.0)
    for delimiter in DELIMITERS:
        rows = _head_rows(text, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agreeing = sum(1 for r in rows if len(r) == width) / len(rows)
        common = Counter(len(r) for r in rows).most_common(1)[0][1] / len(rows)
        score = min(agreeing, common) * (1.0 if len(rows) > 1 else 0.7)
        named = bool({"title", "abstract"} & set(map_fields(rows[0])))
        if (named, score) > (best_key[0], best_key[1] + 1e-9):
            best, best_key = delimiter, (named, score)
    return best, best_key[1]


def sniff(raw: RawFile) -> float:
    head = raw.head_text(65536).lstrip("\ufeff \t\r\n")
    if not head or head.startswith(("{", "[", "@", "%PDF", "<")):
        return 0.0
    delimiter, consistency = sniff_delimiter(head)
    if consistency < 0.3:
        return 0.0
    header = _head_rows(head, delimiter)[0]
    mapped = map_fields(header)
    if "title" in mapped or "abstract" in mapped:  # named columns: ragged rows do not hide a table
        return (0.9 if len(mapped) >= 2 or delimiter == "\t" else 0.75) * (1.0 if consistency >= 0.6 else 0.8)
    if consistency < 0.6:
        return 0.0
    return 0.3 * consistency  # a table, but its columns need naming (parse says which exist)


# ---- column mapping -----------------------------------------------------------------------------

def _field_name(name: str) -> str | None:
    key = column_key(name)
    for fld, aliases in FIELD_ALIASES.items():
        if key == fld or key in aliases:
            return fld
    return None


def parse_columns_option(option: str) -> dict[str, str]:
    """`title=Name,abstract=Text` → {"title": "Name", "abstract": "Text"} (fields checked)."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in option.split(",")):
        if not part:
            continue
        fld, sep, column = part.partition("=")
        field_name = _field_name(fld)
        if not sep or not column.strip():
            raise InputError("--columns", f"expected FIELD=COLUMN, got '{part}' (e.g. title=Name,abstract=Text)")
        if field_name is None:
            raise InputError("--columns", f"unknown field '{fld.strip()}'; fields are: {', '.join(FIELDS)}")
        mapping[field_name] = column.strip()
    return mapping


def resolve_columns(path: str, header: list[str], override: dict[str, str]) -> dict[str, int]:
    """Field → column index: the user's mapping first, then names recognised automatically."""
    index_of = {column_key(name): i for i, name in reversed(list(enumerate(header)))}
    found = ", ".join(repr(h) for h in header) or "none"
    columns: dict[str, int] = {}
    for fld, name in override.items():
        fld = _field_name(fld) or fld
        if fld not in FIELD_ALIASES:
            raise InputError(path, f"unknown field '{fld}' in the column mapping; fields are: {', '.join(FIELDS)}")
        if column_key(name) not in index_of:
            raise InputError(path, f"no column named '{name}' (asked for {fld}); columns found: {found}")
        columns[fld] = index_of[column_key(name)]
    taken = set(columns.values())
    for fld, name in map_fields(header).items():
        if fld not in columns and index_of[column_key(name)] not in taken:
            columns[fld] = index_of[column_key(name)]
            taken.add(columns[fld])
    if "title" not in columns and "abstract" not in columns:
        raise InputError(
            path,
            f"cannot tell which column holds the title or the abstract; columns found: {found}. "
            "Name them with --columns title=COLUMN,abstract=COLUMN",
        )
    return columns


# ---- rows ---------------------------------------------------------------------------------------

def _rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first line of the row, cells or None, error or None) for every row of the file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield start, None, f"unreadable row ({exc})"
            continue
        line = reader.line_num
        yield start, row, None


def parse(raw: RawFile) -> ParseResult:
    return parse_with_columns(raw, raw.columns)


def parse_with_columns(raw: RawFile, mapping: dict[str, str]) -> ParseResult:
    """Parse a CSV/TSV file; `mapping` (field → column name) overrides the automatic mapping."""
    text = raw.text.replace("\x00", "")
    delimiter, _ = sniff_delimiter(text[:65536].lstrip("\ufeff \t\r\n"))
    result = ParseResult(path=raw.name, format=FORMAT)
    with _field_limit(MAX_FILE_BYTES):
        rows = _rows(text, delimiter)
        header = _header(rows)
        if header is None:
            raise InputError(raw.name, "no header row")
        columns = resolve_columns(raw.name, header, mapping)
        for entry, (line, row, error) in enumerate(rows):
            if error or row is None:
                result.problems.append(Problem(raw.name, error or "unreadable row", line))
                continue
            problem = _row_problem(row, len(header))
            if problem == "":
                continue  # a blank row
            if problem:
                result.problems.append(Problem(raw.name, problem, line))
                continue
            values = {fld: row[i] for fld, i in columns.items()}
            too_big = oversized_field(values)
            if too_big:
                result.problems.append(Problem(raw.name, too_big, line))
                continue
            source = Source(path=raw.name, entry=entry, line=line, format=FORMAT)
            paper, notes = paper_from_fields(values, source)
            result.problems.extend(Problem(raw.name, note, line) for note in notes)
            if paper.title or paper.abstract:
                result.papers.append(paper)
            else:
                result.problems.append(Problem(raw.name, "row has no title or abstract", line))
    return require_papers(result)


def _header(rows: Iterator[tuple[int, list[str] | None, str | None]]) -> list[str] | None:
    for _, row, _ in rows:
        if row and any(cell.strip() for cell in row):
            return [cell.strip().lstrip("\ufeff") for cell in row]
    return None


def _row_problem(row: list[str], width: int) -> str | None:
    """None for a good row, "" for a blank one, else what is wrong with it."""
    if not any(cell.strip() for cell in row):
        return ""
    while len(row) > width and not row[-1].strip():
        row.pop()  # trailing empty cells from a spreadsheet
    if len(row) != width:
        return f"row has {len(row)} fields but the header has {width}; skipped"
    return None
