"""Retrieval: dense (Chroma), BM25 (bm25s), their fusion, and filters. Results are per paper.

Filters are applied inside each retriever (Chroma `where`, a BM25 weight mask), never by trimming
a top-k afterwards, so a filtered search returns as many papers as exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from assistant.authors import author_where
from assistant.papers import Paper
from assistant.store import Store

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
RRF_K = 60


@dataclass
class Filters:
    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    category: str | None = None

    def is_empty(self) -> bool:
        return not (self.author or self.year_from or self.year_to or self.category)


@dataclass
class Hit:
    paper: Paper
    score: float  # the fused (or single-method) score used for ranking
    dense: float | None = None  # best chunk's cosine similarity to the question
    lexical: float | None = None  # best chunk's BM25 score
    chunk_id: str = ""
    text: str = ""  # the best-matching chunk's text
    ranks: dict[str, int] = field(default_factory=dict)

    def snippet(self, width: int = 240) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def filters_where(filters: Filters | None) -> dict | None:
    """The Chroma `where` clause for a set of filters (None when unfiltered)."""
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": int(filters.year_from)}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": int(filters.year_to)}})
    if filters.category:
        clauses.append({"categories": {"$contains": filters.category.strip().lower()}})
    if filters.author:
        clauses.append(author_where(filters.author))
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _best_per_paper(items: list[tuple[str, str, float, str]]) -> dict[str, tuple[float, str, str, int]]:
    """(chunk_id, paper_id, score, text) best first -> paper_id: (score, chunk_id, text, rank)."""
    best: dict[str, tuple[float, str, str, int]] = {}
    for chunk_id, paper_id, score, text in items:
        if paper_id not in best:
            best[paper_id] = (score, chunk_id, text, len(best) + 1)
    return best


def dense_search(store: Store, query: str, depth: int, where: dict | None) -> dict[str, tuple[float, str, str, int]]:
    vector = store.embedder.embed_one(query)
    hits = store.dense_query(vector, depth, where)
    return _best_per_paper([(h.chunk_id, h.paper_id, h.similarity, h.text) for h in hits])


def lexical_search(store: Store, query: str, depth: int, allowed: set[str] | None) -> dict[str, tuple[float, str, str, int]]:
    results = store.lexical.search(query, depth, allowed)
    return _best_per_paper([(cid, cid.rsplit("#", 1)[0], score, "") for cid, score in results])


def search(
    store: Store,
    query: str,
    *,
    k: int = 10,
    mode: Mode = "hybrid",
    filters: Filters | None = None,
) -> list[Hit]:
    """The k best papers for `query`, best first."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    query = query.strip()
    if not query:
        return []
    where = filters_where(filters)
    allowed = store.matching_paper_ids(where) if where else None
    if allowed is not None and not allowed:
        return []
    depth = max(50, 4 * k)
    dense = dense_search(store, query, depth, where) if mode in ("hybrid", "dense") else {}
    lexical = lexical_search(store, query, depth, allowed) if mode in ("hybrid", "bm25") else {}

    scores: dict[str, float] = {}
    if mode == "dense":
        scores = {pid: v[0] for pid, v in dense.items()}
    elif mode == "bm25":
        scores = {pid: v[0] for pid, v in lexical.items()}
    else:
        for ranking in (dense, lexical):
            for pid, (_, _, _, rank) in ranking.items():
                scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)

    ranked = sorted(scores, key=lambda pid: -scores[pid])[:k]
    papers = store.get_many(ranked)
    hits = []
    for pid in ranked:
        if pid not in papers:
            continue
        d, lx = dense.get(pid), lexical.get(pid)
        source = d or lx
        assert source is not None
        hits.append(
            Hit(
                paper=papers[pid],
                score=scores[pid],
                dense=d[0] if d else None,
                lexical=lx[0] if lx else None,
                chunk_id=source[1],
                text=(d[2] if d else "") or papers[pid].abstract,
                ranks={name: r[3] for name, r in (("dense", d), ("bm25", lx)) if r},
            )
        )
    return hits
