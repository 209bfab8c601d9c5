"""Reference managers: a Zotero library built from Zotero's real schema, RIS and CSL-JSON exports
as the tools write them, and all of them in one library (real parsers, real Chroma, the real
embedder): fields, collections, tags, the user's citation keys, filters, re-sync and watching."""
from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading

import pytest

from assistant.errors import InputError
from assistant.ingest import iter_files, parse_file
from assistant.library import ingest_paths
from assistant.papers import Paper
from assistant.retrieve import Filters, filters_where, search
from tests.pdf_factory import paper_pdf
from tests.reference_manager_fixtures import (
    FEDAVG_ABSTRACT_1,
    FEDAVG_ABSTRACT_2,
    FT_CACHE_TEXT,
    build_zotero,
    write_bib,
    write_csl,
    write_ris,
)


@pytest.fixture
def zotero(tmp_path):
    linked = tmp_path / "elsewhere" / "glacier.pdf"
    linked.parent.mkdir()
    linked.write_bytes(paper_pdf(title="Greenland Glacier Melt from Satellite Radar", arxiv_stamp=None,
                                 abstract=("Meltwater lakes drain in hours, we find from radar.",)))
    fixture = build_zotero(tmp_path / "Zotero", linked)
    yield fixture
    fixture.library.close()


def by_title(papers: list[Paper]) -> dict[str, Paper]:
    return {p.title: p for p in papers}


# ---- Zotero -------------------------------------------------------------------------------------

def test_zotero_regular_items_with_their_fields(zotero):
    result = parse_file(zotero.folder / "zotero.sqlite")
    assert result.format == "zotero" and not result.problems
    papers = by_title(result.papers)
    # regular items only: no notes, attachments (child or top-level), nor the trashed preprint
    assert sorted(papers) == ["Attention Is All You Need", "Federated Learning with Non-IID Data",
                              "Foundations of Deep Learning", "Greenland Glacier Melt from Satellite Radar"]
    fed = papers["Federated Learning with Non-IID Data"]
    assert fed.authors == ["Yue Zhao", "Meng Li", "Liangzhen Lai"]  # in order; the editor is not an author
    assert (fed.date, fed.doi, fed.venue, fed.item_type) == ("2018-06-02", "10.1000/flnoniid.2018", "CoRR", "article-journal")
    assert fed.citation_key == "zhao2018federated"  # Better BibTeX's line in Extra
    assert fed.collections == ["Thesis/Chapter 2"] and fed.tags == ["federated", "to-read"]
    assert fed.full_text == FT_CACHE_TEXT  # Zotero's full-text cache, not the PDF parsed again
    att = papers["Attention Is All You Need"]
    assert att.citation_key == "vaswani2017attention"  # Zotero 7's citationKey field
    assert att.authors == ["Ashish Vaswani", "Noam Shazeer", "Google Brain"]  # a single-field name too
    assert att.venue == "Advances in Neural Information Processing Systems"  # proceedingsTitle, a base-field mapping
    assert att.arxiv_id == "1706.03762" and att.year == 2017 and att.item_type == "paper-conference"
    assert "Sparse attention everywhere" in att.full_text  # a stored PDF without a cache: parsed
    chapter = papers["Foundations of Deep Learning"]
    assert (chapter.venue, chapter.date, chapter.item_type) == ("Handbook of AI", "2020-03", "chapter")
    assert chapter.citation_key is None and chapter.full_text == ""
    glacier = papers["Greenland Glacier Melt from Satellite Radar"]
    assert "Meltwater lakes drain in hours" in glacier.full_text  # a linked file that exists
    assert "attachment in the trash" not in glacier.full_text
    assert glacier.tags == ["climate"] and glacier.collections == []
    # the missing linked file is reported, naming it; its item still went in
    assert len(result.notes) == 1 and "gone/chapter.pdf" in result.notes[0].message and "not found" in result.notes[0].message


