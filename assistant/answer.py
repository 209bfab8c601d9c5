"""Questions in, grounded answers out: condense -> retrieve -> (abstain | prompt -> model -> cite).

Every citation in a returned answer points at a paper retrieved for the question: the model's
text is checked by `assistant.cite.validate`, which renumbers valid citations, removes the rest
and flags sentences the cited abstracts do not support.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator, Self, Sequence

from assistant.cite.validate import CitationRef, CitedText, SentenceCheck, validate
from assistant.context_fit import fit_sources
from assistant.chunks import is_record_chunk
from assistant.llm.base import Message, Model, Request, SourceText
from assistant.llm.registry import model_from_settings
from assistant.llm.thinking import Part, separate
from assistant.papers import Paper, authors_line
from assistant.prompts import format_history, format_sources, render_prompt
from assistant.retrieve import Filters, Hit
from assistant.question_shape import AUTHOR_PAPERS, COUNT, RECORD_KINDS
from assistant.text_terms import content_terms
from assistant.shaped_retrieval import retrieve
from assistant.settings import Settings, load_settings
from assistant.library import Library

DEFAULT_K = 6
# Abstain when `relevance_evidence` (best hit's 0.7 * cosine + 0.3 * question-term coverage) is
# below ABSTAIN_THRESHOLD. Calibrated with `bench/answers.py --calibrate` (sciqa: 1,025 abstracts,
# 526 dev queries, vs 30 deliberately unrelated questions; all-MiniLM-L6-v2 onnx-int8): dev evidence
# min 0.33, 1st percentile 0.41, median 0.73; unrelated max 0.34, median 0.21. The threshold is the
# midpoint of the unrelated maximum and the dev 1st percentile: 0.37 -> 0.8% of dev queries and 100%
# of unrelated questions abstain. (Dense cosine alone separates worse: unrelated max 0.39 above
# three dev queries; the term share rescues acronyms such as "What is FSDP?".)
EVIDENCE_COSINE_WEIGHT = 0.7
ABSTAIN_THRESHOLD = 0.37
CLOSEST_SHOWN = 3
FOLLOW_UP_TURNS = 2  # user turns merged into a follow-up question when the model cannot rewrite it
# Words and openings by which a question leans on the conversation before it ("does it scale?",
# "what about DDP?"); a question with none of them stands alone ("fsdp vs ddp").
FOLLOW_UP_WORDS = frozenset(
    "it its it's they them their theirs this that these those he him his she her hers former latter above same".split()
)
FOLLOW_UP_OPENINGS = ("and", "also", "what about", "how about", "why", "more", "tell me more", "what else", "which one")
MAX_CONDENSED_CHARS = 500

RECORD_QUESTIONS = RECORD_KINDS | {AUTHOR_PAPERS, COUNT}
HistoryItem = Message | dict | tuple | list


# ---- results ----------------------------------------------------------------------------------

@dataclass
class PaperRef:
    """A paper as an answer shows it (a citation, a retrieved or a closest paper)."""

    n: int
    paper_id: str
    title: str
    title_derived: bool
    authors: list[str]
    year: int | None
    arxiv_id: str | None

    @classmethod
    def of(cls, n: int, paper: Paper, **extra: Any) -> Self:
        return cls(n, paper.id, paper.title, paper.title_derived, list(paper.authors), paper.year, paper.arxiv_id, **extra)


@dataclass
class Citation(PaperRef):
    source_n: int = 0  # the number the model saw
    supporting_sentence: str = ""  # the cited abstract's sentence that best supports the citing text
    support: float | None = None
    supporting_sentences: list[str] = field(default_factory=list)  # one per citing sentence, distinct
    # PDF pages of the passages supporting the citing sentences (empty: only the abstract did).
    pages: list[int] = field(default_factory=list)


@dataclass
class Retrieved(PaperRef):
    score: float = 0.0
    dense: float | None = None


@dataclass(frozen=True)
class Scores:
    top_similarity: float | None  # best dense cosine of a retrieved paper
    evidence: float | None  # relevance_evidence, compared with ABSTAIN_THRESHOLD


@dataclass
class AnswerResult:
    question: str
    answer: str  # validated: citations renumbered, invalid ones removed
    citations: list[Citation]
    removed_citations: list[dict[str, str]]
    unsupported_sentences: list[str]
    abstained: bool
    model: str
    standalone_question: str = ""
    raw_answer: str = ""  # the model's text as streamed
    sentences: list[SentenceCheck] = field(default_factory=list)
    retrieved: list[Retrieved] = field(default_factory=list)
    top_similarity: float | None = None  # best dense cosine of a retrieved paper
    evidence: float | None = None  # relevance_evidence, compared with ABSTAIN_THRESHOLD
    abstain_reason: str | None = None
    thinking: str = ""  # a reasoning model's thinking: never the answer, never citation-checked
    sources_trimmed: list[int] = field(default_factory=list)  # retrieved papers left out to fit the context window
    question_kind: str = "general"  # assistant.question_shape: general, compare, summary, authors, ...
    named: list[str] = field(default_factory=list)  # names in the question that the library holds

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "removed_citations": self.removed_citations,
            "unsupported_sentences": self.unsupported_sentences,
            "abstained": self.abstained,
            "model": self.model,
            "standalone_question": self.standalone_question,
            "raw_answer": self.raw_answer,
            "sentences": [asdict(s) for s in self.sentences],
            "retrieved": [asdict(r) for r in self.retrieved],
            "closest": [asdict(r) for r in self.retrieved[:CLOSEST_SHOWN]] if self.abstained else [],
            "top_similarity": self.top_similarity,
            "evidence": self.evidence,
            "abstain_reason": self.abstain_reason,
            "thinking": self.thinking,
            "sources_trimmed": self.sources_trimmed,
            "question_kind": self.question_kind,
            "named": self.named,
        }


# ---- steps ------------------------------------------------------------------------------------

def choose_model(model: str | Model | None, store: Library, settings: Settings | None = None) -> Model:
    """The model to answer with: `model` itself when it is one; else the spec `model`, or the
    settings' model, built with the settings' endpoint, key, context window and think option.
    `settings` come resolved from the edge (CLI, web app, MCP server); a Python caller that passes
    none gets the store's, resolved here (option > environment > config.toml > default)."""
    if isinstance(model, Model):
        return model
    return model_from_settings(settings or load_settings(store.store_dir), model or None)


