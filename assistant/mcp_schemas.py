"""Output schemas of the MCP tools: the top-level fields of the JSON each CLI command prints with
`--json` (a client may rely on these; the full records carry more fields). A list result (search)
is wrapped as {"results": [...]} because structured content is a JSON object."""
from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict  # pydantic needs it below Python 3.12

Record = dict[str, Any]


class SearchHitJSON(TypedDict):
    id: str
    title: str
    title_derived: bool
    authors: list[str]
    year: int | None
    arxiv_id: str | None
    score: float
    snippet: str
    page: int | None  # the PDF page of the matching passage; None for an abstract


class SearchOutput(TypedDict):
    """`litassist search --json`, under `results`."""

    results: list[SearchHitJSON]


class PaperOutput(TypedDict):
    """`litassist show ID --json`: the paper's record."""

    id: str
    title: str
    title_derived: bool
    authors: list[str]
    year: int | None
    arxiv_id: str | None
    doi: str | None
    abstract: str
    sources: list[Record]


class AnswerOutput(TypedDict):
    """`litassist ask --json`: citations are numbered as in `answer` and name retrieved papers only."""

    question: str
    answer: str
    citations: list[Record]
    removed_citations: list[Record]
    unsupported_sentences: list[str]
    abstained: bool
    abstain_reason: str | None
    model: str
    retrieved: list[Record]
    closest: list[Record]


class AuthorSummaryOutput(TypedDict):
    """`litassist author NAME --json`."""

    author: str
    resolution: Record
    model: str
    papers: list[Record]
    themes: list[Record]
    timeline: list[Record]
    collaborators: list[Record]
    summary: str
    citations: list[Record]
    removed_citations: list[Record]
    unsupported_sentences: list[str]


class RelatedWorkOutput(TypedDict):
    """`litassist related-work TOPIC --json`: `abstained` is null or why there is no draft."""

    topic: str
    cite_style: str
    model: str
    abstained: str | None
    message: str
    paragraphs: list[Record]
    text: str
    bibtex: str
    citations: list[Record]
    removed_citations: list[Record]
    unsupported_sentences: list[str]


class DraftSupportOutput(TypedDict, total=False):
    """`litassist cite-draft --json`: per sentence of the draft, its status and the library papers
    that support it; the draft with citations inserted and their BibTeX."""

    sentences: list[Record]
    text: str
    bibtex: str


class IngestOutput(TypedDict):
    """`litassist ingest --json`."""

    added: int
    updated: int
    unchanged: int
    removed: int
    failed: list[Record]
    formats: dict[str, int]
    entries: dict[str, int]
