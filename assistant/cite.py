"""Citations: the one place they are parsed, checked, renumbered and scored.

Two syntaxes share one mechanism. A *marker* is a run of citation *tokens* in the text: numeric
brackets (`[1]`, `[1, 3]`, `[2-4]`, `[2–4]`; `[1][2]` is two markers) whose tokens are source
numbers, or LaTeX commands (`\\cite{key1,key2}`, `\\citep{...}`) whose tokens are keys. Validation
looks every token up among the sources the model was given, renumbers the valid ones in order of
first appearance (numeric syntax), drops the rest with a reason, and scores each sentence against
the abstracts it cites.

Support score (`support_score`): `SUPPORT_COSINE_WEIGHT * cos + (1 - SUPPORT_COSINE_WEIGHT) * overlap`,
where `cos` is the embedding cosine between the sentence (citations stripped) and the best-matching
sentence of the cited source (title included as a sentence), and `overlap` the share of the
sentence's content terms (stemmed, stopwords removed) found anywhere in the cited source. The
constants are calibrated by `bench/answers.py --calibrate` on SciFact claims from
/work/shared/data/sciqa (each claim vs its gold abstract = supported; vs a random other abstract
and vs the most similar non-gold abstract = unsupported); see the comment at SUPPORT_THRESHOLD.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Protocol

from assistant.llm.base import SourceText
from assistant.sentences import content_terms, cosine_matrix, embed_cached, split_sentences

# Calibration (`bench/answers.py --calibrate`; sciqa store, all-MiniLM-L6-v2 onnx-int8): each of the
# 104 SciFact claims is scored against its gold abstract (should be supported), a random other
# abstract and the most similar non-gold abstract (should not). For each cosine weight the threshold
# is the highest that keeps >= 95% of gold pairs supported; the weight with the best AUC against the
# nearest non-gold abstract wins: weight 0.8, threshold 0.49 -> gold pairs flagged 3.8%, random
# abstracts flagged 100% (AUC 0.9999), nearest non-gold flagged 61% (AUC 0.889; these are often on
# the same subject, so the check cannot catch every wrong-but-related citation).
SUPPORT_COSINE_WEIGHT = 0.8
SUPPORT_THRESHOLD = 0.49
# A range wider than this ([1-400]) is not read as a list of citations.
MAX_RANGE = 20

_NUMERIC = re.compile(
    r"\[\s*(\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*[,;]\s*\d{1,4}(?:\s*[-–—]\s*\d{1,4})?)*)\s*\](?!\()"
)
_RANGE = re.compile(r"^(\d+)\s*[-–—]\s*(\d+)$")
_CITE = re.compile(r"\\(cite[a-zA-Z]*)\*?((?:\[[^\]]*\])*)\{([^{}]*)\}")


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> list[list[float]]: ...


# ---- markers ----------------------------------------------------------------------------------

@dataclass
class Marker:
    """One citation marker: where it is, what it says, and its tokens (source numbers or keys).

    A numeric range is expanded (`[2-4]` -> "2", "3", "4"); a range wider than MAX_RANGE stays
    one token ("1-400"), which matches no source."""

    start: int
    end: int
    raw: str
    tokens: list[str]
    command: str = ""  # "cite", "citep", ... for the LaTeX syntax
    options: str = ""  # "[p. 3]" of \cite[p. 3]{key}

    @property
    def numbers(self) -> list[int]:
        return [int(t) for t in self.tokens if t.isdigit()]


def _expand(part: str) -> list[str]:
    m = _RANGE.match(part)
    if not m:
        return [str(int(part))]
    lo, hi = sorted((int(m.group(1)), int(m.group(2))))
    if hi - lo > MAX_RANGE:
        return [f"{lo}-{hi}"]
    return [str(n) for n in range(lo, hi + 1)]


def parse_markers(text: str) -> list[Marker]:
    """Numeric citation markers in order. Brackets holding anything but numbers, commas,
    semicolons and ranges (`[12a]`, `[Smith 2020]`, `[see 2]`) and Markdown links (`[1](url)`)
    are not citations."""
    markers = []
    for m in _NUMERIC.finditer(text):
        tokens = [t for part in re.split(r"\s*[,;]\s*", m.group(1)) for t in _expand(part.strip())]
        markers.append(Marker(m.start(), m.end(), m.group(), tokens))
    return markers


def parse_cite_commands(text: str) -> list[Marker]:
    """LaTeX citation commands (`\\cite{a,b}`, `\\citep[p. 2]{a}`, `\\citet*{a}`) in order."""
    return [
        Marker(m.start(), m.end(), m.group(), [k.strip() for k in m.group(3).split(",") if k.strip()], m.group(1), m.group(2))
        for m in _CITE.finditer(text)
    ]


@dataclass(frozen=True)
class Syntax:
    """How one citation style is found, written back, and named in messages."""

    name: str
    find: Callable[[str], list[Marker]]
    render: Callable[[list[str], Marker], str]
    label: Callable[[str], str]
    renumber: bool  # numeric tokens are replaced by their new numbers; keys stay as they are


NUMERIC = Syntax(
    "numeric",
    parse_markers,
    lambda tokens, _m: "[" + ", ".join(tokens) + "]",
    lambda token: f"[{token}]",
    renumber=True,
)
LATEX = Syntax(
    "latex",
    parse_cite_commands,
    lambda tokens, m: f"\\{m.command}{m.options}{{{','.join(tokens)}}}",
    lambda token: f"\\cite{{{token}}}",
    renumber=False,
)


def strip_markers(text: str, syntax: Syntax | None = None) -> str:
    """`text` without citation markers (both syntaxes unless one is named), spacing tidied."""
    for s in [syntax] if syntax else [NUMERIC, LATEX]:
        text = _replace_groups(text, s, lambda _group: "")
    return text.strip()


# ---- citation styles models write --------------------------------------------------------------
# Real models cite in many styles besides `[1]`, `[1, 2]`, `[1-3]` and `[1][2]` (read as they are).
# Each style below is rewritten to `[n]` before validation, or removed and reported.

_NUMBER_LIST = r"\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*(?:[,;&]|\band\b)\s*(?:sources?\s*)?\d{1,4}(?:\s*[-–—]\s*\d{1,4})?)*"
# `[Source 1]`, `(Source 2)`, `[Sources 1, 3]`, `(sources 2 and 4)`, `[Source: 1]`
_SOURCE_WORD = re.compile(r"[\[(]\s*sources?\s*:?\s*(" + _NUMBER_LIST + r")\s*[\])]", re.IGNORECASE)
# `【1】`, `【1, 2】`, `【4†source】`, `【4:0†source】` (full-width brackets)
_LENTICULAR = re.compile(r"【\s*(" + _NUMBER_LIST + r")\s*(?:[:†][^】]*)?】")
# a footnote reference `[^1]` and a footnote definition line `[^1]: Title, 2020.`
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]{1,20})\](?!:)")
_FOOTNOTE_DEF = re.compile(r"^[ \t]*\[\^([^\]\s]{1,20})\]:[ \t]*(.*)$", re.MULTILINE)
# a heading that opens the model's own reference list: `References:`, `**Sources**`, `## Bibliography`
_LIST_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}(references|sources|sources cited|bibliography|works cited|citations)[*_]{0,2}[ \t]*:?[*_]{0,2}[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_NUMBER = re.compile(r"^[ \t]*(?:[-*•][ \t]*)?(?:\[(\d{1,4})\]|【(\d{1,4})】|\(?(\d{1,4})[.)]|sources?[ \t]+(\d{1,4}))", re.IGNORECASE)
_SOURCE_NUMBER_IN_TEXT = re.compile(r"(?:\[|【|\bsources?\s*)(\d{1,4})", re.IGNORECASE)


@dataclass
class Normalised:
    """The text with every citation style rewritten as `[n]`, and what was removed, and why."""

    text: str
    removed: list[dict[str, str]] = field(default_factory=list)


def _as_brackets(numbers: str) -> str:
    parts = re.split(r"\s*(?:[,;&]|\band\b)\s*", re.sub(r"(?i)sources?\s*", "", numbers))
    return "[" + ", ".join(p.strip() for p in parts if p.strip()) + "]"


def _given_numbers(text: str, given: set[int]) -> list[int]:
    return [int(m.group(1)) for m in _SOURCE_NUMBER_IN_TEXT.finditer(text) if int(m.group(1)) in given] or [
        n for n in (int(t) for t in re.findall(r"^\s*(\d{1,4})\b", text)) if n in given
    ]


def _footnote_source(label: str, definition: str, sources: list[SourceText]) -> int | None:
    """The source a footnote stands for: a source number its definition names, else a source
    whose title it quotes, else (with no definition) its own number."""
    given = {s.n for s in sources}
    named = _given_numbers(definition, given)
    if named:
        return named[0]
    wanted = " ".join(definition.lower().split())
    for source in sources:
        title = " ".join(source.title.lower().split())
        if len(title) >= 8 and title in wanted:
            return source.n
    if not definition.strip() and label.isdigit() and int(label) in given:
        return int(label)
    return None


def _footnotes(text: str, sources: list[SourceText], removed: list[dict[str, str]]) -> str:
    definitions = {m.group(1): m.group(2) for m in _FOOTNOTE_DEF.finditer(text)}
    text = _FOOTNOTE_DEF.sub("", text)
    resolved: dict[str, int | None] = {}
    for label in dict.fromkeys(m.group(1) for m in _FOOTNOTE_REF.finditer(text)):
        resolved[label] = _footnote_source(label, definitions.get(label, ""), sources)
        if resolved[label] is None:
            reason = "footnote that names no retrieved source" if label in definitions else "footnote with no definition and no such source"
            removed.append({"marker": f"[^{label}]", "reason": reason})

    def rewrite(m: re.Match[str]) -> str:
        n = resolved.get(m.group(1))
        return f"[{n}]" if n is not None else ""

    return _FOOTNOTE_REF.sub(rewrite, text)


def _reference_list(text: str, given: set[int], removed: list[dict[str, str]]) -> str:
    """`text` without a trailing reference list the model added (the app shows its own); a
    number in that list that names no given source is reported."""
    for heading in reversed(list(_LIST_HEADING.finditer(text))):
        lines = [line for line in text[heading.end() :].splitlines() if line.strip()]
        if not lines or not all(_LIST_NUMBER.match(line) or line.lstrip().startswith(("-", "*", "•")) for line in lines):
            continue
        shown = given_text(given)
        for line in lines:
            m = _LIST_NUMBER.match(line)
            number = next((int(g) for g in m.groups() if g), None) if m else None
            if number is not None and number not in given:
                removed.append({"marker": f"[{number}]", "reason": f"in the model's own reference list, not a retrieved source ({shown})"})
        return text[: heading.start()].rstrip()
    return text


def given_text(given: set[int]) -> str:
    ns = sorted(given)
    if not ns:
        return "no sources were given"
    if len(ns) == 1:
        return f"only [{ns[0]}] was given"
    if ns == list(range(ns[0], ns[-1] + 1)):
        return f"only [{ns[0]}]-[{ns[-1]}] were given"
    return "only " + ", ".join(f"[{n}]" for n in ns) + " were given"


def normalise_citations(text: str, sources: list[SourceText]) -> Normalised:
    """Every citation style a model writes, as `[n]`: `[Source 1]`, `(Source 2)`, `【1】`,
    footnotes `[^1]` (resolved through their definitions, which are removed), and no reference
    list of the model's own (removed; numbers in it that were not given are reported)."""
    removed: list[dict[str, str]] = []
    given = {s.n for s in sources}
    text = _reference_list(text, given, removed)
    text = _footnotes(text, sources, removed)
    text = _SOURCE_WORD.sub(lambda m: _as_brackets(m.group(1)), text)
    text = _LENTICULAR.sub(lambda m: _as_brackets(m.group(1)), text)
    return Normalised(text.strip(), removed)


