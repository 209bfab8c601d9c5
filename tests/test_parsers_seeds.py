"""The three seed-format parsers on the real seed files, plus small synthetic cases. No store, no model."""
from __future__ import annotations

import copy
import shutil
from datetime import date
from pathlib import Path

import pytest

from assistant.ingest import abstract_list, arxiv_listing, author_page
from assistant.ingest.base import ParseResult, RawFile
from assistant.ingest.detect import detect
from assistant.ingest.names import is_plausible_name, split_names, split_title_authors
from assistant.papers import Paper, merge_all, near_duplicate_abstracts

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))
EXPECTED_FORMAT = {"000": "abstract_list", "001": "author_page", "002": "abstract_list",
                   "003": "arxiv_listing", "004": "abstract_list"}
LLAMA_ABSTRACT_START = "Modern artificial intelligence (AI) systems are powered by foundation models."
WHERE_TO_BEGIN = "Where to Begin? On the Impact of Pre-Training and Initialization in Federated Learning"

# Every entry of seeds/001_*.txt: (title, first author, number of authors listed, truncated).
AUTHOR_PAGE_ENTRIES = [
    ("The Llama 3 Herd of Models", "Aaron Grattafiori", 3, True),
    ("Effective Long-Context Scaling of Foundation Models", "Wenhan Xiong", 3, True),
    ("Federated Learning with Partial Model Personalization", "Krishna Pillutla", 3, True),
    (WHERE_TO_BEGIN, "John Nguyen", 3, True),
    (WHERE_TO_BEGIN, "John Nguyen", 3, True),
    ("FedSynth: Gradient Compression via Synthetic Data in Federated Learning", "Shengyuan Hu", 3, True),
    ("An Empirical Study on Noisy Data and LLM Pretraining Loss Divergence", "Qizhen Zhang", 3, True),
    ("Papaya: Practical, Private, and Scalable Federated Learning", "Dzmitry Huba", 3, True),
    ("Federated Learning with Buffered Asynchronous Aggregation", "John Nguyen", 3, True),
    ("Active Federated Learning", "Jack Goetz", 3, True),
    ("Federated User Representation Learning", "Duc Bui", 3, True),
]


def seed(prefix: str) -> Path:
    (path,) = [p for p in SEED_FILES if p.name.startswith(prefix)]
    return path


def parse_seed(prefix: str) -> ParseResult:
    raw = RawFile.read(seed(prefix))
    return detect(raw).parse(raw)


def parse_text(module, tmp_path: Path, text: str, name: str = "input.txt") -> ParseResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return module.parse(RawFile.read(path))


@pytest.fixture(scope="module")
def seed_results() -> dict[str, ParseResult]:
    return {prefix: parse_seed(prefix) for prefix in EXPECTED_FORMAT}


@pytest.fixture(scope="module")
def merged(seed_results) -> list[Paper]:
    # merge_all finalises (mutates) its input records: merge copies, keep the parsed ones as parsed.
    return merge_all(copy.deepcopy(p) for prefix in sorted(seed_results) for p in seed_results[prefix].papers)


# ---- seeds: detection -----------------------------------------------------------------------------

def test_all_five_seed_files_present():
    assert len(SEED_FILES) == 5


@pytest.mark.parametrize("prefix", sorted(EXPECTED_FORMAT))
def test_detect_picks_parser_by_content(prefix, tmp_path):
    raw = RawFile.read(seed(prefix))
    assert detect(raw).FORMAT == EXPECTED_FORMAT[prefix]
    renamed = tmp_path / "x.dat"
    shutil.copy(seed(prefix), renamed)
    assert detect(RawFile.read(renamed)).FORMAT == EXPECTED_FORMAT[prefix]


@pytest.mark.parametrize("prefix", sorted(EXPECTED_FORMAT))
def test_seed_files_parse_without_problems(seed_results, prefix):
    result = seed_results[prefix]
    assert result.problems == []
    assert result.format == EXPECTED_FORMAT[prefix]
    for i, paper in enumerate(result.papers):
        (src,) = paper.sources
        assert src.path == str(seed(prefix)) and src.entry == i and src.format == result.format
        assert src.line is not None and src.line >= 1


