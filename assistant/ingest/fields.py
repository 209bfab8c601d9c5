"""Field helpers shared by the structured-export parsers (JSONL, CSV/TSV, BibTeX, PDF).

Everything here is pure and total: odd input gives an empty/None result, never an exception.
"""
from __future__ import annotations

import ast
import json
import re
import unicodedata
from datetime import date as _date
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Iterable, Mapping

from assistant.errors import InputError
from assistant.ingest.base import ParseResult
from assistant.papers import (
    ARXIV_NEW,
    ARXIV_NEW_STYLE,
    ARXIV_OLD,
    ARXIV_OLD_STYLE,
    ARXIV_VERSION,
    Paper,
    Source,
    finalise,
    looks_like_mangled_arxiv_id,
    normalise_arxiv_id,
    normalise_doi,
)

# A single field larger than this is not a paper field but a broken record (an unbalanced quote
# that swallowed the rest of a file, a pasted book): the entry is refused with a Problem.
MAX_FIELD_CHARS = 1_000_000
# Longer titles are cut (with a Problem); nobody writes a 1,000-character title.
MAX_TITLE_CHARS = 1_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# ---- text ---------------------------------------------------------------------------------------

def clean_text(value: Any) -> str:
    """A field as one line of text: control characters dropped, whitespace runs collapsed."""
    if value is None or isinstance(value, (dict, bool)):
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(clean_text(v) for v in value[:1000] if isinstance(v, (str, int, float)))
    elif not isinstance(value, str):
        value = str(value)
    if _CONTROL.search(value):
        value = _CONTROL.sub("", value)
    return " ".join(value.split())


def strip_braces(text: str) -> str:
    """Drop BibTeX protective braces (`{BERT}` → `BERT`), leaving escaped ones alone."""
    return re.sub(r"(?<!\\)[{}]", "", text)


# ---- LaTeX accents ------------------------------------------------------------------------------

_ACCENT_MARKS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "d": "\u0323",
    "b": "\u0331", "k": "\u0328", "r": "\u030a",
}
_LATEX_LETTERS = {
    "ss": "ß", "o": "ø", "O": "Ø", "l": "ł", "L": "Ł", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ",
    "oe": "œ", "OE": "Œ", "i": "ı", "j": "ȷ", "dh": "ð", "DH": "Ð", "th": "þ", "TH": "Þ",
}
# \'a  \'{a}  \' a  \'\i  \v{s}  \v s  (letter-named accents need a brace or a space)
_ACCENT = re.compile(
    r"\\(?:([`'^\"~=.])\s*|([uvHcdbkr])(?=[\s{]))\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij](?![A-Za-z])|[A-Za-z]))"
)
_LETTER = re.compile(r"\\(ss|aa|AA|ae|AE|oe|OE|dh|DH|th|TH|[oOlLij])(?![A-Za-z])\s?(\{\})?")
_ESCAPES = re.compile(r"\\([&%$#_{}])")


def decode_latex(text: str) -> str:
    """LaTeX accent and letter macros to Unicode (`Bal\\'azs` → `Balázs`); other text unchanged."""
    if "\\" not in text:
        return text

    def accent(m: re.Match[str]) -> str:
        mark = _ACCENT_MARKS[m.group(1) or m.group(2)]
        base = m.group(3) or m.group(4)
        if base in ("\\i", "\\j"):
            base = base[1]
        return unicodedata.normalize("NFC", base + mark)

    text = _ACCENT.sub(accent, text)
    text = _LETTER.sub(lambda m: _LATEX_LETTERS[m.group(1)], text)
    return _ESCAPES.sub(r"\1", text)


def clean_name(name: str) -> str:
    """One person's name: accents decoded, braces and `~` dropped, footnote marks removed."""
    name = decode_latex(name).replace("~", " ")
    name = strip_braces(name)
    name = re.sub(r"[*†‡§¶∗]+|\^\{?[\d,*]+\}?", "", name)
    return clean_text(name).strip(" ,;")


# ---- authors ------------------------------------------------------------------------------------

_ET_AL = re.compile(r",?\s*(\bet\s*\.?\s*al\b\.?|\band\s+others\b|…|\.\.\.)\s*$", re.I)
_AND = re.compile(r"\s+(?:and|&)\s+|\s*&\s*", re.I)
_PAREN = re.compile(r"\([^()]*\)")


