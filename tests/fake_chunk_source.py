"""A store stand-in for the library's derived peers (the BM25 index, the facets) tested alone:
chunks in a dict and a change marker advanced by two per write, as the journal does."""
from __future__ import annotations

from typing import Iterator

from assistant.chunks import filter_metadata
from assistant.papers import Paper


class FakeSource:
    """A `lexical.ChunkSource` and a `facets.RecordSource`; `reads` counts full reads."""

    def __init__(self) -> None:
        self.chunks: dict[str, tuple[str, dict]] = {}
        self.marker = 0
        self.reads = 0

    def change_marker(self) -> int:
        return self.marker

    def count_chunks(self) -> int:
        return len(self.chunks)

    def _pages(self, batch: int) -> Iterator[list[str]]:
        self.reads += 1
        ids = list(self.chunks)
        for start in range(0, len(ids), batch):
            yield ids[start : start + batch]

    def iter_texts(self, batch: int = 5000) -> Iterator[tuple[list[str], list[str]]]:
        for part in self._pages(batch):
            yield part, [self.chunks[i][0] for i in part]

    def iter_metadata(self, batch: int = 5000) -> Iterator[tuple[list[str], list[dict]]]:
        for part in self._pages(batch):
            yield part, [self.chunks[i][1] for i in part]

    def put(self, paper: Paper) -> str:
        """Store a paper as one chunk (its record); returns the chunk id. The marker is not moved."""
        cid = f"{paper.id}#0"
        self.chunks[cid] = (f"{paper.title}\n{paper.abstract}", {**filter_metadata(paper), "chunk": 0})
        return cid
