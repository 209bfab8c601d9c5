"""The connection to Chroma (embedded `store_dir/chroma`, or a server at `chroma_url`): the
client, retries, reconnecting to see other processes' writes, and the embedder a store was
written with (recorded in the collection metadata as `litassist:embedder`; a different
configured one is reported and its writes refused, since one store's vectors come from one model).
"""
from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import assistant  # noqa: F401  (offline environment first)
from assistant.embed import Embedder, backend_of, configured_backend, default_backend, get_embedder, vector_family
from assistant.errors import StoreError
from assistant.library.journal import Journal, WriteLock

COLLECTION = "litassist_chunks"
META_COLLECTION = "litassist_meta"
EMBEDDER_KEY = "litassist:embedder"
# Collection metadata: the record conventions the store's chunk-0 records follow (key_* scalar
# merge-key fields and `source_paths` since format 2). Stores written before 0.1.0 are not read.
KEY_FIELDS_FLAG = "litassist:key-fields"
RECORD_FORMAT = 2
UPSERT_LIMIT = 4000  # chunks per upsert call (whole papers; below Chroma's max batch size)
TRANSIENT_ERRORS = ("Error creating hnsw segment reader",)  # Chroma, while a concurrent write flushes
TRANSIENT_RETRIES = 5


class EmbedderMismatchWarning(UserWarning):
    """The configured embedder is not the one that made the store's vectors."""


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


class ChromaConnection:
    """The client and the two collections (chunks, and the journal's meta collection)."""

    def __init__(self, store_dir: Path, chroma_url: str | None, embedder: Embedder | None, lock: WriteLock):
        self.store_dir = Path(store_dir)
        self.chroma_url = chroma_url
        with nullcontext() if chroma_url else lock.creating():  # one process creates an embedded database
            self.client = self._connect()
            self.collection = self._open_collection(embedder)
            self.meta = self.call(lambda: self.client.get_or_create_collection(META_COLLECTION, embedding_function=None))
        self.journal = Journal(lambda: self.meta, self.call)
        self.seen_marker = self.journal.change_marker()
        try:
            self.max_batch = min(UPSERT_LIMIT, int(self.client.get_max_batch_size()))
        except Exception:
            self.max_batch = UPSERT_LIMIT

    def _connect(self) -> Any:
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

    def see_other_writers(self) -> int:
        """The store's change marker now. An embedded store whose marker moved since this object
        last wrote or looked (another process wrote) reopens Chroma first: a process's embedded
        Chroma keeps its vector index in memory and would not see the other process's vectors."""
        marker = self.journal.change_marker()
        if marker != self.seen_marker and not self.chroma_url:
            self._reconnect()
        self.seen_marker = marker
        return marker

    def _reconnect(self) -> None:
        """A fresh embedded Chroma client for this store (objects still using the old one keep
        working, with their older view)."""
        try:
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient._identifier_to_system.pop(self.client._identifier, None)
        except Exception:  # a Chroma without that cache: the old client is reused, stale but correct
            return
        self.client = self._connect()
        self.collection = self.call(lambda: self.client.get_collection(COLLECTION, embedding_function=None))
        self.meta = self.call(lambda: self.client.get_or_create_collection(META_COLLECTION, embedding_function=None))

    def _unreachable(self, exc: BaseException, doing: str) -> str:
        if self.chroma_url:
            return (
                f"{doing} the Chroma server at {self.chroma_url}: {type(exc).__name__}: {exc} "
                f"(is `chroma run --path DIR --port PORT` running there? setting --chroma-url / LITASSIST_CHROMA_URL)"
            )
        return f"{doing} the Chroma store at {self.store_dir}: {type(exc).__name__}: {exc}"

    def call(self, action: Callable[[], Any], doing: str = "cannot use") -> Any:
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
            return self.store_dir / "servers" / f"collection-{self.collection.id}"
        return self.store_dir

    def describe(self) -> str:
        return f"Chroma server {self.chroma_url}" if self.chroma_url else f"{self.store_dir}"

    # ---- embedder ---------------------------------------------------------------------------
    def _open_collection(self, embedder: Embedder | None) -> Any:
        """Open the chunk collection and settle which embedder this store uses.

        The collection records the embedder that made its vectors. Opening with no embedder
        given adopts it (so a store made with torch stays torch when the default changes);
        an explicit, different one (argument or LITASSIST_EMBEDDER) gets a warning, and writes
        are refused, since one store's vectors must come from one model."""
        from chromadb.errors import NotFoundError as ChromaNotFound

        wanted = embedder or (get_embedder(configured_backend()) if configured_backend() else None)
        name = (wanted or get_embedder(default_backend())).name
        try:
            collection = self.call(lambda: self.client.get_collection(COLLECTION, embedding_function=None), "cannot open")
        except ChromaNotFound:
            collection = self.call(
                lambda: self.client.get_or_create_collection(
                    COLLECTION,
                    metadata={"hnsw:space": "cosine", EMBEDDER_KEY: name, KEY_FIELDS_FLAG: RECORD_FORMAT},
                    embedding_function=None,
                ),
                "cannot open",
            )
        recorded = (collection.metadata or {}).get(EMBEDDER_KEY)
        record_format = int((collection.metadata or {}).get(KEY_FIELDS_FLAG) or 0)
        if recorded is None or record_format < RECORD_FORMAT:
            if collection.count():
                raise StoreError(
                    f"the store {self.describe()} was written by a development version of litassist before 0.1.0 "
                    f"(record format {record_format}, now {RECORD_FORMAT}); ingest its files into a new store "
                    "(--store DIR or LITASSIST_STORE)"
                )
            _record_embedder(collection, name if recorded is None else str(recorded))  # nothing stored yet
            recorded = recorded or name
        self.stored_embedder = str(recorded)
        self.embedder_mismatch: str | None = None
        if wanted is None:
            wanted = get_embedder(backend_of(self.stored_embedder) or default_backend())
        self.embedder = wanted
        if vector_family(wanted.name) != vector_family(self.stored_embedder):
            if collection.count() == 0:  # nothing embedded yet: the new choice simply wins
                _record_embedder(collection, wanted.name)
                self.stored_embedder = wanted.name
            else:
                self.embedder_mismatch = (
                    f"the store {self.describe()} holds vectors made by {self.stored_embedder}, but the configured "
                    f"embedder is {wanted.name}; search quality suffers and writes are refused. Unset "
                    f"LITASSIST_EMBEDDER (the store's own embedder is then used) or ingest into a new store."
                )
                # a warning, not only a log line: callers (and tests) can catch or escalate it
                warnings.warn(self.embedder_mismatch, EmbedderMismatchWarning, stacklevel=4)
        return collection


def _record_embedder(collection: Any, name: str) -> None:
    """Record the embedder (and that records carry key fields) in the collection metadata;
    only ever done while the collection is empty."""
    metadata = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    metadata[EMBEDDER_KEY] = name
    metadata[KEY_FIELDS_FLAG] = RECORD_FORMAT
    collection.modify(metadata=metadata)
