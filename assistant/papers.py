"""The paper record: one dataclass, its id rules, and the merge of two records of one paper."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any, Iterable

# The arXiv id patterns, written once: new style "2309.11280", old style "hep-th/9901001".
ARXIV_NEW_STYLE = r"\d{4}\.\d{4,5}"
ARXIV_OLD_STYLE = r"[a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_VERSION = r"v\d+"
ARXIV_NEW = re.compile(rf"(?<![\d.])({ARXIV_NEW_STYLE})({ARXIV_VERSION})?(?![\d])")
ARXIV_OLD = re.compile(rf"\b({ARXIV_OLD_STYLE})({ARXIV_VERSION})?\b")
# A whole value that is an arXiv id of either style, with an optional version.
ARXIV_ID = re.compile(rf"^(?:{ARXIV_NEW_STYLE}|{ARXIV_OLD_STYLE})(?:{ARXIV_VERSION})?$")
# How a derived title is marked when shown as a title ("[untitled] Federated learning enables…").
UNTITLED_MARK = "[untitled]"
_LATEX_CMD = re.compile(r"\\[a-zA-Z]+\*?(\{([^{}]*)\})?")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Ends each page of a full text (a form feed, as pdftotext writes): page n is the text after the
# (n-1)th break. A full text without one (stores written before pages were kept) has no pages.
PAGE_BREAK = "\f"


@dataclass
class Source:
    """Where a record was seen: a file, the entry's number in it, and the line it starts on."""

    path: str
    entry: int
    line: int | None = None
    format: str = ""

    def key(self) -> tuple[str, int]:
        return (self.path, self.entry)


@dataclass
class Paper:
    id: str = ""
    title: str = ""
    # True when the source had no title and `title` was derived from the abstract.
    title_derived: bool = False
    authors: list[str] = field(default_factory=list)
    # True when the source truncated the author list ("et al.").
    authors_truncated: bool = False
    # Names recorded as given but known to be partial (a collection owner such as "Jack").
    partial_authors: list[str] = field(default_factory=list)
    date: str | None = None  # ISO 8601, partial allowed ("2024", "2024-07", "2024-07-31")
    year: int | None = None
    year_inferred: bool = False
    arxiv_id: str | None = None
    doi: str | None = None
    categories: list[str] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)
    comments: str = ""
    has_code: bool = False
    abstract: str = ""
    # Body text (PDFs; pages separated by PAGE_BREAK); chunked for retrieval, never shown as the abstract.
    full_text: str = ""
    sources: list[Source] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    # Ids this paper had before a merge gave it a better one (e.g. a hash id, then an arXiv id).
    aliases: list[str] = field(default_factory=list)
    # From a reference manager: collection paths ("Thesis/Chapter 2"), tags, the user's own
    # citation key (BibTeX key, Zotero/Better BibTeX key, CSL `citation-key`; None when not given).
    collections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    citation_key: str | None = None
    venue: str = ""  # journal, proceedings or book title
    item_type: str = ""  # CSL type ("article-journal", "paper-conference", ...) when a source says

    # ---- derived views -------------------------------------------------------------------
    def display_title(self) -> str:
        """The title for people: a derived title is marked as such, never passed off as real."""
        if self.title and not self.title_derived:
            return self.title
        label = self.title or derive_title(self.abstract)
        return f"{UNTITLED_MARK} {label}"

    def to_dict(self, *, with_full_text: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_full_text:
            data.pop("full_text")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Paper":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["sources"] = [s if isinstance(s, Source) else Source(**s) for s in data.get("sources", [])]
        return cls(**kwargs)


def is_marked_untitled(title: str) -> bool:
    """Whether a shown title is a derived one (`Paper.display_title` of an untitled paper)."""
    return title.startswith(UNTITLED_MARK)


def without_untitled_mark(title: str) -> str:
    return title.removeprefix(f"{UNTITLED_MARK} ")


def plain_title(title: str, derived: bool) -> str:
    """The title in plain text: `(untitled: label)` when it was derived from the abstract."""
    return f"(untitled: {title})" if derived else title


def full_text_pages(full_text: str) -> list[tuple[int | None, str]]:
    """(page number, text) of each non-empty page of a full text; one (None, text) when the text
    does not record its pages."""
    if PAGE_BREAK not in full_text:
        return [(None, full_text)] if full_text.strip() else []
    return [(n, text) for n, text in enumerate(full_text.split(PAGE_BREAK), start=1) if text.strip()]


def authors_line(authors: list[str], truncated: bool = False, limit: int = 6, unknown: str = "(authors unknown)") -> str:
    """`A, B, C et al.`: at most `limit` names, "et al." when there are more or the source cut the list."""
    shown = ", ".join(authors[:limit])
    if len(authors) > limit or truncated:
        shown += " et al."
    return shown or unknown


# ---- normalisation ----------------------------------------------------------------------------

def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=4096)  # merging asks for one abstract's form several times (keys, hash, prefix)
def normalise_text(text: str) -> str:
    """Lower-case alphanumerics only; LaTeX commands reduced to their argument."""
    text = _LATEX_CMD.sub(lambda m: m.group(2) or " ", text)
    return _NON_ALNUM.sub(" ", strip_accents(text).lower()).strip()


