"""The store on real Chroma in temp dirs: round trip, idempotent re-ingest, merges, bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.errors import NotFoundError
from assistant.library import ingest_paths
from assistant.library import Library

from conftest import SEEDS


def test_seeded_store_round_trip(seeded_store):
    papers = seeded_store.papers()
    assert len(papers) == 25
    llama = seeded_store.get("2407.21783")
    assert llama.title == "The Llama 3 Herd of Models"
    assert llama.authors[0] == "Abhimanyu Dubey"
    assert not llama.authors_truncated
    assert llama.date == "2024-07-31"
    assert len(llama.sources) == 5
    assert {"Jack", "Sid"} <= set(llama.partial_authors)
    assert seeded_store.count_chunks() == 25


def test_show_by_alias(seeded_store):
    llama = seeded_store.get("2407.21783")
    for alias in llama.aliases:
        assert seeded_store.get(alias).id == llama.id


def test_reingest_is_idempotent(writable_seeded_store):
    store = writable_seeded_store
    before = {p.id: p.to_dict() for p in store.papers()}
    report = ingest_paths(store, [SEEDS])
    assert (report.added, report.updated, report.unchanged) == (0, 0, 25)
    assert {p.id: p.to_dict() for p in store.papers()} == before
    assert store.count_chunks() == 25


def test_reopen_sees_same_library(seeded_store_dir, embedder, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(seeded_store_dir, copy)
    assert len(Library(copy, embedder=embedder).papers()) == 25


def test_new_file_fills_missing_fields(empty_store, tmp_path):
    abstract = (
        "We study sparse mixtures of experts for long documents and show that routing by topic "
        "improves perplexity while halving the compute needed per token in our experiments."
    )
    bare = tmp_path / "owner.txt"
    bare.write_text(f"Ada\nAbstract:{abstract}\n", encoding="utf-8")
    assert ingest_paths(empty_store, [bare]).added == 1
    (paper,) = empty_store.papers()
    assert paper.title_derived
    listing = tmp_path / "listing.txt"
    listing.write_text(
        f"Topic-Routed Experts for Long Documents\nAda Lovelace, Charles Babbage\n\n{abstract}\n\n"
        "arXiv:2501.01234\nCreated: 2025-01-03\n",
        encoding="utf-8",
    )
    report = ingest_paths(empty_store, [listing])
    assert (report.added, report.updated) == (0, 1)
    (paper,) = empty_store.papers()
    assert paper.id == "2501.01234"
    assert paper.title == "Topic-Routed Experts for Long Documents" and not paper.title_derived
    assert paper.authors == ["Ada Lovelace", "Charles Babbage"]
    assert paper.partial_authors == ["Ada"]
    assert len(paper.sources) == 2
    assert empty_store.count_chunks() == 1  # the old hash-id record was retired, not duplicated
    assert empty_store.get(paper.aliases[0]).id == "2501.01234"


@pytest.mark.parametrize(
    "name,content,problem",
    [
        ("empty.txt", b"", "empty"),
        ("junk.bin", bytes(range(256)) * 40, "binary"),
        ("notes.txt", b"just some words\nnothing like a paper\n", "no recognisable"),
    ],
)
def test_bad_file_leaves_store_intact(writable_seeded_store, tmp_path, name, content, problem):
    store = writable_seeded_store
    before = {p.id: p.to_dict() for p in store.papers()}
    bad = tmp_path / name
    bad.write_bytes(content)
    report = ingest_paths(store, [bad])
    assert [f.path for f in report.failed] == [str(bad)]
    assert problem in report.failed[0].error
    assert {p.id: p.to_dict() for p in store.papers()} == before


def test_bad_file_does_not_stop_good_ones(empty_store, tmp_path):
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x00\x01\x02garbage")
    report = ingest_paths(empty_store, [bad, SEEDS / "000_005a163ae706595c.txt"])
    assert report.added == 2 and len(report.failed) == 1
    assert not report.ok


def test_remove_keeps_indexes_in_step(writable_seeded_store):
    store = writable_seeded_store
    store.remove(["2407.21783"])
    assert len(store.papers()) == 24
    with pytest.raises(NotFoundError):
        store.get("2407.21783")
    from assistant.retrieve import search

    for mode in ("bm25", "dense", "hybrid"):
        assert all(h.paper.id != "2407.21783" for h in search(store, "Llama 3 herd of models", k=25, mode=mode))


def test_ingest_report_summarises_formats_and_reports_reading(empty_store, tmp_path):
    from assistant.library import ingest_paths

    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "refs.bib").write_text(
        "@article{k1, title={Alpha study}, abstract={Alpha particles in a detector, measured twice.}}\n"
        "@article{k2, title={Beta study}, abstract={Beta decay rates in cold traps, measured once.}}\n",
        encoding="utf-8",
    )
    (folder / "t.csv").write_text("title,abstract\nGamma study,Gamma bursts seen by two satellites.\n", encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    reading: list[tuple[int, int, str]] = []
    report = ingest_paths(empty_store, [folder], on_reading=lambda done, total, path: reading.append((done, total, path)))
    assert [(done, total) for done, total, _ in reading] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert [Path(path).name for _, _, path in reading[:3]] == ["empty.txt", "refs.bib", "t.csv"]
    assert report.formats == {"bibtex": 1, "table": 1} and report.entries == {"bibtex": 2, "table": 1}
    assert report.format_summary() == "bibtex 1 file (2 entries), table 1 file (1 entry), unusable 1 file"
    assert report.to_json()["entries"] == {"bibtex": 2, "table": 1}


def test_ingest_progress_counts_texts_so_a_long_pdf_moves_the_bar(empty_store, tmp_path):
    """Progress is in texts (an abstract, or each full-text chunk): a PDF of many pages reports as
    its chunks are embedded, not once when the whole paper is done."""
    from assistant.library import ingest_paths
    from tests.pdf_factory import make_pdf

    folder = tmp_path / "export"
    folder.mkdir()
    body = [(f"Paragraph {i}: tidal currents over the shelf were logged by moored sensor {i} for a year.", 10) for i in range(40)]
    first = [("Tidal Currents on the Continental Shelf", 20), ("Ann Lee", 11), ("Abstract", 12),
             ("We log tidal currents on the shelf with moored sensors for a year.", 10), ("1 Introduction", 12)]
    (folder / "long.pdf").write_bytes(make_pdf([first, *[body] * 14]))
    (folder / "t.csv").write_text("title,abstract\nGamma study,Gamma bursts seen by two satellites.\n", encoding="utf-8")
    calls: list[tuple[int, int]] = []
    report = ingest_paths(empty_store, [folder], on_progress=lambda done, total: calls.append((done, total)))
    assert report.ok and report.added == 2
    texts = empty_store.count_chunks()
    assert texts > 64  # more than two embedding batches
    assert calls[0] == (0, texts) and calls[-1] == (texts, texts)
    assert all(total == texts for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len({done for done, _ in calls}) > 2  # moved while the PDF's chunks were embedded
