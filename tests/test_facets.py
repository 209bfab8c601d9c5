"""Paper facets on their own: terms from chunk metadata, selection, persistence, and the peer kept
in step with a fake store (no Chroma, no BM25 index)."""
from __future__ import annotations

import numpy as np

from assistant import facets as facets_module
from assistant.chunks import filter_metadata
from assistant.facets import Admitted, Facets, FacetTable, facet_terms
from assistant.papers import Paper, finalise
from assistant.saved_arrays import pack_strings, save_npz, unpack_strings
from fake_chunk_source import FakeSource

META = {
    "p1": {"year": 2019, "author_keys": ["lee|a"], "categories": ["q-bio.pe"], "tags": ["reefs"]},
    "p2": {"year": 2023, "author_keys": ["chen|b"], "collections": ["thesis"]},
    "p3": {"author_keys": ["lee|a", "diaz|c"]},  # no year
}

PAPERS = [
    finalise(Paper(title="Coral bleaching", abstract="Corals bleach.", authors=["Ann Lee"], year=2019, tags=["reefs"])),
    finalise(Paper(title="Glacier retreat", abstract="Glaciers melt.", authors=["Bo Chen"], year=2023)),
    finalise(Paper(title="Reef fish recovery", abstract="Fish return.", authors=["Ann Lee", "Cy Diaz"], year=2021)),
]


def table() -> FacetTable:
    built = FacetTable()
    built.update(META)
    return built


def ids(admitted: Admitted) -> set[str]:
    return {admitted.paper_ids[i] for i in np.flatnonzero(admitted.mask).tolist()}


def test_facet_terms_name_each_kind():
    assert facet_terms(META["p1"]) == ["a:lee|a", "c:q-bio.pe", "t:reefs"]
    assert facet_terms(META["p2"]) == ["a:chen|b", "k:thesis"]


def test_select_by_year_and_groups_of_terms():
    facets = table()
    assert ids(facets.select()) == {"p1", "p2", "p3"}
    assert ids(facets.select(year_from=2020)) == {"p2"}
    assert ids(facets.select(year_to=2020)) == {"p1"}  # a paper without a year fails a bound
    assert ids(facets.select(any_of=[["a:lee|a"]])) == {"p1", "p3"}
    assert ids(facets.select(any_of=[["a:lee|a", "a:chen|b"], ["c:q-bio.pe"]])) == {"p1"}
    assert ids(facets.select(any_of=[["a:nobody"]])) == set()


def test_a_change_gives_a_new_numbering_and_discarded_papers_are_gone():
    facets = table()
    first = facets.select().paper_ids
    assert facets.select().paper_ids is first  # unchanged: the same numbering
    facets.discard(["p1"])
    facets.set("p4", {"year": 2001, "author_keys": ["lee|a"]})
    again = facets.select(any_of=[["a:lee|a"]])
    assert again.paper_ids is not first and first == ["p1", "p2", "p3"]
    assert ids(again) == {"p3", "p4"} and set(facets.papers) == {"p2", "p3", "p4"}


def test_arrays_round_trip():
    saved = table().to_arrays()
    again = FacetTable.from_arrays(saved)
    assert ids(again.select(any_of=[["a:lee|a"]])) == {"p1", "p3"}
    assert set(again.papers) == {"p1", "p2", "p3"}
    again.set("p2", {"year": 2020, "author_keys": ["lee|a"]})  # an update after a load
    assert ids(again.select(any_of=[["a:lee|a"]], year_from=2020)) == {"p2"}


def test_packed_strings_round_trip():
    assert unpack_strings(pack_strings(["a", "ü#1", "b"])) == ["a", "ü#1", "b"]
    assert unpack_strings(pack_strings([])) == []


# ---- the peer: saved beside the store, in step with its change marker -----------------------


def write(facets: Facets, source: FakeSource, papers: list[Paper]) -> None:
    """What a library write does: the store changes, the facets are told, the marker moves by 2."""
    before = source.marker
    facets.sync(before)
    for p in papers:
        source.put(p)
    facets.upsert({p.id: filter_metadata(p) for p in papers})
    source.marker += 2
    facets.commit(before, source.marker)


def by_author(facets: Facets, paper: Paper) -> set[str]:
    return ids(facets.select(any_of=[[f"a:{k}" for k in filter_metadata(paper)["author_keys"]]]))


def test_select_and_remove_by_record_chunk(tmp_path):
    source = FakeSource()
    facets = Facets(tmp_path / "bm25", source)
    write(facets, source, PAPERS)
    assert ids(facets.select(year_from=2020)) == {PAPERS[1].id, PAPERS[2].id}
    assert by_author(facets, PAPERS[0]) == {PAPERS[0].id, PAPERS[2].id}
    assert ids(facets.select(any_of=[["t:reefs"]])) == {PAPERS[0].id}
    facets.remove([f"{PAPERS[2].id}#3"])  # not the record chunk: the paper stays
    assert by_author(facets, PAPERS[0]) == {PAPERS[0].id, PAPERS[2].id}
    facets.remove([f"{PAPERS[2].id}#0"])
    assert by_author(facets, PAPERS[0]) == {PAPERS[0].id}
    assert set(facets.paper_ids()) == {PAPERS[0].id, PAPERS[1].id}


def test_saved_facets_reopen_without_a_rebuild(tmp_path):
    source = FakeSource()
    write(Facets(tmp_path / "bm25", source), source, PAPERS)
    reads = source.reads
    reopened = Facets(tmp_path / "bm25", source)
    reopened.sync()
    assert ids(reopened.select(year_to=2020)) == {PAPERS[0].id}
    assert source.reads == reads  # read from facets.npz, not rebuilt from the source


def test_a_write_they_did_not_see_makes_them_rebuild(tmp_path):
    source = FakeSource()
    facets = Facets(tmp_path / "bm25", source)
    write(facets, source, PAPERS[:2])
    source.put(PAPERS[2])  # another process writes
    source.marker += 2
    reads = source.reads
    facets.sync()
    assert by_author(facets, PAPERS[2]) == {PAPERS[0].id, PAPERS[2].id}
    assert source.reads == reads + 1
    assert ids(Facets(tmp_path / "bm25", source).select(year_from=2021)) == {PAPERS[1].id, PAPERS[2].id}
    assert source.reads == reads + 1  # the rebuilt facets were saved


def test_a_file_of_another_format_or_chunk_count_is_rebuilt(tmp_path):
    source = FakeSource()
    write(Facets(tmp_path / "bm25", source), source, PAPERS)
    path = tmp_path / "bm25" / facets_module.FACETS_FILE
    with np.load(path) as data:
        saved = {k: data[k] for k in data.files}
    save_npz(path, {**saved, "format": np.asarray(facets_module.FORMAT + 1, dtype=np.int64)})
    reads = source.reads
    assert ids(Facets(tmp_path / "bm25", source).select(year_to=2020)) == {PAPERS[0].id}
    assert source.reads == reads + 1
    del source.chunks[f"{PAPERS[0].id}#0"]  # the same marker, fewer chunks (a store replaced)
    assert ids(Facets(tmp_path / "bm25", source).select(year_to=2020)) == set()
    assert source.reads == reads + 2