# ---- results ----------------------------------------------------------------------------------

@dataclass
class Evidence:
    """How well a cited source supports a citing sentence: `score` (the calibrated support score
    from `cosine`, the best sentence cosine, and `overlap`, the share of claim terms in the whole
    source) and `sentence`, the source sentence to show as support."""

    n: int
    paper_id: str
    sentence: str
    score: float
    cosine: float
    overlap: float


@dataclass
class CitationRef:
    n: int  # number in the validated text (order of first appearance)
    paper_id: str
    source_n: int  # the source's number as given to the model
    key: str | None = None  # the citation key (LaTeX syntax)
    # The best support found for this citation among the sentences citing it.
    supporting_sentence: str = ""
    support: float | None = None
    # Every source sentence shown as support for some citing sentence, in order of appearance.
    supporting_sentences: list[str] = field(default_factory=list)


@dataclass
class SentenceCheck:
    text: str  # as in the validated text (renumbered)
    citations: list[int]  # new numbers
    score: float | None  # best support among cited sources (None when nothing is cited)
    supported: bool
    reason: str | None  # why it is flagged; None when fine
    factual: bool = True
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class CitedText:
    text: str
    citations: list[CitationRef]
    removed: list[dict[str, str]]
    sentences: list[SentenceCheck]
    unsupported_sentences: list[str]
    threshold: float = SUPPORT_THRESHOLD

    def citation(self, n: int) -> CitationRef | None:
        return next((c for c in self.citations if c.n == n), None)

    def to_json(self) -> dict:
        return asdict(self)


