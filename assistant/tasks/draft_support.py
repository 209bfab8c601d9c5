"""Supporting papers for each sentence of a draft: retrieve candidates for every sentence that makes
a claim, and keep the papers whose text supports it by the citation check's own measure
(`cite.SupportScorer`, `cite.SUPPORT_THRESHOLD`). Only retrieved papers are ever named.

A small stand-in used by the MCP server's `cite_draft` tool until the cite-draft task (issue 17)
is merged; its one caller is `assistant.mcp_server.cite_draft_result`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from assistant.cite import SUPPORT_THRESHOLD, SupportScorer, is_factual
from assistant.errors import LitassistError
from assistant.llm.base import SourceText
from assistant.papers import Paper
from assistant.retrieve import search
from assistant.sentences import split_sentences

MAX_DRAFT_CHARS = 20_000  # about 150 sentences: each is a search, and candidates are scored sentence by sentence
CANDIDATES = 5  # papers retrieved per sentence
MAX_PAPERS_PER_SENTENCE = 3

SentenceProgress = Callable[[int, int], None]  # (sentences done, sentences in all)


@dataclass
class SupportingPaper:
    paper_id: str
    title: str
    title_derived: bool
    authors: list[str]
    year: int | None
    arxiv_id: str | None
    support: float
    supporting_sentence: str


@dataclass
class SentenceSupport:
    n: int
    text: str
    factual: bool  # a claim that needs a citation (headings, questions, transitions do not)
    papers: list[SupportingPaper] = field(default_factory=list)


@dataclass
class DraftSupport:
    sentences: list[SentenceSupport]

    @property
    def unsupported(self) -> list[str]:
        return [s.text for s in self.sentences if s.factual and not s.papers]

    def to_json(self) -> dict:
        return {
            "sentences": [asdict(s) for s in self.sentences],
            "unsupported_sentences": self.unsupported,
        }


class _Sources:
    """One number per paper across the whole draft, so each abstract is embedded once."""

    def __init__(self) -> None:
        self.by_id: dict[str, SourceText] = {}
        self.papers: dict[str, Paper] = {}

    def add(self, paper: Paper) -> int:
        if paper.id not in self.by_id:
            text = paper.abstract or paper.display_title()
            n = len(self.by_id) + 1
            self.by_id[paper.id] = SourceText(n, paper.id, paper.display_title(), list(paper.authors), paper.year, text)
            self.papers[paper.id] = paper
        return self.by_id[paper.id].n


def support_draft(text: str, *, store, on_sentence: SentenceProgress | None = None) -> DraftSupport:
    """For each sentence of `text`, the library papers that support it (best first, at most
    MAX_PAPERS_PER_SENTENCE); a claim no paper supports gets none."""
    if not text.strip():
        raise LitassistError("no draft text given")
    if len(text) > MAX_DRAFT_CHARS:
        raise LitassistError(f"the draft is {len(text):,} characters; the limit is {MAX_DRAFT_CHARS:,} (send it in parts)")
    sentences = [SentenceSupport(n, s, is_factual(s)) for n, s in enumerate(split_sentences(text), 1)]
    claims = [s for s in sentences if s.factual]
    sources = _Sources()
    candidates: list[list[int]] = []
    for done, sentence in enumerate(claims):
        if on_sentence:
            on_sentence(done, len(claims))
        candidates.append([sources.add(h.paper) for h in search(store, sentence.text, k=CANDIDATES)])
    if claims:
        scorer = SupportScorer(store.embedder, sources.by_id.values())
        for sentence, evidence in zip(claims, scorer.score([s.text for s in claims], candidates)):
            kept = sorted((e for e in evidence if e.score >= SUPPORT_THRESHOLD), key=lambda e: -e.score)
            for e in kept[:MAX_PAPERS_PER_SENTENCE]:
                p = sources.papers[e.paper_id]
                sentence.papers.append(
                    SupportingPaper(p.id, p.title, p.title_derived, list(p.authors), p.year, p.arxiv_id, e.score, e.sentence)
                )
    if on_sentence:
        on_sentence(len(claims), len(claims))
    return DraftSupport(sentences)