def literal_list(text: str) -> list[Any] | None:
    """A JSON or Python list literal (`["A", "B"]`, `['A', 'B']`) parsed safely, else None."""
    text = text.strip()
    if not (text.startswith(("[", "(")) and text.endswith(("]", ")"))) or len(text) > 100_000:
        return None
    depth = max_depth = 0
    for ch in text:  # refuse deep nesting before any parser sees it
        if ch in "[({":
            depth += 1
            max_depth = max(max_depth, depth)
        elif ch in "])}":
            depth -= 1
    if max_depth > 4:
        return None
    for loader in (json.loads, ast.literal_eval):
        try:
            value = loader(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, (list, tuple)):
            return list(value)
    return None


def _flip(name: str) -> str:
    """`Last, First` → `First Last`; other names unchanged."""
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        if last and first:
            return f"{first} {last}"
    return name.replace(",", " ")


def _looks_last_first(parts: list[str]) -> bool:
    """True for `Smith, J.` or `Smith, John` — a single surname, then given names or initials."""
    if len(parts) != 2:
        return False
    last, first = (p.split() for p in parts)
    return len(last) == 1 and 1 <= len(first) <= 3 and all(w[:1].isupper() for w in first)


def name_from_object(value: Any) -> str:
    """A name from a string or from an object such as {"name"} / {"given", "family"}."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("name"), str):
            return value["name"]
        first = value.get("given") or value.get("first") or value.get("forenames") or ""
        last = value.get("family") or value.get("last") or value.get("keyname") or ""
        return f"{first} {last}" if isinstance(first, str) and isinstance(last, str) else ""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return parsed_name(value)  # arXiv's [last, first, suffix]
    return ""


def parsed_name(parts: list[str] | tuple[str, ...]) -> str:
    """An arXiv `authors_parsed` entry `[last, first, suffix]` as `First Last Suffix`."""
    last = parts[0] if parts else ""
    first = parts[1] if len(parts) > 1 else ""
    suffix = parts[2] if len(parts) > 2 else ""
    first = re.sub(r"\.\s+-", ".-", first)  # arXiv writes "C.-P." as "C. -P."
    return " ".join(p for p in (first, last, suffix) if p and p.strip())


def split_authors(value: Any) -> tuple[list[str], bool]:
    """Author names from a list or a string; returns (names, truncated-by-et-al).

    Strings may be `;`-separated, `A, B and C`, BibTeX-style `Last, First and Last, First`,
    or a JSON/Python list literal.
    """
    if value is None:
        return [], False
    if isinstance(value, str):
        listed = literal_list(value)
        if listed is None:
            return _split_author_string(value)
        value = listed
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return _split_author_string(str(value))
    names: list[str] = []
    truncated = False
    for item in value:
        name = clean_name(name_from_object(item))
        if _ET_AL.fullmatch(name) or name.lower() in {"et al", "et al.", "others"}:
            truncated = True
        elif name:
            names.append(name)
    return names, truncated


def _drop_parentheses(text: str) -> str:
    for _ in range(5):
        text, count = _PAREN.subn(" ", text)
        if not count:
            break
    return text.split("(", 1)[0]


def _split_author_string(text: str) -> tuple[list[str], bool]:
    text = clean_text(text)
    truncated = bool(_ET_AL.search(text))
    text = _ET_AL.sub("", text)
    text = _drop_parentheses(text)  # affiliations: "A. Smith (1), B. Jones (1) ((1) MIT)"
    if not text.strip(" ,;"):
        return [], truncated
    if ";" in text:
        parts = [_flip(p.strip()) for p in text.split(";")]
    else:
        pieces = [p.strip() for p in _AND.split(text)]
        if len(pieces) > 1 and all(p.count(",") == 1 for p in pieces):
            parts = [_flip(p) for p in pieces]  # Last, First and Last, First
        else:
            parts = [q.strip() for p in pieces for q in p.split(",")]
            if len(pieces) == 1 and _looks_last_first(parts):
                parts = [f"{parts[1]} {parts[0]}"]
    names = [clean_name(p) for p in parts]
    return [n for n in names if n], truncated


# ---- dates --------------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_ISO = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?(?:$|[T\s])")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_TEXT_DATE = re.compile(
    r"^(?:(\d{1,2})\s+)?([A-Za-z]{3,9})\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})$"
)
_YEAR = re.compile(r"(?<!\d)(1[89]\d{2}|20\d{2}|2100)(?!\d)")


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    if not 1800 <= year <= 2100:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return _date(year, month, day).isoformat()
    except ValueError:
        return f"{year:04d}-{month:02d}"


def month_number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        number = int(text)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(text[:3]) if len(text) >= 3 else None


def parse_date(value: Any) -> str | None:
    """A date in any common spelling as partial ISO 8601 ("2024", "2024-07", "2024-07-31")."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _iso(value)
    if isinstance(value, float):
        return _iso(int(value)) if value.is_integer() else None  # NaN and infinities are not
    text = clean_text(value)[:100]
    if not text:
        return None
    m = _ISO.match(text)
    if m:
        year, month, day = (int(g) if g else None for g in m.groups())
        return _iso(year, month, day)  # type: ignore[arg-type]
    m = _DMY.match(text)
    if m:
        a, b, year = (int(g) for g in m.groups())
        if a > 12:
            return _iso(year, b, a)
        if b > 12:
            return _iso(year, a, b)
        return _iso(year)  # 03/04/2024: day and month order unknown
    try:
        return parsedate_to_datetime(text).date().isoformat()  # "Mon, 2 Apr 2007 19:18:42 GMT"
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    m = _TEXT_DATE.match(text.replace(",", ", ").replace("  ", " "))
    if m and month_number(m.group(2)):
        day_text = m.group(1) or m.group(3)
        return _iso(int(m.group(4)), month_number(m.group(2)), int(day_text) if day_text else None)
    m = _YEAR.search(text)
    return _iso(int(m.group(1))) if m else None


