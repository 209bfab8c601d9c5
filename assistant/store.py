"""The only code that talks to Chroma. A paper is stored as its chunks (chunk 0: title and abstract;
more chunks for full texts); chunk 0 carries the paper record as JSON, so Chroma (embedded or server)
is the single source of truth and every other index can be rebuilt from it.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlparse

import assistant  # noqa: F401  (offline environment first)
from assistant.embed import Embedder, get_embedder
from assistant.errors import NotFoundError, StoreError
from assistant.papers import Paper, author_keys, merge, merge_keys, name_key

COLLECTION = "litassist_chunks"
WRITE_BATCH = 256  # papers embedded and upserted per step (Chroma allows ~5,000 records a call)
CHUNK_TOKENS = 200  # all-MiniLM-L6-v2 reads at most 256 word pieces

ProgressCallback = Callable[[int], None]


@dataclass
class Chunk:
    id: str
    paper_id: str
    index: int
    text: str


@dataclass
class WriteReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass
class DenseHit:
    chunk_id: str
    paper_id: str
    similarity: float
    text: str


def chunk_id(paper_id: str, index: int) -> str:
    return f"{paper_id}#{index}"


def paper_chunks(paper: Paper) -> list[Chunk]:
    """Chunk 0 is title + abstract; a full text adds ~200-token chunks (citations still point at the paper)."""
    head = paper.abstract or paper.full_text[:1500]
    if paper.title and not paper.title_derived:
        head = f"{paper.title}\n{head}"
    chunks = [Chunk(chunk_id(paper.id, 0), paper.id, 0, head)]
    if paper.full_text:
        from llama_index.core.node_parser import SentenceSplitter

        splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=30)
        for i, text in enumerate(splitter.split_text(paper.full_text), start=1):
            chunks.append(Chunk(chunk_id(paper.id, i), paper.id, i, text))
    return chunks


def filter_metadata(paper: Paper) -> dict[str, Any]:
    """Fields retrieval filters on, stored on every chunk (lists are Chroma array metadata)."""
    meta: dict[str, Any] = {"paper_id": paper.id}
    if paper.year is not None:
        meta["year"] = int(paper.year)
    keys = author_keys(paper.authors) + [f"partial:{name_key(n)}" for n in paper.partial_authors]
    if keys:
        meta["author_keys"] = keys
    if paper.categories:
        meta["categories"] = [c.lower() for c in paper.categories]
    return meta


def record_metadata(paper: Paper, n_chunks: int) -> dict[str, Any]:
    meta = filter_metadata(paper)
    meta.update(
        chunk=0,
        n_chunks=n_chunks,
        record=json.dumps(paper.to_dict(with_full_text=True), ensure_ascii=False),
        merge_keys=sorted(merge_keys(paper)) or [f"id:{paper.id}"],
        aliases=paper.aliases or [paper.id],
    )
    return meta


def _record_equal(a: Paper, b: Paper) -> bool:
    return a.to_dict(with_full_text=True) == b.to_dict(with_full_text=True)


class Store:
    """A paper library in Chroma: embedded (`store_dir/chroma`) or a server (`chroma_url`)."""

    def __init__(self, store_dir: Path, *, chroma_url: str | None = None, embedder: Embedder | None = None):
        self.store_dir = Path(store_dir)
        self.chroma_url = chroma_url
        self.embedder = embedder or get_embedder()
        self._write_lock = threading.Lock()
        self._client = self._connect()
        self._collection = self._client.get_or_create_collection(
            COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.vector_store = ChromaVectorStore.from_collection(self._collection)
        from assistant.lexical import LexicalIndex

        self.lexical = LexicalIndex(self.store_dir / "bm25", self)

    # ---- connection -------------------------------------------------------------------------
    def _connect(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.chroma_url:
                url = urlparse(self.chroma_url if "://" in self.chroma_url else f"http://{self.chroma_url}")
                self.store_dir.mkdir(parents=True, exist_ok=True)
                return chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=settings,
                )
            (self.store_dir / "chroma").mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.store_dir / "chroma"), settings=settings)
        except Exception as exc:  # chromadb raises many types; all mean "cannot open"
            where = self.chroma_url or str(self.store_dir)
            raise StoreError(f"cannot open the Chroma store at {where}: {exc}") from exc

    @property
    def collection(self):
        return self._collection

    def describe(self) -> str:
        return f"Chroma server {self.chroma_url}" if self.chroma_url else f"{self.store_dir}"

    # ---- reading ----------------------------------------------------------------------------
    def count_chunks(self) -> int:
        return self._collection.count()

    def count(self) -> int:
        return len(self._collection.get(where={"chunk": 0}, include=[])["ids"])

    def _records(self, where: dict | None = None, ids: list[str] | None = None) -> list[Paper]:
        if where is not None and ids is None:
            where = {"$and": [{"chunk": 0}, where]}
        elif where is None and ids is None:
            where = {"chunk": 0}
        result = self._collection.get(ids=ids, where=where, include=["metadatas"])
        return [Paper.from_dict(json.loads(m["record"])) for m in result["metadatas"] if m and "record" in m]

    def get(self, paper_id: str) -> Paper:
        found = self._records(ids=[chunk_id(paper_id, 0)])
        if not found:
            found = self._records(where={"aliases": {"$contains": paper_id}})
        if not found:
            raise NotFoundError(f"no paper with id {paper_id!r} in the library ({self.describe()})")
        return found[0]

    def get_many(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        ids = [chunk_id(pid, 0) for pid in dict.fromkeys(paper_ids)]
        return {p.id: p for p in self._records(ids=ids)} if ids else {}

    def papers(self, where: dict | None = None) -> list[Paper]:
        papers = self._records(where=where)
        papers.sort(key=lambda p: (p.date or "", p.id), reverse=True)
        return papers

    def iter_chunks(self, batch: int = 5000) -> Iterator[tuple[list[str], list[str], list[dict]]]:
        """Every chunk's id, text and metadata, in pages (for rebuilding other indexes)."""
        offset = 0
        while True:
            page = self._collection.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            if not page["ids"]:
                return
            yield page["ids"], page["documents"], page["metadatas"]
            offset += len(page["ids"])

    def matching_paper_ids(self, where: dict) -> set[str]:
        result = self._collection.get(where={"$and": [{"chunk": 0}, where]}, include=["metadatas"])
        return {m["paper_id"] for m in result["metadatas"]}

    def embeddings_for(self, paper_ids: Iterable[str]) -> dict[str, list[float]]:
        """Chunk-0 embeddings (title + abstract) of the given papers."""
        ids = [chunk_id(pid, 0) for pid in dict.fromkeys(paper_ids)]
        if not ids:
            return {}
        result = self._collection.get(ids=ids, include=["embeddings", "metadatas"])
        return {m["paper_id"]: list(e) for m, e in zip(result["metadatas"], result["embeddings"])}

    def dense_query(self, embedding: list[float], k: int, where: dict | None = None) -> list[DenseHit]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        total = self.count_chunks()
        if total == 0:
            return []
        query = VectorStoreQuery(query_embedding=embedding, similarity_top_k=min(k, total))
        kwargs: dict[str, Any] = {"include": ["documents", "distances", "metadatas"]}
        if where:
            kwargs["where"] = where
        result = self.vector_store.query(query, **kwargs)
        hits = []
        for node, sim in zip(result.nodes, result.similarities or []):
            # LlamaIndex reports exp(-distance); with cosine space distance = 1 - cos.
            import math

            cosine = 1.0 + math.log(sim) if sim > 0 else -1.0
            hits.append(DenseHit(node.node_id, node.metadata.get("paper_id", node.node_id.split("#")[0]), cosine, node.get_content()))
        return hits

    # ---- writing ----------------------------------------------------------------------------
    def find_existing(self, papers: list[Paper]) -> dict[str, Paper]:
        """Stored records sharing a merge key (or id/alias) with any incoming paper, by that key."""
        keys = sorted({k for p in papers for k in merge_keys(p)})
        ids = sorted({a for p in papers for a in [p.id, *p.aliases]})
        found: dict[str, Paper] = {}
        for start in range(0, max(len(keys), len(ids)), 200):
            clauses: list[dict] = [{"merge_keys": {"$contains": k}} for k in keys[start : start + 200]]
            clauses += [{"aliases": {"$contains": i}} for i in ids[start : start + 200]]
            if not clauses:
                continue
            where = clauses[0] if len(clauses) == 1 else {"$or": clauses}
            for stored in self._records(where=where):
                for key in merge_keys(stored) | {f"id:{a}" for a in [stored.id, *stored.aliases]}:
                    found[key] = stored
        return found

    def _plan(self, incoming: list[Paper]) -> tuple[list[Paper], list[str], WriteReport]:
        """Merge incoming papers with what is stored; return records to write and ids to retire."""
        existing = self.find_existing(incoming)
        report = WriteReport()
        to_write: list[Paper] = []
        retired: list[str] = []
        for paper in incoming:
            matches = {
                stored.id: stored
                for key in merge_keys(paper) | {f"id:{a}" for a in [paper.id, *paper.aliases]}
                if (stored := existing.get(key)) is not None
            }
            if not matches:
                report.added.append(paper.id)
                to_write.append(paper)
                continue
            merged = paper
            for stored in matches.values():
                merged = merge(stored, merged)
            first = next(iter(matches.values()))
            if len(matches) == 1 and _record_equal(merged, first):
                report.unchanged.append(first.id)
                continue
            report.updated.append(merged.id)
            to_write.append(merged)
            retired += [old for old in matches if old != merged.id]
        return to_write, retired, report

    def write(self, papers: list[Paper], *, on_progress: ProgressCallback | None = None) -> WriteReport:
        """Store papers (merged with known records). Idempotent; each paper is written whole."""
        total = WriteReport()
        with self._write_lock:
            for start in range(0, len(papers), WRITE_BATCH):
                batch = papers[start : start + WRITE_BATCH]
                to_write, retired, report = self._plan(batch)
                self._upsert(to_write)
                self._delete_papers(retired)
                total.added += report.added
                total.updated += report.updated
                total.unchanged += report.unchanged
                if on_progress:
                    on_progress(len(batch))
            self.lexical.save()
        return total

    def _upsert(self, papers: list[Paper]) -> None:
        if not papers:
            return
        chunks_by_paper = {p.id: paper_chunks(p) for p in papers}
        chunks = [c for cs in chunks_by_paper.values() for c in cs]
        vectors = self.embedder.embed([c.text for c in chunks])
        records = {p.id: p for p in papers}
        metadatas = []
        for c in chunks:
            paper = records[c.paper_id]
            if c.index == 0:
                metadatas.append(record_metadata(paper, len(chunks_by_paper[paper.id])))
            else:
                metadatas.append({**filter_metadata(paper), "chunk": c.index})
        for start in range(0, len(chunks), 4000):
            end = start + 4000
            self._collection.upsert(
                ids=[c.id for c in chunks[start:end]],
                embeddings=vectors[start:end],
                documents=[c.text for c in chunks[start:end]],
                metadatas=metadatas[start:end],
            )
        self._delete_stale_chunks(chunks_by_paper)
        self.lexical.upsert([(c.id, c.text) for c in chunks])

    def _delete_stale_chunks(self, chunks_by_paper: dict[str, list[Chunk]]) -> None:
        """A re-ingested full text may have fewer chunks than before: drop the leftovers."""
        for paper_id, chunks in chunks_by_paper.items():
            if len(chunks) == 1 and not self._collection.get(where={"paper_id": paper_id}, include=[], limit=2)["ids"][1:]:
                continue
            current = {c.id for c in chunks}
            stored = self._collection.get(where={"paper_id": paper_id}, include=[])["ids"]
            stale = [i for i in stored if i not in current]
            if stale:
                self._collection.delete(ids=stale)
                self.lexical.remove(stale)

    def _delete_papers(self, paper_ids: list[str]) -> None:
        for paper_id in paper_ids:
            stored = self._collection.get(where={"paper_id": paper_id}, include=[])["ids"]
            if stored:
                self._collection.delete(ids=stored)
                self.lexical.remove(stored)

    def remove(self, paper_ids: list[str]) -> list[str]:
        """Delete papers (by id or alias) from every index; returns the ids removed."""
        with self._write_lock:
            removed = []
            for given in paper_ids:
                paper = self.get(given)
                self._delete_papers([paper.id])
                removed.append(paper.id)
            self.lexical.save()
        return removed

    # ---- summary ----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        papers = self.papers()
        years = [p.year for p in papers if p.year]
        return {
            "store": self.describe(),
            "papers": len(papers),
            "chunks": self.count_chunks(),
            "authors": len({name_key(a) for p in papers for a in p.authors}),
            "years": [min(years), max(years)] if years else None,
            "with_arxiv_id": sum(1 for p in papers if p.arxiv_id),
            "with_full_text": sum(1 for p in papers if p.full_text),
            "derived_titles": sum(1 for p in papers if p.title_derived),
            "embedder": self.embedder.name,
        }


def open_store(store: str | Path | None = None, *, chroma_url: str | None = None, embedder: Embedder | None = None) -> Store:
    """Open (creating if needed) the store, honouring settings precedence for dir and server URL."""
    from assistant.config import load_settings

    settings = load_settings(store, chroma_url=chroma_url)
    return Store(settings.store_dir, chroma_url=settings.get("chroma_url"), embedder=embedder)