def test_zotero_is_read_from_a_copy_while_zotero_holds_it(zotero):
    """Zotero running: WAL mode, recent writes only in the -wal file, a write transaction open.
    The library is read (recent writes included) and its files are not changed."""
    db = zotero.library.db
    db.execute("PRAGMA journal_mode=WAL")
    zotero.library.add_item("journalArticle", {"title": "Written a moment ago, still in the WAL"}, [("Ann", "Lee")])
    db.execute("BEGIN EXCLUSIVE")
    files = [zotero.folder / "zotero.sqlite", zotero.folder / "zotero.sqlite-wal"]
    assert files[1].exists()
    before = [hashlib.sha1(f.read_bytes()).hexdigest() for f in files]
    result = parse_file(zotero.folder / "zotero.sqlite")
    assert "Written a moment ago, still in the WAL" in {p.title for p in result.papers}
    assert [hashlib.sha1(f.read_bytes()).hexdigest() for f in files] == before
    db.rollback()


def test_an_sqlite_file_that_is_not_zotero(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="not a Zotero library"):
        parse_file(path)


def test_a_zotero_data_directory_is_its_database_alone(zotero, tmp_path):
    write_ris(tmp_path / "export.ris")
    files = list(iter_files([tmp_path]))
    assert zotero.folder / "zotero.sqlite" in files and tmp_path / "export.ris" in files
    assert not any(zotero.folder in f.parents and f.name != "zotero.sqlite" for f in files)  # no storage/ PDFs
    assert list(iter_files([zotero.folder])) == [zotero.folder / "zotero.sqlite"]


# ---- RIS and CSL-JSON ---------------------------------------------------------------------------

def test_ris_as_exported_with_its_quirks(tmp_path):
    path = write_ris(tmp_path / "scopus.ris")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfTY  - JOUR\r\n")
    result = parse_file(path)
    assert result.format == "ris"
    fed, fedavg = result.papers
    assert fed.title == "Federated learning with non-IID data." and fed.doi == "10.1000/flnoniid.2018"
    assert fed.authors == ["Yue Zhao", "Meng Li"] and fed.tags == ["non-iid", "federated"] and fed.venue == "CoRR"
    assert fedavg.authors == ["H. Brendan McMahan", "Eider Moore"]
    assert fedavg.year == 2017  # DA with no year: PY's year
    assert fedavg.abstract == f"{FEDAVG_ABSTRACT_1} {FEDAVG_ABSTRACT_2}"  # the continuation line joined
    assert fedavg.item_type == "paper-conference" and fedavg.citation_key is None
    assert [(p.line, p.message) for p in result.problems] == [(25, "RIS entry has no title (TI/T1) or abstract (AB)")]


def test_ris_one_space_tags_and_an_unclosed_last_entry(tmp_path):
    path = tmp_path / "publisher.txt"
    path.write_text("TY - JOUR\nTI - A Study of Things\nDA - 2020/05/12/\nER - \n\nTY - JOUR\nTI - Cut short\n", encoding="utf-8")
    result = parse_file(path)
    assert result.format == "ris" and [p.title for p in result.papers] == ["A Study of Things", "Cut short"]
    assert result.papers[0].date == "2020-05-12"
    assert [(p.line, "not closed" in p.message) for p in result.problems] == [(6, True)]


def test_csl_json_as_zotero_exports_it(tmp_path):
    path = write_csl(tmp_path / "My Library.json")
    result = parse_file(path)
    assert result.format == "csl_json"
    att, bert, fedavg = result.papers
    assert att.citation_key == "Vaswani2017" and att.year == 2017 and att.venue == "NeurIPS"
    assert bert.doi == "10.18653/v1/n19-1423" and bert.date == "2019-06"  # DOI URL in upper case; years as strings
    assert bert.authors == ["Jacob Devlin", "Google AI Language"] and bert.citation_key == "devlin2019bert"
    assert fedavg.citation_key == "mcmahan2017communication"  # from `note`, Zotero's Extra
    bad_line = path.read_text().splitlines().index('  "not an item"') + 1
    assert [(p.line, p.message) for p in result.problems] == [(bad_line, "expected a CSL item (a JSON object), got str")]


