"""The BM25 index, persisted beside the Chroma store.

Tokenisation is bm25s's (lower-case `\\b\\w\\w+\\b` words, its English stopword list, Snowball
stemming), reimplemented with a stem cache because bm25s's own loop is slow on large libraries.
Scoring is BM25 (Lucene variant, k1=1.2, b=0.75: on the sciqa dev set other k1 0.6-2.0, b 0.3-1.0
and the BM25L/BM25+/ATIRE variants stayed within 0.008 MRR@10; see retrieve.py), computed with numpy
from a term -> (documents, weights) matrix, so a query costs ~1 ms per 100k chunks.

State on disk (`index.npz`, written atomically): each chunk's term ids, the vocabulary and the
weight matrix, so a new process answers its first query without re-tokenising or re-indexing
anything (1.5 s to load at 100k papers). An ingest or delete tokenises only what changed; the
matrix is recomputed (vectorised: about a second per 100k abstracts) when the index is saved.

Filters come from outside (the library's facets): a mask over some other numbering of papers
(`PaperMask`) becomes a `Selection` over this index's papers and chunks, mapped through an int
array computed once per state of both.

Chroma is the source of truth. The saved index carries the store's change marker
(`ChunkSource.change_marker`: a counter every write or remove by any process advances) it is current
at; when the marker or the chunk count differs (a killed ingest, another process writing to the
store or server, even one that left the chunk count unchanged), the index is rebuilt from Chroma.
Searches compare the marker first (one cheap count), so long-running processes notice other
processes' writes.
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

import numpy as np

from assistant.chunks import paper_id_of_chunk
from assistant.saved_arrays import MarkedCache, pack_strings, save_npz, unpack_strings
from assistant.text_terms import tokenize


class ChunkSource(Protocol):
    """What the index needs of the vector store: its chunks' texts and a counter of its changes."""

    def change_marker(self) -> int: ...

    def count_chunks(self) -> int: ...

    def iter_texts(self, batch: int = 5000) -> Iterator[tuple[list[str], list[str]]]: ...


class PaperMask(Protocol):
    """Papers admitted by a filter, in another numbering (the facets'): `paper_ids` is one fixed
    numbering (a new list object whenever it changes) and `mask` is over it."""

    @property
    def mask(self) -> np.ndarray: ...

    @property
    def paper_ids(self) -> list[str]: ...


INDEX_FILE = "index.npz"
FORMAT = 4  # 4: without the paper facets (3 held them: facets.py saves its own file now)
K1 = 1.2
B = 0.75


