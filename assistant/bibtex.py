"""BibTeX for papers in the library: stable, unique keys and honest entries.

`to_bibtex(papers)` writes one entry per paper with bibtexparser's writer. Keys look like
the paper's own citation key when it has one (from BibTeX, Zotero/Better BibTeX, CSL-JSON), else
`nguyen2021federated` (first author's last name, year, first significant title word); when two
papers would share a key, letters are appended in paper-id order, so a set of papers always gets
the same keys, and a made-up key never takes a user's key. A paper whose title was derived from its abstract gets NO title field: a
`note = {Untitled in source; begins: ...}` says what is known instead.
"""
from __future__ import annotations

import re
from typing import Iterable

from assistant.papers import Paper, derive_title, strip_accents

_STOPWORDS = {
    "a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward", "via", "is",
    "are", "from", "by", "at", "as", "how", "what", "why", "when", "do", "does", "can", "we", "our",
    "untitled",
}
_WORD = re.compile(r"[A-Za-z0-9]+")


def _ascii_words(text: str) -> list[str]:
    text = re.sub(r"\\[a-zA-Z]+", " ", text)  # LaTeX commands
    return _WORD.findall(strip_accents(text))


def _last_name(author: str) -> str:
    author = author.strip()
    if "," in author:  # "Last, First"
        author = author.split(",", 1)[0]
    words = _ascii_words(author)
    return words[-1].lower() if words else ""


def base_key(paper: Paper) -> str:
    """`nguyen2021federated`-style key (before de-duplication)."""
    last = _last_name(paper.authors[0]) if paper.authors else ""
    if not last and paper.partial_authors:
        last = _last_name(paper.partial_authors[0])
    last = last or "anon"
    year = str(paper.year) if paper.year else "nd"
    title = paper.title if (paper.title and not paper.title_derived) else ""
    words = [w.lower() for w in _ascii_words(title)]
    word = next((w for w in words if w not in _STOPWORDS and not w.isdigit()), "")
    if not word:
        word = "untitled" if not title else (words[0] if words else "untitled")
    return f"{last}{year}{word}"


_USER_KEY = re.compile(r"[^\s,{}()\"'#%~\\=]+")


def user_key(paper: Paper) -> str | None:
    """The paper's own citation key when it is usable as a BibTeX key, else None."""
    key = (paper.citation_key or "").strip()
    return key if key and _USER_KEY.fullmatch(key) else None


def bibtex_keys(papers: Iterable[Paper]) -> dict[str, str]:
    """paper id -> unique key. A paper's own citation key is used as it is; made-up keys
    (`base_key`) never take a user's key, and colliding ones get a, b, c... in paper-id order.
    Two papers with the same user key (from two libraries): the first in paper-id order keeps it."""
    papers = sorted({p.id: p for p in papers}.values(), key=lambda p: p.id)
    keys: dict[str, str] = {}
    used: set[str] = set()
    for paper in papers:
        key = user_key(paper)
        if key and key not in used:
            keys[paper.id] = key
            used.add(key)
    groups: dict[str, list[Paper]] = {}
    for paper in papers:
        if paper.id not in keys:
            groups.setdefault(user_key(paper) or base_key(paper), []).append(paper)
    for key, group in groups.items():
        if len(group) == 1 and key not in used:
            keys[group[0].id] = key
            used.add(key)
            continue
        i = 0
        for paper in group:
            while key + _suffix(i) in used:
                i += 1
            keys[paper.id] = key + _suffix(i)
            used.add(keys[paper.id])
    return keys


def _complete_keys(papers: list[Paper], given: dict[str, str] | None) -> dict[str, str]:
    if not given:
        return bibtex_keys(papers)
    keys = {p.id: given[p.id] for p in papers if p.id in given}
    if len(set(keys.values())) != len(keys):
        raise ValueError("to_bibtex: two papers were given the same key")
    rest = [p for p in papers if p.id not in keys]
    used = set(keys.values())
    for pid, key in bibtex_keys(rest).items():
        candidate, i = key, 0
        while candidate in used:
            candidate = key + _suffix(i)
            i += 1
        keys[pid] = candidate
        used.add(candidate)
    return keys


