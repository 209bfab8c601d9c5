"""The CLI end to end, as a user runs it (subprocesses, real store, real model)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import SEEDS


def run_subprocess(*args: str, store, check: bool = True) -> subprocess.CompletedProcess:
    """As a user runs it: a fresh process (pays the model load)."""
    env = {**os.environ, "LITASSIST_HOME": str(store)}
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def run(capsys):
    """The same `main` in this process (the model stays loaded between calls)."""
    from assistant.cli import main

    def invoke(*args: str, store, check: bool = True) -> Result:
        code = main([*args[:1], "--store", str(store), *args[1:]])
        out = capsys.readouterr()
        if check and code != 0:
            raise AssertionError(f"exit {code}\nstdout:{out.out}\nstderr:{out.err}")
        return Result(code, out.out, out.err)

    return invoke


@pytest.fixture
def cli_store(seeded_store_dir, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return target


def test_ingest_json_and_idempotence(tmp_path, run):
    store = tmp_path / "store"
    first = json.loads(run_subprocess("ingest", str(SEEDS), "--json", store=store).stdout)
    assert first == {
        "added": 25, "updated": 0, "unchanged": 0, "removed": 0, "failed": [],
        "formats": {"abstract_list": 3, "arxiv_listing": 1, "author_page": 1},
        "entries": {"abstract_list": 9, "arxiv_listing": 10, "author_page": 11},
        "merged": 5, "notes": [],  # 30 entries, 25 papers: Llama 3 is in all five files
    }
    again = json.loads(run_subprocess("ingest", str(SEEDS), "--json", store=store).stdout)
    assert (again["added"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, 25, 0)


def test_ingest_bad_file_exit_status_and_message(cli_store, tmp_path, run):
    bad = tmp_path / "blob.dat"
    bad.write_bytes(os.urandom(4096) + b"\x00")
    proc = run("ingest", str(bad), "--json", store=cli_store, check=False)
    assert proc.returncode != 0
    report = json.loads(proc.stdout)
    assert report["failed"][0]["path"] == str(bad)
    assert str(bad) in proc.stderr
    papers = json.loads(run("papers", "--json", store=cli_store).stdout)
    assert len(papers) == 25


def test_papers_show_search_stats_json(cli_store, run):
    papers = json.loads(run("papers", "--json", store=cli_store).stdout)
    assert len(papers) == 25
    assert {"id", "title", "title_derived", "authors", "date", "year", "arxiv_id", "doi", "categories",
            "affiliations", "comments", "has_code", "abstract", "sources", "versions"} <= set(papers[0])
    malik = json.loads(run("papers", "--author", "Kshitiz Malik", "--json", store=cli_store).stdout)
    # 7 author-page entries name him, and the full Llama 3 author list does too.
    assert len(malik) == 8 and "2407.21783" in {p["id"] for p in malik}
    shown = json.loads(run("show", "2407.21783", "--json", store=cli_store).stdout)
    assert shown["title"] == "The Llama 3 Herd of Models"
    hits = json.loads(run("search", "buffered asynchronous aggregation", "-k", "3", "--json", store=cli_store).stdout)
    assert hits[0]["title"] == "Federated Learning with Buffered Asynchronous Aggregation"
    assert set(hits[0]) == {"id", "title", "title_derived", "authors", "year", "arxiv_id", "score", "snippet", "page"}
    assert hits[0]["page"] is None  # an abstract, not a PDF page
    stats = json.loads(run("stats", "--json", store=cli_store).stdout)
    assert stats["papers"] == 25


def test_show_unknown_id_is_a_clear_error(cli_store, run):
    proc = run("show", "9999.99999", store=cli_store, check=False)
    assert proc.returncode == 2
    assert "no paper with id '9999.99999'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_human_output(cli_store, run):
    out = run("show", "2407.21783", store=cli_store).stdout
    assert "The Llama 3 Herd of Models" in out and "sources:" in out
    out = run("search", "pruning FBNetV3", "-k", "2", store=cli_store).stdout
    assert "1." in out


def test_ingest_csv_with_column_override(tmp_path, run):
    store = tmp_path / "store"
    table = tmp_path / "lab.csv"
    table.write_text(
        "Name,Text,Writers,When\n"
        '"Sparse Experts for Long Documents","We route tokens by topic to sparse experts and halve the compute per token on long documents.","Ada Lovelace; Charles Babbage",2024\n',
        encoding="utf-8",
    )
    failed = run("ingest", str(table), "--json", store=store, check=False)
    assert failed.returncode != 0
    assert "Name" in json.loads(failed.stdout)["failed"][0]["error"]  # lists the columns found
    ok = json.loads(run("ingest", str(table), "--columns", "title=Name,abstract=Text,authors=Writers,date=When", "--json", store=store).stdout)
    assert ok["added"] == 1
    (paper,) = json.loads(run("papers", "--json", store=store).stdout)
    assert paper["title"] == "Sparse Experts for Long Documents"
    assert paper["authors"] == ["Ada Lovelace", "Charles Babbage"] and paper["year"] == 2024
    bad = run("ingest", str(table), "--columns", "title", store=store, check=False)
    assert bad.returncode == 2 and "--columns" in bad.stderr


def test_remove_by_id_and_by_file(tmp_path, run):
    store = tmp_path / "store"
    papers = tmp_path / "mine.jsonl"
    papers.write_text(
        '{"id": "2402.00001", "title": "Protein structure with diffusion priors", "authors": "Ada Lovelace", '
        '"abstract": "We fold proteins with diffusion priors and evaluate on CASP targets."}\n'
        '{"id": "2402.00002", "title": "Tiny ribosomes", "authors": "Ada Lovelace", '
        '"abstract": "Ribosomes, but tiny, studied with cryo-EM at three sites."}\n',
        encoding="utf-8",
    )
    run("ingest", str(papers), store=store)
    out = json.loads(run("remove", "2402.00002", "--json", store=store).stdout)
    assert out == {"removed": ["2402.00002"], "detached": []}
    papers.unlink()  # the file is deleted from the folder: forget it
    out = json.loads(run("remove", "--file", str(papers), "--json", store=store).stdout)
    assert out == {"removed": ["2402.00001"], "detached": []}
    assert json.loads(run("papers", "--json", store=store).stdout) == []
    failed = run("remove", "--file", str(papers), store=store, check=False)
    assert failed.returncode != 0 and "mine.jsonl" in failed.stderr and "no paper" in failed.stderr
    assert run("remove", store=store, check=False).returncode != 0


def test_ingest_copy_keeps_the_files_in_the_store(tmp_path, run):
    """`ingest --copy`: the chat upload's policy (same name: kept beside, or with --replace its new version)."""
    store = tmp_path / "store"

    def jsonl(folder: str, *papers: tuple[str, str]):
        path = tmp_path / folder / "refs.jsonl"
        path.parent.mkdir(exist_ok=True)
        path.write_text("".join(
            json.dumps({"id": pid, "title": title, "authors": "Ada Lovelace", "abstract": f"{title}, studied at length with care."}) + "\n"
            for pid, title in papers
        ), encoding="utf-8")
        return path

    first = jsonl("a", ("2402.00001", "Protein folding"), ("2402.00002", "Tiny ribosomes"))
    assert json.loads(run("ingest", str(first), "--copy", "--json", store=store).stdout)["added"] == 2
    copy = store / "uploads" / "refs.jsonl"
    assert copy.read_bytes() == first.read_bytes()
    assert json.loads(run("show", "2402.00001", "--json", store=store).stdout)["sources"][0]["path"] == str(copy)
    again = json.loads(run("ingest", str(first), "--copy", "--json", store=store).stdout)
    assert (again["added"], again["unchanged"]) == (0, 2) and sorted(p.name for p in copy.parent.iterdir()) == ["refs.jsonl"]

    other = jsonl("b", ("2402.00003", "Ocean heat"))  # another file of that name: kept beside the first
    assert json.loads(run("ingest", str(other), "--copy", "--json", store=store).stdout)["added"] == 1
    assert (copy.parent / "refs-2.jsonl").read_bytes() == other.read_bytes() and copy.read_bytes() == first.read_bytes()

    edited = jsonl("a", ("2402.00001", "Protein folding"))  # a new version of the first: 2402.00002 goes
    out = json.loads(run("ingest", str(edited), "--replace", "--json", store=store).stdout)
    assert out["removed"] == 1 and copy.read_bytes() == edited.read_bytes()
    assert len(json.loads(run("papers", "--json", store=store).stdout)) == 2

    folder = run("ingest", str(tmp_path / "a"), "--copy", store=store, check=False)
    assert folder.returncode == 2 and "is a folder" in folder.stderr
