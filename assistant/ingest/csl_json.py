"""CSL-JSON, as Zotero's "CSL JSON" export (and Better BibTeX, pandoc, citeproc tools) writes it.

An array of items with `id`, `type`, `title`, `author` ({family, given} or {literal}),
`issued` ({"date-parts": [[2019, 5]]}, parts possibly strings, or {"raw"/"literal": ...}),
`container-title`, `DOI` (possibly a URL), `URL`, `abstract`, `citation-key` (Zotero 7, Better
BibTeX) and `note` (Zotero's Extra, where older Better BibTeX writes `Citation Key: ...`).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from assistant.ingest.arxiv_jsonl import records
from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import (
    arxiv_id_mentioned,
    clean_name,
    clean_text,
    cut_title,
    doi_in,
    oversized_field,
    parse_date,
    require_papers,
    split_list,
)
from assistant.papers import Paper, Source, finalise

FORMAT = "csl_json"
_CSL_MARKERS = ('"date-parts"', '"citation-key"', '"container-title"', '"citation-label"')
_CSL_TYPE = re.compile(r'"type"\s*:\s*"(article-journal|paper-conference|chapter|book|article|report|thesis|webpage)"')
_CITATION_KEY_LINE = re.compile(r"^\s*citation\s*key\s*:\s*(\S+)\s*$", re.I | re.M)


def sniff(raw: RawFile) -> float:
    head = raw.head_text(65536).lstrip("\ufeff \t\r\n")
    if not head.startswith(("[", "{")):
        return 0.0
    markers = sum(marker in head for marker in _CSL_MARKERS)
    if markers and (_CSL_TYPE.search(head) or markers >= 2):
        return 0.97  # above the generic JSON reader (0.9-0.95)
    return 0.0


# ---- fields -------------------------------------------------------------------------------------

def csl_name(person: Any) -> str:
    if not isinstance(person, Mapping):
        return clean_name(clean_text(person)) if isinstance(person, str) else ""
    if person.get("literal"):
        return clean_text(person["literal"])
    parts = [person.get(k) for k in ("given", "dropping-particle", "non-dropping-particle", "family", "suffix")]
    return clean_name(" ".join(clean_text(p) for p in parts if isinstance(p, (str, int)) and clean_text(p)))


def csl_date(value: Any) -> str | None:
    """`{"date-parts": [[2019, 5, 1]]}` (numbers or strings), `{"raw": ...}`, `{"literal": ...}` or a string."""
    if isinstance(value, str):
        return parse_date(value)
    if not isinstance(value, Mapping):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = []
        for part in parts[0][:3]:
            text = clean_text(part)
            if not text.isdigit():
                break
            numbers.append(int(text))
        if numbers:
            return parse_date("-".join(f"{n:02d}" if i else f"{n:04d}" for i, n in enumerate(numbers)))
    for key in ("raw", "literal"):
        if value.get(key):
            return parse_date(value[key])
    if value.get("season") and value.get("year"):
        return parse_date(value["year"])
    return None


def item_citation_key(item: Mapping[str, Any]) -> str | None:
    for key in ("citation-key", "citationKey", "citation_key"):
        value = clean_text(item.get(key))
        if value:
            return value
    m = _CITATION_KEY_LINE.search(str(item.get("note") or ""))
    return m.group(1) if m else None


def item_paper(item: Mapping[str, Any], source: Source) -> tuple[Paper, list[str]]:
    title, notes = cut_title(clean_text(item.get("title")))
    authors = item.get("author") if isinstance(item.get("author"), list) else []
    url = clean_text(item.get("URL"))
    doi_text = clean_text(item.get("DOI"))
    key = item_citation_key(item)
    own_id = clean_text(item.get("id"))[:300]
    arxiv = next((found for text in (clean_text(item.get("number")), url, str(item.get("note") or ""), doi_text)
                  if (found := arxiv_id_mentioned(text))), None)
    paper = Paper(
        title=title,
        abstract=clean_text(item.get("abstract")),
        authors=[n for n in map(csl_name, authors or []) if n],
        date=csl_date(item.get("issued")),
        doi=doi_in(doi_text) or (doi_in(url) if "doi.org/" in url else None),
        arxiv_id=arxiv,
        venue=clean_text(item.get("container-title")),
        item_type=clean_text(item.get("type")),
        tags=split_list(clean_text(item.get("keyword"))),
        citation_key=key,
        sources=[source],
        aliases=list(dict.fromkeys(a for a in (own_id, key) if a)),
    )
    return finalise(paper), notes


def parse(raw: RawFile) -> ParseResult:
    result = ParseResult(path=raw.name, format=FORMAT)
    for number, (line, value, error) in enumerate(records(raw.text.replace("\x00", ""))):
        problem = error or (None if isinstance(value, dict) else f"expected a CSL item (a JSON object), got {type(value).__name__}")
        problem = problem or oversized_field({str(k): v for k, v in value.items()})
        if problem:
            result.problems.append(Problem(raw.name, problem, line))
            continue
        paper, notes = item_paper(value, Source(path=raw.name, entry=number, line=line, format=FORMAT))
        result.problems.extend(Problem(raw.name, note, line) for note in notes)
        if paper.title or paper.abstract:
            result.papers.append(paper)
        else:
            label = clean_text(value.get("id")) or f"#{number + 1}"
            result.problems.append(Problem(raw.name, f"CSL item {label} has no title or abstract", line))
    return require_papers(result)
