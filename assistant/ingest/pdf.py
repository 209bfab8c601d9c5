"""PDF papers, via pypdf: the full text, plus title, authors, abstract and arXiv id when found.

The front matter is found by heuristics: the title from the document metadata when it looks
like a title, else the largest text on the first page, else its first substantial line; authors
from the lines between the title and "Abstract"; the abstract up to "Introduction"/"Keywords".
"""
from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any, Iterator

from assistant.errors import InputError
from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import arxiv_id_in, clean_name, clean_text, parse_date
from assistant.ingest.names import is_plausible_name
from assistant.papers import ARXIV_NEW_STYLE, ARXIV_OLD_STYLE, ARXIV_VERSION, PAGE_BREAK, Paper, Source, finalise

FORMAT = "pdf"
MAX_PAGES = 500
MAX_ABSTRACT_CHARS = 5000
NO_TEXT = "no extractable text: scanned PDF? run OCR first (e.g. ocrmypdf) and add the result"

_STAMP = re.compile(
    rf"arXiv:\s*({ARXIV_NEW_STYLE}|{ARXIV_OLD_STYLE})({ARXIV_VERSION})?\s*\[([^\]\s]{{2,20}})\]\s*"
    r"(\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})?")
_ARXIV_MENTION = re.compile(rf"arXiv:\s*({ARXIV_NEW_STYLE}(?:{ARXIV_VERSION})?)")
_ABSTRACT_HEAD = re.compile(r"^[ \t]*(?:Abstract|ABSTRACT|A\s?B\s?S\s?T\s?R\s?A\s?C\s?T)\b[ \t]*[.:—–-]?[ \t]*", re.M)
_ABSTRACT_END = re.compile(
    r"^[ \t]*(?:(?:1|I)\.?[ \t]*introduction\b|introduction[ \t]*$|(?:keywords|key\s+words|index\s+terms|"
    r"ccs\s+concepts|acm\s+reference\s+format)\b)",
    re.I | re.M)
_AFFILIATION = re.compile(
    r"universit|institut|department|dept\.|school|college|laborator|\blab\b|centre|center|research|"
    r"inc\.|corp|ltd|gmbh|academy|hospital|@|https?://|\.edu|\.com|\.org|street|road|\b\d{4,5}\b|"
    r"correspond|equal contribution|preprint|conference|proceedings|workshop|copyright|licen[cs]e", re.I)
_JUNK_LINE = re.compile(r"^(arxiv:|preprint|published as|under review|accepted|proceedings|journal of|vol\.|"
                        r"page \d|\d+$|draft|this (paper|article)|copyright|©)", re.I)
_BAD_META_TITLE = re.compile(r"(\.(pdf|docx?|tex|dvi|ps|rtf)$|^microsoft word|^untitled|^title$|^paper$|"
                             r"^document\d*$|^slide|^\s*$|^[\w\-]+\.\w{2,4}$)", re.I)


@dataclass
class _Line:
    text: str
    size: float


def sniff(raw: RawFile) -> float:
    if raw.data.lstrip()[:5] == b"%PDF-":
        return 1.0
    return 0.6 if b"%PDF-" in raw.data[:1024] else 0.0  # readers allow junk before the header


# ---- reading the file ---------------------------------------------------------------------------

def _open(raw: RawFile) -> Any:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw.data), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # e.g. AES without the cryptography package
                raise InputError(raw.name, f"encrypted PDF that cannot be opened here ({exc}); "
                                           "save an unencrypted copy") from exc
            if not decrypted:
                raise InputError(raw.name, "encrypted PDF (password protected); save an unencrypted copy")
        if len(reader.pages) == 0:
            raise InputError(raw.name, "PDF has no pages (truncated or damaged file?)")
        return reader
    except InputError:
        raise
    except RecursionError as exc:
        raise InputError(raw.name, "damaged PDF (object structure nested too deeply)") from exc
    except Exception as exc:  # pypdf raises many types on broken files
        raise InputError(raw.name, f"cannot read PDF: truncated or damaged file? ({type(exc).__name__}: "
                                   f"{str(exc)[:200]})") from exc


def _scale(matrix: Any) -> float:
    try:
        a, b, c, d = (float(x) for x in matrix[:4])
        return math.sqrt(abs(a * d - b * c)) or 1.0
    except (TypeError, ValueError, IndexError):
        return 1.0


