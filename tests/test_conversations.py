"""Saved conversations (assistant.conversations), their Markdown export and the CLI over them;
the author plots (assistant.plots) and `litassist author --plot`. Real store, real model."""
from __future__ import annotations

import json
import threading

import pytest
from PIL import Image

from assistant.conversations import ASK, AUTHOR, Conversations, Turn, bibtex_of
from assistant.errors import LitassistError, NotFoundError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run(capsys):
    from assistant.cli import main

    def invoke(*args: str, store) -> tuple[int, str, str]:
        code = main([*args[:1], "--store", str(store), *args[1:]])
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture(scope="module")
def answered(seeded_store):
    """A real extractive answer and author summary from the seeded library, as turns."""
    from assistant.answer import ask
    from assistant.tasks.author import summarize_author

    result = ask("How does federated learning cope with non-IID data on client devices?", store=seeded_store, model="extractive")
    ask_turn = Turn(ASK, result.question, result.to_json(), bibtex_of(seeded_store, [c.paper_id for c in result.citations]), model="extractive")
    summary = summarize_author("Kshitiz Malik", store=seeded_store, model="extractive")
    author_turn = Turn(AUTHOR, "Kshitiz Malik", summary.to_json(), summary.bibtex, model="extractive")
    return ask_turn, author_turn, result, summary


# ---- the record and its file ------------------------------------------------------------------

def test_append_list_rename_delete(tmp_path):
    chats = Conversations(tmp_path)
    assert chats.list() == []
    first = chats.append(None, Turn(ASK, "What is   federated learning?", {"answer": "It is [1]."}))
    assert first.title == "What is federated learning?"
    assert (tmp_path / "conversations" / f"{first.id}.json").is_file()
    again = chats.append(first.id, Turn(ASK, "And non-IID data?", {"answer": "Hard [1]."}))
    assert [t.query for t in again.turns] == ["What is   federated learning?", "And non-IID data?"]
    assert again.title == first.title  # the title follows the first turn only
    second = chats.append(None, Turn(AUTHOR, "Kshitiz Malik", {}))
    assert second.title == "Author: Kshitiz Malik"
    listed = chats.list()
    assert [c.id for c in listed] == [second.id, first.id] or {c.id for c in listed} == {first.id, second.id}
    assert {c.id: c.turns for c in listed} == {first.id: 2, second.id: 1}

    renamed = chats.rename(first.id, "  FL   reading notes ")
    assert renamed.title == "FL reading notes" and chats.open(first.id).title == "FL reading notes"
    chats.append(first.id, Turn(ASK, "A third question", {}))
    assert chats.open(first.id).title == "FL reading notes"  # a chosen title stays
    with pytest.raises(LitassistError):
        chats.rename(first.id, "   ")

    chats.delete(second.id)
    assert [c.id for c in chats.list()] == [first.id]
    with pytest.raises(NotFoundError):
        chats.open(second.id)
    with pytest.raises(NotFoundError):
        chats.delete(second.id)
    assert not [p for p in (tmp_path / "conversations").iterdir() if p.suffix == ".tmp"]


def test_ids_are_checked_and_bad_files_named(tmp_path):
    chats = Conversations(tmp_path)
    for bad in ("../../etc/passwd", "", "20261202-024653-A1B2C3", "x" * 40):
        with pytest.raises(NotFoundError):
            chats.open(bad)
        assert not chats.exists(bad)
    saved = chats.append(None, Turn(ASK, "q", {}))
    path = tmp_path / "conversations" / f"{saved.id}.json"
    broken = path.with_name("20200101-000000-abcdef.json")
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(LitassistError, match="20200101-000000-abcdef.json"):
        chats.open("20200101-000000-abcdef")
    assert [c.id for c in chats.list()] == [saved.id]  # an unreadable file does not hide the others


def test_turns_saved_at_once_are_all_kept(tmp_path):
    chats = Conversations(tmp_path)
    conversation = chats.append(None, Turn(ASK, "start", {}))

    def add(i: int) -> None:
        Conversations(tmp_path).append(conversation.id, Turn(ASK, f"question {i}", {}))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queries = [t.query for t in chats.open(conversation.id).turns]
    assert sorted(queries[1:]) == sorted(f"question {i}" for i in range(12)) and queries[0] == "start"


# ---- Markdown export --------------------------------------------------------------------------

def test_export_has_answers_references_and_bibtex(tmp_path, answered):
    from assistant.conversation_export import export_markdown

    ask_turn, author_turn, result, summary = answered
    assert result.citations and ask_turn.bibtex.count("@") >= len(result.citations)
    chats = Conversations(tmp_path)
    saved = chats.append(None, ask_turn)
    saved = chats.append(saved.id, author_turn)
    saved = chats.append(saved.id, Turn(ASK, "a failing one", error="the model at http://127.0.0.1:9 cannot be reached"))

    text = export_markdown(saved)
    assert text.startswith(f"# {saved.title}\n")
    assert f"## 1. Question: {result.question}" in text
    assert result.answer.strip() in text
    assert "## 2. Author summary: Kshitiz Malik" in text and summary.summary.strip() in text
    for theme in summary.themes:
        assert theme.label in text
    assert "**Frequent co-authors:** " in text and summary.collaborators[0].name in text
    assert "*This request failed: the model at http://127.0.0.1:9 cannot be reached*" in text
    for c in result.citations:
        label = f"(untitled: {c.title})" if c.title_derived else c.title
        assert f"- [{c.n}] {label}" in text and f"`{c.paper_id}`" in text
    for c in summary.citations:
        assert f"- [{c['n']}] {c['title']}" in text
    # one BibTeX block at the end, each cited paper once
    assert text.count("```bibtex") == 1
    bib = text.split("## BibTeX", 1)[1]
    keys = [line.split("{", 1)[1].rstrip(",") for line in bib.splitlines() if line.startswith("@")]
    assert len(keys) == len(set(keys)) and len(keys) >= len(summary.papers)

    one = export_markdown(saved, answer=1)
    assert "## 1. Question" in one and "## 2. Author summary" not in one and "Answer 1 of the conversation" in one
    assert one.count("@") == ask_turn.bibtex.count("@")
    with pytest.raises(NotFoundError, match="no answer 7"):
        export_markdown(saved, answer=7)


