"""A result's JSON (as `to_json` wrote it, and as a saved conversation keeps it) read for the chat:
the text, the cited papers and the closest ones, what was removed or unsupported.

One reader per kind of result (`AnswerResult`, `AuthorSummary`, `RelatedWork`; a "Find citations"
result, `DraftCitations`, has a view of its own in `ui.sources_panel`), each reading the keys its
`to_json` always writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from assistant.answer import CLOSEST_SHOWN
from ui.modes import ASK, AUTHOR, RELATED

Result = Mapping[str, Any]


@dataclass
class SourceEntry:
    """A paper as the sources panel lists it: a citation, or a closest paper (no number)."""

    n: int | None
    paper_id: str
    title: str
    title_derived: bool = False
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    arxiv_id: str | None = None
    key: str | None = None  # the BibTeX key a related-work draft cites it by
    supporting_sentence: str = ""
    pages: list[int] = field(default_factory=list)  # PDF pages of the supporting passages


@dataclass
class ResultView:
    text: str  # the answer, summary or draft ("" when blank)
    subject: str  # the question, author or topic
    citations: list[SourceEntry]
    closest: list[SourceEntry]  # the best retrieved papers, shown when nothing is cited
    removed_citations: list[dict[str, str]]  # {"marker", "reason"}
    unsupported_sentences: list[str]
    abstained: bool
    no_text_message: str | None = None  # why there is no text, when the result says

    def key_numbers(self) -> dict[str, int]:
        return {c.key: c.n for c in self.citations if c.key and c.n is not None}


def _text(value: str) -> str:
    return value if value.strip() else ""


def _paper_ref(c: Result, **extra: Any) -> SourceEntry:
    """A cited or retrieved paper of an `AnswerResult` (an `assistant.answer.PaperRef`)."""
    return SourceEntry(c["n"], c["paper_id"], c["title"], c["title_derived"], c["authors"], c["year"], c["arxiv_id"], **extra)


def answer_view(data: Result) -> ResultView:
    return ResultView(
        text=_text(data["answer"]),
        subject=data["question"],
        citations=[_paper_ref(c, supporting_sentence=c["supporting_sentence"], pages=c["pages"]) for c in data["citations"]],
        # `closest` is these when the answer abstains; an answer whose citations were all removed shows them too
        closest=[_paper_ref(r) for r in data["retrieved"][:CLOSEST_SHOWN]],
        removed_citations=data["removed_citations"],
        unsupported_sentences=data["unsupported_sentences"],
        abstained=data["abstained"],
        no_text_message=data["abstain_reason"],
    )


def author_view(data: Result) -> ResultView:
    return ResultView(
        text=_text(data["summary"]),
        subject=data["author"],
        citations=[SourceEntry(c["n"], c["paper_id"], c["title"], year=c["year"]) for c in data["citations"]],
        closest=[],
        removed_citations=data["removed_citations"],
        unsupported_sentences=data["unsupported_sentences"],
        abstained=False,
    )


def related_work_view(data: Result) -> ResultView:
    return ResultView(
        text=_text(data["text"]),
        subject=data["topic"],
        citations=[
            SourceEntry(c["n"], c["paper_id"], c["title"], authors=c["authors"], year=c["year"], key=c["key"])
            for c in data["citations"]
        ],
        closest=[SourceEntry(None, r["paper_id"], r["title"], key=r["key"]) for r in data["retrieved"][:CLOSEST_SHOWN]],
        removed_citations=data["removed_citations"],
        unsupported_sentences=data["unsupported_sentences"],
        abstained=bool(data["abstained"]),  # why there is no draft, or None
        no_text_message=data["message"],
    )


VIEWS: dict[str, Callable[[Result], ResultView]] = {ASK: answer_view, AUTHOR: author_view, RELATED: related_work_view}


def result_view(mode: str, data: Result) -> ResultView:
    return VIEWS[mode](data)