def name_key(name: str) -> str:
    """Case- and accent-insensitive key for a person's name."""
    return " ".join(normalise_text(name).split())


def author_keys(names: Iterable[str]) -> list[str]:
    """Filter keys for a list of names: each full name and each last name, normalised."""
    keys: list[str] = []
    for name in names:
        key = name_key(name)
        if not key:
            continue
        keys.append(key)
        last = key.split()[-1]
        keys.append(f"last:{last}")
        keys.append(f"first:{key.split()[0]}")
    return list(dict.fromkeys(keys))


def valid_new_style_arxiv_id(value: str) -> bool:
    """True for a YYMM.NNNNN id arXiv can have issued: a real month from 0704 on, four digits
    after the dot until 1412 and five from 1501. A spreadsheet that read `2309.11280` as a number
    writes `2309.1128`, which is no arXiv id at all."""
    m = re.fullmatch(r"(\d\d)(\d\d)\.(\d{4,5})", value)
    if not m:
        return False
    year, month, digits = int(m.group(1)), int(m.group(2)), len(m.group(3))
    if not 1 <= month <= 12 or (year, month) < (7, 4):
        return False
    return digits == (4 if year < 15 else 5)


def normalise_arxiv_id(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = raw.strip()
    raw = re.sub(r"^(arxiv:|https?://arxiv\.org/(abs|pdf)/)", "", raw, flags=re.I)
    m = ARXIV_NEW.search(raw)
    if m:
        return m.group(1) if valid_new_style_arxiv_id(m.group(1)) else None
    m = ARXIV_OLD.search(raw)
    return m.group(1) if m else None


def looks_like_mangled_arxiv_id(raw: str | None) -> bool:
    """A value shaped like a new-style arXiv id (digits, a dot, digits) that is not a valid one:
    most often a spreadsheet's number formatting dropped a trailing zero (2309.11280 -> 2309.1128)."""
    value = re.sub(r"^(arxiv:\s*|https?://arxiv\.org/(abs|pdf)/)", "", (raw or "").strip(), flags=re.I)
    value = re.sub(r"v\d+$", "", value)
    return bool(re.fullmatch(r"\d{4}\.\d{1,6}", value)) and not valid_new_style_arxiv_id(value)


def normalise_doi(raw: str | None) -> str | None:
    if not raw:
        return None
    raw = re.sub(r"^(doi:\s*|https?://(dx\.)?doi\.org/)", "", raw.strip(), flags=re.I)
    return raw.lower() if raw.startswith("10.") else None


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode()).hexdigest()[:16]


