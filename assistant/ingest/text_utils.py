"""Small text helpers shared by the line-oriented parsers (abstract list, author page, arXiv listing)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.papers import Paper, Source

SNIFF_CHARS = 64 * 1024  # abstracts are long lines: sniff more than a few kilobytes

MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
MONTH_PATTERN = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"


@dataclass
class Line:
    """One line of a file with its 1-based line number."""

    number: int
    text: str


@dataclass
class Block:
    """A run of consecutive non-blank lines."""

    lines: list[Line]

    @property
    def start(self) -> int:
        return self.lines[0].number

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]


def numbered_lines(text: str) -> list[Line]:
    """Every line, stripped of surrounding whitespace, numbered from 1."""
    return [Line(i, raw.strip()) for i, raw in enumerate(text.splitlines(), start=1)]


def non_blank(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.text]


def blocks(lines: list[Line]) -> list[Block]:
    """Group lines into blocks separated by blank lines."""
    found: list[Block] = []
    current: list[Line] = []
    for line in lines:
        if line.text:
            current.append(line)
        elif current:
            found.append(Block(current))
            current = []
    if current:
        found.append(Block(current))
    return found


def sniff_lines(raw: RawFile, limit: int = SNIFF_CHARS) -> list[str]:
    """The non-blank lines at the start of a file (whole lines only), for content sniffing."""
    head = raw.head_text(limit)
    lines = head.splitlines()
    if len(head) >= limit and len(lines) > 1:
        lines = lines[:-1]  # the last line is probably cut off
    return [line.strip() for line in lines if line.strip()]


def fraction(count: int, total: int) -> float:
    return count / total if total else 0.0


def source(raw: RawFile, entry: int, line: int, fmt: str) -> Source:
    return Source(path=str(raw.path), entry=entry, line=line, format=fmt)


def month_day_date(month: str, day: int, year: int) -> str | None:
    """ISO date from a month name or abbreviation, a day and a year; None if not a real date."""
    number = MONTHS.get(month.lower()[:3])
    if number is None:
        return None
    try:
        return date(year, number, day).isoformat()
    except ValueError:
        return None


_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_TEXT_DATE = re.compile(rf"^({MONTH_PATTERN})\s+(\d{{1,2}}),?\s+(\d{{4}})$", re.I)
_DAY_FIRST_DATE = re.compile(rf"^(\d{{1,2}})\s+({MONTH_PATTERN}),?\s+(\d{{4}})$", re.I)


def parse_date(text: str) -> str | None:
    """ISO date (possibly partial) from `2024-07-31`, `2024-07`, `2024`, `Jul 31, 2024`, `31 Jul 2024`."""
    text = text.strip()
    if m := _ISO_DATE.match(text):
        year, month, day = m.groups()
        if day:
            try:
                return date(int(year), int(month), int(day)).isoformat()
            except ValueError:
                return None
        if month:
            return f"{year}-{month}" if 1 <= int(month) <= 12 else None
        return year
    if m := _TEXT_DATE.match(text):
        return month_day_date(m.group(1), int(m.group(2)), int(m.group(3)))
    if m := _DAY_FIRST_DATE.match(text):
        return month_day_date(m.group(2), int(m.group(1)), int(m.group(3)))
    return None


def clean_space(text: str) -> str:
    """Collapse runs of whitespace to single spaces."""
    return " ".join(text.split())


def add_outcome(result: ParseResult, outcome: Paper | Problem) -> None:
    """File one entry's outcome: a paper, or the problem that stopped it."""
    if isinstance(outcome, Problem):
        result.problems.append(outcome)
    else:
        result.papers.append(outcome)