def _first_page_lines(page: Any) -> tuple[str, list[_Line]]:
    """The page's text, and its lines each with the largest font size used on it."""
    lines: list[_Line] = []
    current: list[str] = []
    size = 0.0

    def flush() -> None:
        nonlocal current, size
        text = clean_text("".join(current))
        if text:
            lines.append(_Line(text, size))
        current, size = [], 0.0

    def visit(text: str, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        nonlocal size
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if i:
                flush()
            if part.strip():
                current.append(part)
                try:
                    size = max(size, float(font_size) * _scale(tm) * _scale(cm))
                except (TypeError, ValueError):
                    pass

    text = page.extract_text(visitor_text=visit) or ""
    flush()
    return text, lines


def _page_texts(reader: Any, raw: RawFile, problems: list[Problem]) -> Iterator[tuple[str, list[_Line]]]:
    """Each page's text ("" for a page that cannot be read, so the page numbers stay right); with
    its font-sized lines for pages up to the first one that has text."""
    pages = reader.pages
    count = len(pages)
    if count > MAX_PAGES:
        problems.append(Problem(raw.name, f"{count} pages; text read from the first {MAX_PAGES} only"))
    want_lines = True
    for number in range(min(count, MAX_PAGES)):
        try:
            if want_lines:
                text, lines = _first_page_lines(pages[number])
                want_lines = not text.strip()
            else:
                text, lines = pages[number].extract_text() or "", []
        except RecursionError:
            problems.append(Problem(raw.name, f"page {number + 1}: content nested too deeply; page skipped"))
            yield "", []
            continue
        except Exception as exc:  # a damaged page should not lose the others
            problems.append(Problem(raw.name, f"page {number + 1}: text not extractable ({type(exc).__name__})"))
            yield "", []
            continue
        yield text.replace("\x00", "").replace(PAGE_BREAK, "\n"), lines


# ---- front matter -------------------------------------------------------------------------------

def sensible_title(title: str | None) -> bool:
    """Whether a metadata /Title looks like a paper title (not a file name or tool default)."""
    if not title:
        return False
    title = clean_text(title)
    letters = sum(ch.isalpha() for ch in title)
    return (8 <= len(title) <= 300 and len(title.split()) >= 2 and letters >= 0.6 * len(title)
            and not _BAD_META_TITLE.search(title) and not arxiv_id_in(title))


def _trivial(line: str) -> bool:
    return len(line) < 6 or sum(ch.isalpha() for ch in line) < 4 or bool(_JUNK_LINE.match(line))


def title_lines(lines: list[_Line]) -> tuple[str, int]:
    """The title from the first page's lines and the index of the line after it, or ("", 0)."""
    candidates = [(i, line) for i, line in enumerate(lines[:40]) if not _trivial(line.text)]
    if not candidates:
        return "", 0
    sizes = [line.size for line in lines if line.size > 0]
    body = median(sizes) if sizes else 0.0
    largest = max(line.size for _, line in candidates)
    if body and largest >= 1.15 * body:
        start = next(i for i, line in candidates if line.size >= largest - 0.5)
        end = start
        while end + 1 < len(lines) and abs(lines[end + 1].size - lines[start].size) <= 0.5 and end - start < 3:
            end += 1
        return " ".join(line.text for line in lines[start:end + 1]), end + 1
    first = next((i for i, line in candidates if len(line.text.split()) >= 2), candidates[0][0])
    return lines[first].text, first + 1


def _names_in(line: str) -> list[str]:
    line = re.sub(r"[\d*†‡§¶∗⋆]+(?=[,\s]|$)", " ", line)  # footnote marks after names
    parts = re.split(r"\s*,\s*|\s+and\s+|\s*&\s*|\s*;\s*|\s{3,}", line)
    names = []
    for part in parts:
        name = clean_name(part)
        if is_plausible_name(name):
            names.append(name)
    return names


def find_authors(lines: list[str]) -> list[str]:
    """Names from the lines between the title and the abstract (affiliations and emails skipped)."""
    names: list[str] = []
    for line in lines[:8]:
        if _AFFILIATION.search(line):
            continue
        names.extend(_names_in(line))
    return list(dict.fromkeys(names))


def find_abstract(text: str) -> tuple[str, int | None]:
    """The abstract's text and the offset of its heading, or ("", None)."""
    head = _ABSTRACT_HEAD.search(text)
    if not head:
        return "", None
    rest = text[head.end():head.end() + MAX_ABSTRACT_CHARS * 2]
    end = _ABSTRACT_END.search(rest)
    body = rest[:end.start()] if end else rest[:MAX_ABSTRACT_CHARS]
    body = re.sub(r"(\w)-\n(?=[a-z])", r"\1", body)  # hyphenation at line ends
    return clean_text(body)[:MAX_ABSTRACT_CHARS], head.start()


def find_arxiv(first_page: str, raw: RawFile) -> tuple[str | None, str | None, list[str]]:
    """(arXiv id, stamp date, categories) from the arXiv stamp, an early mention, or the file name."""
    stamp = _STAMP.search(first_page)
    if stamp:
        return stamp.group(1), parse_date(stamp.group(4)) if stamp.group(4) else None, [stamp.group(3)]
    mention = _ARXIV_MENTION.search(first_page[:600])
    if mention:
        return mention.group(1), None, []
    return arxiv_id_in(Path(raw.name).stem), None, []


def _pdf_date(value: Any) -> str | None:
    """A /CreationDate such as `D:20240731120000Z` as ISO."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not m:
        return None
    return parse_date("-".join(g for g in m.groups() if g))


def _metadata(reader: Any) -> dict[str, Any]:
    try:
        meta = reader.metadata or {}
        return {str(k): meta[k] for k in meta}
    except Exception:  # a damaged /Info dictionary is not worth losing the paper over
        return {}


# ---- the file -----------------------------------------------------------------------------------

def parse(raw: RawFile) -> ParseResult:
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)  # its complaints about damaged files are noise to a user
    try:
        return _parse(raw)
    finally:
        pypdf_log.setLevel(level)


def _parse(raw: RawFile) -> ParseResult:
    reader = _open(raw)
    result = ParseResult(path=raw.name, format=FORMAT)
    texts: list[str] = []
    first_lines: list[_Line] = []
    for text, lines in _page_texts(reader, raw, result.problems):
        texts.append(text)
        first_lines = first_lines or lines
    # Each page ends with PAGE_BREAK (empty pages included), so chunks know their page.
    full_text = "".join(text + PAGE_BREAK for text in texts)
    if not full_text.strip():
        raise InputError(raw.name, NO_TEXT)
    if not first_lines:
        first_lines = [_Line(clean_text(s), 0.0) for s in full_text[:20000].splitlines() if s.strip()]
    paper = front_matter(full_text, first_lines, _metadata(reader), raw)
    if not paper.title and not paper.abstract:
        paper.title, paper.title_derived = Path(raw.name).stem, True  # nothing better to call it
    paper.sources = [Source(path=raw.name, entry=0, line=None, format=FORMAT)]
    result.papers.append(finalise(paper))
    return result


def front_matter(full_text: str, lines: list[_Line], meta: dict[str, Any], raw: RawFile) -> Paper:
    """A Paper (not yet finalised) with what the first page and the metadata tell."""
    first_page = full_text[:20000]
    arxiv_id, stamp_date, categories = find_arxiv(first_page, raw)
    lines = [_Line(text, line.size) for line in lines if (text := _STAMP.sub("", line.text).strip())]
    found_title, after = title_lines(lines)
    meta_title = clean_text(meta.get("/Title"))
    title = meta_title if sensible_title(meta_title) else found_title
    abstract, abstract_at = find_abstract(first_page)
    between = [line.text for line in lines[after:]]
    if abstract_at is not None:
        heading = next((i for i, text in enumerate(between) if _ABSTRACT_HEAD.match(text)), len(between))
        between = between[:heading]
    else:
        between = between[:3]  # no abstract heading: only the lines right under the title
    authors = find_authors(between[:8])
    meta_authors = clean_text(meta.get("/Author"))
    if not authors and meta_authors and not _AFFILIATION.search(meta_authors):
        authors = _names_in(meta_authors)
    creation = _pdf_date(meta.get("/CreationDate"))
    return Paper(
        title=title[:1000],
        authors=authors,
        abstract=abstract,
        full_text=full_text,
        arxiv_id=arxiv_id,
        categories=categories,
        date=stamp_date or creation,
        year_inferred=bool(creation and not stamp_date),
    )