def _suffix(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return letters


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def escape_value(text: str) -> str:
    """A value safe inside `{...}`: one line, balanced braces, bare LaTeX specials escaped."""
    text = " ".join(str(text).split())
    if not _balanced(text):
        text = text.replace("{", "").replace("}", "")
    # Escape &, %, # unless already escaped.
    text = re.sub(r"(?<!\\)([&%#])", r"\\\1", text)
    # Escape _ outside $...$ math.
    parts = re.split(r"(\$[^$]*\$)", text)
    text = "".join(p if p.startswith("$") and p.endswith("$") and len(p) > 1 else re.sub(r"(?<!\\)_", r"\\_", p) for p in parts)
    return text


# CSL item types (`Paper.item_type`) -> BibTeX entry types, and the field that names the venue
_BIBTEX_TYPES = {
    "article-journal": "article", "article-magazine": "article", "article-newspaper": "article",
    "paper-conference": "inproceedings", "book": "book", "chapter": "incollection", "thesis": "phdthesis",
    "report": "techreport",
}
_VENUE_FIELD = {"article": "journal", "inproceedings": "booktitle", "incollection": "booktitle"}

_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}


def bibtex_name(name: str) -> str:
    """A person's name as BibTeX reads it unambiguously: `Last, First` ("Kshitiz Malik" ->
    "Malik, Kshitiz"; "Ludwig van Beethoven" -> "van Beethoven, Ludwig"; "Martin Luther King Jr."
    -> "King, Jr., Martin Luther"). A one-word name or a name already in `Last, First` form stays."""
    name = " ".join(name.split())
    if "," in name or " " not in name:
        return name
    parts = name.split(" ")
    suffix = ""
    if len(parts) > 2 and parts[-1].lower() in _SUFFIXES:
        suffix = parts.pop()
    i = len(parts) - 1
    while i > 1 and parts[i - 1][:1].islower() and parts[i - 1].isalpha():
        i -= 1  # lower-case particles belong to the last name
    last, first = " ".join(parts[i:]), " ".join(parts[:i])
    return f"{last}, {suffix}, {first}" if suffix else f"{last}, {first}"


def _entry_fields(paper: Paper) -> tuple[str, list[tuple[str, str]]]:
    fields: list[tuple[str, str]] = []
    if paper.title and not paper.title_derived:
        fields.append(("title", "{" + escape_value(paper.title) + "}"))  # double braces keep capitals
    if paper.authors:
        author = " and ".join(escape_value(bibtex_name(n)) for n in paper.authors)
        if paper.authors_truncated:
            author += " and others"
        fields.append(("author", author))
    if paper.year:
        fields.append(("year", str(paper.year)))
    entry_type = _BIBTEX_TYPES.get(paper.item_type) or ("article" if paper.doi and not paper.arxiv_id else "misc")
    if paper.venue and entry_type in _VENUE_FIELD:
        fields.append((_VENUE_FIELD[entry_type], "{" + escape_value(paper.venue) + "}"))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", escape_value(paper.categories[0])))
        fields.append(("url", f"https://arxiv.org/abs/{paper.arxiv_id}"))
    if paper.doi:
        fields.append(("doi", paper.doi.replace("{", "").replace("}", "")))  # verbatim field
    notes = []
    if not paper.title or paper.title_derived:
        begins = derive_title(paper.abstract) if paper.abstract else (paper.title or "")
        notes.append("Untitled in source" + (f"; begins: {begins}" if begins else ""))
    if not paper.authors and paper.partial_authors:
        notes.append("Authors not given; listed under: " + ", ".join(paper.partial_authors))
    if notes:
        fields.append(("note", escape_value("; ".join(notes))))
    return entry_type, fields


def to_bibtex(papers: Iterable[Paper], keys: dict[str, str] | None = None) -> str:
    """BibTeX entries for `papers` (in the given order, duplicates by id dropped).

    `keys` (paper id -> key) fixes the keys, e.g. those a text already cites, computed by
    `bibtex_keys` over a larger set; papers it lacks get keys of their own, never a used one."""
    import bibtexparser
    from bibtexparser.model import Entry, Field

    papers = list({p.id: p for p in papers}.values())
    keys = _complete_keys(papers, keys)
    library = bibtexparser.Library()
    for paper in papers:
        entry_type, fields = _entry_fields(paper)
        library.add(Entry(entry_type, keys[paper.id], [Field(k, v) for k, v in fields]))
    if not papers:
        return ""
    return bibtexparser.write_string(library)
