"""The JSON of results that have no `to_json` of their own (search hits), shared by the CLI's
`--json` and the MCP server's structured content, so both give the same thing."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from assistant.retrieve import Hit


def hit_json(hit: "Hit") -> dict[str, Any]:
    return {
        "id": hit.paper.id,
        "title": hit.paper.title,
        "title_derived": hit.paper.title_derived,
        "authors": hit.paper.authors,
        "year": hit.paper.year,
        "arxiv_id": hit.paper.arxiv_id,
        "score": round(hit.score, 6),
        "snippet": hit.snippet(),
        "page": hit.page,  # the PDF page of the matching passage; None for an abstract
    }


def search_json(hits: Sequence["Hit"]) -> list[dict[str, Any]]:
    """What `litassist search --json` prints: the hits, best first."""
    return [hit_json(h) for h in hits]