def test_seed_entry_counts(seed_results):
    counts = {prefix: len(r.papers) for prefix, r in seed_results.items()}
    assert counts == {"000": 2, "001": 11, "002": 5, "003": 10, "004": 2}


# ---- seeds: merged library --------------------------------------------------------------------------

def test_seeds_merge_to_25_papers(merged):
    assert len(merged) == 25
    assert len({p.id for p in merged}) == 25


def test_llama3_is_one_record_with_the_best_fields(merged):
    (llama,) = [p for p in merged if p.abstract.startswith(LLAMA_ABSTRACT_START)]
    assert llama.id == llama.arxiv_id == "2407.21783"
    assert llama.title == "The Llama 3 Herd of Models" and not llama.title_derived
    assert llama.authors[0] == "Abhimanyu Dubey" and not llama.authors_truncated
    assert len(llama.authors) > 500 and "et al." not in " ".join(llama.authors)
    assert llama.date == "2024-07-31" and llama.year == 2024
    assert len(llama.sources) == 5
    assert {s.format for s in llama.sources} == {"abstract_list", "author_page", "arxiv_listing"}
    assert set(llama.partial_authors) == {"Jack", "Sid"}
    assert "cs.AI" in llama.categories


def test_two_versions_become_one_record(merged):
    (paper,) = [p for p in merged if p.title == WHERE_TO_BEGIN]
    assert paper.versions == ["2022-06-30", "2022-10-14"]
    assert paper.date == "2022-06-30"
    assert paper.has_code
    assert len(paper.sources) == 2


def test_related_arxiv_papers_stay_apart(merged):
    ids = {p.arxiv_id for p in merged if p.arxiv_id}
    assert {"2205.14206", "2201.01144"} <= ids


# ---- seeds: abstract lists ----------------------------------------------------------------------------

def test_owner_is_a_partial_author(seed_results):
    papers = seed_results["000"].papers
    assert [p.partial_authors for p in papers] == [["Jack"], ["Jack"]]
    assert all(p.authors == [] for p in papers)
    assert all(p.title == "" for p in papers)  # finalise derives a marked title
    assert papers[1].abstract.startswith("Federated learning enables resource-constrained")
    assert [p.sources[0].line for p in papers] == [2, 3]
    assert seed_results["002"].papers[0].partial_authors == ["Sid"]


def test_abstract_list_titles_are_derived(merged):
    untitled = [p for p in merged if p.partial_authors == ["Sid"]]
    assert untitled and all(p.title_derived and p.display_title().startswith("[untitled]") for p in untitled)


# ---- seeds: author page ----------------------------------------------------------------------------

@pytest.mark.parametrize("i", range(len(AUTHOR_PAGE_ENTRIES)))
def test_author_page_title_author_split(seed_results, i):
    title, first_author, count, truncated = AUTHOR_PAGE_ENTRIES[i]
    paper = seed_results["001"].papers[i]
    assert paper.title == title
    assert paper.authors[0] == first_author
    assert len(paper.authors) == count
    assert paper.authors_truncated is truncated
    assert all(is_plausible_name(a) for a in paper.authors)


def test_author_page_all_authors_of_some_entries(seed_results):
    papers = seed_results["001"].papers
    assert papers[0].authors == ["Aaron Grattafiori", "Abhimanyu Dubey", "Abhinav Jauhri"]
    assert papers[7].authors == ["Dzmitry Huba", "John Nguyen", "Kshitiz Malik"]
    assert papers[10].authors == ["Duc Bui", "Kshitiz Malik", "Jack Goetz"]


