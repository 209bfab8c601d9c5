"""The only code that talks to Chroma. A paper is stored as its chunks (chunk 0: title and abstract;
more chunks for full texts); chunk 0 carries the paper record as JSON, so Chroma (embedded or server)
is the single source of truth and every other index can be rebuilt from it.

Write safety:
- a paper is whole or absent: its chunks go in one upsert call, chunk 0 (the record) last;
- the collection metadata names the embedder that made its vectors (`litassist:embedder`);
- every `write`/`remove` adds a "begin" and an "end" entry to the small `litassist_meta`
  collection; its count is the store's change counter, which other processes (and the BM25
  cache) compare to notice writes they did not make, even ones that leave the chunk count equal;
- an embedded store is written by one process at a time: `write`/`remove` hold an fcntl lock on
  `STORE/write.lock` (a second writer waits, saying so). A writer killed mid-way leaves its pid
  in that file; the next open sees it, finds the lock free, and repairs (`Store.repair`).
  Several processes writing at once need the server (`--chroma-url`, docs/server-mode.md).
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlparse

import assistant  # noqa: F401  (offline environment first)
from assistant.embed import Embedder, backend_of, configured_backend, default_backend, get_embedder, vector_family
from assistant.settings import Settings, load_settings
from assistant.errors import NotFoundError, StoreError
from assistant.papers import (
    Paper,
    author_keys,
    finalise,
    full_text_pages,
    identity_keys,
    library_ids,
    joinable,
    merge,
    merge_keys,
    name_key,
)

COLLECTION = "litassist_chunks"
META_COLLECTION = "litassist_meta"
EMBEDDER_KEY = "litassist:embedder"
LEGACY_EMBEDDER = "all-MiniLM-L6-v2/torch"  # stores made before the name was recorded
# Collection metadata: the record conventions the store's chunk-0 records follow. 1: key_* scalar
# merge-key fields; 2: also `source_paths`. Older stores are read with slower fallbacks.
KEY_FIELDS_FLAG = "litassist:key-fields"
RECORD_FORMAT = 2
KEY_FIELD_PREFIX = "key_"
LOCK_FILE = "write.lock"
WRITE_BATCH = 256  # papers embedded and upserted per step (Chroma allows ~5,000 records a call)
UPSERT_LIMIT = 4000  # chunks per upsert call (whole papers; below Chroma's max batch size)
TRANSIENT_ERRORS = ("Error creating hnsw segment reader",)  # Chroma, while a concurrent write flushes
TRANSIENT_RETRIES = 5
CHUNK_TOKENS = 200  # all-MiniLM-L6-v2 reads at most 256 word pieces
EXACT_SEARCH_MAX_IDS = 500  # a dense query restricted to at most this many chunks ranks them exactly

ProgressCallback = Callable[[int, int], None]  # (texts done, texts in all): a paper is one or more texts


@dataclass
class Chunk:
    id: str
    paper_id: str
    index: int
    text: str
    page: int | None = None  # the PDF page a full-text chunk comes from


@dataclass
class WriteReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Papers a re-read file no longer holds: deleted (no other source left) or detached (kept for
    # their other sources, without that file).
    removed: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)


@dataclass
class DenseHit:
    chunk_id: str
    paper_id: str
    similarity: float
    text: str


def chunk_id(paper_id: str, index: int) -> str:
    return f"{paper_id}#{index}"


def paper_chunks(paper: Paper) -> list[Chunk]:
    """Chunk 0 is title + abstract; a full text adds ~200-token chunks (citations still point at
    the paper), split page by page when the text records its pages, so each knows its page."""
    head = paper.abstract or paper.full_text[:1500].strip()
    if paper.title and not paper.title_derived:
        head = f"{paper.title}\n{head}"
    chunks = [Chunk(chunk_id(paper.id, 0), paper.id, 0, head)]
    if paper.full_text:
        from llama_index.core.node_parser import SentenceSplitter

        splitter = SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=30)
        for page, page_text in full_text_pages(paper.full_text):
            for text in splitter.split_text(page_text):
                index = len(chunks)
                chunks.append(Chunk(chunk_id(paper.id, index), paper.id, index, text, page))
    return chunks


def filter_metadata(paper: Paper) -> dict[str, Any]:
    """Fields retrieval filters on, stored on every chunk (lists are Chroma array metadata)."""
    from assistant.groups import collection_keys, tag_keys

    meta: dict[str, Any] = {"paper_id": paper.id}
    if paper.year is not None:
        meta["year"] = int(paper.year)
    keys = author_keys(paper.authors) + [f"partial:{name_key(n)}" for n in paper.partial_authors]
    if keys:
        meta["author_keys"] = keys
    if paper.categories:
        meta["categories"] = [c.lower() for c in paper.categories]
    if paper.collections:
        meta["collections"] = collection_keys(paper.collections)
    if paper.tags:
        meta["tags"] = tag_keys(paper.tags)
    return meta


def record_metadata(paper: Paper, n_chunks: int, keys: set[str] | None = None) -> dict[str, Any]:
    keys = merge_keys(paper) if keys is None else keys
    meta = filter_metadata(paper)
    meta.update(
        chunk=0,
        n_chunks=n_chunks,
        record=json.dumps(paper.to_dict(with_full_text=True), ensure_ascii=False),
        merge_keys=sorted(keys) or [f"id:{paper.id}"],
        aliases=paper.aliases or [paper.id],
    )
    paths = source_paths(paper)
    if paths:
        meta["source_paths"] = paths
    # Each merge key also as a scalar field (a paper has at most one of each kind), so finding
    # stored duplicates is one indexed `$in` per kind instead of a `$contains` scan per key.
    for key in keys:
        meta[KEY_FIELD_PREFIX + key.split(":", 1)[0]] = key
    return meta


def _record_equal(a: Paper, b: Paper) -> bool:
    return a.to_dict(with_full_text=True) == b.to_dict(with_full_text=True)


def source_paths(paper: Paper) -> list[str]:
    return sorted({s.path for s in paper.sources if s.path})


def _only_from(paper: Paper, paths: set[str]) -> bool:
    """True when every file the paper was read from is among `paths`."""
    return bool(paper.sources) and all(s.path in paths for s in paper.sources)


def _without_sources(paper: Paper, paths: set[str]) -> Paper:
    return replace(paper, sources=[s for s in paper.sources if s.path not in paths])


def _taking_over(incoming: Paper, stored: Paper) -> Paper:
    """`incoming` replaces `stored` (re-read from the files `stored` came from): the new values
    win, even a shorter abstract or fewer authors; the stored ids stay resolvable as aliases."""
    aliases = [*incoming.aliases, *stored.aliases, stored.id]
    return finalise(replace(incoming, aliases=[a for a in dict.fromkeys(aliases) if a != incoming.id]))


class EmbedderMismatchWarning(UserWarning):
    """The configured embedder is not the one that made the store's vectors."""


