"""An author's page export: three lines per paper.

    LGJun 30, 2022Code                     category code, date (year omitted in the current year), "Code"
    Title Runs IntoFirst Author, Second Author et al. · allen-ai, berkeley
    The abstract.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as _date

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.names import split_title_authors
from assistant.ingest.text_utils import (
    MONTH_PATTERN,
    Line,
    add_outcome,
    clean_space,
    fraction,
    month_day_date,
    non_blank,
    numbered_lines,
    sniff_lines,
    source,
)
from assistant.papers import Paper

FORMAT = "author_page"

HEADER = re.compile(
    rf"^(?P<cat>[A-Z]{{2,4}})(?P<month>{MONTH_PATTERN})\s?(?P<day>\d{{1,2}})"
    rf"(?:,\s*(?P<year>\d{{4}}))?(?P<code>Code)?$"
)
AFFILIATION_SEPARATOR = re.compile(r"\s+[·•]\s+")
# Codes outside cs.*; every other code is a computer-science category (LG -> cs.LG).
CATEGORY_PREFIX = {"ML": "stat.ML", "SP": "eess.SP", "AS": "eess.AS", "IV": "eess.IV", "OC": "math.OC"}


@dataclass
class Header:
    category: str
    month: str
    day: int
    year: int | None
    has_code: bool


def parse_header(text: str) -> Header | None:
    m = HEADER.match(text)
    if not m:
        return None
    year = int(m["year"]) if m["year"] else None
    return Header(category=m["cat"], month=m["month"], day=int(m["day"]), year=year, has_code=bool(m["code"]))


def arxiv_category(code: str) -> str:
    """`LG` -> `cs.LG`; a few codes belong to stat, eess or math."""
    return CATEGORY_PREFIX.get(code, f"cs.{code}")


def current_year(lines: list[Line]) -> int:
    """The export's current year: one after the latest year shown (years are shown for older entries)."""
    years = [h.year for h in (parse_header(line.text) for line in lines) if h and h.year]
    return max(years) + 1 if years else _date.today().year


def sniff(raw: RawFile) -> float:
    lines = sniff_lines(raw)
    headers = [i for i, text in enumerate(lines) if HEADER.match(text)]
    if not headers:
        return 0.0
    # Every header is followed by a title+authors line and an abstract: about one line in three.
    share = fraction(len(headers), len(lines))
    if 0.2 <= share <= 0.4 or (len(headers) == 1 and len(lines) <= 4):
        return 0.9
    return 0.4


def _split_affiliations(text: str) -> tuple[str, list[str]]:
    parts = AFFILIATION_SEPARATOR.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, []
    affiliations = [a.strip() for a in parts[1].split(",") if a.strip()]
    return parts[0], affiliations


def _entry(
    raw: RawFile, index: int, header_line: Line, header: Header, body: list[Line], year_now: int
) -> Paper | Problem:
    """One paper from a header and the lines after it, or the problem that stops it."""
    if len(body) < 2:
        message = "entry needs a title/authors line and an abstract line after the date line"
        return Problem(raw.name, message, header_line.number)
    byline, abstract = body[:2]
    title_authors, affiliations = _split_affiliations(byline.text)
    split = split_title_authors(title_authors)
    if split is None:
        return Problem(raw.name, "cannot tell the title from the author list", byline.number)
    year = header.year if header.year is not None else year_now
    iso = month_day_date(header.month, header.day, year)
    if iso is None:
        return Problem(raw.name, f"not a date: {header.month} {header.day}, {year}", header_line.number)
    return Paper(
        title=split.title,
        authors=split.authors,
        authors_truncated=split.truncated,
        date=iso,
        year=year,
        year_inferred=header.year is None,
        categories=[arxiv_category(header.category)],
        affiliations=affiliations,
        has_code=header.has_code,
        abstract=clean_space(abstract.text),
        versions=[iso],
        sources=[source(raw, index, header_line.number, FORMAT)],
    )


def _group(lines: list[Line]) -> tuple[list[tuple[Line, Header, list[Line]]], list[Line]]:
    """(header line, header, following lines) per entry, and any lines before the first header."""
    entries: list[tuple[Line, Header, list[Line]]] = []
    preamble: list[Line] = []
    for line in lines:
        header = parse_header(line.text)
        if header is not None:
            entries.append((line, header, []))
        elif entries:
            entries[-1][2].append(line)
        else:
            preamble.append(line)
    return entries, preamble


def parse(raw: RawFile) -> ParseResult:
    result = ParseResult(path=raw.name, format=FORMAT)
    lines = non_blank(numbered_lines(raw.text))
    entries, preamble = _group(lines)
    if preamble:
        message = "lines before the first date line are not a paper entry"
        result.problems.append(Problem(raw.name, message, preamble[0].number))
    year_now = current_year(lines)
    for index, (header_line, header, body) in enumerate(entries):
        add_outcome(result, _entry(raw, index, header_line, header, body, year_now))
        if len(body) > 2:
            message = "lines outside any entry (expected a date line such as 'LGJun 30, 2022' before them)"
            result.problems.append(Problem(raw.name, message, body[2].number))
    return result