def normalise_history(history: Iterable[HistoryItem] | None) -> list[Message]:
    """Messages from Message objects, `{"role", "content"}` dicts or (user, assistant) pairs."""
    messages: list[Message] = []
    for item in history or []:
        if isinstance(item, Message):
            messages.append(item)
        elif isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, str) and item.get("role") in ("user", "assistant"):
                messages.append(Message(item["role"], content))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            for role, content in zip(("user", "assistant"), item):
                if isinstance(content, str) and content.strip():
                    messages.append(Message(role, content))
    return [m for m in messages if m.content.strip()]


def merge_follow_up(question: str, history: Sequence[Message], turns: int = FOLLOW_UP_TURNS) -> str:
    """The last user turns and the new question, as one search question (no model needed)."""
    previous = [m.content.strip() for m in history if m.role == "user"][-turns:]
    return " ".join([*previous, question.strip()])


def reads_as_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation (a pronoun, "what about ...", "why?") rather
    than standing alone, for a model that cannot rewrite it."""
    text = question.strip().lower()
    words = re.findall(r"[a-z]+(?:'[a-z]+)?", text)
    opening = " ".join(words[:3])
    return not words or any(opening == o or opening.startswith(o + " ") for o in FOLLOW_UP_OPENINGS) or any(
        w in FOLLOW_UP_WORDS for w in words
    )


def _clean_condensed(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    for prefix in ("standalone question:", "question:"):
        if first.lower().startswith(prefix):
            first = first[len(prefix) :].strip()
    return first.strip("\"'“”` ")


def condense(question: str, history: Sequence[Message], model: Model) -> str:
    """A standalone version of a follow-up question: rewritten by a generative model with
    prompts/condense.txt, else, when it reads as a follow-up, the last user turns merged with it."""
    if not history:
        return question.strip()
    merged = merge_follow_up(question, history)
    if not model.generative:
        return merged if reads_as_follow_up(question) else question.strip()
    prompt = render_prompt("condense", history=format_history(history), question=question.strip())
    request = Request([Message("user", prompt)], question=question, task="condense", max_tokens=120, temperature=0.0)
    rewritten = _clean_condensed(model.complete(request))  # complete() leaves any thinking out
    return rewritten if 0 < len(rewritten) <= MAX_CONDENSED_CHARS else merged


def top_similarity(hits: Sequence[Hit]) -> float | None:
    """The best dense cosine among the hits (None when no hit came from the dense retriever)."""
    values = [h.dense for h in hits if h.dense is not None]
    return max(values) if values else None


def relevance_evidence(question: str, hits: Sequence[Hit]) -> float:
    """How much the library has on the question: the best, over the hits, of
    EVIDENCE_COSINE_WEIGHT * dense cosine + the rest * share of the question's content terms found
    in the paper's title and abstract. The term share rescues names and acronyms that the
    embedding model reads poorly; the cosine catches paraphrase."""
    terms = content_terms(question)
    best = 0.0
    for hit in hits:
        text = f"{hit.paper.title} {hit.paper.abstract or hit.text}"
        coverage = len(terms & content_terms(text)) / len(terms) if terms else 0.0
        score = EVIDENCE_COSINE_WEIGHT * (hit.dense or 0.0) + (1 - EVIDENCE_COSINE_WEIGHT) * coverage
        best = max(best, score)
    return best


def abstain_reason(
    hits: Sequence[Hit], filters: Filters | None = None, threshold: float | None = None, *, question: str | None = None
) -> str | None:
    """Why the library cannot answer (None when it can): nothing found, or too little evidence.

    With `question`, the evidence is `relevance_evidence` (what ABSTAIN_THRESHOLD is calibrated
    for); without it, only the best dense cosine is available and is compared to the same value."""
    threshold = ABSTAIN_THRESHOLD if threshold is None else threshold
    if not hits:
        if filters is not None and not filters.is_empty():
            return "no paper in the library matches the filters"
        return "the library is empty"
    evidence = relevance_evidence(question, hits) if question else (top_similarity(hits) or 0.0)
    if evidence < threshold:
        return f"no paper is close enough to the question (evidence {evidence:.2f} < {threshold:.2f})"
    return None


def source_text(hit: Hit) -> str:
    """The abstract; a matching full-text passage is added when that is what retrieval found."""
    abstract = hit.paper.abstract.strip()
    passage = hit.text.strip()
    from_body = bool(hit.chunk_id) and not is_record_chunk(hit.chunk_id)
    if not abstract:
        return passage
    return f"{abstract}\n{passage}" if from_body and passage and passage not in abstract else abstract


def build_sources(hits: Sequence[Hit], *, with_record: bool = False) -> list[SourceText]:
    """Sources [1]..[k] in rank order; a derived title is shown as "[untitled] label". With
    `with_record` (a question about the records) each text ends with the record as a sentence,
    so an answer stating it is checked against it like any other sentence."""
    from assistant.llm.extractive_answer import record_sentence

    sources = [
        SourceText(n, h.paper.id, h.paper.display_title(), list(h.paper.authors), h.paper.year, source_text(h))
        for n, h in enumerate(hits, 1)
    ]
    if with_record:
        for s in sources:
            s.text = f"{s.text}\n{record_sentence(s)}"
    return sources


def build_request(question: str, sources: list[SourceText]) -> Request:
    prompt = render_prompt("answer", sources=format_sources(sources), question=question.strip(), n_sources=len(sources))
    return Request(
        [Message("system", render_prompt("system")), Message("user", prompt)],
        question=question,
        sources=sources,
        task="answer",
    )


def abstain_text(hits: Sequence[Hit], filters: Filters | None) -> str:
    """Says the library holds nothing on the question and names the closest papers, claiming
    nothing from them."""
    if not hits:
        if filters is not None and not filters.is_empty():
            return "No paper in the library matches these filters, so there is nothing to answer from."
        return "The library holds no papers yet, so there is nothing to answer from."
    lines = [
        "The library holds nothing on this question, so I cannot answer it from your papers.",
        "",
        "Closest papers in the library (they do not answer it):",
    ]
    for hit in hits[:CLOSEST_SHOWN]:
        p = hit.paper
        authors = authors_line(p.authors, limit=3, unknown="authors unknown")
        lines.append(f"- {p.display_title()} ({authors}, {p.year or 'n.d.'})")
    return "\n".join(lines)


def _retrieved(hits: Sequence[Hit]) -> list[Retrieved]:
    return [Retrieved.of(n, h.paper, score=round(h.score, 6), dense=None if h.dense is None else round(h.dense, 4)) for n, h in enumerate(hits, 1)]


def supporting_pages(hit: Hit, supporting_sentences: Sequence[str]) -> list[int]:
    """The page of the hit's full-text passage when a supporting sentence comes from it (not
    from the abstract)."""
    if hit.page is None:
        return []
    passage = " ".join(hit.text.split())
    abstract = " ".join(hit.paper.abstract.split())
    for sentence in supporting_sentences:
        flat = " ".join(sentence.split())
        if flat and flat in passage and flat not in abstract:
            return [hit.page]
    return []


def _citations(refs: list[CitationRef], hits: Sequence[Hit]) -> list[Citation]:
    by_id = {h.paper.id: h for h in hits}
    return [
        Citation.of(
            r.n, by_id[r.paper_id].paper, source_n=r.source_n, supporting_sentence=r.supporting_sentence,
            support=r.support, supporting_sentences=r.supporting_sentences,
            pages=supporting_pages(by_id[r.paper_id], r.supporting_sentences or [r.supporting_sentence]),
        )
        for r in refs
    ]


# ---- entry points -----------------------------------------------------------------------------

def ask_stream(
    question: str,
    *,
    store: Library,
    model: str | Model | None = None,
    history: Iterable[HistoryItem] | None = None,
    filters: Filters | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> Iterator[str | Part | AnswerResult]:
    """Yield the model's answer text chunks (str) as they come, a reasoning model's thinking as
    `Part(text, thinking=True)` items apart from them, then the validated AnswerResult (last item).

    `model` (a Model or a spec) wins over `settings.model` (see `choose_model`). ModelError from
    the backend propagates unchanged."""
    chosen = choose_model(model, store, settings)
    turns = normalise_history(history)
    standalone = condense(question, turns, chosen)
    found = retrieve(store, standalone, k=k or DEFAULT_K, filters=filters, listing=not chosen.generative)
    hits = found.hits
    scores = Scores(top_similarity(hits), relevance_evidence(standalone, hits) if hits else None)
    reason = None if found.named and hits else abstain_reason(hits, filters, question=standalone)
    if reason is not None:
        text = abstain_text(hits, filters)
        yield text
        yield AnswerResult(
            question=question, answer=text, citations=[], removed_citations=[], unsupported_sentences=[],
            abstained=True, model=chosen.name, standalone_question=standalone, raw_answer=text,
            retrieved=_retrieved(hits), abstain_reason=reason, question_kind=found.shape.kind, named=found.named, top_similarity=scores.top_similarity, evidence=scores.evidence,
        )
        return
    sources = build_sources(hits, with_record=found.shape.kind in RECORD_QUESTIONS)
    fitted = fit_sources(chosen, sources, lambda kept: build_request(standalone, kept))
    answer_parts: list[str] = []
    thinking_parts: list[str] = []
    for part in chosen.stream_parts(fitted.request):
        if part.thinking:
            thinking_parts.append(part.text)
            yield part
        else:
            answer_parts.append(part.text)
            yield part.text
    output = separate(answer_parts, thinking_parts)
    checked: CitedText = validate(output.answer, fitted.sources, embedder=store.embedder)
    yield AnswerResult(
        question=question,
        answer=checked.text,
        citations=_citations(checked.citations, hits),
        removed_citations=checked.removed,
        unsupported_sentences=checked.unsupported_sentences,
        abstained=False,
        model=chosen.name,
        standalone_question=standalone,
        raw_answer=output.answer,
        sentences=checked.sentences,
        retrieved=_retrieved(hits),
        thinking=output.thinking,
        sources_trimmed=[s.n for s in fitted.trimmed],
        question_kind=found.shape.kind,
        named=found.named,
        top_similarity=scores.top_similarity, evidence=scores.evidence,
    )


def ask(
    question: str,
    *,
    store: Library,
    model: str | Model | None = None,
    history: Iterable[HistoryItem] | None = None,
    filters: Filters | None = None,
    k: int | None = None,
    settings: Settings | None = None,
) -> AnswerResult:
    """`ask_stream` run to the end: the validated AnswerResult."""
    result = None
    for item in ask_stream(question, store=store, model=model, history=history, filters=filters, k=k, settings=settings):
        if isinstance(item, AnswerResult):
            result = item
    assert result is not None
    return result