# ---- renumbering ------------------------------------------------------------------------------

@dataclass
class _TokenTable:
    """Token -> new number (or None, invalid) and the citations, in order of first appearance."""

    new_number: dict[str, int | None] = field(default_factory=dict)
    citations: list[CitationRef] = field(default_factory=list)
    removed: dict[str, dict[str, str]] = field(default_factory=dict)


def _build_table(
    markers: Iterable[Marker],
    syntax: Syntax,
    lookup: Callable[[str], SourceText | None],
    unknown: Callable[[str], str],
) -> _TokenTable:
    table = _TokenTable()
    by_source: dict[int, int] = {}
    for marker in markers:
        for token in marker.tokens:
            if token in table.new_number:
                continue
            source = lookup(token)
            if source is None:
                table.new_number[token] = None
                table.removed.setdefault(token, {"marker": syntax.label(token), "reason": unknown(token)})
                continue
            if source.n not in by_source:
                by_source[source.n] = len(by_source) + 1
                key = None if syntax.renumber else token
                table.citations.append(CitationRef(by_source[source.n], source.paper_id, source.n, key))
            table.new_number[token] = by_source[source.n]
    return table


def _groups(text: str, markers: list[Marker]) -> list[list[Marker]]:
    """Markers separated by nothing but spaces ("[1][2]", "[1] [2]") form one group."""
    groups: list[list[Marker]] = []
    for marker in markers:
        if groups and not text[groups[-1][-1].end : marker.start].strip(" \t"):
            groups[-1].append(marker)
        else:
            groups.append([marker])
    return groups