def test_author_page_dates_categories_code_affiliations(seed_results):
    papers = seed_results["001"].papers
    assert [p.date for p in papers] == [
        "2024-07-31", "2023-09-27", "2022-04-08", "2022-06-30", "2022-10-14", "2022-04-04",
        "2025-02-02", "2021-11-08", "2021-06-11", "2019-09-27", "2019-09-27",
    ]
    assert all(p.versions == [p.date] for p in papers)
    assert [p.categories for p in papers[:3]] == [["cs.AI"], ["cs.CL"], ["cs.LG"]]
    assert [p.has_code for p in papers] == [False, False, False, True] + [False] * 7
    assert papers[0].affiliations == ["allen-ai", "berkeley"]
    assert papers[1].affiliations == ["meta-ai"]
    assert papers[3].affiliations == []
    assert [p.sources[0].line for p in papers] == list(range(1, 32, 3))


def test_author_page_year_inferred_for_current_year_entry(seed_results):
    papers = seed_results["001"].papers
    feb = papers[6]
    assert feb.year_inferred and feb.year == 2025  # latest shown year (2024) + 1
    assert not any(p.year_inferred for i, p in enumerate(papers) if i != 6)


def test_author_page_abstract_keeps_latex_for_merge(seed_results):
    abstract = seed_results["001"].papers[3].abstract
    assert abstract.startswith("An oft-cited challenge of federated learning")
    assert "\\emph{Data heterogeneity}" in abstract


# ---- seeds: arXiv listing ---------------------------------------------------------------------------

def test_arxiv_listing_ids_dates_comments_dois(seed_results):
    papers = seed_results["003"].papers
    assert [p.arxiv_id for p in papers] == [
        "2407.21783", "2304.10190", "2304.14271", "2302.13438", "2301.13618",
        "2206.10963", "2206.05209", "2205.14206", "2201.01144", "2107.03832",
    ]
    by_id = {p.arxiv_id: p for p in papers}
    assert by_id["2304.10190"].doi == "10.1145/3530190.3534809"
    assert [p.arxiv_id for p in papers if p.doi] == ["2304.10190"]
    assert by_id["2206.10963"].comments == "12 pages, 5 figures, 40 references"
    assert by_id["2205.14206"].comments == "7 pages, 4 figures. arXiv admin note: text overlap with arXiv:2201.01144"
    assert by_id["2201.01144"].comments == "7 pages, 4 figures"
    assert by_id["2304.14271"].comments == ""
    assert by_id["2304.10190"].date == "2023-04-20" and by_id["2304.10190"].versions == ["2023-04-20"]
    assert by_id["2107.03832"].date == "2021-07-08"
    assert by_id["2201.01144"].abstract.startswith("The proliferation of emergent network applications (e.g., AR/VR")
    assert [p.sources[0].line for p in papers[:3]] == [1, 9, 14]


def test_arxiv_listing_first_entry_has_title_and_full_authors(seed_results):
    first, second = seed_results["003"].papers[:2]
    assert first.title == "The Llama 3 Herd of Models"
    assert first.authors[:3] == ["Abhimanyu Dubey", "Abhinav Jauhri", "Abhinav Pandey"]
    assert first.authors[-1] == "Zhiwei DeVito"
    assert "Laurens van der Maaten" in first.authors
    assert not first.authors_truncated
    assert first.abstract.startswith(LLAMA_ABSTRACT_START)
    assert second.title == "" and second.authors == []


# ---- synthetic: abstract list -------------------------------------------------------------------------

def test_abstract_list_reports_bad_lines_and_keeps_good_ones(tmp_path):
    text = "Maria\nAbstract: First abstract text.\nthis line is not an abstract\nAbstract:\n\nAbstract:Second one.\n"
    result = parse_text(abstract_list, tmp_path, text)
    assert [p.abstract for p in result.papers] == ["First abstract text.", "Second one."]
    assert [p.sources[0].line for p in result.papers] == [2, 6]
    assert [(pr.line, pr.message) for pr in result.problems] == [
        (3, "expected a line starting with 'Abstract:'"), (4, "empty abstract")]
    assert all(p.partial_authors == ["Maria"] for p in result.papers)