def derive_title(abstract: str, max_words: int = 12) -> str:
    """A short label from the abstract's first sentence, for records that have no title."""
    first = re.split(r"(?<=[.!?])\s", abstract.strip(), maxsplit=1)[0]
    words = first.split()
    label = " ".join(words[:max_words])
    return label + ("…" if len(words) > max_words else "")


def year_of(date: str | None) -> int | None:
    if date and re.match(r"^\d{4}", date):
        return int(date[:4])
    return None


# ---- identity ---------------------------------------------------------------------------------

# Abstract fields that name no paper: exports fill them with a placeholder, the subjects line, a
# link or a withdrawal notice. Seen in real exports (arXiv scrapes, reference managers, Kaggle dumps).
_PLACEHOLDER_ABSTRACT = re.compile(
    r"^\W*(abstract\W*)?(n/?a|none|null|nil|tbd|tba|-+|no abstract( is)?( available| given| provided)?"
    r"|(abstract )?(is )?not (available|provided|given)|abstract unavailable|no summary( available)?"
    r"|this (paper|article|submission) has been withdrawn\b.*|withdrawn\b.*"
    r"|this article (does not have|has no) an? abstract.*)\W*$",
    re.IGNORECASE | re.DOTALL,
)
_FIELD_LINE = re.compile(r"^\W*(subjects?|categor(y|ies)|keywords?|comments?|journal[- ]ref|msc class|acm class)\s*:", re.I)
_SUBJECT_ITEM = re.compile(r"^[^;()]{2,80}\((?:[a-z\-]+(?:\.[a-z]{2})?|[a-z]{2,}-[a-z]{2,})\)$", re.I)
_LONE_URL = re.compile(r"^\s*<?(https?://|www\.|doi:)\S+>?\s*$", re.I)
# Fewer distinct words than this cannot tell two papers apart (the shortest real abstracts in
# sciqa have 40 distinct words, the arXiv snapshot sample's 10 with one-line notes below that).
MIN_DISTINCT_ABSTRACT_WORDS = 10
MIN_DISTINCT_ABSTRACT_CHARS = 80


def is_distinctive_abstract(text: str) -> bool:
    """True when an abstract is specific enough to identify a paper: not a placeholder, not a
    subjects/categories line, not a lone link, and not too short (see the constants above)."""
    stripped = " ".join(text.split())
    if not stripped or _PLACEHOLDER_ABSTRACT.match(stripped) or _FIELD_LINE.match(stripped) or _LONE_URL.match(stripped):
        return False
    items = [item.strip() for item in re.split(r";|\n", stripped) if item.strip()]
    if items and all(_SUBJECT_ITEM.match(item) for item in items):
        return False  # a bare subjects list: "General Relativity and Quantum Cosmology (gr-qc); ..."
    normalised = normalise_text(stripped)
    return len(normalised) > MIN_DISTINCT_ABSTRACT_CHARS and len(set(normalised.split())) >= MIN_DISTINCT_ABSTRACT_WORDS


def compute_id(paper: Paper) -> str:
    """arXiv id when known, else DOI, else a hash of the normalised abstract (or title).

    An abstract that cannot identify a paper (`is_distinctive_abstract`) is hashed only when
    nothing better is known: two rows whose abstract is the same subjects line are two papers."""
    if paper.arxiv_id:
        return paper.arxiv_id
    if paper.doi:
        return "doi:" + paper.doi
    real_title = "" if paper.title_derived else paper.title
    abstract = paper.abstract if is_distinctive_abstract(paper.abstract) else ""
    basis = abstract or real_title or paper.full_text[:2000] or paper.abstract
    return "h" + text_hash(basis)


def merge_keys(paper: Paper) -> set[str]:
    """Keys under which two records are the same paper."""
    keys: set[str] = set()
    if paper.arxiv_id:
        keys.add("arxiv:" + paper.arxiv_id)
    if paper.doi:
        keys.add("doi:" + paper.doi)
    if paper.abstract and is_distinctive_abstract(paper.abstract):
        keys.add("abs:" + text_hash(paper.abstract))
    if paper.title and not paper.title_derived and len(normalise_text(paper.title)) > 15:
        keys.add("title:" + normalise_text(paper.title))
    return keys