def _replace_groups(text: str, syntax: Syntax, render_group: Callable[[list[Marker]], str]) -> str:
    """Rewrite every marker group with `render_group` ("" removes it, with the space before it)."""
    out = ""
    position = 0
    at_line_start = False  # a removed marker opened the line: drop the spaces after it
    for group in _groups(text, syntax.find(text)):
        segment = text[position : group[0].start]
        out += segment.lstrip(" \t") if at_line_start else segment
        position = group[-1].end
        rendered = render_group(group)
        at_line_start = False
        if rendered:
            out += rendered
            continue
        out = out.rstrip(" \t")
        at_line_start = not out or out.endswith("\n")
        if not at_line_start and text[position : position + 1].isalnum():
            out += " "
    tail = text[position:]
    return out + (tail.lstrip(" \t") if at_line_start else tail)


def _render_group(group: list[Marker], syntax: Syntax, table: _TokenTable) -> tuple[str, list[int]]:
    """The group rewritten with valid tokens only, and the new numbers it cites."""
    numbers: list[int] = []
    kept: list[str] = []
    for marker in group:
        for token in marker.tokens:
            n = table.new_number.get(token)
            if n is None or n in numbers:
                continue
            numbers.append(n)
            kept.append(token)
    if not numbers:
        return "", []
    if syntax.renumber:
        numbers.sort()
        kept = [str(n) for n in numbers]
    return syntax.render(kept, group[0]), numbers


def _rewrite(text: str, syntax: Syntax, table: _TokenTable) -> tuple[str, list[int], list[str]]:
    """`text` with markers renumbered/cleaned; the new numbers it cites; the invalid tokens it had."""
    cited: list[int] = []
    invalid: list[str] = []

    def render(group: list[Marker]) -> str:
        rendered, numbers = _render_group(group, syntax, table)
        cited.extend(n for n in numbers if n not in cited)
        invalid.extend(t for m in group for t in m.tokens if table.new_number.get(t) is None and t not in invalid)
        return rendered

    rewritten = _replace_groups(text, syntax, render)
    return rewritten, sorted(cited), invalid


# ---- sentences: factual content and support ---------------------------------------------------