def test_abstract_list_without_owner(tmp_path):
    result = parse_text(abstract_list, tmp_path, "Abstract: Only one.\n")
    assert [p.partial_authors for p in result.papers] == [[]]
    assert result.problems == []


def test_abstract_list_sniff(tmp_path):
    path = tmp_path / "a.dat"
    path.write_text("Sid\nAbstract: One.\nAbstract: Two.\n")
    assert abstract_list.sniff(RawFile.read(path)) > 0.9
    path.write_text("Just some notes\nabout nothing\n")
    assert abstract_list.sniff(RawFile.read(path)) == 0.0


# ---- synthetic: author page --------------------------------------------------------------------------

def test_author_page_reports_malformed_entries(tmp_path):
    text = "\n".join([
        "CVMar 3, 2021Code",
        "Seeing Is Believing?Ana de la Cruz, Wei Zhang",
        "An abstract about seeing.",
        "LGApr 31, 2021",  # no such date
        "Bad Date PaperJohn Smith, Jane Doe",
        "Abstract two.",
        "LGMay 5, 2021",
        "only lowercase words and no author names at all",
        "Abstract three.",
        "CLJun 6, 2021",
        "Only a byline, no abstractJohn Smith",
        "AIJul 7, 2020",
        "Good Again with LLMsMary-Ann O'Neil, Ludwig van der Maaten et al. · mit, cmu",
        "Abstract four.",
    ]) + "\n"
    result = parse_text(author_page, tmp_path, text)
    assert [p.title for p in result.papers] == ["Seeing Is Believing?", "Good Again with LLMs"]
    assert result.papers[0].authors == ["Ana de la Cruz", "Wei Zhang"]
    assert result.papers[0].has_code and result.papers[0].categories == ["cs.CV"]
    last = result.papers[1]
    assert last.authors == ["Mary-Ann O'Neil", "Ludwig van der Maaten"] and last.authors_truncated
    assert last.affiliations == ["mit", "cmu"] and last.date == "2020-07-07"
    assert [p.sources[0].line for p in result.papers] == [1, 12]
    assert [pr.line for pr in result.problems] == [4, 8, 10]
    assert "date" in result.problems[0].message
    assert "title" in result.problems[1].message


def test_author_page_year_inference_without_any_year(tmp_path):
    result = parse_text(author_page, tmp_path, "LGFeb 2\nA Paper TitleJohn Smith\nAbstract.\n")
    (paper,) = result.papers
    assert paper.year_inferred and paper.year == date.today().year
    assert paper.date == f"{date.today().year}-02-02"


def test_author_page_stray_lines_reported(tmp_path):
    text = "stray preamble\nLGJan 5, 2020\nTitle OneJohn Smith\nAbstract one.\nleftover line\n"
    result = parse_text(author_page, tmp_path, text)
    assert [p.title for p in result.papers] == ["Title One"]
    assert [pr.line for pr in result.problems] == [1, 5]


@pytest.mark.parametrize(
    "text, title, authors",
    [
        ("Deep Nets for LLMJohn Smith, Jane Doe", "Deep Nets for LLM", ["John Smith", "Jane Doe"]),
        ("Is Attention Needed?Laurens van der Maaten, Luke de Oliveira",
         "Is Attention Needed?", ["Laurens van der Maaten", "Luke de Oliveira"]),
        ("Llama 3Aaron Grattafiori, Zhiwei DeVito", "Llama 3", ["Aaron Grattafiori", "Zhiwei DeVito"]),
        ("Robust FedSynthJohn MacArthur Lee, Ahmad Al-Dahle", "Robust FedSynth",
         ["John MacArthur Lee", "Ahmad Al-Dahle"]),
        ("Benchmarks 2024J. R. Smith, Michael L. Lathi", "Benchmarks 2024", ["J. R. Smith", "Michael L. Lathi"]),
        ("Scaling: A Study of GPT-4Jean-Pierre Dupont and Zoë Müller", "Scaling: A Study of GPT-4",
         ["Jean-Pierre Dupont", "Zoë Müller"]),
        ("A Spaced Title John Smith, Jane Doe", "A Spaced Title", ["John Smith", "Jane Doe"]),
    ],
)
def test_split_title_authors(text, title, authors):
    split = split_title_authors(text)
    assert split is not None
    assert (split.title, split.authors) == (title, authors)