def bm25_matrix(docs: list[np.ndarray], n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """term -> (chunk positions, BM25 weights) as CSR arrays (indptr, indices, weights), from
    every chunk's term ids."""
    n_docs = len(docs)
    lengths = np.fromiter((len(a) for a in docs), dtype=np.int64, count=n_docs)
    if not (n_docs and lengths.sum()):
        return np.zeros(n_terms + 1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    flat = np.concatenate(docs).astype(np.int64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    keys, tf = np.unique(flat * n_docs + doc, return_counts=True)  # sorted term-major
    term, position = np.divmod(keys, n_docs)
    df = np.bincount(term, minlength=n_terms)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    norm = K1 * ((1 - B) + B * lengths / max(lengths.mean(), 1e-9))
    weights = idf[term] * tf / (norm[position] + tf)
    indptr = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1:])
    return indptr, position.astype(np.int32), weights.astype(np.float32)


@dataclass
class Selection:
    """The papers a filter admits, over one state of the index: as paper and chunk masks."""

    index: "LexicalIndex"
    paper_mask: np.ndarray  # over paper numbers
    chunk_mask: np.ndarray  # over chunk positions

    @property
    def n_papers(self) -> int:
        return int(self.paper_mask.sum())

    @property
    def fraction(self) -> float:
        """The share of all chunks admitted."""
        return float(self.chunk_mask.mean()) if len(self.chunk_mask) else 0.0

    def paper_ids(self) -> list[str]:
        return [self.index._paper_ids[i] for i in np.flatnonzero(self.paper_mask).tolist()]

    def chunk_ids(self) -> list[str]:
        return [self.index._doc_ids[i] for i in np.flatnonzero(self.chunk_mask).tolist()]

    def admits(self, paper_id: str) -> bool:
        number = self.index._paper_number.get(paper_id)
        return number is not None and number < len(self.paper_mask) and bool(self.paper_mask[number])


class LexicalIndex(MarkedCache):
    def __init__(self, directory: Path, source: ChunkSource):
        self.directory = Path(directory)
        self.source: ChunkSource = source
        self._lock = threading.RLock()
        # chunk id -> term ids (int32); None until loaded
        self._docs: dict[str, np.ndarray] | None = None
        self._terms: list[str] = []
        self._term_id: dict[str, int] = {}
        self._dirty = False
        self._matrix_stale = True
        self._marker: int | None = None  # the store change marker the in-memory index matches
        # search structures, rebuilt when stale
        self._doc_ids: list[str] = []
        self._indptr = np.zeros(1, dtype=np.int64)
        self._indices = np.zeros(0, dtype=np.int32)
        self._weights = np.zeros(0, dtype=np.float32)
        self._paper_of = np.zeros(0, dtype=np.int32)  # chunk position -> paper number
        self._paper_number: dict[str, int] = {}
        self._paper_ids: list[str] = []  # paper number -> id (a new list whenever the numbering changes)
        # the last mapping from another paper numbering (a PaperMask's) to ours: (theirs, ours, array)
        self._mapped: tuple[list[str], list[str], np.ndarray] | None = None

    # ---- state ------------------------------------------------------------------------------
    def _load(self) -> dict[str, np.ndarray]:
        if self._docs is None:
            self.sync()
        assert self._docs is not None
        return self._docs

    def _read_current(self, marker: int) -> bool:
        return bool(self._read()) and self._marker == marker and len(self._docs or {}) == self.source.count_chunks()

    def _rebuild(self) -> None:
        self._docs, self._terms, self._term_id = {}, [], {}
        self._matrix_stale = True
        self._add_texts(self._chroma_texts())

    def _in_memory(self) -> bool:
        return self._docs is not None

    def chunk_ids(self) -> list[str]:
        with self._lock:
            return list(self._load())

    def _read(self) -> bool | None:
        path = self.directory / INDEX_FILE
        if not path.exists():
            return None
        try:
            with np.load(path) as data:
                if int(data["format"]) != FORMAT:
                    return None
                doc_ids = unpack_strings(data["doc_ids"])
                offsets = data["offsets"]
                flat = data["tokens"]
                self._terms = unpack_strings(data["terms"])
                self._indptr = data["indptr"]
                self._indices = data["indices"]
                self._weights = data["weights"]
                marker = int(data["marker"]) if "marker" in data.files else -1
        except Exception:  # a torn or foreign file: rebuild from Chroma
            return None
        self._term_id = {t: i for i, t in enumerate(self._terms)}
        self._docs = {cid: flat[offsets[i] : offsets[i + 1]] for i, cid in enumerate(doc_ids)}
        self._set_doc_ids(doc_ids)
        self._matrix_stale = False
        self._marker = marker if marker >= 0 else None
        self._dirty = False
        return True

    def _chroma_texts(self) -> Iterable[tuple[str, str]]:
        """Every chunk's id and text."""
        for ids, documents in self.source.iter_texts():
            yield from zip(ids, (d or "" for d in documents))

    def save(self) -> None:
        """Persist atomically (write a temp file, then rename)."""
        with self._lock:
            if self._docs is None or not self._dirty:
                return
            self._build()
            arrays = list(self._docs.values())
            lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
            offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
            np.cumsum(lengths, out=offsets[1:])
            save_npz(
                self.directory / INDEX_FILE,
                {
                    "format": np.asarray(FORMAT, dtype=np.int64),
                    "marker": np.asarray(-1 if self._marker is None else self._marker, dtype=np.int64),
                    "doc_ids": pack_strings(list(self._docs)),
                    "offsets": offsets,
                    "tokens": np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32),
                    "terms": pack_strings(self._terms),
                    "indptr": self._indptr,
                    "indices": self._indices,
                    "weights": self._weights,
                },
            )
            meta_tmp = self.directory / f".meta.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
            meta_tmp.write_text(json.dumps({"chunks": len(self._docs), "marker": self._marker}))
            os.replace(meta_tmp, self.directory / "meta.json")
            self._dirty = False

    # ---- updates ----------------------------------------------------------------------------
    def _add_texts(self, items: Iterable[tuple[str, str]], batch: int = 2000) -> None:
        assert self._docs is not None
        pending: list[tuple[str, str]] = []

        docs = self._docs

        def flush() -> None:
            for (chunk_id, _), toks in zip(pending, tokenize([text for _, text in pending])):
                ids = []
                for tok in toks:
                    tid = self._term_id.get(tok)
                    if tid is None:
                        tid = self._term_id[tok] = len(self._terms)
                        self._terms.append(tok)
                    ids.append(tid)
                docs[chunk_id] = np.asarray(ids, dtype=np.int32)
            pending.clear()

        for item in items:
            pending.append(item)
            if len(pending) >= batch:
                flush()
        flush()

    def upsert(self, items: Iterable[tuple[str, str]]) -> None:
        """Index chunks (id, text)."""
        items = list(items)
        if not items:
            return
        with self._lock:
            self._load()
            self._add_texts(items)
            self._matrix_stale = self._dirty = True

    def remove(self, chunk_ids: Iterable[str]) -> None:
        with self._lock:
            docs = self._load()
            for chunk_id in chunk_ids:
                docs.pop(chunk_id, None)
            self._matrix_stale = self._dirty = True

    # ---- the weight matrix ------------------------------------------------------------------
    def _set_doc_ids(self, doc_ids: list[str]) -> None:
        self._doc_ids = doc_ids
        numbers: dict[str, int] = {}
        paper_of = [numbers.setdefault(paper_id_of_chunk(cid), len(numbers)) for cid in doc_ids]
        self._paper_of = np.asarray(paper_of, dtype=np.int32)
        self._paper_number = numbers
        self._paper_ids = list(numbers)

    def _build(self) -> None:
        """term -> (chunk positions, BM25 weights) in CSR arrays, from every chunk's term ids."""
        if not self._matrix_stale:
            return
        assert self._docs is not None
        self._indptr, self._indices, self._weights = bm25_matrix(list(self._docs.values()), len(self._terms))
        self._set_doc_ids(list(self._docs))
        self._matrix_stale = False

    def _ready(self) -> None:
        with self._lock:
            self.sync()  # notices writes by other processes (one count of the store's change log)
            self._build()

    # ---- search -----------------------------------------------------------------------------
    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every chunk (by position in `doc_ids`), or None when no query term is known."""
        self._ready()
        term_ids = [self._term_id[t] for t in tokenize([query])[0] if t in self._term_id]
        if not term_ids or not self._doc_ids:
            return None
        scores = np.zeros(len(self._doc_ids), dtype=np.float32)
        for tid in term_ids:  # repeated query terms count again, as in bm25s
            start, end = self._indptr[tid], self._indptr[tid + 1]
            scores[self._indices[start:end]] += self._weights[start:end]
        return scores

    def selection(self, admitted: PaperMask) -> Selection:
        """The admitted papers (a mask over another numbering of papers) over this index's papers
        and chunks, as the index is in memory (the library syncs it first; loaded here if it never
        was). Papers the index does not hold are left out."""
        with self._lock:
            self._load()
            self._build()
            numbers = self._numbers_of(admitted.paper_ids)[admitted.mask]
            papers = np.zeros(len(self._paper_ids), dtype=bool)
            papers[numbers[numbers >= 0]] = True
            return Selection(self, papers, papers[self._paper_of])

    def _numbers_of(self, paper_ids: list[str]) -> np.ndarray:
        """This index's paper number of each of `paper_ids` (-1: not indexed), computed once per
        pair of numberings (both lists are replaced, never changed, when they change)."""
        mapped = self._mapped
        if mapped is None or mapped[0] is not paper_ids or mapped[1] is not self._paper_ids:
            if paper_ids == self._paper_ids:  # the usual case: both number papers in the order written
                array = np.arange(len(paper_ids), dtype=np.int64)
            else:
                numbers = self._paper_number
                array = np.fromiter((numbers.get(p, -1) for p in paper_ids), dtype=np.int64, count=len(paper_ids))
            mapped = self._mapped = (paper_ids, self._paper_ids, array)
        return mapped[2]

    def _chunk_mask(self, allowed: Selection) -> np.ndarray:
        """True for the chunks of the `allowed` papers."""
        if allowed.index is self and len(allowed.chunk_mask) == len(self._doc_ids):
            return allowed.chunk_mask
        # the index changed since: map by paper id
        numbers = np.fromiter((n for p in allowed.paper_ids() if (n := self._paper_number.get(p)) is not None), dtype=np.int64)
        keep = np.zeros(len(self._paper_ids), dtype=bool)
        keep[numbers] = True
        return keep[self._paper_of]

    def _positive_scores(
        self, query: str, allowed: Selection | None
    ) -> "tuple[np.ndarray, np.ndarray] | None":
        """Every chunk's score (zero outside `allowed`) and the positions scoring above zero."""
        scores = self.scores(query)
        if scores is None:
            return None
        if allowed is not None:
            scores[~self._chunk_mask(allowed)] = 0.0
        return scores, np.flatnonzero(scores > 0)

    def search_papers(
        self, query: str, depth: int, allowed: Selection | None = None
    ) -> list[tuple[str, str, float]]:
        """Up to `depth` papers as (paper id, best chunk id, BM25 score), best first; only papers
        with a positive score; `allowed` (a selection) restricts the corpus before
        ranking."""
        with self._lock:
            scored = self._positive_scores(query, allowed)
            if scored is None:
                return []
            scores, candidates = scored
            found: dict[str, tuple[str, float]] = {}
            n = depth
            while True:
                top = candidates
                if len(top) > n:
                    top = top[np.argpartition(-scores[top], n - 1)[:n]]
                top = top[np.argsort(-scores[top], kind="stable")]
                found = {}
                for position in top.tolist():
                    paper_id = self._paper_ids[self._paper_of[position]]
                    if paper_id not in found:
                        found[paper_id] = (self._doc_ids[position], float(scores[position]))
                # Several chunks of one paper (full texts) can fill the top: look deeper.
                if len(found) >= depth or len(top) >= len(candidates):
                    break
                n *= 4
            return [(pid, cid, score) for pid, (cid, score) in list(found.items())[:depth]]

    def search(self, query: str, k: int, allowed: Selection | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score); `allowed` (a selection) restricts the corpus before ranking."""
        with self._lock:
            scored = self._positive_scores(query, allowed)
            if scored is None:
                return []
            scores, candidates = scored
            if len(candidates) > k:
                candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
            top = candidates[np.argsort(-scores[candidates], kind="stable")]
            return [(self._doc_ids[i], float(scores[i])) for i in top.tolist()]
