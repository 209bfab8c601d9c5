"""The Chroma gateway: reads and writes of the chunk collection, nothing else. A paper is its
chunks (`assistant.chunks`); chunk 0 carries the paper record as JSON, so Chroma (embedded or
server) is the single source of truth and every other index can be rebuilt from it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from assistant.chunks import Chunk, chunk_id, paper_id_of_chunk
from assistant.errors import NotFoundError, StoreError
from assistant.library.connection import ChromaConnection
from assistant.papers import Paper

EXACT_SEARCH_MAX_IDS = 500  # a dense query restricted to at most this many chunks ranks them exactly


@dataclass
class DenseHit:
    chunk_id: str
    paper_id: str
    similarity: float
    text: str


def upsert_slices(chunks_by_paper: dict[str, list[Chunk]], limit: int) -> list[list[Chunk]]:
    """Group chunks into upsert calls of whole papers (at most `limit` chunks unless one paper is
    bigger), each paper's chunk 0 last: a call that lands stores whole papers, and a paper too big
    for one call is only visible (it has a record) once all its chunks are in."""
    slices: list[list[Chunk]] = []
    current: list[Chunk] = []
    for chunks in chunks_by_paper.values():
        ordered = chunks[1:] + chunks[:1]
        if current and len(current) + len(ordered) > limit:
            slices.append(current)
            current = []
        if len(ordered) > limit:  # one huge full text: split it, record last
            for start in range(0, len(ordered), limit):
                slices.append(ordered[start : start + limit])
            continue
        current.extend(ordered)
    if current:
        slices.append(current)
    return slices


class ChromaGateway:
    """The chunk collection of one store; also the source the BM25 index and the facets are
    rebuilt from (`lexical.ChunkSource`, `facets.RecordSource`)."""

    def __init__(self, connection: ChromaConnection):
        self.connection = connection
        self.max_batch = connection.max_batch

    @property
    def collection(self) -> Any:
        return self.connection.collection

    def call(self, action: Callable[[], Any], doing: str = "cannot use") -> Any:
        return self.connection.call(action, doing)

    def change_marker(self) -> int:
        return self.connection.journal.change_marker()

    # ---- reading ----------------------------------------------------------------------------
    def count_chunks(self) -> int:
        return int(self.collection.count())

    def count(self) -> int:
        return len(self.collection.get(where={"chunk": 0}, include=[])["ids"])

    def records(self, where: dict | None = None, ids: list[str] | None = None) -> list[Paper]:
        # Only chunk 0 carries a record; other chunks a filter matches are skipped below. (A
        # `chunk: 0` clause beside a filter costs Chroma ~0.3 s at 100k papers.)
        if where is None and ids is None:
            where = {"chunk": 0}
        result = self.collection.get(ids=ids, where=where, include=["metadatas"])
        return [Paper.from_dict(json.loads(m["record"])) for m in result["metadatas"] if m and "record" in m]

    def get(self, paper_id: str) -> Paper:
        found = self.records(ids=[chunk_id(paper_id, 0)])
        if not found:
            found = self.records(where={"aliases": {"$contains": paper_id}})
        if not found:
            raise NotFoundError(f"no paper with id {paper_id!r} in the library ({self.connection.describe()})")
        if len(found) > 1:  # a source id (a BibTeX key, a row number) that several entries use
            named = "; ".join(f"{p.id} ({p.display_title()[:60]})" for p in found[:10])
            raise NotFoundError(f"{paper_id!r} names {len(found)} papers: {named}. Use the id.")
        return found[0]

    def get_many(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        ids = [chunk_id(pid, 0) for pid in dict.fromkeys(paper_ids)]
        return {p.id: p for p in self.records(ids=ids)} if ids else {}

    def papers(self, where: dict | None = None) -> list[Paper]:
        papers = self.records(where=where)
        papers.sort(key=lambda p: (p.date or "", p.id), reverse=True)
        return papers

    def iter_texts(self, batch: int = 5000) -> Iterator[tuple[list[str], list[str]]]:
        """Every chunk's id and text, in pages (for rebuilding the BM25 index)."""
        for page in self._pages(["documents"], batch):
            yield page["ids"], page["documents"]

    def iter_metadata(self, batch: int = 5000) -> Iterator[tuple[list[str], list[dict]]]:
        """Every chunk's id and metadata, in pages (for rebuilding the facets)."""
        for page in self._pages(["metadatas"], batch):
            yield page["ids"], page["metadatas"]

    def _pages(self, include: list[str], batch: int) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=batch, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def chunk_texts(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        """The stored text of each given chunk (by chunk id)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        result = self.collection.get(ids=ids, include=["documents"])
        return dict(zip(result["ids"], (d or "" for d in result["documents"])))

    def chunk_passages(self, chunk_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """The stored text and PDF page (None when unknown) of each given chunk (by chunk id)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        result = self.collection.get(ids=ids, include=["documents", "metadatas"])
        pages = [(m or {}).get("page") for m in result["metadatas"]]
        return {
            cid: (doc or "", page if isinstance(page, int) else None)
            for cid, doc, page in zip(result["ids"], result["documents"], pages)
        }

    def embeddings_for(self, paper_ids: Iterable[str]) -> dict[str, list[float]]:
        """Chunk-0 embeddings (title + abstract) of the given papers."""
        ids = [chunk_id(pid, 0) for pid in dict.fromkeys(paper_ids)]
        if not ids:
            return {}
        result = self.collection.get(ids=ids, include=["embeddings", "metadatas"])
        return {m["paper_id"]: list(e) for m, e in zip(result["metadatas"], result["embeddings"])}

    def dense_query(
        self, embedding: list[float], k: int, where: dict | None = None, *, ids: list[str] | None = None, texts: bool = True
    ) -> list[DenseHit]:
        """The k chunks nearest `embedding` by cosine, among those matching `where` and/or with
        the given chunk `ids`. Asks Chroma directly for ids and distances (and texts unless
        `texts=False`): no records are read."""
        if ids is not None and not ids:
            return []
        if not self.connection.chroma_url:
            self.connection.see_other_writers()  # an embedded store: see vectors other processes wrote meanwhile
        if ids is not None and where is None and len(ids) <= EXACT_SEARCH_MAX_IDS:
            return self._exact_query(embedding, k, ids, texts)
        include = ["distances", "documents"] if texts else ["distances"]
        try:
            result = self.call(
                lambda: self.collection.query(
                    query_embeddings=[embedding], n_results=max(1, k), where=where or None, ids=ids, include=include
                )
            )
        except StoreError:
            raise
        except Exception:
            # A Chroma server answers a query on a collection that never held a vector with
            # "Error creating hnsw segment reader: Nothing found on disk" (chroma-core/chroma
            # #4212; `call` retries it while a first write flushes): an empty library simply
            # has no neighbours.
            if self.count_chunks() == 0:
                return []
            raise
        found, distances = result["ids"][0], result["distances"][0]
        documents = result["documents"][0] if texts else [""] * len(found)
        # cosine space: distance = 1 - cosine similarity
        return [DenseHit(cid, paper_id_of_chunk(cid), 1.0 - float(d), doc or "") for cid, d, doc in zip(found, distances, documents)]

    def _exact_query(self, embedding: list[float], k: int, ids: list[str], texts: bool) -> list[DenseHit]:
        """Exact cosine ranking of a few chunks from their stored vectors (Chroma's HNSW, given a
        small id list, walks most of the graph: 130 ms for 50 ids among 100k chunks, against
        3-15 ms to fetch up to a few hundred vectors and rank them here)."""
        import numpy as np

        result = self.call(lambda: self.collection.get(ids=ids, include=["embeddings", "documents"] if texts else ["embeddings"]))
        found = result["ids"]
        if not found:
            return []
        vectors = np.asarray(result["embeddings"], dtype=np.float32)
        query = np.asarray(embedding, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        cosine = vectors @ query / np.maximum(norms, 1e-12)
        order = np.argsort(-cosine, kind="stable")[: max(1, k)]
        documents = result["documents"] if texts else [""] * len(found)
        return [DenseHit(found[i], paper_id_of_chunk(found[i]), float(cosine[i]), documents[i] or "") for i in order.tolist()]

    # ---- writing ----------------------------------------------------------------------------
    def upsert(
        self,
        chunks_by_paper: dict[str, list[Chunk]],
        vectors: dict[str, list[float]],
        metadata: Callable[[Chunk], dict[str, Any]],
    ) -> None:
        """Write whole papers' chunks (`vectors` and `metadata` by chunk), records last."""
        for part in upsert_slices(chunks_by_paper, self.max_batch):
            self.call(
                lambda: self.collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=[vectors[c.id] for c in part],
                    documents=[c.text for c in part],
                    metadatas=[metadata(c) for c in part],
                ),
                "cannot write to",
            )

    def update_records(self, ids: list[str], metadatas: list[dict[str, Any]]) -> None:
        """New metadata for chunks whose texts and vectors stay (no re-embedding)."""
        for start in range(0, len(ids), self.max_batch):
            part, metas = ids[start : start + self.max_batch], metadatas[start : start + self.max_batch]
            self.call(lambda: self.collection.update(ids=part, metadatas=metas), "cannot write to")

    def stored_vectors(self, chunks: list[Chunk]) -> dict[str, list[float]]:
        """Vectors of chunks stored with the same text (an update that changed only the record,
        say a source's line number, is not embedded again)."""
        found: dict[str, list[float]] = {}
        wanted = {c.id: c.text for c in chunks}
        ids = list(wanted)
        for start in range(0, len(ids), self.max_batch):
            part = ids[start : start + self.max_batch]
            got = self.call(lambda: self.collection.get(ids=part, include=["documents", "embeddings"]))
            for cid, text, vector in zip(got["ids"], got["documents"], got["embeddings"]):
                if text == wanted[cid] and vector is not None:
                    found[cid] = list(vector)
        return found

    def chunk_ids_of(self, paper_ids: list[str]) -> list[str]:
        """Every stored chunk id of these papers (one query per 500 papers)."""
        found: list[str] = []
        for start in range(0, len(paper_ids), 500):
            part = paper_ids[start : start + 500]
            where = {"paper_id": part[0]} if len(part) == 1 else {"paper_id": {"$in": part}}
            found += self.call(lambda: self.collection.get(where=where, include=[])["ids"])
        return found

    def delete_chunks(self, ids: list[str]) -> None:
        for start in range(0, len(ids), self.max_batch):
            part = ids[start : start + self.max_batch]
            self.call(lambda: self.collection.delete(ids=part), "cannot write to")