# ---- identifiers and lists ----------------------------------------------------------------------

def arxiv_id_in(text: str) -> str | None:
    """An arXiv id only when `text` is one (bare, with `arXiv:` or as an arxiv.org URL)."""
    text = clean_text(text)
    if not text or len(text) > 300:
        return None
    stripped = re.sub(r"^(arxiv:\s*|https?://(www\.|export\.)?arxiv\.org/(abs|pdf)/)", "", text, flags=re.I)
    stripped = re.sub(r"(\.pdf)?/?$", "", stripped)
    if ARXIV_NEW.fullmatch(stripped) or ARXIV_OLD.fullmatch(stripped):
        return normalise_arxiv_id(stripped)
    return None


def arxiv_id_mentioned(text: str) -> str | None:
    """An arXiv id written as `arXiv:NNNN.NNNNN` or an arxiv.org link anywhere in `text`."""
    m = re.search(
        rf"(?:arxiv\s*:\s*|arxiv\.org/(?:abs|pdf)/)((?:{ARXIV_NEW_STYLE}|{ARXIV_OLD_STYLE})(?:{ARXIV_VERSION})?)",
        text, re.I)
    return normalise_arxiv_id(m.group(1)) if m else None


def doi_in(text: str) -> str | None:
    m = re.search(r"\b(10\.\d{4,9}/\S+)", clean_text(text))
    return normalise_doi(m.group(1).rstrip(".,;)")) if m else None


def split_list(value: Any) -> list[str]:
    """Categories/keywords from a list, a list literal, or a string split on `,`, `;` or spaces."""
    if value is None:
        return []
    if isinstance(value, str):
        listed = literal_list(value)
        if listed is not None:
            value = listed
    if isinstance(value, (list, tuple)):
        items = [clean_text(v) for v in value if isinstance(v, (str, int, float))]
    else:
        text = clean_text(value)
        sep = ";" if ";" in text else "," if "," in text else None
        items = [p.strip() for p in text.split(sep)] if sep else text.split()
    return list(dict.fromkeys(i for i in items if i))


# ---- generic records ----------------------------------------------------------------------------

# Field → accepted names (normalised with `column_key`), most specific first.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "paper_title", "article_title", "document_title", "titel"),
    "abstract": ("abstract", "summary", "abstract_text", "abstract_note", "paper_abstract", "abstracts"),
    "authors": ("authors", "author", "author_names", "authors_list", "creators", "creator", "author_list"),
    "date": ("date", "published", "publication_date", "published_date", "pub_date", "date_published",
             "publication_time", "created", "submitted", "first_published", "date_added"),
    "year": ("year", "publication_year", "pub_year", "published_year"),
    "arxiv_id": ("arxiv_id", "arxivid", "arxiv", "arxiv_identifier", "eprint"),
    "id": ("id", "paper_id", "paperid", "uid", "key", "citation_key", "corpus_id", "doc_id", "identifier",
           "entry_id"),
    "url": ("url", "link", "abs_url", "pdf_url", "arxiv_url", "landing_page", "href"),
    "doi": ("doi",),
    "categories": ("categories", "category", "subjects", "subject", "keywords", "tags", "primary_category",
                   "fields_of_study"),
    "comments": ("comments", "comment", "note", "notes", "journal_ref", "venue", "journal"),
}
FIELDS = tuple(FIELD_ALIASES)


