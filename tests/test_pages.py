"""Page-level citations: a real multi-page PDF (tests/pdf_factory.py) is read page by page, its
chunks carry their page, `search --json` hits carry "page" (null for abstracts) and `ask --json`
citations carry "pages"."""
from __future__ import annotations

import json

import pytest

from assistant.papers import PAGE_BREAK, full_text_pages
from tests.pdf_factory import make_pdf

PAGE_3_CLAIM = "During spring tides the semidiurnal tide carried most of the kinetic energy at the shelf break."


def tidal_pdf() -> bytes:
    """Four pages: front matter and abstract; methods; results; a blank page (no text); conclusion."""
    first = [
        ("Tidal Currents on the Continental Shelf", 20), ("Ann Lee and Bob Moreau", 11), ("Abstract", 12),
        ("We log tidal currents on the continental shelf with moored sensors for a year.", 10),
        ("1 Introduction", 12), ("Shelf seas exchange heat and nutrients with the open ocean.", 10),
    ]
    methods = [("2 Methods", 12)] + [
        (f"Acoustic Doppler current profiler {i} sampled the water column every ten minutes at mooring {i}.", 10)
        for i in range(1, 9)
    ]
    results = [("3 Results", 12), (PAGE_3_CLAIM, 10)] + [
        (f"Spring tides at the shelf break moved energy shoreward in burst {i} of the semidiurnal cycle.", 10)
        for i in range(1, 6)
    ]
    conclusion = [("4 Conclusion", 12), ("Internal waves dissipate energy on the upper slope in winter.", 10)]
    return make_pdf([first, methods, results, None, conclusion])


def test_pdf_full_text_keeps_its_pages(tmp_path):
    from assistant.ingest import pdf
    from assistant.ingest.base import RawFile

    (paper,) = pdf.parse(RawFile("tidal.pdf", tidal_pdf())).papers
    assert paper.full_text.count(PAGE_BREAK) == 5  # one per page, the blank page included
    pages = full_text_pages(paper.full_text)
    assert [n for n, _ in pages] == [1, 2, 3, 5]
    assert PAGE_3_CLAIM.split()[0] in dict(pages)[3] and "Internal waves" in dict(pages)[5]
    assert full_text_pages("no pages recorded") == [(None, "no pages recorded")]


def test_chunks_carry_their_page(tmp_path):
    from assistant.ingest import pdf
    from assistant.ingest.base import RawFile
    from assistant.chunks import paper_chunks

    (paper,) = pdf.parse(RawFile("tidal.pdf", tidal_pdf())).papers
    chunks = paper_chunks(paper)
    assert chunks[0].page is None  # title + abstract
    assert {c.page for c in chunks[1:]} == {1, 2, 3, 5}
    assert all(c.index == i for i, c in enumerate(chunks))
    assert any(PAGE_3_CLAIM[:40] in " ".join(c.text.split()) and c.page == 3 for c in chunks)


@pytest.fixture(scope="module")
def pdf_store(tmp_path_factory, embedder):
    from assistant.library import ingest_paths
    from assistant.library import Library

    folder = tmp_path_factory.mktemp("pdfs")
    (folder / "tidal.pdf").write_bytes(tidal_pdf())
    (folder / "other.csv").write_text(
        "title,abstract\nGamma bursts,Gamma-ray bursts were seen by two satellites at once.\n", encoding="utf-8"
    )
    directory = folder / "store"
    report = ingest_paths(Library(directory, embedder=embedder), [folder])
    assert report.added == 2
    return directory


@pytest.fixture
def run(capsys):
    from assistant.cli import main

    def invoke(*args: str, store) -> dict | list:
        code = main([*args[:1], "--store", str(store), *args[1:], "--json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        return json.loads(out.out)

    return invoke


def test_search_json_hits_carry_the_page(run, pdf_store):
    hits = run("search", "semidiurnal tide kinetic energy at the shelf break during spring tides", "-k", "2", store=pdf_store)
    assert hits[0]["title"] == "Tidal Currents on the Continental Shelf"
    assert hits[0]["page"] == 3
    gamma = run("search", "gamma-ray bursts seen by satellites", "-k", "1", store=pdf_store)
    assert gamma[0]["page"] is None  # an abstract has no page


def test_ask_json_citations_carry_pages(run, pdf_store):
    result = run("ask", "How much kinetic energy did the semidiurnal tide carry at the shelf break during spring tides?", store=pdf_store)
    (citation,) = [c for c in result["citations"] if c["title"] == "Tidal Currents on the Continental Shelf"]
    assert citation["pages"] == [3]
    assert "semidiurnal" in citation["supporting_sentence"]


def test_served_copies_only_of_existing_pdfs(tmp_path):
    from urllib.parse import unquote

    from ui.served_files import FILE_ROUTE, serve_copy

    folder = tmp_path / "served"
    pdf = tmp_path / "tidal.pdf"
    pdf.write_bytes(tidal_pdf())
    url = serve_copy(folder, pdf)
    assert url is not None and url.startswith(FILE_ROUTE)
    copy = unquote(url[len(FILE_ROUTE):])
    assert copy.startswith(str(folder.resolve())) and open(copy, "rb").read() == pdf.read_bytes()
    assert serve_copy(folder, pdf) == url  # made once
    notes = tmp_path / "notes.txt"
    notes.write_text("not a pdf", encoding="utf-8")
    assert serve_copy(folder, notes) is None
    assert serve_copy(folder, tmp_path / "gone.pdf") is None