def test_made_up_keys_never_take_a_users_key():
    from assistant.bibtex import bibtex_keys, to_bibtex

    own = Paper(id="p1", title="Deep Nets", authors=["A Smith"], year=2020, citation_key="smith2020deep")
    made = Paper(id="p2", title="Deep Trees", authors=["B Smith"], year=2020)  # would be smith2020deep too
    same_key = Paper(id="p3", title="Other", authors=["C Doe"], year=2021, citation_key="smith2020deep")
    keys = bibtex_keys([made, same_key, own])
    assert keys["p1"] == "smith2020deep"
    assert len(set(keys.values())) == 3 and all(k.startswith("smith2020deep") for k in keys.values())
    assert "@misc{smith2020deep," in to_bibtex([own])


# ---- everything in one library ------------------------------------------------------------------

@pytest.fixture
def exports(tmp_path, zotero):
    folder = tmp_path / "exports"
    folder.mkdir()
    return [write_ris(folder / "scopus.ris"), write_csl(folder / "zotero-csl.json"), write_bib(folder / "refs.bib")]


def test_all_sources_in_one_library(empty_store, zotero, exports, tmp_path):
    report = ingest_paths(empty_store, [zotero.folder, *exports])
    assert report.formats == {"zotero": 1, "ris": 1, "csl_json": 1, "bibtex": 1}
    assert report.entries == {"zotero": 4, "ris": 2, "csl_json": 3, "bibtex": 1}
    assert (report.added, len(report.problems), len(report.notes)) == (6, 2, 1)
    papers = {p.id: p for p in empty_store.papers()}
    assert len(papers) == 6 and empty_store.count() == 6
    fed = papers["doi:10.1000/flnoniid.2018"]
    assert sorted(s.format for s in fed.sources) == ["bibtex", "ris", "zotero"]
    assert fed.citation_key == "zhao2018federated"  # the Zotero key, read first; the others stay aliases
    assert "Zhao18" in fed.aliases
    assert fed.collections == ["Thesis/Chapter 2"] and set(fed.tags) == {"federated", "to-read", "non-iid"}
    att = papers["1706.03762"]
    assert sorted(s.format for s in att.sources) == ["csl_json", "zotero"] and att.citation_key == "vaswani2017attention"
    fedavg = next(p for p in papers.values() if p.title.lower().startswith("communication-efficient"))
    assert sorted(s.format for s in fedavg.sources) == ["csl_json", "ris"]
    assert fedavg.citation_key == "mcmahan2017communication"

    # filters: a collection includes its subcollections; tags; combined with years and authors
    def ids(**kw) -> set[str]:
        filters = Filters(**kw)
        listed = {p.id for p in empty_store.papers(filters_where(filters))}
        found = {h.paper.id for h in search(empty_store, "learning networks attention", k=10, filters=filters)}
        assert found <= listed
        return listed

    assert ids(collection="Thesis") == {fed.id, att.id}
    assert ids(collection="chapter 2") == ids(collection="Thesis / Chapter 2") == {fed.id}
    assert ids(tag="TO-READ") == {fed.id} and ids(tag="climate") != set()
    assert ids(collection="Thesis", year_from=2018) == {fed.id}
    assert ids(collection="Thesis", author="Vaswani") == {att.id}
    assert ids(collection="Nowhere") == set()
    hits = search(empty_store, "non-IID data", k=5, filters=Filters(collection="Thesis", tag="federated"))
    assert [h.paper.id for h in hits] == [fed.id]