_META = re.compile(
    r"\b(i|we)\s+(could\s+not|couldn't|cannot|can't|did\s+not|didn't|do\s+not|don't)\s+(find|answer|determine|know|say)\b"
    r"|\b(the|these|provided|retrieved)\s+(sources?|abstracts?|papers?|library)\b.*\b(not|no|nothing|none|n't)\b"
    r"|\b(no|none\s+of\s+the)\s+(sources?|abstracts?|papers?)\b"
    r"|^(extractive answer|note|sources?|references?)\b",
    re.IGNORECASE,
)
MIN_CONTENT_TERMS = 3


def is_factual(sentence: str) -> bool:
    """Whether a sentence makes a claim that needs a citation. Not factual: headings (`#`),
    lead-ins ending in ':', questions, statements about the sources or the library themselves
    ("I could not find…", "The sources do not say…"), and short transitions with fewer than
    MIN_CONTENT_TERMS content words."""
    text = strip_markers(sentence).strip(" \t*_>-•")
    if not text or text.startswith("#") or text.endswith((":", "?")):
        return False
    if _META.search(text):
        return False
    return len(content_terms(text)) >= MIN_CONTENT_TERMS


def source_sentences(source: SourceText) -> list[str]:
    """What a citation can be supported by: the title (unless derived) and each text sentence."""
    title = source.title.strip()
    head = [title] if title and not title.startswith("[untitled]") else []
    return head + split_sentences(source.text)


def support_score(cos: float, overlap: float) -> float:
    return SUPPORT_COSINE_WEIGHT * cos + (1 - SUPPORT_COSINE_WEIGHT) * overlap


class SupportScorer:
    """Scores claims against sources, embedding each text once."""

    def __init__(self, embedder: Embedder | None, sources: Iterable[SourceText]):
        if embedder is None:
            from assistant.embed import get_embedder

            embedder = get_embedder()
        self.embedder = embedder
        self.sources = {s.n: s for s in sources}
        self._sentences = {n: source_sentences(s) for n, s in self.sources.items()}
        self._terms = {n: content_terms(" ".join(ss)) for n, ss in self._sentences.items()}
        self._vectors: dict[int, list[list[float]]] = {}

    def _ensure(self, ns: Iterable[int], claims: list[str]) -> list[list[float]]:
        todo = [n for n in dict.fromkeys(ns) if n not in self._vectors and self._sentences.get(n)]
        texts = [*claims, *(s for n in todo for s in self._sentences[n])]
        vectors = embed_cached(self.embedder, texts) if texts else []
        offset = len(claims)
        for n in todo:
            count = len(self._sentences[n])
            self._vectors[n] = vectors[offset : offset + count]
            offset += count
        return vectors[: len(claims)]

    def _best_sentence(self, n: int, terms: set[str], cosines) -> str:
        """The sentence to show as support: cosine mixed with the claim terms it contains (an
        entity-heavy claim otherwise lands on whichever sentence names the entity)."""
        sentences = self._sentences[n]
        mixed = [
            support_score(float(cos), len(terms & content_terms(sentence)) / len(terms) if terms else 0.0)
            for sentence, cos in zip(sentences, cosines)
        ]
        return sentences[max(range(len(sentences)), key=mixed.__getitem__)]

    def score(self, claims: list[str], cited: list[list[int]]) -> list[list[Evidence]]:
        """For each claim, one Evidence per source it cites (sources with no text are skipped)."""
        claim_vectors = self._ensure((n for ns in cited for n in ns), claims)
        results: list[list[Evidence]] = []
        for claim, vector, ns in zip(claims, claim_vectors, cited):
            terms = content_terms(claim)
            evidence = []
            for n in ns:
                if not self._vectors.get(n):
                    continue
                cosines = cosine_matrix([vector], self._vectors[n])[0]
                cos = float(cosines.max())
                overlap = len(terms & self._terms[n]) / len(terms) if terms else 0.0
                evidence.append(
                    Evidence(n, self.sources[n].paper_id, self._best_sentence(n, terms, cosines), round(support_score(cos, overlap), 4), round(cos, 4), round(overlap, 4))
                )
            results.append(evidence)
        return results


