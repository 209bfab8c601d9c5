"""The export parsers (arXiv JSONL, CSV/TSV, BibTeX, PDF) on real and generated files. No store."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.ingest import arxiv_jsonl, bibtex, parse_file, pdf, table
from assistant.ingest.base import RawFile
from assistant.ingest.detect import detect
from assistant.ingest.fields import decode_latex, parse_date, split_authors
from tests.pdf_factory import make_pdf, paper_pdf

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ARXIV_SAMPLE = SHARED / "arxiv-metadata-sample.jsonl"


def write(tmp_path: Path, name: str, content: str | bytes) -> RawFile:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return RawFile.read(path)


# ---- shared field helpers -----------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("C. Bal\\'azs", "C. Balázs"),
    ("M{\\\"u}ller", "M{ü}ller"),
    ("\\v{S}koda and Erd\\H{o}s", "Škoda and Erdős"),
    ("Fran\\c{c}ois Gau\\ss", "François Gauß"),
    ("\\O{}ystein and {\\aa}se", "Øystein and {å}se"),
    ("no accents here", "no accents here"),
])
def test_decode_latex(given: str, expected: str) -> None:
    assert decode_latex(given) == expected


@pytest.mark.parametrize("given, names, truncated", [
    ("Alice Smith; Bob Jones", ["Alice Smith", "Bob Jones"], False),
    ("Smith, Alice; Jones, Bob", ["Alice Smith", "Bob Jones"], False),
    ("Alice Smith, Bob Jones and Carol White", ["Alice Smith", "Bob Jones", "Carol White"], False),
    ("Smith, Alice and Jones, Bob", ["Alice Smith", "Bob Jones"], False),
    ("['Alice Smith', 'Bob Jones']", ["Alice Smith", "Bob Jones"], False),
    ('["Alice Smith", "Bob Jones"]', ["Alice Smith", "Bob Jones"], False),
    ("Smith, J.", ["J. Smith"], False),
    ("Alice Smith, Bob Jones et al.", ["Alice Smith", "Bob Jones"], True),
    ("A. Smith (MIT) and B. Jones (1) ((1) CMU)", ["A. Smith", "B. Jones"], False),
    ("", [], False),
])
def test_split_authors(given: str, names: list[str], truncated: bool) -> None:
    assert split_authors(given) == (names, truncated)


@pytest.mark.parametrize("given, expected", [
    ("2024-07-31", "2024-07-31"), ("2024-07", "2024-07"), ("2024", "2024"), (2019, "2019"),
    ("Mon, 2 Apr 2007 19:18:42 GMT", "2007-04-02"), ("July 2023", "2023-07"), ("31 Jul 2024", "2024-07-31"),
    ("Jul 31, 2024", "2024-07-31"), ("31/07/2024", "2024-07-31"), ("2024-07-31T10:00:00Z", "2024-07-31"),
    ("sometime", None), ("", None), (None, None), ("2024-13-45", "2024"),
])
def test_parse_date(given: object, expected: str | None) -> None:
    assert parse_date(given) == expected


# ---- arXiv metadata snapshot --------------------------------------------------------------------

@pytest.fixture(scope="module")
def arxiv_sample():
    return arxiv_jsonl.parse(RawFile.read(ARXIV_SAMPLE))


def test_arxiv_sample_parses_every_record(arxiv_sample) -> None:
    assert len(arxiv_sample.papers) == 200
    assert arxiv_sample.problems == []
    assert all(p.arxiv_id and p.id == p.arxiv_id for p in arxiv_sample.papers)
    assert all(p.title and p.abstract and p.authors and p.date for p in arxiv_sample.papers)
    assert not any("\n" in p.title or "  " in p.abstract for p in arxiv_sample.papers)


def test_arxiv_record_fields(arxiv_sample) -> None:
    paper = next(p for p in arxiv_sample.papers if p.id == "0704.0001")
    assert paper.title == ("Calculation of prompt diphoton production cross sections at Tevatron and LHC "
                           "energies")
    assert paper.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]
    assert paper.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics")
    assert paper.date == "2007-04-02" and paper.year == 2007
    assert paper.versions == ["2007-04-02", "2007-07-24"]
    assert paper.doi == "10.1103/physrevd.76.013009"
    assert paper.categories == ["hep-ph"]
    assert paper.comments == "37 pages, 15 figures; published version"
    assert paper.sources[0].line == 1 and paper.sources[0].format == "arxiv_jsonl"
    second = next(p for p in arxiv_sample.papers if p.id == "0704.0002")
    assert second.categories == ["math.CO", "cs.CG"]


def test_arxiv_authors_string_is_decoded_without_authors_parsed(tmp_path: Path) -> None:
    record = json.loads(ARXIV_SAMPLE.read_text().splitlines()[0])
    del record["authors_parsed"]
    result = arxiv_jsonl.parse(write(tmp_path, "one.jsonl", json.dumps(record)))
    assert result.papers[0].authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"]


def test_generic_jsonl_keeps_the_source_id_as_alias(tmp_path: Path) -> None:
    lines = [
        {"id": "sf-61a49bb214", "title": "Rare Variants", "abstract": "Genome-wide association studies."},
        {"id": "2407.21783", "title": "The Llama 3 Herd of Models", "abstract": "Foundation models.",
         "authors": ["Aaron Grattafiori", "Abhimanyu Dubey"], "year": 2024},
        {"paper_id": "x1", "summary": "Only a summary here, no title at all."},
    ]
    raw = write(tmp_path, "eval.jsonl", "\n".join(json.dumps(r) for r in lines))
    result = arxiv_jsonl.parse(raw)
    first, second, third = result.papers
    assert first.aliases == ["sf-61a49bb214"] and first.id.startswith("h")
    assert second.id == "2407.21783" and second.year == 2024 and second.authors[1] == "Abhimanyu Dubey"
    assert third.title_derived and third.aliases == ["x1"]


def test_json_array_and_wrapper_object(tmp_path: Path) -> None:
    records = [{"title": f"Paper {i}", "abstract": f"Abstract number {i}."} for i in range(3)]
    array = arxiv_jsonl.parse(write(tmp_path, "a.json", json.dumps(records, indent=2)))
    assert [p.title for p in array.papers] == ["Paper 0", "Paper 1", "Paper 2"]
    assert [p.sources[0].line for p in array.papers] == [2, 6, 10]
    wrapped = arxiv_jsonl.parse(write(tmp_path, "w.json", json.dumps({"papers": records}, indent=1)))
    assert len(wrapped.papers) == 3


def test_invalid_json_lines_are_problems_with_line_numbers(tmp_path: Path) -> None:
    good = json.dumps({"title": "Good", "abstract": "Fine."})
    raw = write(tmp_path, "mixed.jsonl", "\n".join([good, "{not json", good.replace("Good", "Also good"),
                                                   "[" * 5000 + "]" * 5000, '"a string"']))
    result = arxiv_jsonl.parse(raw)
    assert [p.title for p in result.papers] == ["Good", "Also good"]
    assert [p.line for p in result.problems] == [2, 4, 5]
    assert "invalid JSON" in result.problems[0].message


# ---- CSV / TSV ----------------------------------------------------------------------------------

CSV = (
    'Title,Summary,Authors,Published,URL,Subjects\n'
    '"Attention, Again",An abstract with a comma,"[\'Alice Smith\', \'Bob Jones\']",2024-07-31,'
    'https://arxiv.org/abs/2407.21783v2,cs.CL; cs.LG\n'
    'Second Paper,"Multi\nline abstract","Smith, John; Doe, Jane",July 2023,,\n'
    'Third Paper,Third abstract,Alice and Bob Carter,2020,,\n'
)


def test_csv_with_common_column_names(tmp_path: Path) -> None:
    result = table.parse(write(tmp_path, "export.csv", CSV))
    first, second, third = result.papers
    assert first.title == "Attention, Again" and first.abstract == "An abstract with a comma"
    assert first.authors == ["Alice Smith", "Bob Jones"]
    assert first.arxiv_id == "2407.21783" and first.id == "2407.21783"
    assert first.date == "2024-07-31" and first.categories == ["cs.CL", "cs.LG"]
    assert second.abstract == "Multi line abstract" and second.authors == ["John Smith", "Jane Doe"]
    assert second.date == "2023-07" and second.sources[0].line == 3
    assert third.authors == ["Alice", "Bob Carter"] and third.sources[0].line == 5
    assert result.problems == []


def test_tsv_with_other_names_and_ragged_rows(tmp_path: Path) -> None:
    text = ("paper_id\tTITLE\tAbstract\tauthor\tyear\tarXiv ID\tDOI\n"
            "p1\tOne\tFirst abstract.\tLovelace, Ada\t1843\t\t10.1000/XYZ\n"
            "p2\tTwo\tToo few fields\n"
            "p3\tThree\tThird abstract.\tTuring, Alan\t1950\tarXiv:cs/0112017\t\n")
    result = table.parse(write(tmp_path, "list.tsv", text))
    assert [p.title for p in result.papers] == ["One", "Three"]
    one, three = result.papers
    assert one.authors == ["Ada Lovelace"] and one.year == 1843 and one.doi == "10.1000/xyz"
    assert one.aliases == ["p1"] and one.id == "doi:10.1000/xyz"
    assert three.arxiv_id == "cs/0112017"
    assert len(result.problems) == 1 and result.problems[0].line == 3
    assert "3 fields" in result.problems[0].message


def test_columns_that_cannot_be_mapped_name_the_columns(tmp_path: Path) -> None:
    raw = write(tmp_path, "odd.csv", "Name,Text,Who\nA title,A text,Someone\n")
    with pytest.raises(InputError) as caught:
        table.parse(raw)
    assert "'Name', 'Text', 'Who'" in str(caught.value) and "odd.csv" in str(caught.value)
    mapping = table.parse_columns_option("title=Name, abstract=text,authors=Who")
    assert mapping == {"title": "Name", "abstract": "text", "authors": "Who"}
    result = table.parse_with_columns(raw, mapping)
    assert result.papers[0].title == "A title" and result.papers[0].authors == ["Someone"]


def test_columns_option_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown field 'colour'"):
        table.parse_columns_option("colour=Name")
    with pytest.raises(InputError, match="FIELD=COLUMN"):
        table.parse_columns_option("title")
    raw = write(tmp_path, "t.csv", "Title,Abstract\nA,B\n")
    with pytest.raises(InputError, match="no column named 'Missing'"):
        table.parse_with_columns(raw, {"abstract": "Missing"})


def test_semicolon_csv_in_latin1(tmp_path: Path) -> None:
    text = "Titel;Abstract;Autoren\nÜber Modelle;Eine Zusammenfassung;Müller, Jörg\n"
    raw = write(tmp_path, "de.csv", text.encode("cp1252"))
    result = table.parse(raw)
    assert result.papers[0].title == "Über Modelle"
    assert result.papers[0].abstract == "Eine Zusammenfassung"


# ---- BibTeX -------------------------------------------------------------------------------------

BIB = r"""
@article{dubey2024llama,
  title = {The {Llama} 3 Herd of Models},
  author = {Grattafiori, Aaron and Dubey, Abhimanyu and M{\"u}ller, J{\"o}rg and others},
  year = {2024},
  month = jul,
  eprint = {2407.21783},
  archivePrefix = {arXiv},
  primaryClass = {cs.AI},
  keywords = {language models, scaling},
  abstract = {Modern artificial intelligence systems
              are powered by foundation models.}
}

@inproceedings{broken2020,
  title = {Never closed,
  author = {Nobody, Here}

@inproceedings{vaswani2017,
  title = "Attention is All you Need",
  author = "Ashish Vaswani and Noam Shazeer",
  booktitle = {NeurIPS},
  year = 2017,
  doi = {10.5555/3295222.3295349}
}

@misc{scholar,
  title={Some Scholar Export},
  author={Li, Wei},
  journal={arXiv preprint arXiv:2101.00001},
  year={2021}
}
"""


def test_bibtex_entries(tmp_path: Path) -> None:
    result = bibtex.parse(write(tmp_path, "refs.bib", BIB))
    llama, attention, scholar = result.papers
    assert llama.title == "The Llama 3 Herd of Models"
    assert llama.authors == ["Aaron Grattafiori", "Abhimanyu Dubey", "Jörg Müller"] and llama.authors_truncated
    assert llama.arxiv_id == "2407.21783" and llama.id == "2407.21783" and llama.date == "2024-07"
    assert llama.categories == ["cs.AI", "language models", "scaling"]
    assert llama.abstract == "Modern artificial intelligence systems are powered by foundation models."
    assert llama.aliases == ["dubey2024llama"] and llama.sources[0].line == 2
    assert attention.authors == ["Ashish Vaswani", "Noam Shazeer"] and attention.year == 2017
    assert attention.doi == "10.5555/3295222.3295349"
    assert scholar.arxiv_id == "2101.00001" and scholar.authors == ["Wei Li"]
    assert len(result.problems) == 1 and result.problems[0].line == 15
    assert "broken BibTeX entry" in result.problems[0].message


def test_bibtex_duplicate_keys_keep_both(tmp_path: Path) -> None:
    text = "@misc{a, title={First}, year=2020}\n@misc{a, title={Second}, year=2021}\n"
    result = bibtex.parse(write(tmp_path, "dup.bib", text))
    assert [p.title for p in result.papers] == ["First", "Second"]
    assert "duplicate entry key 'a'" in result.problems[0].message and result.problems[0].line == 2


# ---- PDF ----------------------------------------------------------------------------------------

def test_pdf_front_matter(tmp_path: Path) -> None:
    result = pdf.parse(write(tmp_path, "paper.pdf", paper_pdf(meta_title="Microsoft Word - draft.docx")))
    (paper,) = result.papers
    assert paper.title == "Sparse Attention for Long Documents"
    assert paper.authors == ["Alice Johnson", "Bob Lee", "Carla Gómez"]
    assert paper.abstract.startswith("We study sparse attention for long documents.")
    assert paper.abstract.endswith("question answering benchmarks.")
    assert paper.arxiv_id == "2407.21783" and paper.id == "2407.21783"
    assert paper.date == "2024-07-31" and paper.categories == ["cs.CL"]
    assert "Prior work on efficient transformers" in paper.full_text
    assert "full_text" not in paper.to_dict()


def test_pdf_two_line_title_footnote_marks_and_inline_abstract(tmp_path: Path) -> None:
    data = make_pdf([[
        ("Learning to Rank with", 18), ("Very Long Titles", 18),
        ("Dana Scully1, Fox Mulder2*", 11), ("1FBI Academy, Quantico", 9), ("{dana,fox}@fbi.gov", 9),
        ("Abstract—We rank things. It works well in prac-", 10), ("tice and in theory.", 10),
        ("Keywords: ranking, titles", 10), ("I. INTRODUCTION", 10), ("Ranking is old.", 10),
    ]])
    (paper,) = pdf.parse(write(tmp_path, "ieee.pdf", data)).papers
    assert paper.title == "Learning to Rank with Very Long Titles"
    assert paper.authors == ["Dana Scully", "Fox Mulder"]
    assert paper.abstract == "We rank things. It works well in practice and in theory."


def test_pdf_metadata_title_wins_when_sensible(tmp_path: Path) -> None:
    data = paper_pdf(meta_title="Sparse Attention: The Published Title", arxiv_stamp=None)
    (paper,) = pdf.parse(write(tmp_path, "p.pdf", data)).papers
    assert paper.title == "Sparse Attention: The Published Title"
    assert paper.arxiv_id is None and paper.id.startswith("h")


def test_pdf_without_font_hints_uses_first_real_line(tmp_path: Path) -> None:
    data = make_pdf([[("Preprint. Under review.", 10), ("A Plain Title Line", 10), ("Body text goes here.", 10)]])
    (paper,) = pdf.parse(write(tmp_path, "plain.pdf", data)).papers
    assert paper.title == "A Plain Title Line"


def test_pdf_arxiv_id_from_file_name(tmp_path: Path) -> None:
    (paper,) = pdf.parse(write(tmp_path, "2101.00001v3.pdf", paper_pdf(arxiv_stamp=None))).papers
    assert paper.arxiv_id == "2101.00001"


def test_scanned_pdf_is_refused_with_advice(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no extractable text: scanned PDF\\? run OCR first") as caught:
        pdf.parse(write(tmp_path, "scan.pdf", make_pdf([None, None])))
    assert "scan.pdf" in str(caught.value)


def test_encrypted_pdf(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    def encrypted(password: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(paper_pdf())))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    with pytest.raises(InputError, match="encrypted PDF"):
        pdf.parse(write(tmp_path, "locked.pdf", encrypted("secret")))
    # An empty user password only restricts editing: the text is readable.
    (paper,) = pdf.parse(write(tmp_path, "open.pdf", encrypted(""))).papers
    assert paper.title == "Sparse Attention for Long Documents"


# ---- detection by content -----------------------------------------------------------------------

@pytest.mark.parametrize("name, content, expected", [
    ("refs.csv", BIB, "bibtex"),
    ("data.bib", ARXIV_SAMPLE.read_text().split("\n", 3)[0] + "\n", "arxiv_jsonl"),
    ("list.txt", CSV, "table"),
    ("table.json", "title\tabstract\nA\tB\n", "table"),
    ("paper.txt", paper_pdf(), "pdf"),
    ("notes.jsonl", json.dumps([{"title": "T", "abstract": "A"}]), "arxiv_jsonl"),
])
def test_detect_by_content_not_extension(tmp_path: Path, name: str, content: str | bytes, expected: str) -> None:
    raw = write(tmp_path, name, content)
    assert detect(raw).FORMAT == expected
    result = parse_file(raw.path)
    assert result.format == expected and result.papers