def test_cli_json_filters_and_user_keys_in_related_work(empty_store, zotero, exports, tmp_path, capsys):
    from assistant.cli import main

    ingest_paths(empty_store, [zotero.folder, *exports])
    store = str(empty_store.store_dir)
    assert main(["papers", "--store", store, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 6 and all({"collections", "tags", "citation_key"} <= set(p) for p in listed)
    assert main(["papers", "--store", store, "--json", "--collection", "Thesis", "--tag", "transformers"]) == 0
    assert [p["citation_key"] for p in json.loads(capsys.readouterr().out)] == ["vaswani2017attention"]
    bib = tmp_path / "refs-out.bib"
    assert main(["related-work", "federated learning with non-IID data", "--store", store, "--json",
                 "--bib", str(bib), "--cite-style", "latex"]) == 0
    draft = json.loads(capsys.readouterr().out)
    keys = {r["paper_id"]: r["key"] for r in draft["retrieved"]}
    assert keys["doi:10.1000/flnoniid.2018"] == "zhao2018federated"
    assert len(set(keys.values())) == len(keys)
    cited = {c["paper_id"]: c["key"] for c in draft["citations"]}
    assert cited.get("doi:10.1000/flnoniid.2018") == "zhao2018federated"
    assert "zhao2018federated" in draft["text"]  # \\cite{...} with the user's key
    written = bib.read_text()
    assert "@article{zhao2018federated," in written
    assert all(f"{{{key}," in written for key in cited.values())
    assert main(["author", "Yue Zhao", "--store", store, "--json", "--tag", "nothing-like-this"]) != 0
    capsys.readouterr()
    assert main(["author", "Yue Zhao", "--store", store, "--json", "--collection", "Thesis"]) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["papers"]] == ["doi:10.1000/flnoniid.2018"]


def test_reingesting_zotero_follows_edits_deletions_and_the_trash(empty_store, zotero):
    folder = zotero.folder
    assert ingest_paths(empty_store, [folder]).added == 4
    z, items = zotero.library, zotero.items
    z.set_fields(items["chapter"], {"title": "Foundations of Deep Learning, Revised"})
    z.trash(items["glacier"])
    z.delete(items["attention"])
    z.add_item("thesis", {"title": "A Thesis on Federated Optimisation", "university": "Uni"}, [("Sam", "Roe")])
    z.tag(items["federated"], "read")
    report = ingest_paths(empty_store, [folder])
    assert not report.problems and len(report.notes) == 1
    titles = sorted(p.title for p in empty_store.papers())
    assert titles == ["A Thesis on Federated Optimisation", "Federated Learning with Non-IID Data",
                      "Foundations of Deep Learning, Revised"]
    # the trashed and the deleted item go; the edited chapter (same abstract) and the re-tagged paper are updated
    assert (report.removed, report.updated, report.added) == (2, 2, 1)
    assert empty_store.get("doi:10.1000/flnoniid.2018").tags == ["federated", "read", "to-read"]
    assert ingest_paths(empty_store, [folder]).unchanged == 3


def test_watch_follows_changes_and_stops_cleanly(empty_store, tmp_path):
    from assistant.watch import watch

    folder = tmp_path / "watched"
    folder.mkdir()
    ris = write_ris(folder / "scopus.ris")
    rounds: queue.Queue = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(empty_store, [folder]),
                              kwargs={"on_round": rounds.put, "stop": stop, "debounce_ms": 300}, daemon=True)
    thread.start()
    try:
        first = rounds.get(timeout=120)
        assert first.report.added == 2
        csl = write_csl(folder / "more.json")
        added = rounds.get(timeout=120)
        assert added.report.added == 2 and added.report.updated == 1  # Attention and BERT new; FedAvg gains a source
        csl.unlink()
        gone = rounds.get(timeout=120)
        assert gone.forgotten == [str(csl.resolve())] and len(gone.removed) == 2
        assert sorted(p.title for p in empty_store.papers()) == [
            "Communication-Efficient Learning of Deep Networks from Decentralized Data",
            "Federated learning with non-IID data."]
        assert [s.format for s in empty_store.get(first.report.paper_ids[1]).sources] == ["ris"]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert ris.exists()


def test_web_chat_filters_by_collection_and_tag(empty_store, zotero, exports):
    """The web chat's filter boxes, through the real app on a free port (gradio_client)."""
    gradio_client = pytest.importorskip("gradio_client")
    from tests.test_ui_client import free_port, text_of
    from ui.app import build_app, launch

    ingest_paths(empty_store, [zotero.folder, *exports])
    demo = build_app(empty_store, default_model="extractive")
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, block=False, quiet=True)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        base = dict(mode="Ask", author="", year_from="", year_to="", category="", api_name="/ask")
        chat, sources, *_ = client.predict(message="How do models learn from data?", collection="Thesis",
                                           tag="transformers", **base)
        assert "Attention Is All You Need" in sources and "Non-IID" not in sources
        assert "collection Thesis" in sources and "tag transformers" in sources
        chat, *_ = client.predict(message="How do models learn from data?", collection="Nowhere", **base)
        assert "No paper in the library matches these filters" in text_of(chat[-1])
    finally:
        demo.close()
