"""Retrieval: dense (Chroma), BM25 (lexical.py), their fusion, and filters. Results are per paper.

Filters are applied inside each retriever, never by trimming a top-k afterwards, so a filtered
search returns as many papers as exist: the filter is evaluated on the library's in-memory paper
facets (facets.py; Chroma's own metadata filters cost 40-500 ms at 100k papers), the admitted papers
become a selection over the BM25 index's chunks (lexical.py), then BM25 scores only those chunks and the dense query is restricted to their chunk ids (or, for a
filter admitting most of the library, runs unrestricted and deep enough to find enough of them).

Fusion: z-score fusion with equal weights
-----------------------------------------
Each retriever returns its best `depth` papers (depth = max(50, 4k)); each list's scores (cosine,
BM25) are standardised over that list (z = (s - mean) / std), a paper missing from one list takes
that list's lowest z, and the fused score is 0.5 * z_dense + 0.5 * z_bm25.

Equal weights win on the sciqa dev set against RRF, min-max fusion, tuned and query-dependent
weights and pseudo-relevance feedback: the measurements are in docs/experiments.md ("Retrieval").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from assistant.authors import author_filter_keys, author_where
from assistant.chunks import chunk_id, is_record_chunk
from assistant.groups import collection_key, tag_key
from assistant.lexical import Selection
from assistant.papers import Paper
from assistant.search_modes import SEARCH_MODES, SearchMode
from assistant.library import Library

DENSE_WEIGHT = 0.5  # z-score fusion: weight of the dense list (the BM25 list gets the rest)
MIN_DEPTH = 50  # papers each retriever contributes to the fusion (at least 4k)
# A filter admitting at least this share of the chunks: the dense query runs unfiltered, deep
# enough to find `depth` admitted papers (looking deeper until it does); a narrower one passes
# the admitted chunk ids to Chroma. Both cost a few ms at 100k papers (bench/search_scale.py).
WIDE_FILTER = 0.1


@dataclass
class Filters:
    author: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    category: str | None = None
    collection: str | None = None  # a collection name or path; includes its subcollections
    tag: str | None = None

    def is_empty(self) -> bool:
        return not (self.author or self.year_from or self.year_to or self.category or self.collection or self.tag)

    def label(self) -> str:
        """`author Nguyen, 2019–2024, cs.LG, collection Thesis, tag to-read` ('' when unfiltered)."""
        parts = []
        if self.author:
            parts.append(f"author {self.author}")
        if self.year_from or self.year_to:
            parts.append(f"{self.year_from or '…'}–{self.year_to or '…'}")
        if self.category:
            parts.append(self.category)
        if self.collection:
            parts.append(f"collection {self.collection}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        return ", ".join(parts)


@dataclass
class Hit:
    paper: Paper
    score: float  # the fused (or single-method) score used for ranking
    dense: float | None = None  # best chunk's cosine similarity to the question
    lexical: float | None = None  # best chunk's BM25 score
    chunk_id: str = ""
    text: str = ""  # the best-matching chunk's text
    ranks: dict[str, int] = field(default_factory=dict)
    page: int | None = None  # the PDF page of that chunk (None for an abstract)

    def snippet(self, width: int = 240) -> str:
        text = " ".join(self.text.split())
        return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


@dataclass
class Candidate:
    """A paper's best chunk in one retriever's list."""

    score: float
    chunk_id: str
    rank: int


Ranking = dict[str, Candidate]  # paper id -> candidate, best first


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
    if filters.collection:
        clauses.append({"collections": {"$contains": collection_key(filters.collection) or "\u2400"}})
    if filters.tag:
        clauses.append({"tags": {"$contains": tag_key(filters.tag) or "\u2400"}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def select(store: Library, filters: Filters) -> Selection:
    """The papers passing `filters` (the same rules as `filters_where`), evaluated on the
    library's in-memory facets and handed over as a selection of the BM25 index's chunks: no
    Chroma metadata query."""
    groups: list[list[str]] = []
    if filters.category:
        groups.append([f"c:{filters.category.strip().lower()}"])
    if filters.author:
        groups.append([f"a:{k}" for k in author_filter_keys(filters.author)])
    if filters.collection:
        groups.append([f"k:{collection_key(filters.collection)}"])
    if filters.tag:
        groups.append([f"t:{tag_key(filters.tag)}"])
    return store.select(year_from=filters.year_from, year_to=filters.year_to, any_of=groups)


def dense_search(store: Library, query: str, depth: int, selection: Selection | None = None) -> Ranking:
    """The `depth` papers whose best chunk is nearest the query (chunks of full texts included),
    among the selected papers if a selection is given."""
    vector = store.embedder.embed_one(query)
    ids, admits = None, None
    n = depth
    if selection is not None and selection.fraction < WIDE_FILTER:
        ids = selection.chunk_ids()
    elif selection is not None:
        admits = selection.admits
        n = int(depth / max(selection.fraction, 1e-6) * 1.5) + 10
    while True:
        hits = store.dense_query(vector, n, ids=ids, texts=False)
        ranking: Ranking = {}
        for h in hits:
            if h.paper_id not in ranking and (admits is None or admits(h.paper_id)):
                ranking[h.paper_id] = Candidate(h.similarity, h.chunk_id, len(ranking) + 1)
        # Many chunks of a few long papers (or, for a wide filter, unselected papers) can fill
        # the top n: ask for more until there are `depth` papers or no more chunks.
        if len(ranking) >= depth or len(hits) < n:
            return dict(list(ranking.items())[:depth])
        n *= 4


def lexical_search(store: Library, query: str, depth: int, selection: Selection | None = None) -> Ranking:
    results = store.lexical.search_papers(query, depth, selection)
    return {pid: Candidate(score, cid, rank) for rank, (pid, cid, score) in enumerate(results, 1)}


def _zscores(ranking: Ranking) -> dict[str, float]:
    values = [c.score for c in ranking.values()]
    if not values:
        return {}
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    std = std if std > 1e-9 else 1.0
    return {pid: (c.score - mean) / std for pid, c in ranking.items()}


def fuse(dense: Ranking, lexical: Ranking, dense_weight: float = DENSE_WEIGHT) -> dict[str, float]:
    """Z-score fusion: each list standardised over itself; a paper absent from a list gets that
    list's lowest z (an empty list contributes nothing)."""
    zd, zl = _zscores(dense), _zscores(lexical)
    floor_d = min(zd.values()) if zd else 0.0
    floor_l = min(zl.values()) if zl else 0.0
    return {
        pid: dense_weight * zd.get(pid, floor_d) + (1.0 - dense_weight) * zl.get(pid, floor_l)
        for pid in {**zd, **zl}
    }


