"""Each paper's filter fields (year, author keys, categories, collections, tags) held in memory,
a peer of the BM25 index in the library, so search filters are evaluated in numpy instead of by
Chroma.

Why: at 100,000 papers a Chroma metadata filter costs 40 ms (an author) to 500 ms (a year range),
before the filtered vector query itself; here the same selection takes well under a millisecond,
and the retrievers then restrict themselves to the admitted papers. The fields are the ones
`chunks.filter_metadata` writes on every chunk.

State on disk (`facets.npz`, written atomically): each paper's year and facet terms and the term
postings that select over them, with the store's change marker it is current at. As with the
BM25 index, Chroma is the source of truth: when the saved marker or chunk count differs from the
store's, the facets are rebuilt from the chunk-0 metadata (`RecordSource`).

Facet terms: "a:<author key>" (the keys of `papers.author_keys`, plus "partial:<name>"),
"c:<category>" (lower case), "k:<collection key>" and "t:<tag key>" (`groups.py`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence

import numpy as np

from assistant.chunks import is_record_chunk, paper_id_of_chunk
from assistant.saved_arrays import MarkedCache, pack_strings, save_npz, unpack_strings

FACETS_FILE = "facets.npz"
FORMAT = 1
NO_YEAR = -1


class RecordSource(Protocol):
    """What the facets need of the vector store: every chunk's metadata and a counter of its changes."""

    def change_marker(self) -> int: ...

    def count_chunks(self) -> int: ...

    def iter_metadata(self, batch: int = 5000) -> Iterator[tuple[list[str], list[dict]]]: ...


def facet_terms(metadata: Mapping[str, Any]) -> list[str]:
    return (
        [f"a:{k}" for k in metadata.get("author_keys") or []]
        + [f"c:{c}" for c in metadata.get("categories") or []]
        + [f"k:{k}" for k in metadata.get("collections") or []]
        + [f"t:{t}" for t in metadata.get("tags") or []]
    )


@dataclass(frozen=True)
class Admitted:
    """The papers a filter admits: a mask over `paper_ids`, the facets' numbering (a new list
    object whenever that numbering changes, never changed in place)."""

    mask: np.ndarray
    paper_ids: list[str]


