"""Each paper's filter fields (year, author keys, categories) held in memory beside the BM25 index,
so search filters are evaluated in numpy instead of by Chroma.

Why: at 100,000 papers a Chroma metadata filter costs 40 ms (an author) to 500 ms (a year range),
before the filtered vector query itself; here the same selection takes well under a millisecond,
and the dense query is then restricted to the selected chunk ids. The fields are the ones
`chunks.filter_metadata` writes on every chunk; `LexicalIndex` persists and syncs them with its own
state (same file, same change marker), so they are rebuilt from Chroma whenever it is.

Facet terms: "a:<author key>" (the keys of `papers.author_keys`, plus "partial:<name>"),
"c:<category>" (lower case), "k:<collection key>" and "t:<tag key>" (`groups.py`).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

NO_YEAR = -1


def pack_strings(items: list[str]) -> np.ndarray:
    """Strings (without newlines: ids, terms) as one byte array, for the index file."""
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def unpack_strings(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def facet_terms(metadata: Mapping[str, Any]) -> list[str]:
    return (
        [f"a:{k}" for k in metadata.get("author_keys") or []]
        + [f"c:{c}" for c in metadata.get("categories") or []]
        + [f"k:{k}" for k in metadata.get("collections") or []]
        + [f"t:{t}" for t in metadata.get("tags") or []]
    )


class Facets:
    def __init__(self) -> None:
        self._papers: dict[str, tuple[int, np.ndarray]] = {}  # paper id -> (year or NO_YEAR, term ids)
        self._saved: Mapping[str, np.ndarray] | None = None  # loaded arrays, unpacked on first need
        self.terms: list[str] = []
        self.term_id: dict[str, int] = {}
        # built for a paper numbering (LexicalIndex's): arrays over paper numbers and term postings
        self.years = np.zeros(0, dtype=np.int32)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)

    @property
    def papers(self) -> dict[str, tuple[int, np.ndarray]]:
        """Per-paper fields (needed to update or rebuild, not to select: unpacked lazily)."""
        if self._saved is not None:
            data, self._saved = self._saved, None
            ids = unpack_strings(data["facet_papers"])
            years, offsets, flat = data["facet_years"], data["facet_offsets"], data["facet_flat"]
            self._papers = {pid: (int(years[i]), flat[offsets[i] : offsets[i + 1]]) for i, pid in enumerate(ids)}
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

    def update(self, metadata_by_paper: Mapping[str, Mapping[str, Any]]) -> None:
        for paper_id, metadata in metadata_by_paper.items():
            self.set(paper_id, metadata)

    # ---- persistence (arrays stored in the BM25 index file) -----------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        ids = list(self.papers)
        values = list(self.papers.values())
        lengths = np.fromiter((len(t) for _, t in values), dtype=np.int64, count=len(values))
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return {
            "facet_papers": pack_strings(ids),
            "facet_years": np.fromiter((y for y, _ in values), dtype=np.int32, count=len(values)),
            "facet_offsets": offsets,
            "facet_flat": np.concatenate([t for _, t in values]) if values else np.zeros(0, dtype=np.int32),
            "facet_terms": pack_strings(self.terms),
            # the selection arrays, valid for the paper numbering they were built for
            "facet_built_years": self.years,
            "facet_indptr": self.indptr,
            "facet_indices": self.indices,
        }

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], paper_ids: Sequence[str]) -> "Facets":
        """Facets saved by `to_arrays`, ready to select over `paper_ids` (the numbering saved with
        them; rebuilt when the saved selection arrays do not fit it)."""
        facets = cls()
        keys = ("facet_papers", "facet_years", "facet_offsets", "facet_flat")
        facets._saved = {k: data[k] for k in keys}
        facets.terms = unpack_strings(data["facet_terms"])
        facets.term_id = {t: i for i, t in enumerate(facets.terms)}
        if "facet_indptr" in data and len(data["facet_built_years"]) == len(paper_ids):
            facets.years, facets.indptr, facets.indices = data["facet_built_years"], data["facet_indptr"], data["facet_indices"]
        else:
            facets.build(paper_ids)
        return facets

    # ---- selection --------------------------------------------------------------------------
    def build(self, paper_ids: Sequence[str]) -> None:
        """Arrays over the given paper numbering; papers no longer indexed are forgotten."""
        known = set(paper_ids)
        for gone in [p for p in self.papers if p not in known]:
            del self.papers[gone]
        empty = (NO_YEAR, np.zeros(0, dtype=np.int32))
        rows = [self.papers.get(pid, empty) for pid in paper_ids]
        self.years = np.fromiter((y for y, _ in rows), dtype=np.int32, count=len(rows))
        lengths = np.fromiter((len(t) for _, t in rows), dtype=np.int64, count=len(rows))
        flat = np.concatenate([t for _, t in rows]).astype(np.int64) if rows else np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(rows), dtype=np.int64), lengths)
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=len(self.terms))
        self.indptr = np.zeros(len(self.terms) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        self.indices = owner[order].astype(np.int32)

    def select(self, *, year_from: int | None = None, year_to: int | None = None, any_of: Iterable[Sequence[str]] = ()) -> np.ndarray:
        """Boolean mask over papers: the year range holds (a paper without a year fails any year
        bound) and, for each group of facet terms, the paper has at least one of them."""
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
        return keep