def test_split_title_authors_refuses_non_names():
    assert split_title_authors("no names here at all") is None
    assert split_names("A B, C D et al.") == (["A B", "C D"], True)


# ---- synthetic: arXiv listing -----------------------------------------------------------------------

def test_arxiv_listing_reports_malformed_entries(tmp_path):
    text = "\n".join([
        "A Title", "Ann Lee, Bo Chen", "", "First abstract.", "", "arXiv:2101.00001 - doi: 10.1/ABC", "Created: 2021-01-01",
        "", "arXiv:2101.00002", "Created: 2021-01-02",  # id with no abstract
        "", "Third abstract.", "", "arXiv:not-an-id", "Created: 2021-01-03",
        "", "Fourth abstract.", "", "5 pages", "", "arXiv:2101.00004v2", "Created: 2021-02-30",  # bad date
        "", "Fifth abstract mentions arXiv:2101.00009 inside.", "", "see arXiv:2101.00001 too", "",
        "arXiv:2101.00005", "Created: 2021-01-05",
        "", "Dangling abstract with no id line.", "",
    ]) + "\n"
    result = parse_text(arxiv_listing, tmp_path, text)
    first, fifth = result.papers
    assert (first.title, first.authors, first.arxiv_id, first.doi) == ("A Title", ["Ann Lee", "Bo Chen"], "2101.00001", "10.1/abc")
    assert first.date == "2021-01-01" and first.sources[0].line == 1
    assert fifth.arxiv_id == "2101.00005" and fifth.comments == "see arXiv:2101.00001 too"
    assert fifth.abstract == "Fifth abstract mentions arXiv:2101.00009 inside."
    assert [pr.line for pr in result.problems] == [9, 14, 21, 31]


def test_arxiv_listing_sniff(tmp_path):
    path = tmp_path / "listing.dat"
    path.write_text("Abstract text.\n\narXiv:2101.00001\nCreated: 2021-01-01\n")
    assert arxiv_listing.sniff(RawFile.read(path)) > 0.9
    assert detect(RawFile.read(path)).FORMAT == "arxiv_listing"


# ---- merge: near-duplicate abstracts ------------------------------------------------------------------

def test_near_duplicate_abstracts_merge(seed_results):
    llama = seed_results["003"].papers[0]
    latex = Paper(abstract=llama.abstract.replace("foundation models", "\\emph{foundation  models}"))
    truncated = Paper(abstract=llama.abstract[:600])
    other = Paper(abstract=llama.abstract[:600] + " More.", arxiv_id="2401.00001")  # another id: kept apart
    assert near_duplicate_abstracts(llama.abstract, latex.abstract)
    papers = merge_all([latex, truncated, Paper.from_dict(llama.to_dict()), other])
    assert [p.arxiv_id for p in papers] == ["2407.21783", "2401.00001"]
    assert len(papers[0].aliases) >= 1


def test_arxiv_listing_tolerates_loose_id_blocks(tmp_path):
    text = "One abstract.\n\narXiv:2101.00001v3 [cs.LG] - doi: 10.5555/XYZ.1\n\nCreated: 2021-01-01\n\nTwo abstract.\n\narXiv:2101.00002\n"
    result = parse_text(arxiv_listing, tmp_path, text)
    assert result.problems == []
    one, two = result.papers
    assert (one.arxiv_id, one.doi, one.date, one.abstract) == ("2101.00001", "10.5555/xyz.1", "2021-01-01", "One abstract.")
    assert (two.arxiv_id, two.date, two.versions, two.abstract) == ("2101.00002", None, [], "Two abstract.")
