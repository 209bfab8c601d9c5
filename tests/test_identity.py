"""When are two records one paper? Never across conflicting arXiv ids or DOIs (not even through a
third record), not on an abstract match when the real titles clearly differ, and never on
boilerplate (a subjects line, "No abstract available", a lone link, a too-short note). What
already merged still does (the seeds' Llama 3 from five files, versions of one paper)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from assistant.library import ingest_paths
from assistant.papers import (
    Paper,
    is_distinctive_abstract,
    looks_like_mangled_arxiv_id,
    merge_all,
    normalise_arxiv_id,
    valid_new_style_arxiv_id,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

SUBJECTS = "Subjects: General Relativity and Quantum Cosmology (gr-qc); High Energy Physics - Theory (hep-th)"
REAL = (
    "We measure how quickly coral reefs recover after marine heatwaves across forty Pacific sites, "
    "finding that reefs with intact herbivore populations regain half their coral cover within six years."
)

BOILERPLATE = [
    SUBJECTS,
    "General Relativity and Quantum Cosmology (gr-qc); High Energy Physics - Theory (hep-th)",
    "Subjects: Machine Learning (cs.LG)",
    "Categories: cs.LG stat.ML",
    "Computation and Language (cs.CL); Artificial Intelligence (cs.AI); Machine Learning (cs.LG)",
    "No abstract available",
    "No abstract available.",
    "[Abstract not available]",
    "Abstract not available for this article",
    "N/A",
    "n/a",
    "NA",
    "None",
    "null",
    "-",
    "",
    "   ",
    "https://arxiv.org/abs/2309.11280",
    "<https://doi.org/10.1000/xyz123>",
    "www.example.org/paper.pdf",
    "This paper has been withdrawn by the authors.",
    "This paper has been withdrawn by the author due to a crucial sign error in equation 1.",
    "Withdrawn: duplicate submission",
    "Keywords: federated learning; privacy; aggregation",
    "Comments: 12 pages, 4 figures, accepted at ICML 2023 workshop on federated learning",
    "Journal-ref: Phys. Rev. D 108, 064012 (2023)",
    "See paper.",
    "An erratum to our earlier article.",
    "Abstract: N/A",
]


@pytest.mark.parametrize("text", BOILERPLATE)
def test_boilerplate_abstracts_are_not_identity(text):
    assert not is_distinctive_abstract(text)


def test_real_abstracts_are_distinctive():
    """Every sciqa abstract, and all but one-line notes in the arXiv snapshot sample."""
    corpus = [json.loads(line) for line in (SHARED / "sciqa" / "corpus.jsonl").read_text().splitlines()]
    texts = [r.get("text") or r.get("abstract") or "" for r in corpus]
    assert texts and all(is_distinctive_abstract(t) for t in texts)
    sample = [json.loads(line)["abstract"] for line in (SHARED / "arxiv-metadata-sample.jsonl").read_text().splitlines()]
    distinctive = sum(is_distinctive_abstract(t) for t in sample)
    assert distinctive >= len(sample) - 4


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2309.11280", True), ("0704.0001", True), ("1412.6980", True), ("1501.00001", True),
        ("2309.1128", False), ("1501.0001", False), ("1412.69800", False), ("0703.0001", False),
        ("2313.11280", False), ("2300.11280", False),
    ],
)
def test_arxiv_ids_arxiv_could_have_issued(value, valid):
    assert valid_new_style_arxiv_id(value) is valid
    assert (normalise_arxiv_id(value) == value) is valid
    assert looks_like_mangled_arxiv_id(value) is (not valid)


def paper(**fields) -> Paper:
    return Paper(**fields)


def test_conflicting_ids_never_merge_not_even_through_a_third_record():
    a = paper(title="Holographic complexity of de Sitter space", arxiv_id="2309.11412", abstract=SUBJECTS)
    b = paper(title="Gravitational waves from cosmic strings", arxiv_id="2309.11305", abstract=REAL)
    # matches a by title and b by abstract
    c = paper(title="Holographic Complexity of de Sitter Space", abstract=REAL)
    merged = merge_all([a, b, c])
    assert sorted(p.id for p in merged) == ["2309.11305", "2309.11412"]
    by_id = {p.id: p for p in merged}
    assert by_id["2309.11412"].abstract == REAL  # c joined the first paper it fits, and only that one


def test_conflicting_dois_never_merge():
    a = paper(title="Reef recovery after heatwaves", doi="10.1000/reef.1", abstract=REAL)
    b = paper(title="Reef recovery after heatwaves", doi="10.1000/reef.2", abstract=REAL)
    assert len(merge_all([a, b])) == 2


def test_clearly_different_titles_do_not_merge_on_the_abstract_alone():
    a = paper(title="Reef recovery after heatwaves", abstract=REAL)
    b = paper(title="A survey of transformer language models", abstract=REAL)
    assert len(merge_all([a, b])) == 2
    # the same title written another way, or no title at all: one paper
    c = paper(title="Reef Recovery After Heatwaves.", abstract=REAL)
    d = paper(abstract=REAL)
    assert len(merge_all([paper(title="Reef recovery after heatwaves", abstract=REAL), c, d])) == 1


def test_a_shared_arxiv_id_merges_even_when_the_title_changed():
    v1 = paper(title="Where to begin? Pre-training in federated learning", arxiv_id="2206.15387", versions=["2022-06-30"])
    v2 = paper(title="On the importance of initialization for FL", arxiv_id="2206.15387v2", versions=["2022-10-14"])
    merged = merge_all([v1, v2])
    assert len(merged) == 1 and merged[0].versions == ["2022-06-30", "2022-10-14"]


def test_same_boilerplate_abstract_and_no_ids_stays_apart():
    rows = [paper(title=t, abstract="No abstract available") for t in ("Quantum islands", "Cosmic strings", "Dark energy")]
    assert len({p.id for p in merge_all(rows)}) == 3


def write_scrape(path: Path) -> Path:
    """A Kaggle-style arXiv scrape, as spreadsheets save it: some abstracts hold only the
    subjects line, one id lost its trailing zero."""
    rows = [
        ("2309.1128", "Black hole entropy from quantum islands", "A. Rivera, B. Chen", SUBJECTS),
        ("2309.11305", "Gravitational waves from cosmic strings at next-to-leading order", "C. Okafor", SUBJECTS),
        ("2309.11412", "Holographic complexity of de Sitter space", "D. Sato, E. Müller", SUBJECTS),
        ("2309.11500", "Primordial black holes as dark matter candidates", "F. Ito", "No abstract available"),
        ("2309.1150", "Lensing by wormholes in modified gravity", "G. Okoro", "[Abstract not available]"),
        ("2309.11610", "Reef recovery after marine heatwaves", "H. Reyes", REAL),
        ("2309.11610", "Reef recovery after marine heatwaves", "H. Reyes", REAL),  # a duplicated row
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["paper_id", "title", "authors", "subjects", "abstract", "submitted", "url"])
        for pid, title, authors, abstract in rows:
            subjects = "General Relativity and Quantum Cosmology (gr-qc)"
            writer.writerow([pid, title, authors, subjects, abstract, "2023-09-20", f"https://arxiv.org/abs/{pid}"])
    return path


def test_scrape_keeps_every_distinct_paper(empty_store, tmp_path):
    report = ingest_paths(empty_store, [write_scrape(tmp_path / "arxiv_gr-qc.csv")])
    titles = sorted(p.title for p in empty_store.papers())
    assert len(titles) == 6 and report.added == 6
    assert report.merged == 1  # the duplicated row, and nothing else
    assert "7 entries -> 6 papers (1 merged" in (report.merge_summary() or "")
    [note] = report.notes
    assert "arxiv_gr-qc.csv" in note and "2 entries" in note and "2309.1128" in note and "source ids only" in note
    # a mangled id is no arXiv id, but the paper stays findable by it
    mangled = [p for p in empty_store.papers() if p.title.startswith("Black hole")]
    assert mangled[0].arxiv_id is None and "2309.1128" in mangled[0].aliases


def test_later_files_do_not_merge_stored_papers_with_conflicting_ids(empty_store, tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_text(
        json.dumps({"id": "2309.11412", "title": "Holographic complexity of de Sitter space", "abstract": SUBJECTS}) + "\n"
        + json.dumps({"id": "2309.11305", "title": "Gravitational waves from cosmic strings", "abstract": REAL}) + "\n",
        encoding="utf-8",
    )
    ingest_paths(empty_store, [first])
    second = tmp_path / "second.csv"
    with second.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract"])
        writer.writerow(["Holographic Complexity of de Sitter Space", REAL])
    report = ingest_paths(empty_store, [second])
    assert sorted(p.id for p in empty_store.papers()) == ["2309.11305", "2309.11412"]
    assert report.added == 0 and report.updated == 1
    assert empty_store.check() == []