def _upsert_slices(chunks_by_paper: dict[str, list[Chunk]], limit: int) -> list[list[Chunk]]:
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


def _is_connection_error(exc: BaseException) -> bool:
    import httpx

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (httpx.TransportError, ConnectionError)):
            return True
        text = str(exc).lower()
        if "could not connect" in text or "connection refused" in text:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


class Store:
    """A paper library in Chroma: embedded (`store_dir/chroma`) or a server (`chroma_url`)."""

    def __init__(
        self,
        store_dir: Path,
        *,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        """`embedder`: None uses the one recorded in the store (unless LITASSIST_EMBEDDER names
        another), else the default. `on_wait` is told when a write waits for another process."""
        self.store_dir = Path(store_dir)
        self.chroma_url = chroma_url
        self.on_wait = on_wait or (lambda message: print(message, file=sys.stderr, flush=True))
        self._write_lock = threading.RLock()
        with self._creating():  # two processes must not create one embedded database at once
            self._client = self._connect()
            self._collection = self._open_collection(embedder)
            self._meta = self._call(lambda: self._client.get_or_create_collection(META_COLLECTION, embedding_function=None))
        self._seen_marker = self.change_marker()
        self._keys_memo: dict[int, set[str]] = {}
        try:
            self._max_batch = min(UPSERT_LIMIT, int(self._client.get_max_batch_size()))
        except Exception:
            self._max_batch = UPSERT_LIMIT
        from assistant.lexical import LexicalIndex

        self.lexical = LexicalIndex(self.local_dir / "bm25", self)
        if not self.chroma_url:
            self._recover_if_interrupted()

    # ---- connection -------------------------------------------------------------------------
    def _connect(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.chroma_url:
                url = urlparse(self.chroma_url if "://" in self.chroma_url else f"http://{self.chroma_url}")
                self.store_dir.mkdir(parents=True, exist_ok=True)
                client = chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=settings,
                )
                client.heartbeat()
                return client
            (self.store_dir / "chroma").mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.store_dir / "chroma"), settings=settings)
        except Exception as exc:  # chromadb raises many types; all mean "cannot open"
            raise StoreError(self._unreachable(exc, "cannot open")) from exc

    @contextmanager
    def _creating(self) -> Iterator[None]:
        """Hold the write lock while a new embedded database is created (Chroma's first open sets
        up its tables; two processes doing that at once fail). Nothing to do otherwise."""
        if self.chroma_url or (self.store_dir / "chroma" / "chroma.sqlite3").exists():
            yield
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with open(self.store_dir / LOCK_FILE, "a+", encoding="utf-8") as handle:
            self._flock(handle)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _flock(self, handle) -> None:
        """Take the exclusive lock on an open write.lock, telling `on_wait` if it has to wait."""
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            self.on_wait(
                f"waiting for {holder} to finish writing to {self.store_dir} (an embedded store takes one "
                f"writer at a time; several writers need a Chroma server: --chroma-url)"
            )
            fcntl.flock(handle, fcntl.LOCK_EX)

    def refresh(self) -> int:
        """The store's change marker now. An embedded store whose marker moved since this object
        last wrote or looked (another process wrote) reopens Chroma first: a process's embedded
        Chroma keeps its vector index in memory and would not see the other process's vectors."""
        marker = self.change_marker()
        if marker != self._seen_marker and not self.chroma_url:
            self._reconnect()
        self._seen_marker = marker
        return marker

    def _reconnect(self) -> None:
        """A fresh embedded Chroma client for this store (objects still using the old one keep
        working, with their older view)."""
        try:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(self._client._identifier, None)
        except Exception:  # a Chroma without that cache: the old client is reused, stale but correct
            return
        self._client = self._connect()
        self._collection = self._call(lambda: self._client.get_collection(COLLECTION, embedding_function=None))
        self._meta = self._call(lambda: self._client.get_or_create_collection(META_COLLECTION, embedding_function=None))

    def _unreachable(self, exc: BaseException, doing: str) -> str:
        if self.chroma_url:
            return (
                f"{doing} the Chroma server at {self.chroma_url}: {type(exc).__name__}: {exc} "
                f"(is `chroma run --path DIR --port PORT` running there? setting --chroma-url / LITASSIST_CHROMA_URL)"
            )
        return f"{doing} the Chroma store at {self.store_dir}: {type(exc).__name__}: {exc}"

    def _call(self, action: Callable[[], Any], doing: str = "cannot use") -> Any:
        """Run a Chroma call; in server mode a lost connection becomes a StoreError naming the URL.
        A read that meets an index being flushed by a concurrent write is retried (Chroma 1.5
        answers "Error creating hnsw segment reader: Nothing found on disk" for a moment)."""
        for attempt in range(TRANSIENT_RETRIES + 1):
            try:
                return action()
            except Exception as exc:
                if self.chroma_url and _is_connection_error(exc):
                    raise StoreError(self._unreachable(exc, doing)) from exc
                if attempt < TRANSIENT_RETRIES and any(m in str(exc) for m in TRANSIENT_ERRORS):
                    time.sleep(0.05 * 2**attempt)
                    continue
                raise

    @property
    def local_dir(self) -> Path:
        """Where this machine keeps caches for the store (BM25 tokens): the store directory, or
        in server mode a subdirectory named by the server's collection id, so a server reached
        under another address or port (or restarted on one) keeps its cache."""
        if self.chroma_url:
            return self.store_dir / "servers" / f"collection-{self._collection.id}"
        return self.store_dir

    # ---- embedder ---------------------------------------------------------------------------
    def _open_collection(self, embedder: Embedder | None):
        """Open the chunk collection and settle which embedder this store uses.

        The collection records the embedder that made its vectors. Opening with no embedder
        given adopts it (so a store made with torch stays torch when the default changes);
        an explicit, different one (argument or LITASSIST_EMBEDDER) gets a warning, and writes
        are refused, since one store's vectors must come from one model."""
        from chromadb.errors import NotFoundError as ChromaNotFound

        wanted = embedder or (get_embedder(configured_backend()) if configured_backend() else None)
        name = (wanted or get_embedder(default_backend())).name
        try:
            collection = self._call(lambda: self._client.get_collection(COLLECTION, embedding_function=None), "cannot open")
        except ChromaNotFound:
            collection = self._call(
                lambda: self._client.get_or_create_collection(
                    COLLECTION,
                    metadata={"hnsw:space": "cosine", EMBEDDER_KEY: name, KEY_FIELDS_FLAG: RECORD_FORMAT},
                    embedding_function=None,
                ),
                "cannot open",
            )
        recorded = (collection.metadata or {}).get(EMBEDDER_KEY)
        record_format = int((collection.metadata or {}).get(KEY_FIELDS_FLAG) or 0)
        if recorded is None or record_format < RECORD_FORMAT:
            if collection.count() == 0:  # nothing stored yet: today's conventions apply
                self._record_embedder(collection, name if recorded is None else str(recorded))
                recorded = recorded or name
                record_format = RECORD_FORMAT
            else:
                recorded = recorded or LEGACY_EMBEDDER
        self._key_fields = record_format >= 1
        self._source_path_fields = record_format >= 2
        self.stored_embedder = str(recorded)
        self.embedder_mismatch: str | None = None
        if wanted is None:
            wanted = get_embedder(backend_of(self.stored_embedder) or default_backend())
        self.embedder = wanted
        if vector_family(wanted.name) != vector_family(self.stored_embedder):
            if collection.count() == 0:  # nothing embedded yet: the new choice simply wins
                self._record_embedder(collection, wanted.name)
                self.stored_embedder = wanted.name
            else:
                self.embedder_mismatch = (
                    f"the store {self.describe()} holds vectors made by {self.stored_embedder}, but the configured "
                    f"embedder is {wanted.name}; search quality suffers and writes are refused. Unset "
                    f"LITASSIST_EMBEDDER (the store's own embedder is then used) or ingest into a new store."
                )
                warnings.warn(self.embedder_mismatch, EmbedderMismatchWarning, stacklevel=3)
        return collection

    @staticmethod
    def _record_embedder(collection, name: str) -> None:
        """Record the embedder (and that records carry key fields) in the collection metadata;
        only ever done while the collection is empty."""
        metadata = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
        metadata[EMBEDDER_KEY] = name
        metadata[KEY_FIELDS_FLAG] = RECORD_FORMAT
        collection.modify(metadata=metadata)

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
        # Only chunk 0 carries a record; other chunks a filter matches are skipped below. (A
        # `chunk: 0` clause beside a filter costs Chroma ~0.3 s at 100k papers.)
        if where is None and ids is None:
            where = {"chunk": 0}
        result = self._collection.get(ids=ids, where=where, include=["metadatas"])
        return [Paper.from_dict(json.loads(m["record"])) for m in result["metadatas"] if m and "record" in m]

    def get(self, paper_id: str) -> Paper:
        found = self._records(ids=[chunk_id(paper_id, 0)])
        if not found:
            found = self._records(where={"aliases": {"$contains": paper_id}})
        if not found:
            raise NotFoundError(f"no paper with id {paper_id!r} in the library ({self.describe()})")
        if len(found) > 1:  # a source id (a BibTeX key, a row number) that several entries use
            named = "; ".join(f"{p.id} ({p.display_title()[:60]})" for p in found[:10])
            raise NotFoundError(f"{paper_id!r} names {len(found)} papers: {named}. Use the id.")
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

    def chunk_texts(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        """The stored text of each given chunk (by chunk id)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        result = self._collection.get(ids=ids, include=["documents"])
        return dict(zip(result["ids"], (d or "" for d in result["documents"])))

    def chunk_passages(self, chunk_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """The stored text and PDF page (None when unknown) of each given chunk (by chunk id)."""
        ids = list(dict.fromkeys(chunk_ids))
        if not ids:
            return {}
        result = self._collection.get(ids=ids, include=["documents", "metadatas"])
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
        result = self._collection.get(ids=ids, include=["embeddings", "metadatas"])
        return {m["paper_id"]: list(e) for m, e in zip(result["metadatas"], result["embeddings"])}

    def dense_query(
        self,
        embedding: list[float],
        k: int,
        where: dict | None = None,
        *,
        ids: list[str] | None = None,
        texts: bool = True,
    ) -> list[DenseHit]:
        """The k chunks nearest `embedding` by cosine, among those matching `where` and/or with
        the given chunk `ids`. Asks Chroma directly for ids and distances (and texts unless
        `texts=False`): no records are read."""
        if ids is not None and not ids:
            return []
        if not self.chroma_url:
            self.refresh()  # an embedded store: see vectors other processes wrote meanwhile
        if ids is not None and where is None and len(ids) <= EXACT_SEARCH_MAX_IDS:
            return self._exact_query(embedding, k, ids, texts)
        include = ["distances", "documents"] if texts else ["distances"]

        try:
            result = self._call(
                lambda: self._collection.query(
                    query_embeddings=[embedding], n_results=max(1, k), where=where or None, ids=ids, include=include
                )
            )
        except StoreError:
            raise
        except Exception:
            # A Chroma server answers a query on a collection that never held a vector with
            # "Error creating hnsw segment reader: Nothing found on disk" (chroma-core/chroma
            # #4212; `_call` retries it while a first write flushes): an empty library simply
            # has no neighbours.
            if self.count_chunks() == 0:
                return []
            raise
        found, distances = result["ids"][0], result["distances"][0]
        documents = result["documents"][0] if texts else [""] * len(found)
        # cosine space: distance = 1 - cosine similarity
        return [DenseHit(cid, cid.rsplit("#", 1)[0], 1.0 - float(d), doc or "") for cid, d, doc in zip(found, distances, documents)]

    def _exact_query(self, embedding: list[float], k: int, ids: list[str], texts: bool) -> list[DenseHit]:
        """Exact cosine ranking of a few chunks from their stored vectors (Chroma's HNSW, given a
        small id list, walks most of the graph: 130 ms for 50 ids among 100k chunks, against
        3-15 ms to fetch up to a few hundred vectors and rank them here)."""
        import numpy as np

        result = self._call(lambda: self._collection.get(ids=ids, include=["embeddings", "documents"] if texts else ["embeddings"]))
        found = result["ids"]
        if not found:
            return []
        vectors = np.asarray(result["embeddings"], dtype=np.float32)
        query = np.asarray(embedding, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12)
        cosine = vectors @ query / np.maximum(norms, 1e-12)
        order = np.argsort(-cosine, kind="stable")[: max(1, k)]
        documents = result["documents"] if texts else [""] * len(found)
        return [DenseHit(found[i], found[i].rsplit("#", 1)[0], float(cosine[i]), documents[i] or "") for i in order.tolist()]

    # ---- writing ----------------------------------------------------------------------------
    def find_existing(self, papers: list[Paper], keys_of: dict[int, set[str]] | None = None) -> dict[str, list[Paper]]:
        """Stored records sharing a merge key or library id (`identity_keys`) with any incoming
        paper, by that key (several papers may share one, e.g. a title).

        `keys_of` maps id(paper) to its merge keys when the caller has them already."""
        keys_of = keys_of if keys_of is not None else {id(p): merge_keys(p) for p in papers}
        keys = sorted({k for p in papers for k in keys_of[id(p)]})
        ids = sorted({a for p in papers for a in library_ids(p)})
        records: dict[str, Paper] = {}

        def take(where: dict | None = None, ids: list[str] | None = None) -> None:
            for stored in self._call(lambda: self._records(where=where, ids=ids)):
                records[stored.id] = stored

        def any_of(clauses: list[dict]) -> dict:
            return clauses[0] if len(clauses) == 1 else {"$or": clauses}

        if self._key_fields:
            # merge keys: one indexed `$in` per kind (arxiv, doi, abs, title)
            by_kind: dict[str, list[str]] = {}
            for key in keys:
                by_kind.setdefault(key.split(":", 1)[0], []).append(key)
            clauses = [
                {KEY_FIELD_PREFIX + kind: {"$in": values[i : i + 500]}}
                for kind, values in by_kind.items()
                for i in range(0, len(values), 500)
            ]
            for start in range(0, len(clauses), 8):
                take(where=any_of(clauses[start : start + 8]))
            # records whose own id is an incoming id or alias
            for start in range(0, len(ids), 1000):
                take(ids=[chunk_id(i, 0) for i in ids[start : start + 1000]])
            # records that absorbed an incoming id as an alias: only a paper with no arXiv id or DOI
            # can be missed by the keys (its keys hash texts a merged record may no longer carry),
            # so only those pay for the `$contains` scan
            weak = sorted({a for p in papers if not (p.arxiv_id or p.doi) for a in library_ids(p)})
            for start in range(0, len(weak), 200):
                take(where=any_of([{"aliases": {"$contains": i}} for i in weak[start : start + 200]]))
        else:  # a store written before the key fields existed
            for start in range(0, max(len(keys), len(ids)), 200):
                legacy: list[dict] = [{"merge_keys": {"$contains": k}} for k in keys[start : start + 200]]
                legacy += [{"aliases": {"$contains": i}} for i in ids[start : start + 200]]
                if legacy:
                    take(where=any_of(legacy))
        found: dict[str, list[Paper]] = {}
        for stored in records.values():
            for key in identity_keys(stored):
                found.setdefault(key, []).append(stored)
        return found

    def _plan(self, incoming: list[Paper], reread: set[str]) -> tuple[list[Paper], list[str], WriteReport]:
        """Merge incoming papers with what is stored; return records to write and ids to retire.

        A stored record read only from files in `reread` is replaced by the incoming one (the file
        was edited: its values win); one with other sources too is merged, after dropping its old
        entries from those files (the incoming record carries their current ones)."""
        keys_of = {id(p): merge_keys(p) for p in incoming}
        self._keys_memo = keys_of  # reused for the records of papers written as they came
        existing = self.find_existing(incoming, keys_of)
        report = WriteReport()
        to_write: list[Paper] = []
        retired: list[str] = []
        for paper in incoming:
            candidates = {
                stored.id: stored
                for key in identity_keys(paper, keys_of[id(paper)])
                for stored in existing.get(key, ())
            }
            matches = {stored.id: stored for stored in joinable(paper, list(candidates.values()))}
            if not matches:
                report.added.append(paper.id)
                to_write.append(paper)
                continue
            merged = paper
            for stored in matches.values():
                if _only_from(stored, reread):
                    merged = _taking_over(merged, stored)
                else:
                    merged = merge(_without_sources(stored, reread), merged)
            first = next(iter(matches.values()))
            if len(matches) == 1 and _record_equal(merged, first):
                report.unchanged.append(first.id)
                continue
            report.updated.append(merged.id)
            to_write.append(merged)
            retired += [old for old in matches if old != merged.id]
        return to_write, retired, report

    def write(
        self,
        papers: list[Paper],
        *,
        on_progress: ProgressCallback | None = None,
        reread: Iterable[str] = (),
    ) -> WriteReport:
        """Store papers (merged with known records). Idempotent; each paper is written whole.

        `reread`: paths of files read whole for this write (as in `Source.path`). Their stored
        papers take the new values, and stored papers they no longer hold lose them as a source:
        deleted when no other source is left (`removed`), else kept without it (`detached`)."""
        if self.embedder_mismatch:
            raise StoreError(self.embedder_mismatch)
        reread = set(reread)
        total = WriteReport()
        if not papers and not reread:
            return total
        with self._writing():
            # Chunked once: the counts give the progress its total (a PDF is many texts), and
            # papers written as they came reuse their chunks.
            chunks_of = {id(p): paper_chunks(p) for p in papers}
            texts, done = sum(len(c) for c in chunks_of.values()), 0
            if on_progress:
                on_progress(0, texts)
            for start in range(0, len(papers), WRITE_BATCH):
                batch = papers[start : start + WRITE_BATCH]
                in_batch, embedded = sum(len(chunks_of[id(p)]) for p in batch), 0

                def on_embedded(n: int) -> None:
                    nonlocal embedded
                    embedded += n
                    if on_progress:
                        on_progress(done + min(embedded, in_batch), texts)

                to_write, retired, report = self._plan(batch, reread)
                self._upsert(to_write, on_embedded=on_embedded, chunks_of=chunks_of)
                self._keys_memo = {}
                self._delete_papers(retired)
                total.added += report.added
                total.updated += report.updated
                total.unchanged += report.unchanged
                done += in_batch
                if on_progress:
                    on_progress(done, texts)
            if reread:
                kept = {*total.added, *total.updated, *total.unchanged}
                total.removed, total.detached = self._drop_stale_sources(reread, kept)
        return total

    def papers_from(self, paths: Iterable[str], *, excluding: frozenset[str] | set[str] = frozenset()) -> list[Paper]:
        """Stored records read from any of these files (paths as in `Source.path`), but for the
        ids in `excluding` (whose records are not even loaded)."""
        paths = set(paths)
        if not self._source_path_fields:  # records made before `source_paths`: scan them all
            records = self._call(lambda: self._records())
            return [p for p in records if p.id not in excluding and any(s.path in paths for s in p.sources)]
        ids: set[str] = set()
        ordered = sorted(paths)
        for start in range(0, len(ordered), 100):
            clauses = [{"source_paths": {"$contains": path}} for path in ordered[start : start + 100]]
            where = clauses[0] if len(clauses) == 1 else {"$or": clauses}  # only chunk 0 has the field
            ids.update(self._call(lambda: self._collection.get(where=where, include=[]))["ids"])
        wanted = sorted(i for i in ids if i.rsplit("#", 1)[0] not in excluding)
        found: list[Paper] = []
        for start in range(0, len(wanted), 1000):
            found += self._call(lambda: self._records(ids=wanted[start : start + 1000]))
        return found

    def _drop_stale_sources(self, reread: set[str], kept: set[str]) -> tuple[list[str], list[str]]:
        """Papers stored from `reread` files that this read did not produce: drop those files
        from their sources; delete the ones left with none. Returns (removed, detached)."""
        stale = self.papers_from(reread, excluding=kept)
        removed = [p.id for p in stale if _only_from(p, reread)]
        detached = [_without_sources(p, reread) for p in stale if p.id not in removed]
        for start in range(0, len(detached), self._max_batch):
            part = detached[start : start + self._max_batch]
            # only the record changes (chunk texts and vectors stay), so no re-embedding
            self._call(
                lambda: self._collection.update(
                    ids=[chunk_id(p.id, 0) for p in part],
                    metadatas=[record_metadata(p, len(paper_chunks(p))) for p in part],
                ),
                "cannot write to",
            )
        self._delete_papers(removed)
        return removed, [p.id for p in detached]

    def write_prepared(self, papers: list[Paper], vectors: list[list[float]]) -> None:
        """Store papers known to be new and distinct whose chunk vectors are already computed (one
        per chunk, in `paper_chunks` order): no merge planning, no embedding, no stale-chunk
        check, the same chunks and metadata as `write`. For benches and bulk imports."""
        if self.embedder_mismatch:
            raise StoreError(self.embedder_mismatch)
        if not papers:
            return
        with self._writing():
            self._upsert(papers, vectors, fresh=True)

    def _upsert(
        self,
        papers: list[Paper],
        vectors: list[list[float]] | None = None,
        *,
        fresh: bool = False,
        on_embedded: Callable[[int], None] | None = None,
        chunks_of: dict[int, list[Chunk]] | None = None,
    ) -> None:
        """`chunks_of`: id(paper) -> chunks already made for some of `papers`."""
        if not papers:
            return
        known = chunks_of or {}
        chunks_by_paper = {p.id: known.get(id(p)) or paper_chunks(p) for p in papers}
        chunks = [c for cs in chunks_by_paper.values() for c in cs]
        if vectors is None:
            by_id = {} if fresh else self._stored_vectors(chunks)
            todo = [c for c in chunks if c.id not in by_id]
            fresh_vectors = self.embedder.embed([c.text for c in todo], on_batch=on_embedded) if todo else []
            by_id.update(zip((c.id for c in todo), fresh_vectors))
        elif len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} vectors given for {len(chunks)} chunks")
        else:
            by_id = dict(zip((c.id for c in chunks), vectors))
        records = {p.id: p for p in papers}

        def metadata(c: Chunk) -> dict[str, Any]:
            paper = records[c.paper_id]
            if c.index == 0:
                return record_metadata(paper, len(chunks_by_paper[paper.id]), self._keys_memo.get(id(paper)))
            return {**filter_metadata(paper), "chunk": c.index, **({"page": c.page} if c.page else {})}

        for part in _upsert_slices(chunks_by_paper, self._max_batch):
            self._call(
                lambda: self._collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=[by_id[c.id] for c in part],
                    documents=[c.text for c in part],
                    metadatas=[metadata(c) for c in part],
                ),
                "cannot write to",
            )
        if not fresh:
            self._delete_stale_chunks(chunks_by_paper)
        self.lexical.upsert([(c.id, c.text) for c in chunks], facets={p.id: filter_metadata(p) for p in papers})

    def _stored_vectors(self, chunks: list[Chunk]) -> dict[str, list[float]]:
        """Vectors of chunks stored with the same text (an update that changed only the record,
        say a source's line number, is not embedded again)."""
        found: dict[str, list[float]] = {}
        wanted = {c.id: c.text for c in chunks}
        ids = list(wanted)
        for start in range(0, len(ids), self._max_batch):
            part = ids[start : start + self._max_batch]
            got = self._call(lambda: self._collection.get(ids=part, include=["documents", "embeddings"]))
            for cid, text, vector in zip(got["ids"], got["documents"], got["embeddings"]):
                if text == wanted[cid] and vector is not None:
                    found[cid] = list(vector)
        return found

    def _chunk_ids_of(self, paper_ids: list[str]) -> list[str]:
        """Every stored chunk id of these papers (one query per 500 papers)."""
        found: list[str] = []
        for start in range(0, len(paper_ids), 500):
            part = paper_ids[start : start + 500]
            where = {"paper_id": part[0]} if len(part) == 1 else {"paper_id": {"$in": part}}
            found += self._call(lambda: self._collection.get(where=where, include=[])["ids"])
        return found

    def _delete_chunks(self, ids: list[str]) -> None:
        for start in range(0, len(ids), self._max_batch):
            part = ids[start : start + self._max_batch]
            self._call(lambda: self._collection.delete(ids=part), "cannot write to")
        self.lexical.remove(ids)

    def _delete_stale_chunks(self, chunks_by_paper: dict[str, list[Chunk]]) -> None:
        """A re-ingested full text may have fewer chunks than before: drop the leftovers."""
        current = {c.id for chunks in chunks_by_paper.values() for c in chunks}
        stale = [i for i in self._chunk_ids_of(list(chunks_by_paper)) if i not in current]
        if stale:
            self._delete_chunks(stale)

    def _delete_papers(self, paper_ids: list[str]) -> None:
        stored = self._chunk_ids_of(list(dict.fromkeys(paper_ids)))
        if stored:
            self._delete_chunks(stored)

    def remove(self, paper_ids: list[str]) -> list[str]:
        """Delete papers (by id or alias) from every index; returns the ids removed."""
        removed = list(dict.fromkeys(self.get(given).id for given in paper_ids))  # all known, or nothing changes
        if removed:
            with self._writing():
                self._delete_papers(removed)
        return removed

    # ---- write protocol ---------------------------------------------------------------------
    def change_marker(self) -> int:
        """The store's change counter: it grows by two with every write or remove, whichever
        process makes it (entries are added, never read-modified-written, so concurrent
        writers cannot hide each other's changes)."""
        return int(self._call(self._meta.count))

    def _log(self, kind: str, token: str) -> None:
        self._call(
            lambda: self._meta.add(
                ids=[f"{token}:{kind}"],
                embeddings=[[1.0]],
                metadatas=[{"kind": kind, "pid": os.getpid(), "time": time.time()}],
            ),
            "cannot write to",
        )

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: the process lock (embedded store), a begin/end pair in the change log, and
        the BM25 cache kept in step (saved as current only if no other process wrote meanwhile)."""
        with self._write_lock, self._process_lock() as interrupted:
            before = self.refresh()
            self.lexical.sync(before)
            token = uuid.uuid4().hex
            self._log("begin", token)
            ok = False
            try:
                if interrupted:
                    self._repair_unlocked(f"an interrupted write ({interrupted})")
                yield
                ok = True
            finally:
                self._log("end", token)
                after = self.change_marker()
                self.lexical.commit(before, after, ok)
                if after == before + 2:  # nobody else wrote meanwhile: our view is current
                    self._seen_marker = after

    @contextmanager
    def _process_lock(self) -> Iterator[str | None]:
        """Embedded store: an fcntl lock on STORE/write.lock for the whole write; the file holds
        the writer's pid while it writes. Yields what a killed writer left there (or None)."""
        if self.chroma_url:
            yield None
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with open(self.store_dir / LOCK_FILE, "a+", encoding="utf-8") as handle:
            self._flock(handle)
            try:
                handle.seek(0)
                left = handle.read().strip() or None
                handle.truncate(0)
                handle.write(f"litassist pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                handle.flush()
                yield left
                handle.truncate(0)
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _recover_if_interrupted(self) -> None:
        """On open (embedded): if a writer was killed (its pid is still in write.lock and nobody
        holds the lock), repair now. Cheap when nothing happened: one stat."""
        path = self.store_dir / LOCK_FILE
        try:
            if path.stat().st_size == 0:
                return
        except FileNotFoundError:
            return
        with open(path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a live writer: it is not interrupted
            fcntl.flock(handle, fcntl.LOCK_UN)
        if self.embedder_mismatch:
            return
        with self._writing():  # repairs what the killed writer left, under the lock
            pass

    # ---- consistency ------------------------------------------------------------------------
    def _scan(self) -> dict[str, Any]:
        """Every chunk's id and layout metadata (no documents, no vectors)."""
        chunks: dict[str, dict[int, str]] = {}
        records: dict[str, dict[str, Any]] = {}
        bad: list[str] = []
        offset = 0
        while True:
            page = self._call(lambda: self._collection.get(include=["metadatas"], limit=5000, offset=offset))
            if not page["ids"]:
                break
            for cid, meta in zip(page["ids"], page["metadatas"]):
                meta = meta or {}
                pid, index = meta.get("paper_id"), meta.get("chunk")
                if not isinstance(pid, str) or not isinstance(index, int) or cid != chunk_id(pid, index):
                    bad.append(cid)
                    continue
                chunks.setdefault(pid, {})[index] = cid
                if index == 0:
                    try:
                        record = json.loads(meta["record"])
                        if record.get("id") != pid:
                            raise ValueError(f"record id {record.get('id')!r}")
                        records[pid] = {"n_chunks": int(meta.get("n_chunks", 1)), "aliases": list(meta.get("aliases") or [])}
                    except (KeyError, ValueError, TypeError) as exc:
                        records[pid] = {"n_chunks": int(meta.get("n_chunks", 1) or 1), "aliases": [], "broken": str(exc)}
            offset += len(page["ids"])
        return {"chunks": chunks, "records": records, "bad": bad}

    def _problems(self, scan: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(problems, chunk ids a repair deletes)."""
        problems: list[str] = []
        doomed: list[str] = []
        chunks, records = scan["chunks"], scan["records"]
        for cid in scan["bad"]:
            problems.append(f"chunk {cid}: id does not match its paper_id/chunk metadata")
            doomed.append(cid)
        owner_of_alias = {a: pid for pid, r in records.items() for a in r["aliases"] if a != pid}
        retired: set[str] = set()
        for pid, parts in sorted(chunks.items()):
            record = records.get(pid)
            if record is None:
                problems.append(f"paper {pid}: {len(parts)} chunk(s) without a record (no chunk 0)")
                doomed += parts.values()
                continue
            if "broken" in record:
                problems.append(f"paper {pid}: unreadable record on chunk 0 ({record['broken']})")
            n = record["n_chunks"]
            missing = [i for i in range(n) if i not in parts]
            extra = sorted(i for i in parts if i >= n)
            if missing:
                problems.append(f"paper {pid}: missing chunk(s) {missing} of {n} (re-ingest its file)")
            if extra:
                problems.append(f"paper {pid}: {len(extra)} chunk(s) beyond its {n} (left by an interrupted update)")
                doomed += [parts[i] for i in extra]
            owner = owner_of_alias.get(pid)
            if owner is not None and owner in records and owner not in retired:
                problems.append(f"paper {pid}: also stored merged into {owner} (an interrupted merge)")
                doomed += parts.values()
                retired.add(pid)  # of two records naming each other, one stays
        return problems, list(dict.fromkeys(doomed))

    def check(self) -> list[str]:
        """Problems found (empty: consistent): every paper's chunk 0 has its record, no chunk lacks
        one, chunk counts match the records, no paper is stored both alone and merged, and the
        BM25 index holds exactly the stored chunks."""
        scan = self._scan()
        problems, _ = self._problems(scan)
        stored = {cid for parts in scan["chunks"].values() for cid in parts.values()} | set(scan["bad"])
        self.lexical.sync()
        indexed = set(self.lexical.chunk_ids())
        if indexed != stored:
            problems.append(
                f"BM25 index out of step: {len(indexed - stored)} chunk(s) not in Chroma, {len(stored - indexed)} missing"
            )
        return problems

    def repair(self) -> list[str]:
        """Fix what `check` finds that can be fixed here (orphan, surplus and duplicate chunks are
        deleted; the BM25 index is rebuilt); returns the problems that were found."""
        with self._writing():
            return self._repair_unlocked("a repair")

    def _repair_unlocked(self, why: str) -> list[str]:
        problems, doomed = self._problems(self._scan())
        if doomed:
            self._delete_chunks(doomed)
        self.lexical.invalidate()  # rebuilt from Chroma on next use, whatever was changed behind it
        if problems:
            print(f"litassist: repaired {self.describe()} after {why}: " + "; ".join(problems[:5])
                  + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""), file=sys.stderr)
        return problems

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
    """Open (creating if needed) the store, honouring settings precedence for every setting."""
    return open_store_with(load_settings(store, chroma_url=chroma_url), embedder=embedder)


def open_store_with(settings: Settings, *, embedder: Embedder | None = None) -> Store:
    """The store the resolved settings name, with the embedder they name (when one is set)."""
    if embedder is None and settings.embedder:
        embedder = get_embedder(settings.embedder)  # chosen explicitly (option, env or config file)
    return Store(settings.store_dir, chroma_url=settings.chroma_url, embedder=embedder)
