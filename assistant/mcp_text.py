"""Readable text of the MCP tools' results: numbered sources, each with its `paper://ID` resource.
Answers, author summaries and related-work drafts use the terminal printers of `cli_render`;
search hits, paper records, draft support and ingest reports are written here."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Callable, Sequence

from assistant.papers import authors_line

if TYPE_CHECKING:
    from assistant.library import IngestReport
    from assistant.papers import Paper
    from assistant.retrieve import Hit


def paper_uri(paper_id: str) -> str:
    return f"paper://{paper_id}"


def printed(printer: Callable[..., None], *args: Any, **kwargs: Any) -> str:
    """What one of the `cli_render` printers writes, as a string."""
    buffer = io.StringIO()
    printer(*args, stream=buffer, **kwargs)
    return buffer.getvalue().strip("\n")


def _reference(title: str, authors: str, year: int | None, paper_id: str, arxiv_id: str | None) -> str:
    """`Title — Authors, Year. arXiv:ID (paper://ID)`"""
    ident = f" arXiv:{arxiv_id}." if arxiv_id else ""
    return f"{title.rstrip('.')} — {authors}, {year or 'n.d.'}.{ident} ({paper_uri(paper_id)})"


def search_text(query: str, hits: Sequence["Hit"]) -> str:
    if not hits:
        return f"No paper in the library matches {query!r}."
    lines = [f"{len(hits)} paper(s) for {query!r}, best first:"]
    for n, h in enumerate(hits, 1):
        p = h.paper
        lines.append(f"[{n}] {_reference(p.display_title(), authors_line(p.authors, p.authors_truncated, limit=3), p.year, p.id, p.arxiv_id)}")
        lines.append(f"    {h.snippet()}")
    return "\n".join(lines)


def paper_text(paper: "Paper") -> str:
    lines = [paper.display_title(), f"id: {paper.id}  ({paper_uri(paper.id)})"]
    if paper.aliases:
        lines.append(f"also known as: {', '.join(paper.aliases)}")
    lines.append(f"authors: {authors_line(paper.authors, paper.authors_truncated, limit=12)}")
    lines.append(f"date: {paper.date or paper.year or 'unknown'}" + (" (year inferred)" if paper.year_inferred else ""))
    for label, value in (
        ("arXiv", paper.arxiv_id),
        ("DOI", paper.doi),
        ("categories", ", ".join(paper.categories)),
        ("comments", paper.comments),
    ):
        if value:
            lines.append(f"{label}: {value}")
    lines += ["", paper.abstract or "(no abstract)", "", "read from: " + "; ".join(s.path for s in paper.sources)]
    return "\n".join(lines)


def ingest_text(report: "IngestReport") -> str:
    lines = [
        f"files: {report.format_summary()}",
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, removed {report.removed}; "
        f"{len(report.failed)} file(s) failed, {len(report.problems)} bad entr{'y' if len(report.problems) == 1 else 'ies'} skipped",
    ]
    lines += [f"error: {f.path}: {f.error}" for f in report.failed + report.problems]
    return "\n".join(lines)
