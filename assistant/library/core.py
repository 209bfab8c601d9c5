"""The library: one object that coordinates a write across its peers (the Chroma gateway, the
BM25 index, the facets, the write journal and lock) and hands retrieval what it needs.

Write safety:
- a paper is whole or absent: its chunks go in one upsert call, chunk 0 (the record) last;
- every write or remove is journalled (`journal.py`): its count is the change marker other
  processes, the BM25 index and the facets compare; an embedded store takes one writer at a time
  and repairs what a killed writer left on the next open. Several processes writing at once need
  the server (`--chroma-url`, docs/server-mode.md).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from assistant import reconcile
from assistant.chunks import Chunk, chunk_id, chunk_metadata, filter_metadata, paper_chunks, record_metadata
from assistant.settings import Settings, load_settings
from assistant.embed import Embedder, get_embedder
from assistant.errors import StoreError
from assistant.facets import Facets
from assistant.lexical import LexicalIndex, Selection
from assistant.library.chroma import ChromaGateway, DenseHit
from assistant.library.connection import ChromaConnection
from assistant.library.consistency import check as check_consistency
from assistant.library.consistency import problems, scan
from assistant.library.journal import WriteLock
from assistant.library.lookups import records_for, records_from
from assistant.papers import Paper, name_key

WRITE_BATCH = 256  # papers embedded and upserted per step (Chroma allows ~5,000 records a call)

TextProgress = Callable[[int, int], None]  # (texts done, texts in all): a paper is one or more texts

log = logging.getLogger("litassist.library")


@dataclass
class WriteReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Papers a re-read file no longer holds: deleted (no other source left) or detached (kept for
    # their other sources, without that file).
    removed: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)


class Library:
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
        another), else the default. `on_wait` is told when a write waits for another process
        (default: a warning on the `litassist.library` logger)."""
        self.store_dir = Path(store_dir)
        self.chroma_url = chroma_url
        self._thread_lock = threading.RLock()
        self._write_lock = WriteLock(self.store_dir, on_wait)
        self.connection = ChromaConnection(self.store_dir, chroma_url, embedder, self._write_lock)
        self.journal = self.connection.journal
        self.chroma = ChromaGateway(self.connection)
        # the peers derived from Chroma, kept in step with its change marker (saved side by side)
        self.lexical = LexicalIndex(self.connection.local_dir / "bm25", self.chroma)
        self.facets = Facets(self.connection.local_dir / "bm25", self.chroma)
        if not chroma_url and self._write_lock.interrupted() and not self.embedder_mismatch:
            with self._writing():  # repairs what a killed writer left, under the lock
                pass

    # ---- what the store is ------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        return self.connection.embedder

    @property
    def stored_embedder(self) -> str:
        return self.connection.stored_embedder

    @property
    def embedder_mismatch(self) -> str | None:
        return self.connection.embedder_mismatch

    @property
    def local_dir(self) -> Path:
        return self.connection.local_dir

    def describe(self) -> str:
        return self.connection.describe()

    def see_other_writers(self) -> int:
        return self.connection.see_other_writers()

    # ---- reading (the gateway's) --------------------------------------------------------------
    def count_chunks(self) -> int:
        return self.chroma.count_chunks()

    def count(self) -> int:
        return self.chroma.count()

    def get(self, paper_id: str) -> Paper:
        return self.chroma.get(paper_id)

    def get_many(self, paper_ids: Iterable[str]) -> dict[str, Paper]:
        return self.chroma.get_many(paper_ids)

    def papers(self, where: dict | None = None) -> list[Paper]:
        return self.chroma.papers(where)

    def chunk_texts(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        return self.chroma.chunk_texts(chunk_ids)

    def chunk_passages(self, chunk_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        return self.chroma.chunk_passages(chunk_ids)

    def embeddings_for(self, paper_ids: Iterable[str]) -> dict[str, list[float]]:
        return self.chroma.embeddings_for(paper_ids)

    def dense_query(
        self, embedding: list[float], k: int, where: dict | None = None, *, ids: list[str] | None = None, texts: bool = True
    ) -> list[DenseHit]:
        return self.chroma.dense_query(embedding, k, where, ids=ids, texts=texts)

    def select(self, *, year_from: int | None = None, year_to: int | None = None, any_of: Iterable[Sequence[str]] = ()) -> Selection:
        """The papers the facets admit (`FacetTable.select`), over the BM25 index's chunks; both
        are first brought up to the store's current change marker (read once)."""
        marker = self.chroma.change_marker()
        self.facets.sync(marker)
        self.lexical.sync(marker)
        return self.lexical.selection(self.facets.select(year_from=year_from, year_to=year_to, any_of=any_of))

    def papers_from(self, paths: Iterable[str], *, excluding: frozenset[str] | set[str] = frozenset()) -> list[Paper]:
        """Stored records read from any of these files (paths as in `Source.path`), but for the
        ids in `excluding` (whose records are not even loaded)."""
        return records_from(self.chroma, paths, excluding)

    # ---- writing ----------------------------------------------------------------------------
    def write(self, papers: list[Paper], *, on_progress: TextProgress | None = None, reread: Iterable[str] = ()) -> WriteReport:
        """Write papers (merged with known records). Idempotent; each paper is written whole.

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

                incoming = reconcile.incoming(batch)
                plan = reconcile.plan(incoming, records_for(self.chroma, reconcile.lookup(incoming)), reread)
                self._upsert(plan.write, on_embedded=on_embedded, chunks_of=chunks_of, keys=plan.keys)
                self._delete_papers(plan.retire)
                total.added += plan.added
                total.updated += plan.updated
                total.unchanged += plan.unchanged
                done += in_batch
                if on_progress:
                    on_progress(done, texts)
            if reread:
                kept = {*total.added, *total.updated, *total.unchanged}
                total.removed, total.detached = self._drop_stale_sources(reread, kept)
        return total

    def _drop_stale_sources(self, reread: set[str], kept: set[str]) -> tuple[list[str], list[str]]:
        """Papers stored from `reread` files that this read did not produce: drop those files
        from their sources; delete the ones left with none. Returns (removed, detached)."""
        stale = reconcile.stale_sources(self.papers_from(reread, excluding=kept), reread)
        detached = stale.detached
        # only the records change (chunk texts and vectors stay), so no re-embedding
        self.chroma.update_records(
            [chunk_id(p.id, 0) for p in detached], [record_metadata(p, len(paper_chunks(p))) for p in detached]
        )
        self.facets.upsert({p.id: filter_metadata(p) for p in detached})
        self._delete_papers(stale.removed)
        return stale.removed, [p.id for p in detached]

    def write_prepared(self, papers: list[Paper], vectors: list[list[float]]) -> None:
        """Write papers known to be new and distinct whose chunk vectors are already computed (one
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
        keys: dict[str, set[str]] | None = None,
    ) -> None:
        """`chunks_of`: id(paper) -> chunks already made for some of `papers`; `keys`: paper id ->
        the merge keys of its record, when already known."""
        if not papers:
            return
        known = chunks_of or {}
        chunks_by_paper = {p.id: known.get(id(p)) or paper_chunks(p) for p in papers}
        chunks = [c for cs in chunks_by_paper.values() for c in cs]
        if vectors is None:
            by_id = {} if fresh else self.chroma.stored_vectors(chunks)
            todo = [c for c in chunks if c.id not in by_id]
            fresh_vectors = self.embedder.embed([c.text for c in todo], on_batch=on_embedded) if todo else []
            by_id.update(zip((c.id for c in todo), fresh_vectors))
        elif len(vectors) != len(chunks):
            raise ValueError(f"{len(vectors)} vectors given for {len(chunks)} chunks")
        else:
            by_id = dict(zip((c.id for c in chunks), vectors))
        records = {p.id: p for p in papers}
        known_keys = keys or {}

        def metadata(c: Chunk) -> dict[str, Any]:
            return chunk_metadata(records[c.paper_id], c, len(chunks_by_paper[c.paper_id]), known_keys.get(c.paper_id))

        self.chroma.upsert(chunks_by_paper, by_id, metadata)
        if not fresh:
            self._delete_stale_chunks(chunks_by_paper)
        self.lexical.upsert([(c.id, c.text) for c in chunks])
        self.facets.upsert({p.id: filter_metadata(p) for p in papers})

    def _delete_chunks(self, ids: list[str]) -> None:
        self.chroma.delete_chunks(ids)
        self.lexical.remove(ids)
        self.facets.remove(ids)

    def _delete_stale_chunks(self, chunks_by_paper: dict[str, list[Chunk]]) -> None:
        """A re-ingested full text may have fewer chunks than before: drop the leftovers."""
        current = {c.id for chunks in chunks_by_paper.values() for c in chunks}
        stale = [i for i in self.chroma.chunk_ids_of(list(chunks_by_paper)) if i not in current]
        if stale:
            self._delete_chunks(stale)

    def _delete_papers(self, paper_ids: list[str]) -> None:
        stored = self.chroma.chunk_ids_of(list(dict.fromkeys(paper_ids)))
        if stored:
            self._delete_chunks(stored)

    def remove(self, paper_ids: list[str]) -> list[str]:
        """Delete papers (by id or alias) from every index; returns the ids removed."""
        removed = list(dict.fromkeys(self.get(given).id for given in paper_ids))  # all known, or nothing changes
        if removed:
            with self._writing():
                self._delete_papers(removed)
        return removed

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: the process lock (embedded store), a begin/end pair in the journal, and the
        BM25 index and facets kept in step (saved as current only if no other process wrote
        meanwhile)."""
        lock = self._write_lock.held() if not self.chroma_url else _no_lock()
        with self._thread_lock, lock as interrupted:
            before = self.see_other_writers()
            self.lexical.sync(before)
            self.facets.sync(before)
            token = self.journal.begin()
            ok = False
            try:
                if interrupted:
                    self._repair_unlocked(f"an interrupted write ({interrupted})")
                yield
                ok = True
            finally:
                after = self.journal.end(token)
                self.lexical.commit(before, after, ok)
                self.facets.commit(before, after, ok)
                if after == before + 2:  # nobody else wrote meanwhile: our view is current
                    self.connection.seen_marker = after

    # ---- consistency ------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Problems found (empty: consistent); see `consistency.py`."""
        return check_consistency(self.chroma, self.lexical, self.facets)

    def repair(self) -> list[str]:
        """Fix what `check` finds that can be fixed here (orphan, surplus and duplicate chunks are
        deleted; the BM25 index and the facets are rebuilt); returns the problems that were found."""
        with self._writing():
            return self._repair_unlocked("a repair")

    def _repair_unlocked(self, why: str) -> list[str]:
        found, doomed = problems(scan(self.chroma))
        if doomed:
            self._delete_chunks(doomed)
        # rebuilt from Chroma on next use, whatever was changed behind them
        self.lexical.invalidate()
        self.facets.invalidate()
        if found:
            more = f" (+{len(found) - 5} more)" if len(found) > 5 else ""
            log.warning("litassist: repaired %s after %s: %s%s", self.describe(), why, "; ".join(found[:5]), more)
        return found

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


@contextmanager
def _no_lock() -> Iterator[str | None]:
    """A Chroma server orders concurrent writers itself: no process lock."""
    yield None


def open_library(store: str | Path | None = None, *, chroma_url: str | None = None, embedder: Embedder | None = None) -> Library:
    """Open (creating if needed) the store, honouring settings precedence for every setting."""
    return open_library_with(load_settings(store, chroma_url=chroma_url), embedder=embedder)


def open_library_with(settings: Settings, *, embedder: Embedder | None = None) -> Library:
    """The store the resolved settings name, with the embedder they name (when one is set)."""
    if embedder is None and settings.embedder:
        embedder = get_embedder(settings.embedder)  # chosen explicitly (option, env or config file)
    return Library(settings.store_dir, chroma_url=settings.chroma_url, embedder=embedder)
