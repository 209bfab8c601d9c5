"""Validation: every token of every marker looked up among the sources the model was given; valid
ones renumbered in order of first appearance (numeric syntax), the rest dropped with a reason, and
each sentence checked for support (`assistant.cite.support`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from assistant.cite.markers import LATEX, MAX_RANGE, NUMERIC, Marker, Syntax, replace_groups, strip_markers
from assistant.cite.styles import given_text, normalise_citations
from assistant.cite.support import SUPPORT_THRESHOLD, Evidence, SentenceEmbedder, SupportScorer, is_factual
from assistant.llm.base import SourceText
from assistant.sentences import split_sentences


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

    rewritten = replace_groups(text, syntax, render)
    return rewritten, sorted(cited), invalid



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
    embedder: SentenceEmbedder | None = None,
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
    embedder: SentenceEmbedder | None = None,
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
    embedder: SentenceEmbedder | None = None,
    threshold: float | None = None,
    check_support: bool = True,
) -> CitedText:
    """Check `\\cite{key,...}` citations against the sources behind the given keys. Keys stay in
    the text; `citations` are numbered in order of first appearance."""

    def unknown(key: str) -> str:
        return f"unknown citation key {key!r} (not a retrieved source)"

    sources = list({s.n: s for s in key_to_source.values()}.values())
    return validate_tokens(text, LATEX, key_to_source.get, unknown, sources, embedder=embedder, threshold=threshold, check_support=check_support)