def column_key(name: str) -> str:
    """`Paper ID` → `paper_id`; `arXiv-ID` → `arxiv_id`."""
    return re.sub(r"[^0-9a-z]+", "_", clean_text(name).lower()).strip("_")


def map_fields(names: Iterable[str]) -> dict[str, str]:
    """Field → the first of `names` that is a known alias for it (each name used once)."""
    return dict(_map_fields(tuple(names)))


@lru_cache(maxsize=256)
def _map_fields(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(column_key(name), name)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for fld, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            column = by_key.get(alias)
            if column is not None and column not in used:
                mapping[fld] = column
                used.add(column)
                break
    return tuple(mapping.items())


def _size(value: Any, depth: int = 0) -> int:
    """Characters in a value's strings (nested lists/objects counted, to a small depth)."""
    if isinstance(value, str):
        return len(value)
    if depth > 3:
        return 0
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return sum(_size(v, depth + 1) for v in value) + len(value)
    return 0


def oversized_field(values: Mapping[str, Any]) -> str | None:
    """A problem message when any value is absurdly large, else None."""
    for key, value in values.items():
        size = _size(value)
        if size > MAX_FIELD_CHARS:
            return (f"field '{key}' is {size / 1e6:.1f} million characters (limit {MAX_FIELD_CHARS / 1e6:.0f} "
                    "million): a broken record, skipped")
    return None


def cut_title(title: str) -> tuple[str, list[str]]:
    """An absurdly long title cut to MAX_TITLE_CHARS, with a note saying so."""
    if len(title) <= MAX_TITLE_CHARS:
        return title, []
    note = f"title is {len(title)} characters; cut to {MAX_TITLE_CHARS}"
    return title[:MAX_TITLE_CHARS].rstrip() + "…", [note]


def paper_from_fields(values: Mapping[str, Any], source: Source) -> tuple[Paper, list[str]]:
    """A finalised Paper from field → value (values: str, list, number or object); and notes.

    `id` is the source's own identifier: kept in `aliases` so callers can map back to it, and
    used as the arXiv id when it is one.
    """
    title, notes = cut_title(clean_text(values.get("title")))
    authors, truncated = split_authors(values.get("authors"))
    date = parse_date(values.get("date")) or parse_date(values.get("year"))
    source_id = clean_text(values.get("id"))[:300]
    url = clean_text(values.get("url"))
    arxiv_id = (arxiv_id_in(clean_text(values.get("arxiv_id"))) or arxiv_id_in(source_id) or arxiv_id_in(url))
    given_doi = clean_text(values.get("doi"))
    doi = normalise_doi(given_doi) or doi_in(given_doi) or (doi_in(url) if "doi.org/" in url else None)
    paper = Paper(
        title=title,
        abstract=clean_text(values.get("abstract")),
        authors=authors,
        authors_truncated=truncated,
        date=date,
        arxiv_id=arxiv_id,
        doi=doi,
        categories=split_list(values.get("categories")),
        comments=clean_text(values.get("comments"))[:2000],
        sources=[source],
        aliases=[source_id] if source_id else [],
    )
    return finalise(paper), notes


def mangled_id_note(path: str, papers: list[Paper]) -> str | None:
    """One line for the ingest report when entries carry ids shaped like arXiv ids that are not
    valid ones (a spreadsheet turned 2309.11280 into the number 2309.1128)."""
    bad = [alias for paper in papers for alias in paper.aliases if looks_like_mangled_arxiv_id(alias)]
    if not bad:
        return None
    entries = "entry has an id" if len(bad) == 1 else "entries have ids"
    return (
        f"{path}: {len(bad)} {entries} shaped like an arXiv id but not a valid one (e.g. {bad[0]}; a spreadsheet "
        "may have read 2309.11280 as the number 2309.1128); kept as source ids only, not as arXiv ids"
    )


def require_papers(result: ParseResult) -> ParseResult:
    """The result, or an InputError naming the first problem's line when no entry was readable."""
    if result.papers:
        return result
    if not result.problems:
        raise InputError(result.path, "no paper entries found")
    first = result.problems[0]
    more = f" (and {len(result.problems) - 1} more problems)" if len(result.problems) > 1 else ""
    raise InputError(result.path, f"no readable paper entries: {first.message}{more}", line=first.line)