_HASH_ID = re.compile(r"h[0-9a-f]{16}")


def is_library_id(value: str) -> bool:
    """True for ids of the library's own forms (arXiv id, `doi:...`, abstract hash), which name one
    paper wherever they appear. A source's own ids (BibTeX keys, row numbers) only name an entry
    inside its file: two exports may both have a `smith2020` or a row `1`, for different papers."""
    return value.startswith("doi:") or bool(_HASH_ID.fullmatch(value)) or normalise_arxiv_id(value) == value


def library_ids(paper: Paper) -> list[str]:
    """The paper's id and its former library ids (not the source ids among its aliases)."""
    return [a for a in [paper.id, *paper.aliases] if is_library_id(a)]


def identity_keys(paper: Paper, keys: set[str] | None = None) -> set[str]:
    """Merge keys (`keys`, when the caller has them) plus the paper's library ids as `id:...` keys."""
    return (merge_keys(paper) if keys is None else keys) | {f"id:{a}" for a in library_ids(paper)}


def finalise(paper: Paper) -> Paper:
    """Fill derived fields (id, year, derived title) after parsing or merging."""
    paper.arxiv_id = normalise_arxiv_id(paper.arxiv_id)
    paper.doi = normalise_doi(paper.doi)
    if not paper.title and paper.abstract:
        paper.title = derive_title(paper.abstract)
        paper.title_derived = True
    if paper.year is None:
        paper.year = year_of(paper.date)
    paper.versions = sorted(set(paper.versions))
    new_id = compute_id(paper)
    if paper.id and paper.id != new_id and paper.id not in paper.aliases:
        paper.aliases.append(paper.id)
    paper.id = new_id
    paper.aliases = [a for a in dict.fromkeys(paper.aliases) if a != paper.id]
    return paper


# ---- merge ------------------------------------------------------------------------------------

def _union(a: list, b: list) -> list:
    return list(dict.fromkeys([*a, *b]))


def _better_authors(a: Paper, b: Paper) -> tuple[list[str], bool]:
    if not a.authors:
        return b.authors, b.authors_truncated
    if not b.authors:
        return a.authors, a.authors_truncated
    if a.authors_truncated != b.authors_truncated:
        return (b.authors, False) if a.authors_truncated else (a.authors, False)
    return (a.authors, a.authors_truncated) if len(a.authors) >= len(b.authors) else (b.authors, b.authors_truncated)


def _better_date(a: Paper, b: Paper) -> tuple[str | None, int | None, bool]:
    candidates = [(p.year_inferred, p.date or "", p) for p in (a, b) if p.date or p.year]
    if not candidates:
        return None, None, False
    # A stated date beats an inferred one; among stated dates the earliest (first version) wins,
    # and a fuller date beats a bare year of the same paper.
    candidates.sort(key=lambda c: (c[0], c[1][:4] or "9999", -len(c[1]), c[1]))
    _, _, best = candidates[0]
    return best.date, best.year, best.year_inferred


def merge(a: Paper, b: Paper) -> Paper:
    """One record of one paper, taking the best known value of every field from `a` and `b`."""
    authors, truncated = _better_authors(a, b)
    date, year, year_inferred = _better_date(a, b)
    if a.title and not a.title_derived:
        title, derived = a.title, False
    elif b.title and not b.title_derived:
        title, derived = b.title, False
    else:
        title, derived = a.title or b.title, True
    merged = Paper(
        id=a.id,
        title=title,
        title_derived=derived if title else False,
        authors=list(authors),
        authors_truncated=truncated,
        partial_authors=_union(a.partial_authors, b.partial_authors),
        date=date,
        year=year,
        year_inferred=year_inferred,
        arxiv_id=a.arxiv_id or b.arxiv_id,
        doi=a.doi or b.doi,
        categories=_union(a.categories, b.categories),
        affiliations=_union(a.affiliations, b.affiliations),
        comments=a.comments or b.comments,
        has_code=a.has_code or b.has_code,
        abstract=a.abstract if len(a.abstract) >= len(b.abstract) else b.abstract,
        full_text=a.full_text if len(a.full_text) >= len(b.full_text) else b.full_text,
        sources=list({s.key(): s for s in [*a.sources, *b.sources]}.values()),
        versions=_union(a.versions, b.versions),
        aliases=_union(_union(a.aliases, b.aliases), [i for i in (a.id, b.id) if i]),
        collections=_union(a.collections, b.collections),
        tags=_union(a.tags, b.tags),
        citation_key=a.citation_key or b.citation_key,
        venue=a.venue or b.venue,
        item_type=a.item_type or b.item_type,
    )
    return finalise(merged)