class FacetTable:
    """The facets in memory: per-paper fields, and arrays over the papers (rows) that select."""

    def __init__(self) -> None:
        self._papers: dict[str, tuple[int, np.ndarray]] = {}  # paper id -> (year or NO_YEAR, term ids)
        self._saved: Mapping[str, np.ndarray] | None = None  # loaded arrays, unpacked on first need
        self.terms: list[str] = []
        self.term_id: dict[str, int] = {}
        # built from `papers` (rows in its order): years and term -> rows postings
        self.row_ids: list[str] = []
        self.years = np.zeros(0, dtype=np.int32)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self._stale = False

    @property
    def papers(self) -> dict[str, tuple[int, np.ndarray]]:
        """Per-paper fields (needed to update, not to select: unpacked lazily)."""
        if self._saved is not None:
            data, self._saved = self._saved, None
            years, offsets, flat = data["facet_years"], data["facet_offsets"], data["facet_flat"]
            self._papers = {pid: (int(years[i]), flat[offsets[i] : offsets[i + 1]]) for i, pid in enumerate(self.row_ids)}
        return self._papers

    # ---- updates ----------------------------------------------------------------------------
    def set(self, paper_id: str, metadata: Mapping[str, Any]) -> None:
        """Record a paper's fields from its chunk metadata (`chunks.filter_metadata`)."""
        year = metadata.get("year")
        ids = []
        for term in facet_terms(metadata):
            tid = self.term_id.get(term)
            if tid is None:
                tid = self.term_id[term] = len(self.terms)
                self.terms.append(term)
            ids.append(tid)
        self.papers[paper_id] = (int(year) if isinstance(year, int) else NO_YEAR, np.asarray(ids, dtype=np.int32))
        self._stale = True

    def update(self, metadata_by_paper: Mapping[str, Mapping[str, Any]]) -> None:
        for paper_id, metadata in metadata_by_paper.items():
            self.set(paper_id, metadata)

    def discard(self, paper_ids: Iterable[str]) -> None:
        papers = self.papers
        for paper_id in paper_ids:
            if papers.pop(paper_id, None) is not None:
                self._stale = True

    # ---- persistence ------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        self.build()
        values = list(self.papers.values())
        lengths = np.fromiter((len(t) for _, t in values), dtype=np.int64, count=len(values))
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return {
            "facet_papers": pack_strings(self.row_ids),
            "facet_years": self.years,
            "facet_offsets": offsets,
            "facet_flat": np.concatenate([t for _, t in values]) if values else np.zeros(0, dtype=np.int32),
            "facet_terms": pack_strings(self.terms),
            "facet_indptr": self.indptr,
            "facet_indices": self.indices,
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray]) -> "FacetTable":
        """A table saved by `to_arrays`, ready to select (per-paper fields unpacked on first update)."""
        table = cls()
        table._saved = {k: data[k] for k in ("facet_years", "facet_offsets", "facet_flat")}
        table.row_ids = unpack_strings(data["facet_papers"])
        table.terms = unpack_strings(data["facet_terms"])
        table.term_id = {t: i for i, t in enumerate(table.terms)}
        table.years, table.indptr, table.indices = data["facet_years"], data["facet_indptr"], data["facet_indices"]
        return table

    # ---- selection --------------------------------------------------------------------------
    def build(self) -> None:
        """The selection arrays over the papers as they are now (a new numbering when they changed)."""
        if not self._stale:
            return
        rows = list(self.papers.values())
        self.row_ids = list(self.papers)
        self.years = np.fromiter((y for y, _ in rows), dtype=np.int32, count=len(rows))
        lengths = np.fromiter((len(t) for _, t in rows), dtype=np.int64, count=len(rows))
        flat = np.concatenate([t for _, t in rows]).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=len(self.terms))
        self.indptr = np.zeros(len(self.terms) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.indices = owner[order].astype(np.int32)
        self._stale = False

    def select(self, *, year_from: int | None = None, year_to: int | None = None, any_of: Iterable[Sequence[str]] = ()) -> Admitted:
        """The papers where the year range holds (a paper without a year fails any year bound)
        and, for each group of facet terms, the paper has at least one of them."""
        self.build()
        keep = np.ones(len(self.years), dtype=bool)
        if year_from is not None:
            keep &= self.years >= int(year_from)
        if year_to is not None:
            keep &= (self.years <= int(year_to)) & (self.years != NO_YEAR)
        for group in any_of:
            found = np.zeros(len(self.years), dtype=bool)
            for term in group:
                tid = self.term_id.get(term)
                if tid is not None and tid + 1 < len(self.indptr):
                    found[self.indices[self.indptr[tid] : self.indptr[tid + 1]]] = True
            keep &= found
        return Admitted(keep, self.row_ids)


class Facets(MarkedCache):
    """The facet table of a store, saved in `directory` and kept in step with the store's change
    marker, as the BM25 index is (see `lexical.py`); the library drives both."""

    def __init__(self, directory: Path, source: RecordSource):
        self.directory = Path(directory)
        self.source: RecordSource = source
        self._lock = threading.RLock()
        self._table: FacetTable | None = None  # None until loaded
        self._marker: int | None = None  # the store change marker the table matches
        self._dirty = False

    def _load(self) -> FacetTable:
        if self._table is None:
            self.sync()
        assert self._table is not None
        return self._table

    def _read_current(self, marker: int) -> bool:
        return self._read() is not None and self._marker == marker

    def _rebuild(self) -> None:
        """The table from the store's chunk-0 metadata."""
        table = FacetTable()
        for ids, metadatas in self.source.iter_metadata():
            for cid, meta in zip(ids, metadatas):
                if meta and meta.get("chunk") == 0:
                    table.set(paper_id_of_chunk(cid), meta)
        self._table = table

    def _in_memory(self) -> bool:
        return self._table is not None

    def _read(self) -> FacetTable | None:
        """The saved table, when it is of this format and the store still holds as many chunks."""
        path = self.directory / FACETS_FILE
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                if int(data["format"]) != FORMAT:
                    return None
                table = FacetTable.from_arrays({k: data[k] for k in data.files})
                marker, chunks = int(data["marker"]), int(data["chunks"])
        except Exception:  # a torn or foreign file: rebuild from the store
            return None
        if chunks != self.source.count_chunks():
            return None
        self._table, self._marker, self._dirty = table, (marker if marker >= 0 else None), False
        return table

    def save(self) -> None:
        with self._lock:
            if self._table is None or not self._dirty:
                return
            arrays = self._table.to_arrays()
            arrays["format"] = np.asarray(FORMAT, dtype=np.int64)
            arrays["marker"] = np.asarray(-1 if self._marker is None else self._marker, dtype=np.int64)
            arrays["chunks"] = np.asarray(self.source.count_chunks(), dtype=np.int64)
            save_npz(self.directory / FACETS_FILE, arrays)
            self._dirty = False

    # ---- updates ----------------------------------------------------------------------------
    def upsert(self, metadata_by_paper: Mapping[str, Mapping[str, Any]]) -> None:
        """Papers' filter fields (paper id -> its `chunks.filter_metadata`)."""
        if metadata_by_paper:
            with self._lock:
                self._load().update(metadata_by_paper)
                self._dirty = True

    def remove(self, chunk_ids: Iterable[str]) -> None:
        """Forget the papers whose record chunk (chunk 0) is among the removed chunks."""
        gone = [paper_id_of_chunk(c) for c in chunk_ids if is_record_chunk(c)]
        if gone:
            with self._lock:
                self._load().discard(gone)
                self._dirty = True

    # ---- reading ----------------------------------------------------------------------------
    def paper_ids(self) -> list[str]:
        with self._lock:
            return list(self._load().papers)

    def select(self, *, year_from: int | None = None, year_to: int | None = None, any_of: Iterable[Sequence[str]] = ()) -> Admitted:
        """The papers passing a filter (`FacetTable.select`), as the table is in memory (the
        library syncs it first; loaded here if it never was)."""
        with self._lock:
            return self._load().select(year_from=year_from, year_to=year_to, any_of=any_of)