def _check_sentences(
    original: str,
    syntax: Syntax,
    table: _TokenTable,
    scorer: SupportScorer | None,
    threshold: float,
) -> list[SentenceCheck]:
    rows = []
    for sentence in split_sentences(original):
        text, cited, invalid = _rewrite(sentence, syntax, table)
        rows.append((text, cited, invalid, strip_markers(text, syntax)))
    source_of = {c.n: c.source_n for c in table.citations}
    scored = (
        scorer.score([r[3] for r in rows], [[source_of[n] for n in r[1]] for r in rows]) if scorer else [[] for _ in rows]
    )
    new_of = {c.source_n: c.n for c in table.citations}
    checks = []
    for (text, cited, invalid, claim), evidence in zip(rows, scored):
        for e in evidence:
            e.n = new_of[e.n]
        factual = is_factual(text)
        score = max((e.score for e in evidence), default=None)
        reason = None
        if cited and score is not None and score < threshold:
            sources = ", ".join(syntax.label(_token_of(table, n, syntax)) for n in cited)
            reason = f"weak support: {score:.2f} < {threshold:.2f} from {sources}"
        elif not cited and factual:
            removed = ", ".join(syntax.label(t) for t in invalid)
            reason = f"no valid citation ({removed} removed)" if invalid else "no citation"
        checks.append(SentenceCheck(text, cited, score, reason is None, reason, factual, evidence))
    return checks


def _token_of(table: _TokenTable, n: int, syntax: Syntax) -> str:
    """How citation n is written in the validated text: its new number, or its key."""
    if syntax.renumber:
        return str(n)
    return next((c.key or str(c.n) for c in table.citations if c.n == n), str(n))


def _attach_best_support(citations: list[CitationRef], checks: list[SentenceCheck]) -> None:
    for citation in citations:
        found = [e for check in checks for e in check.evidence if e.n == citation.n]
        if found:
            best = max(found, key=lambda e: e.score)
            citation.supporting_sentence, citation.support = best.sentence, best.score
            citation.supporting_sentences = list(dict.fromkeys(e.sentence for e in found))


# ---- public entry points ----------------------------------------------------------------------

def validate_tokens(
    text: str,
    syntax: Syntax,
    lookup: Callable[[str], SourceText | None],
    unknown: Callable[[str], str],
    sources: Iterable[SourceText],
    *,
    embedder: Embedder | None = None,
    threshold: float | None = None,
    check_support: bool = True,
) -> CitedText:
    """The mechanism behind `validate` and `validate_keys`: look up every token of every marker,
    renumber (numeric syntax), drop the invalid, check each sentence."""
    threshold = SUPPORT_THRESHOLD if threshold is None else threshold
    table = _build_table(syntax.find(text), syntax, lookup, unknown)
    cleaned, _, _ = _rewrite(text, syntax, table)
    scorer = SupportScorer(embedder, sources) if check_support else None
    checks = _check_sentences(text, syntax, table, scorer, threshold)
    _attach_best_support(table.citations, checks)
    return CitedText(
        text=cleaned,
        citations=table.citations,
        removed=list(table.removed.values()),
        sentences=checks,
        unsupported_sentences=[c.text for c in checks if not c.supported],
        threshold=threshold,
    )


def _given(sources: list[SourceText]) -> str:
    return given_text({s.n for s in sources})


def validate(
    text: str,
    sources: list[SourceText],
    *,
    embedder: Embedder | None = None,
    threshold: float | None = None,
    check_support: bool = True,
) -> CitedText:
    """Check the citations in `text` against the numbered `sources` the model was given: every
    style is first rewritten as `[n]` (`normalise_citations`), then checked and renumbered."""
    normalised = normalise_citations(text, sources)
    by_number = {str(s.n): s for s in sources}
    given = _given(sources)

    def unknown(token: str) -> str:
        if not token.isdigit():
            return f"citation range too wide (more than {MAX_RANGE} sources)"
        return f"not a retrieved source ({given})"

    checked = validate_tokens(
        normalised.text, NUMERIC, by_number.get, unknown, sources, embedder=embedder, threshold=threshold, check_support=check_support
    )
    checked.removed = normalised.removed + checked.removed
    return checked


def validate_keys(
    text: str,
    key_to_source: dict[str, SourceText],
    *,
    embedder: Embedder | None = None,
    threshold: float | None = None,
    check_support: bool = True,
) -> CitedText:
    """Check `\\cite{key,...}` citations against the sources behind the given keys. Keys stay in
    the text; `citations` are numbered in order of first appearance."""

    def unknown(key: str) -> str:
        return f"unknown citation key {key!r} (not a retrieved source)"

    sources = list({s.n: s for s in key_to_source.values()}.values())
    return validate_tokens(text, LATEX, key_to_source.get, unknown, sources, embedder=embedder, threshold=threshold, check_support=check_support)