def search(
    store: Library,
    query: str,
    *,
    k: int = 10,
    mode: SearchMode = "hybrid",
    filters: Filters | None = None,
) -> list[Hit]:
    """The k best papers for `query`, best first (fewer only when fewer papers pass the filters,
    or, without filters in bm25 mode, fewer papers share a word with the query)."""
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
    query = query.strip()
    if not query or k <= 0:
        return []
    selection: Selection | None = None
    if filters is not None and not filters.is_empty():
        selection = select(store, filters)
        if not selection.n_papers:
            return []
    depth = max(MIN_DEPTH, 4 * k)
    dense = dense_search(store, query, depth, selection) if mode in ("hybrid", "dense") else {}
    lexical = lexical_search(store, query, depth, selection) if mode in ("hybrid", "bm25") else {}

    if mode == "dense":
        scores = {pid: c.score for pid, c in dense.items()}
    elif mode == "bm25":
        scores = {pid: c.score for pid, c in lexical.items()}
        if selection is not None and len(scores) < k:
            # A filtered BM25 search ranks the filtered papers: those sharing no word with the
            # query follow the others (score 0), so the filter's papers are all reachable.
            for pid in sorted(set(selection.paper_ids()) - scores.keys())[: k - len(scores)]:
                scores[pid] = 0.0
    else:
        scores = fuse(dense, lexical)

    ranked = sorted(scores, key=lambda pid: -scores[pid])[:k]
    papers = store.get_many(ranked)
    best = {pid: (dense.get(pid) or lexical.get(pid)) for pid in ranked}
    chunks = {pid: c.chunk_id if c else chunk_id(pid, 0) for pid, c in best.items()}
    # A hit's text is its abstract, or the full-text passage that matched (fetched for the k hits).
    passages = store.chunk_passages([cid for cid in chunks.values() if not is_record_chunk(cid)])
    hits = []
    for pid in ranked:
        if pid not in papers:
            continue
        d, lx = dense.get(pid), lexical.get(pid)
        hits.append(
            Hit(
                paper=papers[pid],
                score=scores[pid],
                dense=d.score if d else None,
                lexical=lx.score if lx else None,
                chunk_id=chunks[pid],
                text=passages.get(chunks[pid], ("", None))[0] or papers[pid].abstract,
                ranks={name: c.rank for name, c in (("dense", d), ("bm25", lx)) if c},
                page=passages.get(chunks[pid], ("", None))[1],
            )
        )
    return hits


def warm_up(store: Library) -> None:
    """Load what a first question needs (the embedding model, the BM25 index and facets, the
    stopword lists), so a server started with this in a background thread answers its first
    question as fast as later ones; the model's native work overlaps the UI's imports."""
    try:
        search(store, "warm up the retrievers", k=1)
        store.select()  # loads the facets and maps them onto the BM25 index, for the first filter
        from assistant.text_terms import content_stopwords

        content_stopwords()
    except Exception:  # noqa: BLE001  (a real question reports whatever is wrong)
        return
