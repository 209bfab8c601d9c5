"""Reconciliation without Chroma: incoming papers + stored records -> a plan."""
from __future__ import annotations

from assistant import reconcile
from assistant.papers import Paper, Source, finalise

ABSTRACT = "Seagrass meadows store carbon in their sediments for centuries, more per hectare than forests. " * 2


def paper(title: str = "Seagrass carbon", *, arxiv: str = "", doi: str = "", abstract: str = ABSTRACT,
          files: tuple[str, ...] = ("a.bib",), authors: tuple[str, ...] = ("Ann Lee",)) -> Paper:
    return finalise(Paper(title=title, abstract=abstract, arxiv_id=arxiv, doi=doi, authors=list(authors),
                          sources=[Source(f, i) for i, f in enumerate(files)]))


def plan(incoming: list[Paper], stored: list[Paper], reread: frozenset[str] = frozenset()) -> reconcile.Plan:
    items = reconcile.incoming(incoming)
    return reconcile.plan(items, stored, set(reread))


def test_a_new_paper_is_added_with_its_merge_keys():
    new = paper(arxiv="2601.00001")
    result = plan([new], [])
    assert result.added == [new.id] and result.write == [new] and not result.updated and not result.retire
    assert result.keys[new.id] == reconcile.incoming([new])[0].keys


def test_the_same_record_again_is_unchanged():
    stored = paper(arxiv="2601.00001")
    result = plan([paper(arxiv="2601.00001")], [stored])
    assert result.unchanged == [stored.id] and not result.write and not result.added


def test_new_values_update_the_stored_record():
    stored = paper(arxiv="2601.00001", authors=("Ann Lee",))
    incoming = paper(arxiv="2601.00001", authors=("Ann Lee", "Bo Chen"), files=("b.bib",))
    result = plan([incoming], [stored])
    assert result.updated == [stored.id] and not result.added
    (written,) = result.write
    assert written.authors == ["Ann Lee", "Bo Chen"]
    assert {s.path for s in written.sources} == {"a.bib", "b.bib"}  # merged: both files hold it
    assert stored.id not in result.keys  # a merged record's keys are computed when it is written


def test_a_reread_file_takes_over_the_record_it_alone_holds():
    stored = paper(arxiv="2601.00001", authors=("Ann Lee", "Bo Chen"))
    edited = paper(arxiv="2601.00001", authors=("Ann Lee",))  # the file now names one author
    result = plan([edited], [stored], frozenset({"a.bib"}))
    (written,) = result.write
    assert result.updated == [stored.id] and written.authors == ["Ann Lee"]


def test_a_merge_under_a_new_id_retires_the_old_one():
    bare = paper(title="", abstract=ABSTRACT, files=("notes.txt",))
    listed = paper(arxiv="2601.00002", abstract=ABSTRACT, files=("listing.jsonl",))
    result = plan([listed], [bare])
    assert result.updated == ["2601.00002"] and result.retire == [bare.id]
    assert bare.id in result.write[0].aliases


def test_conflicting_ids_are_never_merged():
    one = paper(arxiv="2601.00001")
    other = paper(arxiv="2601.00009")  # the same title and abstract, another arXiv id
    result = plan([other], [one])
    assert result.added == [other.id] and result.write == [other] and not result.retire


def test_a_paper_held_by_two_files_is_detached_from_one_and_removed_with_both():
    both = paper(arxiv="2601.00001", files=("a.bib", "b.bib"))
    only_a = paper(arxiv="2601.00003", title="Kelp forests", abstract="Kelp grows fast in cold water. " * 4)
    stale = reconcile.stale_sources([both, only_a], {"a.bib"})
    assert stale.removed == [only_a.id]
    (kept,) = stale.detached
    assert kept.id == both.id and [s.path for s in kept.sources] == ["b.bib"]
    assert reconcile.stale_sources([both], {"a.bib", "b.bib"}).removed == [both.id]


def test_lookup_names_keys_ids_and_the_weak_ids_for_the_alias_scan():
    strong, weak = paper(arxiv="2601.00001"), paper(title="", abstract="Untitled notes on tides. " * 5)
    wanted = reconcile.lookup(reconcile.incoming([strong, weak]))
    assert "2601.00001" in wanted.ids and weak.id in wanted.ids
    assert wanted.weak_ids == [weak.id]
    assert set(wanted.keys) >= reconcile.incoming([strong])[0].keys


def test_by_identity_lists_each_record_under_every_key():
    a, b = paper(arxiv="2601.00001"), paper(arxiv="2601.00009")
    found = reconcile.by_identity([a, b, a])
    assert found["id:2601.00001"] == [a]
    shared = [k for k, records in found.items() if len(records) == 2]
    assert shared  # the title they share names both
