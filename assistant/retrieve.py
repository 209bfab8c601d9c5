"""Retrieval: dense (Chroma), BM25 (lexical.py), their fusion, and filters. Results are per paper.

Filters are applied inside each retriever, never by trimming a top-k afterwards, so a filtered
search returns as many papers as exist: the filter is evaluated on the paper facets kept beside the
BM25 index (facets.py; Chroma's own metadata filters cost 40-500 ms at 100k papers), then BM25
scores only the selected chunks and the dense query is restricted to their chunk ids (or, for a
filter admitting most of the library, runs unrestricted and deep enough to find enough of them).

Fusion: z-score fusion with equal weights
-----------------------------------------
Each retriever returns its best `depth` papers (depth = max(50, 4k)); each list's scores (cosine,
BM25) are standardised over that list (z = (s - mean) / std), a paper missing from one list takes
that list's lowest z, and the fused score is 0.5 * z_dense + 0.5 * z_bm25.

Measured on the sciqa dev set (1,025 abstracts, 526 queries: 104 scifact claims, 422 pubmedqa
questions) with `python bench/retrieval.py` (or `litassist eval --mode M`); MRR@10 overall /
scifact, recall@1 and @10 overall:

                                   onnx-int8 (default)                 torch fp32
    bm25 (k1 1.2, b 0.75)          0.9507 / 0.8620  r@1 .930 r@10 .987  (the same)
    dense (title + abstract)       0.9616 / 0.8768  r@1 .941 r@10 .992  0.9646 / 0.8833
    hybrid, z-score w=0.5          0.9726 / 0.9065  r@1 .960 r@10 .994  0.9740 / 0.9118

Alternatives, tuned on torch vectors with the same candidate lists (a sweep over precomputed
scores), MRR@10 overall / scifact:

    RRF k=60 (the previous default)             0.9640 / 0.8922
    RRF k=1..100, dense weight 1-2              0.964-0.970 / 0.890-0.902 (best k=1-5: unstable)
    min-max fusion, w_dense 0.4-0.7             0.970-0.972 / 0.902-0.907
    z-score fusion, w_dense 0.4-0.7             0.970-0.974 / 0.902-0.912 (a flat optimum; int8
                                                vectors: 0.969-0.973 / 0.901-0.910)
    query-dependent weights (top-1 gap)         0.971 / 0.908
    dense Rocchio PRF (top 1-5, beta 0.3-1)     0.966-0.973 / 0.900-0.912 (no gain after fusion)

BM25 variants stayed within -0.008/+0.003 of 0.9507 (k1 0.6-2.0 x b 0.3-1.0: 0.943-0.954; BM25L
0.945, BM25+/ATIRE/Robertson 0.951; no stemming or no stopwords 0.944-0.949; a doubled title
0.951; abstract only 0.950), so BM25 keeps its defaults. Z-score fusion needs no tuned constant beyond "equal weights", its optimum is
flat over w 0.4-0.7 at every depth tried (20, 50, 100), and a w picked on a random half of the
queries and tested on the other half beat dense on that half in 5 of 5 splits. Paired bootstrap
(2,000 resamples), hybrid minus the single methods in MRR@10: overall +0.025 [0.015, 0.036] vs
bm25 and +0.008 [-0.002, 0.020] vs dense; scifact +0.049 [0.020, 0.084] vs bm25 and +0.029
[-0.011, 0.067] vs dense. Scifact's ceiling is 0.970, not 1: 104 lines hold 98 distinct claims,
a repeated claim naming another relevant abstract each time, and only one can rank first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from assistant.authors import author_filter_keys, author_where
from assistant.chunks import chunk_id, is_record_chunk
from assistant.groups import collection_key, tag_key
from assistant.lexical import Selection
from assistant.papers import Paper
from assistant.library import Library

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[str, ...] = ("hybrid", "bm25", "dense")
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
    in-memory facets beside the BM25 index: no Chroma metadata query."""
    groups: list[list[str]] = []
    if filters.category:
        groups.append([f"c:{filters.category.strip().lower()}"])
    if filters.author:
        groups.append([f"a:{k}" for k in author_filter_keys(filters.author)])
    if filters.collection:
        groups.append([f"k:{collection_key(filters.collection)}"])
    if filters.tag:
        groups.append([f"t:{tag_key(filters.tag)}"])
    return store.lexical.select(year_from=filters.year_from, year_to=filters.year_to, any_of=groups)


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
    mode: Mode = "hybrid",
    filters: Filters | None = None,
) -> list[Hit]:
    """The k best papers for `query`, best first (fewer only when fewer papers pass the filters,
    or, without filters in bm25 mode, fewer papers share a word with the query)."""
    if mode not in MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
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
        from assistant.sentences import stopwords

        stopwords()
    except Exception:  # noqa: BLE001  (a real question reports whatever is wrong)
        return
