"""Re-ingesting a changed file: the library follows the file's current contents (real Chroma, the
real embedder, real parsers). Edited entries are updated, dropped entries removed (or detached when
another file still holds them), BM25 and the facets stay in step, and a file with bad lines never
deletes anything."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import NotFoundError
from assistant.library import ingest_paths
from assistant.retrieve import search

OCEAN = (
    "We measure how quickly coral reefs recover after marine heatwaves across forty Pacific sites, "
    "finding that reefs with intact herbivore populations regain half their coral cover within six years."
)
OCEAN_EDITED = (
    "We measure how quickly kelp forests recover after marine heatwaves across forty Atlantic sites, "
    "finding that urchin removal lets canopies regrow within two seasons."
)
GLACIER = (
    "Surface melt on Greenland glaciers is tracked with daily satellite radar, revealing that meltwater "
    "lakes drain in hours and briefly speed up the ice flow by a third."
)
SOIL = (
    "Soil microbes in drought-stressed grasslands shift toward spore-forming taxa, and this shift "
    "persists for three years after rainfall returns to normal levels in our field plots."
)


def write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A CSV export without ids: papers are known by their text."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "authors", "year", "abstract"])
        for title, authors, abstract in rows:
            writer.writerow([title, authors, "2023", abstract])
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def assert_in_step(store) -> None:
    assert store.check() == []
    ids = {p.id for p in store.papers()}
    assert store.lexical.chunk_ids() and {c.rsplit("#", 1)[0] for c in store.lexical.chunk_ids()} == ids


def test_edited_abstract_replaces_the_old_record(empty_store, tmp_path):
    store = empty_store
    rows = [("Reef recovery after heatwaves", "Ana Reyes", OCEAN), ("Glacier lakes drain fast", "Bo Li", GLACIER)]
    export = write_csv(tmp_path / "export.csv", rows)
    assert ingest_paths(store, [export]).added == 2
    old = next(p for p in store.papers() if p.title == "Reef recovery after heatwaves")

    # the researcher fixes the abstract and the title of the first entry
    rows[0] = ("Kelp forest recovery after heatwaves", "Ana Reyes", OCEAN_EDITED)
    write_csv(export, rows)
    report = ingest_paths(store, [export])
    assert (report.added, report.updated, report.unchanged, report.removed) == (1, 0, 1, 1), report.to_json()

    papers = store.papers()
    assert len(papers) == 2
    new = next(p for p in papers if p.title == "Kelp forest recovery after heatwaves")
    assert new.abstract == OCEAN_EDITED
    with pytest.raises(NotFoundError):
        store.get(old.id)
    for mode in ("bm25", "dense", "hybrid"):
        top = search(store, "coral reefs herbivore populations Pacific", k=2, mode=mode)
        assert old.id not in {h.paper.id for h in top}
    assert search(store, "kelp urchin removal canopies", k=1, mode="bm25")[0].paper.id == new.id
    assert_in_step(store)


def test_edit_keeping_the_title_updates_in_place(empty_store, tmp_path):
    store = empty_store
    export = write_csv(tmp_path / "export.csv", [("Reef recovery after heatwaves", "Ana Reyes", OCEAN)])
    ingest_paths(store, [export])
    (before,) = store.papers()
    write_csv(export, [("Reef recovery after heatwaves", "Ana Reyes; Tom Hale", OCEAN_EDITED)])
    report = ingest_paths(store, [export])
    assert (report.added, report.updated, report.removed) == (0, 1, 0), report.to_json()
    (after,) = store.papers()
    assert after.abstract == OCEAN_EDITED and after.authors == ["Ana Reyes", "Tom Hale"]
    assert store.get(before.id).id == after.id  # the old id still resolves
    assert search(store, "kelp urchin removal canopies", k=1, mode="dense")[0].paper.id == after.id
    assert_in_step(store)


def test_shorter_abstract_and_fewer_authors_win_for_an_arxiv_paper(empty_store, tmp_path):
    """The merge of two different files keeps the longest values; a file re-read replaces them."""
    store = empty_store
    record = {"id": "2301.01234", "title": "Reef recovery after heatwaves", "authors": "Ana Reyes, Bo Li, Cy Young",
              "abstract": OCEAN + " A second sentence that was later cut.", "update_date": "2023-01-05"}
    export = write_jsonl(tmp_path / "arxiv.jsonl", [record])
    ingest_paths(store, [export])
    write_jsonl(export, [{**record, "abstract": OCEAN, "authors": "Ana Reyes, Bo Li"}])
    report = ingest_paths(store, [export])
    assert report.updated == 1
    paper = store.get("2301.01234")
    assert paper.abstract == OCEAN and paper.authors == ["Ana Reyes", "Bo Li"]
    assert "later cut" not in store.chunk_texts(["2301.01234#0"])["2301.01234#0"]
    assert_in_step(store)


def test_dropped_entry_is_removed_but_kept_when_another_file_holds_it(empty_store, tmp_path):
    store = empty_store
    first = write_csv(tmp_path / "a.csv", [("Reef recovery after heatwaves", "Ana Reyes", OCEAN),
                                           ("Glacier lakes drain fast", "Bo Li", GLACIER),
                                           ("Drought shifts soil microbes", "Cy Young", SOIL)])
    second = write_csv(tmp_path / "b.csv", [("Drought shifts soil microbes", "Cy Young", SOIL)])
    ingest_paths(store, [first, second])
    assert store.count() == 3
    soil = next(p for p in store.papers() if p.title == "Drought shifts soil microbes")
    assert {Path(s.path).name for s in soil.sources} == {"a.csv", "b.csv"}

    write_csv(first, [("Reef recovery after heatwaves", "Ana Reyes", OCEAN)])
    report = ingest_paths(store, [first])
    assert (report.unchanged, report.removed) == (1, 1), report.to_json()
    titles = {p.title for p in store.papers()}
    assert titles == {"Reef recovery after heatwaves", "Drought shifts soil microbes"}
    soil = store.get(soil.id)
    assert {Path(s.path).name for s in soil.sources} == {"b.csv"}  # detached from a.csv, kept for b.csv
    assert all(h.paper.title != "Glacier lakes drain fast" for h in search(store, "Greenland glacier meltwater", k=3))
    # and the other file, re-read without it, removes it too
    write_csv(second, [("Reef recovery after heatwaves", "Ana Reyes", OCEAN)])
    report = ingest_paths(store, [second])
    assert report.removed == 1 and {p.title for p in store.papers()} == {"Reef recovery after heatwaves"}
    assert_in_step(store)


def test_a_file_with_bad_lines_never_deletes(empty_store, tmp_path):
    store = empty_store
    records = [
        {"id": "2301.00001", "title": "Reef recovery after heatwaves", "authors": "Ana Reyes", "abstract": OCEAN},
        {"id": "2301.00002", "title": "Glacier lakes drain fast", "authors": "Bo Li", "abstract": GLACIER},
    ]
    export = write_jsonl(tmp_path / "arxiv.jsonl", records)
    ingest_paths(store, [export])
    # the second line breaks: its paper must not be taken for dropped
    export.write_text(json.dumps(records[0]) + "\n" + '{"id": "2301.00002", "title": "Glac\n', encoding="utf-8")
    report = ingest_paths(store, [export])
    assert report.problems and report.removed == 0 and not report.ok
    assert {p.id for p in store.papers()} == {"2301.00001", "2301.00002"}
    assert_in_step(store)


def test_reordered_file_is_not_embedded_again(empty_store, tmp_path, monkeypatch):
    store = empty_store
    rows = [("Reef recovery after heatwaves", "Ana Reyes", OCEAN), ("Glacier lakes drain fast", "Bo Li", GLACIER)]
    export = write_csv(tmp_path / "export.csv", rows)
    ingest_paths(store, [export])
    write_csv(export, rows[::-1])
    embedded: list[str] = []
    real = store.embedder.embed
    monkeypatch.setattr(store.embedder, "embed", lambda texts, **kw: embedded.extend(texts) or real(texts, **kw))
    report = ingest_paths(store, [export])
    assert report.updated == 2 and report.removed == 0  # the sources' entry numbers changed
    assert embedded == []  # ...but no text did, so the stored vectors were kept
    glacier = next(p for p in store.papers() if p.title == "Glacier lakes drain fast")
    assert [s.entry for s in glacier.sources] == [0]  # first row now
    assert_in_step(store)



def test_forgetting_a_deleted_file(empty_store, tmp_path):
    from assistant.errors import InputError
    from assistant.library import forget_files

    store = empty_store
    first = write_csv(tmp_path / "a.csv", [("Reef recovery after heatwaves", "Ana Reyes", OCEAN),
                                           ("Drought shifts soil microbes", "Cy Young", SOIL)])
    second = write_csv(tmp_path / "b.csv", [("Drought shifts soil microbes", "Cy Young", SOIL)])
    ingest_paths(store, [first, second])
    first.unlink()
    removed, detached = forget_files(store, [first])
    assert len(removed) == 1 and len(detached) == 1
    (soil,) = store.papers()
    assert soil.title == "Drought shifts soil microbes" and [Path(s.path).name for s in soil.sources] == ["b.csv"]
    with pytest.raises(InputError, match="no paper"):
        forget_files(store, [first])
    assert_in_step(store)


# ---- source ids are local to their file --------------------------------------------------------

def test_source_ids_shared_by_two_files_name_two_papers(empty_store, tmp_path):
    """Two exports may both call an entry `smith2020` or row `1`: those are two papers, not one."""
    store = empty_store
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder, title, abstract in [("a", "Reef recovery after heatwaves", OCEAN), ("b", "Glacier lakes drain fast", GLACIER)]:
        (tmp_path / folder / "refs.bib").write_text(
            f"@article{{smith2020,\n  title = {{{title}}},\n  author = {{Smith, Ann}},\n  year = {{2020}},\n"
            f"  abstract = {{{abstract}}},\n}}\n",
            encoding="utf-8",
        )
        write_jsonl(tmp_path / folder / "rows.jsonl", [{"id": "1", "title": f"{title} (row)", "abstract": abstract[::-1]}])
    first = ingest_paths(store, [tmp_path / "a"])
    second = ingest_paths(store, [tmp_path / "b"])
    assert (first.added, second.added, second.updated) == (2, 2, 0)
    assert {p.title for p in store.papers()} == {
        "Reef recovery after heatwaves", "Glacier lakes drain fast",
        "Reef recovery after heatwaves (row)", "Glacier lakes drain fast (row)",
    }
    # the shared key no longer picks one of them at random (nor deletes one)
    with pytest.raises(NotFoundError, match="names 2 papers"):
        store.get("smith2020")
    with pytest.raises(NotFoundError, match="names 2 papers"):
        store.remove(["smith2020"])
    assert store.count() == 4
    # each file still follows its own entries when re-read
    again = ingest_paths(store, [tmp_path / "a", tmp_path / "b"])
    assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 4, 0)
    assert_in_step(store)


def test_identical_entries_without_ids_are_one_paper(empty_store, tmp_path):
    """Entries too short for the text keys still share their computed id: one paper, counted once."""
    store = empty_store
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(3):
        (folder / f"copy{i}.tsv").write_text("Title\tSummary\nShort one\tOcean heat from floats.\n", encoding="utf-8")
    report = ingest_paths(store, [folder])
    assert report.ok
    assert (report.added, report.formats, report.entries) == (1, {"table": 3}, {"table": 3})
    assert store.count() == 1
    assert len(store.papers()[0].sources) == 3