# Near-duplicate abstracts: the same paper's abstract copied with small differences (LaTeX markup,
# whitespace, a typo fixed, a truncated copy) in another file. Candidates must share the first
# NEAR_DUP_PREFIX_WORDS normalised words; then the whole texts (or the shorter one and the same
# length of the longer one, for a truncated copy) must be at least NEAR_DUP_MIN_RATIO similar.
NEAR_DUP_PREFIX_WORDS = 12
NEAR_DUP_MIN_RATIO = 95.0
NEAR_DUP_MIN_CHARS = 200


def _similarity(a: str, b: str) -> float:
    """0..100 similarity of two strings (rapidfuzz when installed, difflib otherwise)."""
    try:
        from rapidfuzz import fuzz
    except ImportError:  # pragma: no cover - rapidfuzz is a declared dependency
        import difflib

        return 100.0 * difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return float(fuzz.ratio(a, b))


def abstract_prefix_key(paper: Paper) -> str | None:
    """The first words of the normalised abstract: the bucket for near-duplicate candidates."""
    words = normalise_text(paper.abstract).split()
    if len(words) < NEAR_DUP_PREFIX_WORDS or not is_distinctive_abstract(paper.abstract):
        return None
    return " ".join(words[:NEAR_DUP_PREFIX_WORDS])


def near_duplicate_abstracts(a: str, b: str) -> bool:
    """True when two abstracts are the same text up to markup, spacing, small edits or truncation."""
    x, y = normalise_text(a), normalise_text(b)
    short, long = sorted((x, y), key=len)
    if len(short) < NEAR_DUP_MIN_CHARS:
        return False
    if _similarity(x, y) >= NEAR_DUP_MIN_RATIO:
        return True
    return _similarity(short, long[: len(short)]) >= NEAR_DUP_MIN_RATIO


def conflicting_ids(a: Paper, b: Paper) -> bool:
    """Two records with different arXiv ids or DOIs are different papers, however alike."""
    return bool(
        (a.arxiv_id and b.arxiv_id and a.arxiv_id != b.arxiv_id) or (a.doi and b.doi and a.doi != b.doi)
    )


# Titles of one paper differ by case, punctuation, a subtitle or a word or two (a later version);
# below this token-set similarity (0..100) two real titles name different papers.
SAME_TITLE_MIN_SIMILARITY = 60.0


def clearly_different_titles(a: Paper, b: Paper) -> bool:
    """Both records have real titles, and they are not one title written two ways."""
    if a.title_derived or b.title_derived or not a.title or not b.title:
        return False
    x, y = normalise_text(a.title), normalise_text(b.title)
    if not x or not y or x in y or y in x:
        return False
    from rapidfuzz import fuzz

    return float(fuzz.token_set_ratio(x, y)) < SAME_TITLE_MIN_SIMILARITY


def shares_strong_id(a: Paper, b: Paper) -> bool:
    return bool((a.arxiv_id and a.arxiv_id == b.arxiv_id) or (a.doi and a.doi == b.doi))


def same_paper(a: Paper, b: Paper) -> bool:
    """May records `a` and `b`, which share a merge key, be merged? Never across conflicting
    arXiv ids or DOIs; and a match on the abstract alone does not merge two clearly different
    titles (a shared arXiv id or DOI does: a paper's title may change between versions)."""
    if conflicting_ids(a, b):
        return False
    return shares_strong_id(a, b) or not clearly_different_titles(a, b)


