"""RIS exports (Zotero, EndNote, Web of Science, Scopus, publishers' "Download citation"), via rispy.

The file is cut into entries (`TY` to `ER`) here, so each entry keeps its line number and a broken
one is reported alone; each entry is then read by rispy. Quirks handled: a BOM, CRLF line ends,
tags written `TY - ` with one space, continuation lines, a DOI written as a URL, `DA` with no year
(the year then comes from `PY`), `Last, First` names.
"""
from __future__ import annotations

import re
from typing import Any

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import (
    arxiv_id_mentioned,
    clean_name,
    clean_text,
    cut_title,
    doi_in,
    parse_date,
    require_papers,
    split_list,
)
from assistant.papers import Paper, Source, finalise

FORMAT = "ris"

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])[ \t]{1,2}-(?:[ \t]|$)")
_RIS_DATE = re.compile(r"^(\d{4})?/(\d{1,2})?/(\d{1,2})?/?")
# RIS reference types -> CSL types (`Paper.item_type`)
CSL_TYPES = {
    "JOUR": "article-journal", "JFULL": "article-journal", "EJOUR": "article-journal", "MGZN": "article-magazine",
    "NEWS": "article-newspaper", "CONF": "paper-conference", "CPAPER": "paper-conference", "BOOK": "book",
    "EBOOK": "book", "CHAP": "chapter", "ECHAP": "chapter", "THES": "thesis", "RPRT": "report", "ELEC": "webpage",
    "DATA": "dataset", "COMP": "software", "PAT": "patent", "UNPB": "manuscript", "MANSCPT": "manuscript",
    "GEN": "document",
}


def sniff(raw: RawFile) -> float:
    lines = [line for line in raw.head_text(65536).lstrip("\ufeff").splitlines() if line.strip()][:200]
    if not lines:
        return 0.0
    first = _TAG_LINE.match(lines[0].strip("\ufeff"))
    if first and first.group(1) == "TY":
        return 0.97
    tagged = sum(1 for line in lines if _TAG_LINE.match(line))
    has_ty = any(line.startswith("TY") and _TAG_LINE.match(line) for line in lines)
    return 0.8 if has_ty and tagged >= len(lines) / 2 else 0.0


# ---- cutting the file into entries --------------------------------------------------------------

def _normalised(line: str) -> str:
    """A tag line in the form rispy reads (`XX  - value`), other lines as they are."""
    line = line.rstrip("\r").lstrip("\ufeff")
    m = _TAG_LINE.match(line)
    return f"{m.group(1)}  - {line[m.end():].strip()}" if m else line


def entries(text: str) -> tuple[list[tuple[int, str]], list[Problem]]:
    """(line the entry starts on, its text) for each TY..ER entry; and the unclosed ones."""
    found: list[tuple[int, str]] = []
    problems: list[Problem] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        line = _normalised(line)
        if line.startswith("TY  - "):
            if current:
                problems.append(Problem("", "entry not closed with 'ER  -' before the next 'TY'; read up to there", start))
                found.append((start, "\n".join(current + ["ER  - "])))
            current, start = [line], number
        elif current:
            current.append(line)
            if line.startswith("ER  -"):
                found.append((start, "\n".join(current)))
                current = []
    if current:
        problems.append(Problem("", "last entry not closed with 'ER  -' (file truncated?); read up to the end", start))
        found.append((start, "\n".join(current + ["ER  - "])))
    return found, problems


# ---- one entry ----------------------------------------------------------------------------------

def ris_name(value: str) -> str:
    """`Smith, John` / `Smith, J.A.` / `Smith, John, Jr.` -> `John Smith (Jr.)`; other forms as written."""
    parts = [p.strip() for p in clean_text(value).split(",")]
    if len(parts) >= 2 and parts[0] and parts[1]:
        return clean_name(" ".join([parts[1], parts[0], *parts[2:]]))
    return clean_name(clean_text(value).replace(",", " "))


def ris_date(record: dict[str, Any]) -> str | None:
    """`DA` (`2019/05/12/`, `2019///`, `//` or text), falling back to `PY`/`Y1` when it has no year."""
    for key in ("date", "year", "publication_year"):
        value = clean_text(record.get(key))
        m = _RIS_DATE.match(value)
        if m and m.group(1):
            year, month, day = m.groups()
            parts = [year] + ([month.zfill(2)] if month else []) + ([day.zfill(2)] if month and day else [])
            return parse_date("-".join(parts))
        if value and not m:
            date = parse_date(value)
            if date:
                return date
    return None


def _first(record: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        text = clean_text(value)
        if text:
            return text
    return ""


def record_paper(record: dict[str, Any], source: Source) -> tuple[Paper, list[str]]:
    title, notes = cut_title(_first(record, "title", "primary_title"))
    names = [*(record.get("authors") or []), *(record.get("first_authors") or [])]
    urls = " ".join(record.get("urls") or [])
    doi_text = _first(record, "doi")
    ris_type = _first(record, "type_of_reference").upper()
    paper = Paper(
        title=title,
        abstract=_first(record, "abstract", "notes_abstract"),
        authors=list(dict.fromkeys(n for n in map(ris_name, names) if n)),
        date=ris_date(record),
        doi=doi_in(doi_text) or (doi_in(urls) if "doi.org/" in urls else None),
        arxiv_id=arxiv_id_mentioned(urls) or arxiv_id_mentioned(doi_text),
        venue=_first(record, "alternate_title3", "secondary_title", "journal_name")
        if ris_type not in {"BOOK", "THES", "RPRT"} else "",
        item_type=CSL_TYPES.get(ris_type, ""),
        tags=split_list([clean_text(k) for k in record.get("keywords") or []]),
        sources=[source],
        aliases=[_first(record, "id")] if _first(record, "id") else [],
    )
    return finalise(paper), notes


def parse(raw: RawFile) -> ParseResult:
    import rispy

    result = ParseResult(path=raw.name, format=FORMAT)
    found, problems = entries(raw.text.replace("\x00", ""))
    result.problems += [Problem(raw.name, p.message, p.line) for p in problems]
    for number, (line, text) in enumerate(found):
        try:
            records = rispy.loads(text)
        except Exception as exc:  # rispy on a malformed entry: that entry only
            result.problems.append(Problem(raw.name, f"broken RIS entry ({type(exc).__name__}: {exc})", line))
            continue
        if len(records) != 1:
            result.problems.append(Problem(raw.name, "broken RIS entry (no 'TY' line rispy can read)", line))
            continue
        paper, notes = record_paper(records[0], Source(path=raw.name, entry=number, line=line, format=FORMAT))
        result.problems.extend(Problem(raw.name, note, line) for note in notes)
        if paper.title or paper.abstract:
            result.papers.append(paper)
        else:
            result.problems.append(Problem(raw.name, "RIS entry has no title (TI/T1) or abstract (AB)", line))
    result.problems.sort(key=lambda p: p.line or 0)
    return require_papers(result)
