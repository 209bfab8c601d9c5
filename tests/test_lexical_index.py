"""The BM25 index on its own, over a fake chunk source (no Chroma): upsert, remove, search,
facet selection, and a saved index reopened without a rebuild."""
from __future__ import annotations

from typing import Iterator

from assistant.chunks import filter_metadata
from assistant.lexical import LexicalIndex
from assistant.papers import Paper, finalise


class FakeSource:
    """A `ChunkSource`: chunks in a dict, a change marker advanced by two per write."""

    def __init__(self) -> None:
        self.chunks: dict[str, tuple[str, dict]] = {}
        self.marker = 0
        self.reads = 0

    def change_marker(self) -> int:
        return self.marker

    def count_chunks(self) -> int:
        return len(self.chunks)

    def iter_chunks(self, batch: int = 5000) -> Iterator[tuple[list[str], list[str], list[dict]]]:
        self.reads += 1
        ids = list(self.chunks)
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            yield part, [self.chunks[i][0] for i in part], [self.chunks[i][1] for i in part]


PAPERS = [
    finalise(Paper(title="Coral bleaching under marine heatwaves", abstract="Corals bleach when the sea warms.",
                   authors=["Ann Lee"], year=2019, categories=["q-bio.PE"], tags=["reefs"])),
    finalise(Paper(title="Glacier retreat in the Alps", abstract="Alpine glaciers lost a third of their ice.",
                   authors=["Bo Chen"], year=2023, categories=["physics.ao-ph"])),
    finalise(Paper(title="Reef fish recovery after bleaching", abstract="Fish return to reefs years later.",
                   authors=["Ann Lee", "Cy Diaz"], year=2021, categories=["q-bio.PE"])),
]


def write(index: LexicalIndex, source: FakeSource, papers: list[Paper]) -> None:
    """What a library write does: the source changes, the index is told, the marker moves by 2."""
    before = source.marker
    index.sync(before)
    for p in papers:
        meta = {**filter_metadata(p), "chunk": 0}
        source.chunks[f"{p.id}#0"] = (f"{p.title}\n{p.abstract}", meta)
    index.upsert([(f"{p.id}#0", f"{p.title}\n{p.abstract}") for p in papers],
                 facets={p.id: filter_metadata(p) for p in papers})
    source.marker += 2
    index.commit(before, source.marker)


def test_search_finds_the_papers_sharing_words(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    assert {cid for cid, _ in index.search("bleaching", 5)} == {f"{PAPERS[0].id}#0", f"{PAPERS[2].id}#0"}
    (best,) = index.search_papers("glaciers ice", 1)
    assert best[0] == PAPERS[1].id and best[1] == f"{PAPERS[1].id}#0" and best[2] > 0
    assert index.search("volcano", 5) == []


def test_removed_chunks_are_not_found(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    gone = f"{PAPERS[0].id}#0"
    index.remove([gone])
    assert gone not in index.chunk_ids()
    assert {cid for cid, _ in index.search("bleaching", 5)} == {f"{PAPERS[2].id}#0"}


def test_select_by_year_and_facets(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    assert set(index.select(year_from=2020).paper_ids()) == {PAPERS[1].id, PAPERS[2].id}
    by_author = index.select(any_of=[[f"a:{k}" for k in filter_metadata(PAPERS[0])["author_keys"]]])
    assert set(by_author.paper_ids()) == {PAPERS[0].id, PAPERS[2].id}
    tagged = index.select(any_of=[["t:reefs"]])
    assert tagged.paper_ids() == [PAPERS[0].id] and tagged.admits(PAPERS[0].id) and not tagged.admits(PAPERS[1].id)
    hits = index.search_papers("bleaching", 5, tagged)
    assert [pid for pid, _, _ in hits] == [PAPERS[0].id]


def test_a_saved_index_reopens_without_a_rebuild(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    reads = source.reads
    reopened = LexicalIndex(tmp_path / "bm25", source)
    assert reopened.search("glacier", 3)[0][0] == f"{PAPERS[1].id}#0"
    assert set(reopened.select(year_to=2020).paper_ids()) == {PAPERS[0].id}
    assert source.reads == reads  # read from index.npz, not rebuilt from the source


def test_a_write_it_did_not_see_makes_it_rebuild(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS[:2])
    other = PAPERS[2]  # another process writes: the marker moves, the chunk count too
    source.chunks[f"{other.id}#0"] = (other.title, {**filter_metadata(other), "chunk": 0})
    source.marker += 2
    reads = source.reads
    assert {pid for pid, _, _ in index.search_papers("reef fish", 3)} == {other.id}
    assert source.reads == reads + 1