def test_colliding_keys_keep_bibtex_per_answer(tmp_path):
    from assistant.conversation_export import export_markdown

    chats = Conversations(tmp_path)
    saved = chats.append(None, Turn(ASK, "one", {"answer": "A [1]."}, bibtex="@article{smith2020fed,\n  title = {One}\n}\n"))
    saved = chats.append(saved.id, Turn(ASK, "two", {"answer": "B [1]."}, bibtex="@article{smith2020fed,\n  title = {Two}\n}\n"))
    text = export_markdown(saved)
    assert "## BibTeX" not in text
    assert "**BibTeX of answer 1**" in text and "**BibTeX of answer 2**" in text
    assert "title = {One}" in text and "title = {Two}" in text


# ---- the CLI -------------------------------------------------------------------------------------

def test_cli_lists_exports_renames_deletes(tmp_path, run, answered):
    ask_turn, author_turn, result, _ = answered
    store = tmp_path / "library"
    chats = Conversations(store)
    saved = chats.append(None, ask_turn)
    chats.append(saved.id, author_turn)
    other = chats.append(None, Turn(ASK, "second chat", {"answer": "nothing"}))

    code, out, _ = run("conversations", "--json", store=store)
    listed = json.loads(out)
    assert code == 0 and {c["id"] for c in listed} == {saved.id, other.id}
    assert {c["id"]: c["turns"] for c in listed}[saved.id] == 2
    assert set(listed[0]) == {"id", "title", "created", "updated", "turns"}

    code, out, _ = run("conversations", store=store)
    assert code == 0 and saved.id in out and "2 conversation(s)" in out

    code, out, _ = run("conversations", "export", saved.id, store=store)
    assert code == 0 and f"## 1. Question: {result.question}" in out and "```bibtex" in out

    target = tmp_path / "answer.md"
    code, out, _ = run("conversations", "export", saved.id, "--answer", "2", "-o", str(target), "--json", store=store)
    data = json.loads(out)
    assert code == 0 and data["file"] == str(target) and data["answer"] == 2
    assert target.read_text(encoding="utf-8") == data["markdown"] and "## 2. Author summary" in data["markdown"]

    code, out, _ = run("conversations", "rename", other.id, "Notes", "on", "FL", "--json", store=store)
    assert code == 0 and json.loads(out)["title"] == "Notes on FL"
    code, out, _ = run("conversations", "delete", other.id, store=store)
    assert code == 0 and not chats.exists(other.id)

    code, _, err = run("conversations", "export", "20990101-000000-abcdef", store=store)
    assert code == 2 and "no conversation 20990101-000000-abcdef" in err
    code, _, err = run("conversations", "export", store=store)
    assert code == 2 and "needs a conversation id" in err


# ---- plots ----------------------------------------------------------------------------------------

def _png(path) -> Image.Image:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = Image.open(path)
    image.load()
    return image


def _colours(image: Image.Image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])


def test_author_plot_cli_writes_pngs(tmp_path, run, seeded_store_dir):
    from assistant.plots import NETWORK_SIZE, TIMELINE_SIZE

    code, out, _ = run("author", "Kshitiz Malik", "--plot", str(tmp_path / "plots"), "--json", store=seeded_store_dir)
    assert code == 0
    data = json.loads(out)
    timeline, network = (tmp_path / "plots" / "kshitiz-malik-timeline.png"), (tmp_path / "plots" / "kshitiz-malik-coauthors.png")
    assert data["plots"] == {"timeline": str(timeline), "network": str(network)}
    assert _png(timeline).size == TIMELINE_SIZE and _png(network).size == NETWORK_SIZE
    assert _colours(_png(timeline)) > 50 and _colours(_png(network)) > 50  # drawn, not blank
    assert data["themes"] and data["collaborators"]

    code, out, _ = run("author", "Kshitiz Malik", "--plot", str(tmp_path / "text"), store=seeded_store_dir)
    assert code == 0 and "kshitiz-malik-timeline.png" in out and (tmp_path / "text" / "kshitiz-malik-coauthors.png").is_file()


def test_plots_of_a_lone_author_with_undated_papers(tmp_path):
    from assistant.plots import NETWORK_SIZE, TIMELINE_SIZE, author_plots

    summary = {
        "author": "Ada Lovelace",
        "resolution": {"owner": None},
        "papers": [
            {"id": "p1", "title": "Notes on the engine", "year": 1843, "relation": "author"},
            {"id": "p2", "title": "Undated letter", "year": None, "relation": "author"},
        ],
        "themes": [{"label": "analytical engine", "paper_ids": ["p1", "p2"]}],
        "collaborators": [],
        "citations": [{"n": 1, "paper_id": "p1"}],
    }
    plots = author_plots(summary, tmp_path)
    assert _png(plots.timeline).size == TIMELINE_SIZE and _png(plots.network).size == NETWORK_SIZE
    assert plots.timeline.name == "ada-lovelace-timeline.png"
