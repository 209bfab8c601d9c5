"""The BM25 index on its own, over a fake chunk source (no Chroma): upsert, remove, search, a
selection handed in as a mask over another numbering of papers, a saved index reopened without a
rebuild, and an index file of another format rebuilt."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant import lexical
from assistant.lexical import LexicalIndex
from assistant.papers import Paper, finalise
from assistant.saved_arrays import save_npz
from fake_chunk_source import FakeSource

PAPERS = [
    finalise(Paper(title="Coral bleaching under marine heatwaves", abstract="Corals bleach when the sea warms.",
                   authors=["Ann Lee"], year=2019, categories=["q-bio.PE"], tags=["reefs"])),
    finalise(Paper(title="Glacier retreat in the Alps", abstract="Alpine glaciers lost a third of their ice.",
                   authors=["Bo Chen"], year=2023, categories=["physics.ao-ph"])),
    finalise(Paper(title="Reef fish recovery after bleaching", abstract="Fish return to reefs years later.",
                   authors=["Ann Lee", "Cy Diaz"], year=2021, categories=["q-bio.PE"])),
]


@dataclass
class Mask:
    """A `lexical.PaperMask`: admitted papers in a numbering of their own."""

    mask: np.ndarray
    paper_ids: list[str]


def admitting(numbering: list[str], admitted: set[str]) -> Mask:
    return Mask(np.array([p in admitted for p in numbering], dtype=bool), numbering)


def write(index: LexicalIndex, source: FakeSource, papers: list[Paper]) -> None:
    """What a library write does: the source changes, the index is told, the marker moves by 2."""
    before = source.marker
    index.sync(before)
    index.upsert([(source.put(p), f"{p.title}\n{p.abstract}") for p in papers])
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


def test_a_selection_from_another_numbering_restricts_search(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    numbering = ["unknown", PAPERS[2].id, PAPERS[0].id, PAPERS[1].id]  # not the index's order
    tagged = index.selection(admitting(numbering, {PAPERS[0].id, "unknown"}))
    assert tagged.paper_ids() == [PAPERS[0].id] and tagged.n_papers == 1  # an unindexed paper is left out
    assert tagged.admits(PAPERS[0].id) and not tagged.admits(PAPERS[1].id)
    assert tagged.chunk_ids() == [f"{PAPERS[0].id}#0"] and tagged.fraction == 1 / 3
    assert [pid for pid, _, _ in index.search_papers("bleaching", 5, tagged)] == [PAPERS[0].id]
    recent = index.selection(admitting(numbering, {PAPERS[1].id, PAPERS[2].id}))
    assert set(recent.paper_ids()) == {PAPERS[1].id, PAPERS[2].id}
    assert [pid for pid, _, _ in index.search_papers("bleaching", 5, recent)] == [PAPERS[2].id]


def test_the_numbering_map_is_kept_until_either_numbering_changes(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS[:2])
    numbering = [p.id for p in PAPERS]
    index.selection(admitting(numbering, set()))
    first = index._numbers_of(numbering)
    assert first.tolist() == [0, 1, -1]
    assert index._numbers_of(numbering) is first  # same numberings: no new mapping
    write(index, source, PAPERS[2:])
    assert index.selection(admitting(numbering, {PAPERS[2].id})).paper_ids() == [PAPERS[2].id]
    assert index._numbers_of(numbering).tolist() == [0, 1, 2]


def test_a_saved_index_reopens_without_a_rebuild(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    reads = source.reads
    reopened = LexicalIndex(tmp_path / "bm25", source)
    assert reopened.search("glacier", 3)[0][0] == f"{PAPERS[1].id}#0"
    assert source.reads == reads  # read from index.npz, not rebuilt from the source


def test_an_index_file_of_another_format_is_rebuilt(tmp_path):
    """A store saved by an older version (format 3 held the facets too) opens fine: rebuilt once."""
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS)
    path = tmp_path / "bm25" / lexical.INDEX_FILE
    with np.load(path) as data:
        old = {k: data[k] for k in data.files}
    old["format"] = np.asarray(3, dtype=np.int64)
    old["facet_papers"] = np.zeros(0, dtype=np.uint8)
    save_npz(path, old)
    reads = source.reads
    reopened = LexicalIndex(tmp_path / "bm25", source)
    assert reopened.search("glacier", 3)[0][0] == f"{PAPERS[1].id}#0"
    assert source.reads == reads + 1
    with np.load(path) as data:
        assert int(data["format"]) == lexical.FORMAT and "facet_papers" not in data.files
    again = LexicalIndex(tmp_path / "bm25", source)
    assert again.search("glacier", 3) and source.reads == reads + 1  # once


def test_a_write_it_did_not_see_makes_it_rebuild(tmp_path):
    source = FakeSource()
    index = LexicalIndex(tmp_path / "bm25", source)
    write(index, source, PAPERS[:2])
    other = PAPERS[2]  # another process writes: the marker moves, the chunk count too
    source.put(other)
    source.marker += 2
    reads = source.reads
    assert {pid for pid, _, _ in index.search_papers("reef fish", 3)} == {other.id}
    assert source.reads == reads + 1