def _near_duplicate(paper: Paper, candidates: list[int], merged: list[Paper | None]) -> int | None:
    """The first earlier record whose abstract is a near duplicate of `paper`'s, if any."""
    for index in candidates:
        other = merged[index]
        if other is not None and same_paper(paper, other):
            if near_duplicate_abstracts(paper.abstract, other.abstract):
                return index
    return None


class _MergeIndex:
    """Where each merge key and abstract prefix lives among the records merged so far. A key may
    belong to several records: two papers that must not merge can share a title or an abstract."""

    def __init__(self) -> None:
        self.owners: dict[str, list[int]] = {}
        self.by_prefix: dict[str, list[int]] = {}

    def hits(self, paper: Paper, merged: list[Paper | None]) -> list[int]:
        exact = sorted({i for k in identity_keys(paper) for i in self.owners.get(k, ())})
        if exact:
            return exact
        prefix = abstract_prefix_key(paper)
        near = _near_duplicate(paper, self.by_prefix.get(prefix, []), merged) if prefix else None
        return [] if near is None else [near]

    def register(self, paper: Paper, index: int) -> None:
        for key in identity_keys(paper):
            owners = self.owners.setdefault(key, [])
            if index not in owners:
                owners.append(index)
        prefix = abstract_prefix_key(paper)
        if prefix and index not in self.by_prefix.setdefault(prefix, []):
            self.by_prefix[prefix].append(index)

    def redirect(self, gone: list[int], index: int) -> None:
        """Records `gone` were merged into `index`: point their keys and prefixes there."""
        if not gone:
            return
        for table in (self.owners, self.by_prefix):
            for key, indices in table.items():
                if any(i in gone for i in indices):
                    table[key] = list(dict.fromkeys(index if i in gone else i for i in indices))


def joinable(paper: Paper, candidates: list[Paper]) -> list[Paper]:
    """The candidates `paper` may join, in order. Each must fit the record merged so far, so
    merging is never transitive across conflicting ids: a record matching two papers with
    different arXiv ids joins the first and leaves the second alone."""
    probe, accepted = paper, []
    for candidate in candidates:
        if same_paper(probe, candidate) and same_paper(paper, candidate):
            probe = merge(candidate, probe)
            accepted.append(candidate)
    return accepted


def merge_group(paper: Paper, candidates: list[Paper]) -> tuple[Paper, list[Paper]]:
    """Merge `paper` with the candidates it may join (`joinable`); returns the merged record and
    the candidates it absorbed."""
    accepted = joinable(paper, candidates)
    if not accepted:
        return paper, []
    current = accepted[0]
    for other in accepted[1:]:
        current = merge(current, other)
    return merge(current, paper), accepted


def merge_all(papers: Iterable[Paper]) -> list[Paper]:
    """Merge every group of records of one paper, keeping input order.

    Records are one paper when they share a merge key or a library id, or, failing that, when
    their abstracts are near duplicates (`near_duplicate_abstracts`); in both cases only when
    `same_paper` allows it (see `merge_group`).
    """
    merged: list[Paper | None] = []
    index_of = _MergeIndex()
    for paper in papers:
        finalise(paper)
        hits = [i for i in index_of.hits(paper, merged) if merged[i] is not None]
        current, absorbed = merge_group(paper, [merged[i] for i in hits])  # type: ignore[misc]
        absorbed_ids = {id(p) for p in absorbed}
        joined = [i for i in hits if id(merged[i]) in absorbed_ids]
        if not joined:
            merged.append(paper)
            index = len(merged) - 1
        else:
            index = joined[0]
            for other in joined[1:]:
                merged[other] = None
            merged[index] = current
        index_of.register(paper, index)
        index_of.register(current, index)
        index_of.redirect(joined[1:], index)
    return [p for p in merged if p is not None]
