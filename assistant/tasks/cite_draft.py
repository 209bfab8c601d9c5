"""Citations for a draft: for each sentence, the library papers that support it, best first.

draft -> sentences (assistant.drafts) -> per claim: retrieve (assistant.retrieve.search) ->
support score against each hit's abstract and matching passage (assistant.cite.SupportScorer) ->
status -> the draft back with citations inserted, and the BibTeX of what was cited.

Status of a sentence, from its best support score s (thresholds calibrated by
`bench/cite_draft.py --calibrate`; see the comment at SUPPORTED_THRESHOLD):
  - "supported": s >= SUPPORTED_THRESHOLD; its best papers (at most MAX_INSERTED, each at or above
    the threshold) are cited in the returned draft;
  - "weak": WEAK_THRESHOLD <= s < SUPPORTED_THRESHOLD; suggestions are listed, nothing inserted;
  - "none": below WEAK_THRESHOLD, or not a claim (a question, a short transition): no suggestion
    (no suggestion is better than a wrong one).
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

from assistant.drafts import (
    FORMATS,
    DraftFormat,
    DraftSentence,
    detect_format,
    insert_citations,
    split_draft,
)
from assistant.errors import InputError, LitassistError
from assistant.papers import Paper
from assistant.retrieve import Filters, Hit, search
from assistant.library import Library

Status = Literal["supported", "weak", "none"]

# Calibrated with `bench/cite_draft.py --calibrate` (sciqa, all-MiniLM-L6-v2 onnx-int8, best of 5
# retrieved papers): the 63 distinct SciFact claims their gold abstract supports, each run against a
# library holding its gold paper (positives) and one without it (held-out negatives: same topic),
# plus 60 first sentences of arXiv abstracts (off-topic negatives). WEAK_THRESHOLD is where both
# goals hold: at 0.57 the gold paper is among the first three suggestions for 92.1% of positives and
# 91.1% of negatives get no suggestion (held-out 82.5%, off-topic 100%); every 0.01 lower adds
# ~1.5 points of held-out suggestions, every 0.01 higher loses positives from 0.58 on.
# SUPPORTED_THRESHOLD decides what is inserted into the draft: at 0.62, 87.3% of positives get a
# citation inserted (90.9% of them the gold paper) and 7.3% of negatives get a wrong one.
SUPPORTED_THRESHOLD = 0.62
WEAK_THRESHOLD = 0.57
CANDIDATES = 5  # papers retrieved and scored per sentence
MAX_SUGGESTIONS = 3
MAX_INSERTED = 2
MAX_DRAFT_BYTES = 2_000_000


@dataclass
class Suggestion:
    paper_id: str
    title: str
    citation_key: str
    support: float
    supporting_sentence: str
    page: int | None = None  # the PDF page of the supporting passage (None: the abstract)


@dataclass
class SentenceCitations:
    text: str  # the sentence as written in the draft
    status: Status
    suggestions: list[Suggestion] = field(default_factory=list)
    claim: bool = True  # False: a question or a transition, not checked
    inserted: list[str] = field(default_factory=list)  # keys cited in the returned draft
    start: int = 0
    end: int = 0


@dataclass
class DraftCitations:
    format: DraftFormat
    sentences: list[SentenceCitations]
    text: str  # the draft with citations inserted
    bibtex: str  # entries of the inserted citations
    supported_threshold: float = SUPPORTED_THRESHOLD
    weak_threshold: float = WEAK_THRESHOLD

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for x in self.sentences if x.status == s) for s in ("supported", "weak", "none")}

    def to_json(self) -> dict:
        return {
            "format": self.format,
            "sentences": [asdict(s) for s in self.sentences],
            "counts": self.counts(),
            "text": self.text,
            "bibtex": self.bibtex,
            "thresholds": {"supported": self.supported_threshold, "weak": self.weak_threshold},
        }


# ---- reading a draft --------------------------------------------------------------------------

def read_draft(path: str | Path) -> tuple[str, str]:
    """(name, text) of a draft file, or of stdin for "-". Bad input names the file and the problem."""
    name = "<stdin>" if str(path) == "-" else str(path)
    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except IsADirectoryError:
        raise InputError(name, "is a directory, not a draft file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_DRAFT_BYTES:
        raise InputError(name, f"too large for a draft ({len(data):,} bytes; at most {MAX_DRAFT_BYTES:,})")
    if b"\x00" in data[:4096]:
        raise InputError(name, "binary file, not a text draft (.tex, .md or plain text)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(name, "not UTF-8 text; save the draft as UTF-8", line=line) from None
    if not text.strip():
        raise InputError(name, "empty draft")
    return name, text.replace("\r\n", "\n")


# ---- scoring ----------------------------------------------------------------------------------

@dataclass
class _Candidate:
    hit: Hit
    support: float
    sentence: str
    page: int | None


def score_claim(store: Library, claim: str, *, k: int = CANDIDATES, filters: Filters | None = None, embedder=None) -> list[_Candidate]:
    """The `k` retrieved papers for a claim, each with its support score and supporting sentence,
    best supported first."""
    from assistant.answer import build_sources, supporting_pages
    from assistant.cite.support import SupportScorer

    hits = search(store, claim, k=k, filters=filters)
    if not hits:
        return []
    sources = build_sources(hits)
    evidence = SupportScorer(embedder or store.embedder, sources).score([claim], [[s.n for s in sources]])[0]
    by_n = {e.n: e for e in evidence}
    candidates = []
    for source, hit in zip(sources, hits):
        e = by_n.get(source.n)
        if e is not None:
            pages = supporting_pages(hit, [e.sentence])
            candidates.append(_Candidate(hit, e.score, e.sentence, pages[0] if pages else None))
    candidates.sort(key=lambda c: -c.support)
    return candidates


def status_of(best: float | None, supported: float = SUPPORTED_THRESHOLD, weak: float = WEAK_THRESHOLD) -> Status:
    if best is None or best < weak:
        return "none"
    return "supported" if best >= supported else "weak"


# ---- the task ---------------------------------------------------------------------------------

def cite_draft(
    text: str,
    *,
    store,
    fmt: DraftFormat | None = None,
    name: str | None = None,
    filters: Filters | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> DraftCitations:
    """Citations for each sentence of `text` (a .tex, .md or plain-text draft; `fmt` or the file
    `name` says which, else the content)."""
    from assistant.bibtex import bibtex_keys, to_bibtex
    from assistant.cite.support import is_factual
    from assistant.tasks._common import MemoEmbedder

    if fmt is not None and fmt not in FORMATS:
        raise LitassistError(f"unknown draft format {fmt!r}: use one of {', '.join(FORMATS)}")
    chosen: DraftFormat = fmt or detect_format(name, text)
    sentences = split_draft(text, chosen)
    embedder = MemoEmbedder(store.embedder)
    scored: list[tuple[DraftSentence, bool, list[_Candidate]]] = []
    for i, sentence in enumerate(sentences):
        claim = is_factual(sentence.text)
        scored.append((sentence, claim, score_claim(store, sentence.text, filters=filters, embedder=embedder) if claim else []))
        if on_progress:
            on_progress(i + 1, len(sentences))

    shown = {c.hit.paper.id: c.hit.paper for _, _, cands in scored for c in cands if c.support >= WEAK_THRESHOLD}
    keys = bibtex_keys(shown.values())
    results: list[SentenceCitations] = []
    additions: list[tuple[DraftSentence, list[str]]] = []
    cited_ids: list[str] = []
    for sentence, claim, candidates in scored:
        status = status_of(candidates[0].support if candidates else None)
        suggestions = [] if status == "none" else [_suggestion(c, keys) for c in candidates[:MAX_SUGGESTIONS] if c.support >= WEAK_THRESHOLD]
        inserted = []
        if status == "supported":
            inserted = [s.citation_key for s in suggestions if s.support >= SUPPORTED_THRESHOLD][:MAX_INSERTED]
            inserted = [key for key in inserted if key not in sentence.cited_keys]
            cited_ids.extend(s.paper_id for s in suggestions if s.citation_key in inserted)
        additions.append((sentence, inserted))
        results.append(SentenceCitations(sentence.source, status, suggestions, claim, inserted, sentence.start, sentence.end))
    cited: list[Paper] = [shown[pid] for pid in dict.fromkeys(cited_ids)]
    return DraftCitations(
        format=chosen,
        sentences=results,
        text=insert_citations(text, additions, chosen),
        bibtex=to_bibtex(cited, keys={p.id: keys[p.id] for p in cited}) if cited else "",
    )


def _suggestion(candidate: _Candidate, keys: dict[str, str]) -> Suggestion:
    paper = candidate.hit.paper
    return Suggestion(
        paper_id=paper.id,
        title=paper.display_title(),
        citation_key=keys[paper.id],
        support=round(candidate.support, 4),
        supporting_sentence=candidate.sentence,
        page=candidate.page,
    )
