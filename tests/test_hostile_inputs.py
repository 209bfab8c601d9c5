"""Hostile input corpus: every bad file either parses (papers + Problems) or raises InputError.

A fixture generates the corpus in a temporary directory (nothing binary is committed). For each file
`parse_file` must return papers and Problems, or raise `InputError` whose message names the file
(and the line, where one applies). Any other exception is a bug. Small hypothesis fuzz tests
throw random text and mutated files at each export parser directly.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import random
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.ingest import arxiv_jsonl, bibtex, parse_file, pdf, table
from assistant.ingest.base import ParseResult, RawFile
from assistant.papers import merge_all
from tests.pdf_factory import make_pdf, paper_pdf

RNG = random.Random(1234)
JUNK = RNG.randbytes(4096)
SCRIPT = '<script>alert("x")</script><img src=x onerror="fetch(\'//evil\')">'
GOOD_ROW = {"title": "A Good Paper", "abstract": "A perfectly ordinary abstract.", "authors": "Ann Lee; Bo Chen"}


def jsonl(*records: object) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode() + b"\n"


def csv_text(*rows: str, header: str = "title,abstract,authors") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(paper_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("papers.csv", csv_text("T,A,B"))
    return out.getvalue()


def big_jsonl(path: Path) -> None:
    """~50 MB: a few good records, then one 50 MB line (an absurd abstract)."""
    with path.open("wb") as out:
        out.write(jsonl(GOOD_ROW, {**GOOD_ROW, "title": "Second Good Paper"}))
        out.write(b'{"title": "Huge", "abstract": "')
        out.write(b"lorem ipsum dolor " * (50 * 1024 * 1024 // 18))
        out.write(b'"}\n')


def big_csv(path: Path) -> None:
    """~50 MB: a good row, then an unclosed quote that swallows the rest of the file."""
    with path.open("wb") as out:
        out.write(csv_text("Fine Title,Fine abstract,Ann Lee", 'Broken,"never closed,Someone'))
        out.write(b"more text, with commas, and newlines\n" * (50 * 1024 * 1024 // 37))


@dataclass
class Case:
    name: str
    make: Callable[[Path], object]
    expect: str  # "parse", "error" or "either"
    line: int | None = None  # an error's message must name this line
    check: Callable[[ParseResult], object] | None = None
    contains: str = ""  # an error's message must contain this


def data(content: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(content)


def titles(result: ParseResult) -> list[str]:
    return [p.title for p in result.papers]


def problem_lines(result: ParseResult) -> list[int | None]:
    return [p.line for p in result.problems]


def _check_html(result: ParseResult) -> None:
    assert SCRIPT in titles(result)  # stored verbatim, inert: nothing here renders or runs it
    assert any(SCRIPT in p.abstract for p in result.papers)


def _check_dup(result: ParseResult) -> None:
    assert len(result.papers) == 2 and {p.id for p in result.papers} == {"2407.21783"}
    merged = merge_all(result.papers)
    assert len(merged) == 1 and merged[0].title in {"First Version", "Conflicting Title"}


def _check_nul(result: ParseResult) -> None:
    assert not any("\x00" in p.title + p.abstract for p in result.papers)
    assert titles(result) == ["T1", "Filler", "T3"]


CASES: list[Case] = [
    # -- binary junk, whatever the extension
    Case("junk.bin", data(JUNK), "error"),
    Case("junk.csv", data(JUNK), "error"),
    Case("junk.tsv", data(JUNK), "error"),
    Case("junk.bib", data(JUNK), "error"),
    Case("junk.pdf", data(JUNK), "error"),
    Case("junk.jsonl", data(JUNK), "error"),
    Case("junk.json", data(JUNK), "error"),
    Case("junk.txt", data(JUNK), "error"),
    Case("high_bytes.csv", data(bytes(RNG.randrange(0x80, 0x100) for _ in range(3000))), "error"),
    Case("archive.csv", lambda p: p.write_bytes(zip_bytes()), "error"),
    Case("compressed.jsonl", data(gzip.compress(jsonl(GOOD_ROW))), "error"),
    Case("utf16_no_bom.csv", data(csv_text("T,A,B").decode().encode("utf-16-le")), "error"),
    Case("broken_utf16.csv", data(codecs.BOM_UTF16_LE + b"t\x00i\x00t"), "error"),
    Case("nul_early.csv", data(b"title,abstract\n\x00\x00A,B\n"), "error", contains="binary"),
    # -- PDFs that are not readable papers
    Case("truncated.pdf", lambda p: p.write_bytes(paper_pdf()[:900]), "error", contains="PDF"),
    Case("truncated_tail.pdf", lambda p: p.write_bytes(paper_pdf()[:-120]), "either"),
    Case("header_only.pdf", data(b"%PDF-1.7\n"), "error"),
    Case("pdf_then_junk.pdf", data(b"%PDF-1.4\n" + JUNK), "error"),
    Case("pdf_magic_json.pdf", data(b'%PDF-1.4\n{"title": "x"}\n'), "error"),
    Case("scanned.pdf", lambda p: p.write_bytes(make_pdf([None, None])), "error", contains="run OCR first"),
    Case("encrypted.pdf", lambda p: p.write_bytes(encrypted_pdf()), "error", contains="encrypted"),
    Case("text_on_page_two.pdf", lambda p: p.write_bytes(
        make_pdf([None, [("Title On The Second Page", 18), ("Body text.", 10)]])), "parse",
        check=lambda r: titles(r) == ["Title On The Second Page"]),
    # -- empty and nearly empty
    Case("empty.txt", data(b""), "error", contains="empty"),
    Case("empty.csv", data(b""), "error", contains="empty"),
    Case("empty.pdf", data(b""), "error", contains="empty"),
    Case("empty.jsonl", data(b""), "error", contains="empty"),
    Case("whitespace.txt", data(b" \n\t\n   \r\n"), "error"),
    Case("whitespace.bib", data(b"\n\n\n   \n"), "error"),
    Case("bom_only.csv", data(codecs.BOM_UTF8), "error"),
    Case("lone_brace.json", data(b"{"), "error", line=1),
    Case("delimiters_only.csv", data(b",,,,\n,,,,\n,,,,\n"), "error"),
    Case("header_only.csv", data(b"title,abstract,authors\n"), "error"),
    # -- other encodings that are valid and must parse
    Case("utf16le_bom.csv", data(codecs.BOM_UTF16_LE + "title\tabstract\nÜber Graphen\tZusammenfassung ähnlich\n"
                                 .encode("utf-16-le")), "parse", check=lambda r: titles(r) == ["Über Graphen"]),
    Case("utf16be_bom.jsonl", data(codecs.BOM_UTF16_BE + jsonl({**GOOD_ROW, "title": "Große Modelle"})
                                   .decode().encode("utf-16-be")), "parse",
         check=lambda r: titles(r) == ["Große Modelle"]),
    Case("utf8_bom.bib", data(codecs.BOM_UTF8 + b"@article{k, title={Caf\xc3\xa9 Theory}, year=2020}\n"), "parse",
         check=lambda r: titles(r) == ["Café Theory"]),
    Case("latin1.csv", data("title;abstract;authors\nModèles;Résumé ici;Müller, Jürgen\n".encode("latin-1")),
         "parse", check=lambda r: r.papers[0].authors == ["Jürgen Müller"]),
    Case("latin1.bib", data("@misc{k, title={Théorie}, author={Gödel, Kurt}}\n".encode("latin-1")), "parse",
         check=lambda r: r.papers[0].authors == ["Kurt Gödel"]),
    Case("cr_line_endings.csv", data(b"title,abstract\rOne,First\rTwo,Second\r"), "parse",
         check=lambda r: titles(r) == ["One", "Two"]),
    Case("unicode name (1) ü.csv", data(csv_text("T1,A1,Ann Lee")), "parse"),
    # -- broken JSON
    Case("invalid_lines.jsonl", data(jsonl(GOOD_ROW, "{oops", '{"title": "x",', GOOD_ROW, "}")), "parse",
         check=lambda r: len(r.papers) == 2 and problem_lines(r) == [2, 3, 5]),
    Case("all_invalid.jsonl", data(b"{oops\n{nope\n"), "error", line=1),
    Case("deep_line.jsonl", data(jsonl(GOOD_ROW, "[" * 100_000 + "]" * 100_000)), "parse",
         check=lambda r: "nested too deeply" in r.problems[0].message and r.problems[0].line == 2),
    Case("deep_array.json", data(b"[" * 200_000), "error", line=1),
    Case("deep_object.json", data(b'{"a":' * 50_000 + b"1" + b"}" * 50_000), "error", line=1),
    Case("scalars.jsonl", data(jsonl(GOOD_ROW, "[1, 2]", "null", '"text"', "42")), "parse",
         check=lambda r: problem_lines(r) == [2, 3, 4, 5]),
    Case("wrong_types.jsonl", data(jsonl({"title": ["a", "b"], "abstract": 5, "authors": {"x": 1}, "year": "abc",
                                          "categories": 7, "doi": ["x"]})), "parse"),
    Case("huge_int.jsonl", data(b'{"title": "t", "year": ' + b"9" * 5000 + b"}\n" + jsonl(GOOD_ROW)), "parse",
         check=lambda r: problem_lines(r) == [1]),
    Case("big_int.jsonl", data(b'{"title": "t", "abstract": "a", "year": ' + b"9" * 400 + b"}\n"), "parse",
         check=lambda r: r.papers[0].year is None),
    Case("nan.jsonl", data(b'{"title": "T", "abstract": "A", "year": NaN, "date": Infinity}\n'), "parse",
         check=lambda r: r.papers[0].year is None),
    Case("no_title_no_abstract.jsonl", data(jsonl({"id": "x"}, {"authors": "A B"})), "error", line=1),
    # -- broken tables
    Case("ragged.csv", data(csv_text("T1,A1,Ann Lee", "T2,A2", "T3,A3,Bo Chen,extra,cells", "T4,A4,Cy Diaz,,")),
         "parse", check=lambda r: titles(r) == ["T1", "T4"] and problem_lines(r) == [3, 4]),
    Case("unbalanced_quote.csv", data(csv_text("T1,A1,Ann Lee", 'T2,"A2 never closed,Bo', "T3,A3,Cy")), "parse",
         check=lambda r: titles(r) == ["T1"] and problem_lines(r) == [3]),
    Case("no_known_columns.csv", data(b"Name,Text,Who\nA,B,C\n"), "error", contains="columns found"),
    Case("many_columns.csv", data(csv_text("T,A," + ",".join("x" * 10_000),
                                           header="title,abstract," + ",".join(f"c{i}" for i in range(10_000)))),
         "parse"),
    Case("formula.csv", data(csv_text('"=HYPERLINK(""http://evil"",""x"")",A,Ann Lee')), "parse",
         check=lambda r: titles(r) == ['=HYPERLINK("http://evil","x")']),
    Case("ansi.csv", data(csv_text("\x1b[31mRed\x1b[0m Title,A,Ann Lee")), "parse",
         check=lambda r: "\x1b" not in r.papers[0].title),
    Case("nul_late.csv", data(csv_text("T1,A1,Ann Lee", "Filler," + "x" * 9000 + ",Cy", "T\x003,A\x003,Bo")), "parse",
         check=_check_nul),
    Case("many_authors.csv", data(csv_text('T,A,"' + "; ".join(f"Author{i} Name" for i in range(10_000)) + '"')),
         "parse", check=lambda r: len(r.papers[0].authors) == 10_000),
    # -- absurd sizes
    Case("long_field.csv", data(csv_text("T1,A1,Ann Lee", "T2," + "x" * 2_000_000 + ",Bo Chen")), "parse",
         check=lambda r: titles(r) == ["T1"] and problem_lines(r) == [3] and "million" in r.problems[0].message),
    Case("long_field.jsonl", data(jsonl(GOOD_ROW, {"title": "Big", "abstract": "y" * 2_000_000})), "parse",
         check=lambda r: problem_lines(r) == [2]),
    Case("long_field.bib", data(b"@misc{a, title={Fine}}\n@misc{b, title={Big}, abstract={" + b"z" * 2_000_000
                                + b"}}\n"), "parse", check=lambda r: titles(r) == ["Fine"]),
    Case("long_title.csv", data(csv_text("T" * 50_000 + ",A,Ann Lee")), "parse",
         check=lambda r: len(r.papers[0].title) <= 1001 and "cut" in r.problems[0].message),
    Case("long_line.txt", data(b"a" * 2_000_000), "either"),
    Case("big_50mb.jsonl", big_jsonl, "parse",
         check=lambda r: titles(r) == ["A Good Paper", "Second Good Paper"] and problem_lines(r) == [3]),
    Case("big_50mb.csv", big_csv, "parse", check=lambda r: titles(r) == ["Fine Title"]),
    # -- duplicates and conflicts
    Case("duplicate_ids.jsonl", data(jsonl(
        {"id": "2407.21783", "title": "First Version", "abstract": "Original abstract.", "year": 2024},
        {"id": "2407.21783", "title": "Conflicting Title", "abstract": "Different abstract.", "year": 1999})),
        "parse", check=_check_dup),
    Case("duplicate_keys.bib", data(b"@misc{k, title={One}}\n@misc{k, title={Two}}\n@misc{j, title={Three},\n"
                                    b" title={Four}}\n"), "parse",
         check=lambda r: titles(r) == ["One", "Two", "Four"] and problem_lines(r) == [2, 3]),
    Case("duplicate_arxiv.csv", data(csv_text("One,A,Ann,2407.21783", "Two,B,Bo,arXiv:2407.21783v3",
                                              header="title,abstract,authors,arxiv_id")), "parse",
         check=lambda r: [p.id for p in r.papers] == ["2407.21783", "2407.21783"]),
    # -- markup and scripts are text
    Case("html.csv", data(csv_text(f'"{SCRIPT.replace(chr(34), chr(34) * 2)}",'
                                   f'"Abstract {SCRIPT.replace(chr(34), chr(34) * 2)}",Ann Lee')),
         "parse", check=_check_html),
    Case("html.jsonl", data(jsonl({"title": SCRIPT, "abstract": f"Abstract {SCRIPT}"})), "parse", check=_check_html),
    Case("html.bib", data(b"@misc{k, title={<b>Bold</b> <script>x()</script>}}\n"), "parse",
         check=lambda r: titles(r) == ["<b>Bold</b> <script>x()</script>"]),
    # -- broken BibTeX
    Case("all_broken.bib", data(b"@article{a,\n  title = {never closed,\n\n@article{b,\n title = {also\n"),
         "error", line=1),
    Case("unclosed_at_end.bib", data(b"@misc{a, title={Fine}}\n@article{b, title={unclosed\n"), "parse",
         check=lambda r: titles(r) == ["Fine"] and problem_lines(r) == [2]),
    Case("deep_braces.bib", data(b"@misc{x, title = {" + b"{" * 20_000 + b"a" + b"}" * 20_000 + b"}}\n"), "parse"),
    Case("string_loop.bib", data(b"@string{a = a # a}\n@misc{x, title = a}\n@misc{y, title={ok}}\n"), "parse"),
    # -- misleading extension, valid content
    Case("table_named.pdf", data(csv_text("T,A,Ann Lee")), "parse", check=lambda r: r.format == "table"),
    Case("pdf_named.csv", lambda p: p.write_bytes(paper_pdf()), "parse", check=lambda r: r.format == "pdf"),
    # -- not files
    Case("directory.csv", lambda p: p.mkdir(), "error"),
    Case("missing.csv", lambda p: None, "error", contains="no such file"),
    Case("broken_link.jsonl", lambda p: p.symlink_to(p.parent / "nowhere.jsonl"), "error"),
    Case("unreadable.csv", lambda p: (p.write_bytes(csv_text("T,A,B")), p.chmod(0)), "error"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("hostile")
    for case in CASES:
        case.make(directory / case.name)
    return directory


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file(corpus: Path, case: Case) -> None:
    path = corpus / case.name
    if case.name == "unreadable.csv" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    started = time.monotonic()
    try:
        result = parse_file(path)
    except InputError as error:
        message = str(error)
        assert str(path) in message, message
        if case.line is not None:
            assert f"{path}:{case.line}:" in message, message
        assert case.contains in message, message
        assert case.expect in ("error", "either"), f"expected papers, got: {message}"
    else:
        assert case.expect in ("parse", "either"), f"expected an InputError, got {result}"
        assert result.papers and all(p.id and (p.title or p.abstract) for p in result.papers)
        assert all(p.path == str(path) and str(path) in str(p) for p in result.problems)
        assert all(s.path == str(path) for p in result.papers for s in p.sources)
        if case.check is not None:
            assert case.check(result) in (None, True), result.problems
    assert time.monotonic() - started < 60


# ---- fuzzing ------------------------------------------------------------------------------------

TOKENS = ["{", "}", "[", "]", '"', ",", ";", "\t", "\n", "\r\n", "@article{", "@string{", "title", "abstract",
          "author", "=", ":", " and ", "\\'", "{\\\"o}", "#", "%", "null", "1e999", "\\u0000", "\x00", "ü", "𝔘",
          "\ufeff", "arXiv:2407.21783v2", "10.1000/x", "et al.", "'", "(", ")", "%PDF-", "<script>"]
structured = st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=60).map("".join)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_quietly(module, name: str, content: bytes) -> None:
    raw = RawFile(path=Path(name), data=content)
    try:
        result = module.parse(raw)
    except InputError as error:
        assert name in str(error)
        return
    assert result.papers


@pytest.mark.parametrize("module, name", [(arxiv_jsonl, "f.jsonl"), (table, "f.csv"), (bibtex, "f.bib")])
@FUZZ
@given(text=st.text(max_size=300) | structured)
def test_fuzz_text_parsers(module, name: str, text: str) -> None:
    _parse_quietly(module, name, text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(text=structured)
def test_fuzz_parse_file_never_crashes(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz_input.txt"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        result = parse_file(path)
    except InputError as error:
        assert str(path) in str(error)
    else:
        assert result.papers


PDF_BYTES = paper_pdf()


@FUZZ
@given(cut=st.integers(0, len(PDF_BYTES)), flips=st.lists(st.tuples(st.integers(0, len(PDF_BYTES) - 1),
                                                                    st.integers(0, 255)), max_size=8))
def test_fuzz_mutated_pdf(cut: int, flips: list[tuple[int, int]]) -> None:
    mutated = bytearray(PDF_BYTES)
    for position, value in flips:
        mutated[position] = value
    _parse_quietly(pdf, "f.pdf", bytes(mutated[: max(cut, 8)]))
