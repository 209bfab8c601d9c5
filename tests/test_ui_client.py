"""The web app through gradio_client, launched in-process on a free 127.0.0.1 port over a copy of
the seeded store, answering with the real extractive backend."""
from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

QUESTION = "How does federated learning cope with non-IID data on client devices?"
OTHER_QUESTION = "What is Llama 3 and how large is its biggest model?"
SECRET = "sk-test-SECRET-key-never-shown-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(message: dict) -> str:
    """A chatbot message's text (gradio 6 sends content as a list of typed parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def row_ids(table_html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', table_html)


def ask(client: Client, message: str, **options):
    """Submit to /ask; return (every streamed output, the final output)."""
    args = dict(message=message, mode="Ask", author="", year_from="", year_to="", category="")
    args.update(options)
    job = client.submit(api_name="/ask", **args)
    outputs = list(job)
    return outputs, job.result()


@pytest.fixture(scope="module")
def ui_store(seeded_store_dir, tmp_path_factory, embedder):
    from assistant.library import Library

    target = tmp_path_factory.mktemp("ui-client") / "store"
    shutil.copytree(seeded_store_dir, target)
    return Library(target, embedder=embedder)


@pytest.fixture(scope="module")
def app(ui_store):
    from ui.app import build_app, launch

    demo = build_app(ui_store, default_model="extractive")
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, block=False, quiet=True)
    yield demo, f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def url(app):
    return app[1]


def test_question_gets_streamed_cited_answer_with_sources(url):
    client = Client(url, verbose=False)
    outputs, (chat, sources, plain, bib, box) = ask(client, QUESTION)

    # streamed: a working bubble, then partial text, then the validated answer
    assert len(outputs) >= 3
    partial = [text_of(o[0][-1]) for o in outputs[:-1] if o[0]]
    assert any("▌" in t for t in partial), partial
    assert any(o[4] == "" for o in outputs)  # the message box is cleared

    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert "federated learning" in text_of(chat[0])
    answer = text_of(chat[-1])
    assert "[1]" in answer and 'href="#src-1-1"' in answer, answer
    assert "Traceback" not in answer

    # the sources panel: entry src-1-1 with a title (or an "untitled" label), authors, year, abstract
    assert 'id="src-1-1"' in sources
    entry = sources.split('id="src-1-1"', 1)[1].split("</li>", 1)[0]
    assert '<span class="la-n">[1]</span>' in entry
    assert 'class="la-title' in entry
    assert "<mark class=\"la-support\">" in entry  # supporting sentence highlighted
    # every [n] in the answer has its entry, and no entry is missing from the answer
    cited = set(re.findall(r'href="#src-1-(\d+)"', answer))
    listed = set(re.findall(r'id="src-1-(\d+)"', sources))
    assert cited == listed

    assert "References" in plain and "[1]" in plain
    assert bib and bib.get("visible") is True
    text = Path(bib["value"]).read_text(encoding="utf-8")
    assert text.count("@") == len(listed) and "{" in text


def test_follow_up_and_sessions_do_not_cross_talk(url):
    a, b = Client(url, verbose=False), Client(url, verbose=False)
    results: dict[str, tuple] = {}

    def run(name: str, client: Client, question: str) -> None:
        results[name] = ask(client, question)[1]

    threads = [threading.Thread(target=run, args=("a", a, QUESTION)), threading.Thread(target=run, args=("b", b, OTHER_QUESTION))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    chat_a, chat_b = results["a"][0], results["b"][0]
    assert len(chat_a) == 2 and len(chat_b) == 2
    assert "federated" in text_of(chat_a[0]) and "Llama" not in text_of(chat_a[0])
    assert "Llama" in text_of(chat_b[0]) and "federated" not in text_of(chat_b[0])

    # a follow-up in session A continues A's conversation only
    _, (chat_a2, sources_a2, *_rest) = ask(a, "Which of these papers proposes sharing a small global dataset?")
    users = [text_of(m) for m in chat_a2 if m["role"] == "user"]
    assert len(users) == 2 and all("Llama" not in u for u in users)
    assert 'id="src-2-1"' in sources_a2 or "la-abstained" in sources_a2
    assert "Sources of answer 1" in sources_a2  # the first answer's sources stay, folded

    # session B did not see A's follow-up
    _, (chat_b2, *_rest) = ask(b, "And what does it support natively?")
    users_b = [text_of(m) for m in chat_b2 if m["role"] == "user"]
    assert len(users_b) == 2 and not any("global dataset" in u for u in users_b)


def test_four_chats_run_at_once(url, monkeypatch):
    """With the queue's default concurrency limit, four slow answers overlap in time."""
    from assistant.llm.extractive import ExtractiveModel

    original = ExtractiveModel.stream
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow_stream(self, request):
        if request.task != "answer":
            yield from original(self, request)
            return
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        try:
            time.sleep(1.5)
            yield from original(self, request)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(ExtractiveModel, "stream", slow_stream)
    clients = [Client(url, verbose=False) for _ in range(4)]
    jobs = [c.submit(message=f"{QUESTION} ({i})", mode="Ask", author="", year_from="", year_to="", category="", api_name="/ask") for i, c in enumerate(clients)]
    finals = [j.result(timeout=120) for j in jobs]
    assert state["peak"] >= 4, state
    for i, final in enumerate(finals):
        assert f"({i})" in text_of(final[0][0])


def test_author_filter_restricts_the_sources(url):
    client = Client(url, verbose=False)
    _, (chat, sources, *_rest) = ask(client, "federated learning", author="Nguyen")
    entries = re.findall(r'<li class="la-src" id="src-1-\d+">(.*?)</li>', sources, flags=re.S)
    assert entries, sources
    for entry in entries:
        assert "Nguyen" in entry


def test_filter_matching_nothing_abstains_without_citations(url):
    client = Client(url, verbose=False)
    _, (chat, sources, plain, bib, _box) = ask(client, QUESTION, year_from="1900", year_to="1901")
    assert 'id="src-1-' not in sources
    assert "la-abstained" in sources
    assert bib.get("visible") is False


def test_unreachable_backend_is_a_message_and_the_key_is_never_echoed(url):
    client = Client(url, verbose=False)
    closed = free_port()
    outputs, (chat, sources, plain, bib, _box) = ask(
        client, QUESTION, backend="openai", model_name="gpt-4o-mini", base_url=f"http://127.0.0.1:{closed}/v1", api_key=SECRET
    )
    answer = text_of(chat[-1])
    assert "⚠" in answer and "cannot be reached" in answer, answer
    assert "Traceback" not in answer
    assert SECRET not in repr(outputs)

    _, (chat2, *_rest) = ask(client, QUESTION, backend="ollama", model_name="")
    assert "⚠" in text_of(chat2[-1])  # an incomplete model spec is explained, not raised


def test_other_modes_answer_or_say_they_are_unavailable(url):
    client = Client(url, verbose=False)
    _, (chat, sources, *_rest) = ask(client, "Nguyen", mode="Summarise an author")
    reply = text_of(chat[-1])
    assert reply and "Traceback" not in reply
    _, (chat, sources, *_rest) = ask(client, "federated learning with heterogeneous clients", mode="Draft related work")
    reply = text_of(chat[-1])
    assert reply and "Traceback" not in reply
    assert "[1]" in reply or "not available" in reply or "⚠" in reply


def test_library_list_show_ingest_delete(url, tmp_path):
    client = Client(url, verbose=False)
    table, note = client.predict("", "", "", "", api_name="/list_papers")
    rows = row_ids(table)
    assert len(rows) == 25 and "25 paper" in note
    paper_id = rows[0]
    record = client.predict(paper_id, api_name="/show_paper")
    assert paper_id in record and "<h4>Sources</h4>" in record and ".txt" in record

    good = tmp_path / "my-papers.jsonl"
    good.write_text(
        '{"id": "2402.00001", "title": "Protein structure with diffusion priors", "authors": "Ada Lovelace", '
        '"abstract": "We fold proteins with diffusion priors and evaluate on CASP targets.", "update_date": "2024-02-01"}\n',
        encoding="utf-8",
    )
    bad = tmp_path / "notes.bin"
    bad.write_bytes(b"\x00\x01\x02 not a paper \xff\xfe")
    result = client.predict([handle_file(str(good)), handle_file(str(bad))], False, api_name="/ingest")
    assert "my-papers.jsonl" in result and "added 1" in result
    assert "notes.bin" in result and "failed" in result

    table, _ = client.predict("protein diffusion", "", "", "", api_name="/list_papers")
    assert row_ids(table)[0] == "2402.00001"

    # a new version of the same file, marked as such: its entries are updated, dropped ones removed
    edited = tmp_path / "edited" / "my-papers.jsonl"
    edited.parent.mkdir()
    edited.write_text(
        '{"id": "2402.00001", "title": "Protein folding with diffusion priors", "authors": "Ada Lovelace", '
        '"abstract": "We fold proteins with diffusion priors.", "update_date": "2024-02-01"}\n'
        '{"id": "2402.00002", "title": "Tiny ribosomes", "authors": "Ada Lovelace", '
        '"abstract": "Ribosomes, but tiny, studied with cryo-EM at three sites.", "update_date": "2024-02-02"}\n',
        encoding="utf-8",
    )
    result = client.predict([handle_file(str(edited))], True, api_name="/ingest")
    assert "added 1, updated 1" in result, result
    assert "Protein folding with diffusion priors" in client.predict("2402.00001", api_name="/show_paper")
    edited.write_text(edited.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    result = client.predict([handle_file(str(edited))], True, api_name="/ingest")
    assert "removed 1 no longer in the file" in result, result
    assert "no paper" in client.predict("2402.00002", api_name="/show_paper")
    # another file that only shares the name, not marked as a new version: nothing is removed
    other = tmp_path / "other" / "my-papers.jsonl"
    other.parent.mkdir()
    other.write_text(
        '{"id": "2402.00003", "title": "Ocean heat", "authors": "Bo Li", '
        '"abstract": "Ocean heat content rose again, measured by floats.", "update_date": "2024-02-03"}\n',
        encoding="utf-8",
    )
    result = client.predict([handle_file(str(other))], False, api_name="/ingest")
    assert "added 1" in result and "removed" not in result, result
    assert "Protein folding" in client.predict("2402.00001", api_name="/show_paper")
    assert "Deleted 2402.00003" in client.predict("2402.00003", api_name="/delete_paper")

    removed = client.predict("2402.00001", api_name="/delete_paper")
    assert "Deleted 2402.00001" in removed
    table, _ = client.predict("", "", "", "", api_name="/list_papers")
    assert len(row_ids(table)) == 25
    assert "no paper" in client.predict("2402.00001", api_name="/show_paper")


def test_login_required_when_auth_is_set(ui_store):
    from ui.app import build_app, launch

    demo = build_app(ui_store)
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, auth="ann:s3cret", block=False, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(Exception):
            Client(url, verbose=False)
        with pytest.raises(Exception):
            Client(url, auth=("ann", "wrong"), verbose=False)
        client = Client(url, auth=("ann", "s3cret"), verbose=False)
        table, _ = client.predict("", "", "", "", api_name="/list_papers")
        assert len(row_ids(table)) >= 25
    finally:
        demo.close()


# ---- rendering (no server) ----------------------------------------------------------------------

HOSTILE = '<script>window.__xss=1</script> <img src=x onerror="window.__xss=1"> [x](javascript:window.__xss=1)'


def test_escape_md_leaves_no_markup():
    from ui.safe_text import escape_md

    out = escape_md(HOSTILE + " **bold** `code` www.example.com https://example.com $$x$$ &lt;b&gt;")
    for ch in "<>[]*`$":
        for m in re.finditer(re.escape(ch), out):
            assert out[m.start() - 1] == "\\", (ch, out)
    assert "www\\." in out and "https\\://" in out
    assert "&amp;lt;b&amp;gt;" in out  # an entity in the source shows as written


def test_sources_html_escapes_paper_text():
    from assistant.answer import AnswerResult, Citation
    from assistant.papers import Paper, finalise
    from ui.result_view import answer_view
    from ui.sources_panel import sources_html

    paper = finalise(Paper(title=HOSTILE, authors=["<b>Eve</b>"], abstract="Intro. " + HOSTILE + " End.", arxiv_id="javascript:alert(1)"))
    data = AnswerResult(
        question=HOSTILE, answer="",
        citations=[Citation(1, paper.id, paper.title, False, paper.authors, 2024, "javascript:alert(1)", supporting_sentence=HOSTILE)],
        removed_citations=[{"marker": "[7]<img src=x>", "reason": "<script>"}],
        unsupported_sentences=[HOSTILE], abstained=False, model="extractive",
    ).to_json()
    out = sources_html(answer_view(data), {paper.id: paper}, 1)
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert "javascript:" not in out.split("&lt;")[0]
    assert 'href="javascript' not in out
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in out
    assert "la-warnings" in out and "Removed citation" in out


def test_untitled_papers_are_marked():
    from assistant.answer import AnswerResult, Citation
    from assistant.papers import Paper, finalise
    from ui.result_view import answer_view
    from ui.sources_panel import sources_html

    paper = finalise(Paper(abstract="Federated learning enables devices to learn together. More text.", partial_authors=["Jack"]))
    assert paper.title_derived
    data = AnswerResult(
        question="", answer="", citations=[Citation(1, paper.id, paper.title, True, [], None, None, supporting_sentence="")],
        removed_citations=[], unsupported_sentences=[], abstained=False, model="extractive",
    ).to_json()
    out = sources_html(answer_view(data), {paper.id: paper}, 3)
    assert 'id="src-3-1"' in out and 'class="la-untitled"' in out and ">untitled<" in out
    assert "listed under Jack" in out


def test_cited_markdown_links_markers_and_escapes_text():
    from ui.answer_markdown import cited_markdown

    out = cited_markdown("Claim <b>x</b> [1]. Other [2, 3]. Bad [9]. Link [a](javascript:x).", 2, valid={1, 2, 3})
    assert '<a href="#src-2-1" class="la-cite">[1]</a>' in out
    assert '<a href="#src-2-2" class="la-cite">[2]</a><a href="#src-2-3" class="la-cite">[3]</a>' in out
    assert "src-2-9" not in out and "\\[9\\]" in out
    assert "<b>" not in out and "\\[a\\](javascript" in out


def test_seeding_an_empty_store_reports_progress(empty_store, tmp_path):
    from ui.actions import Actions
    from ui.status import LibraryStatus, seed_store

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    first = sorted((Path(__file__).resolve().parent.parent / "seeds").iterdir())[0]
    shutil.copy(first, seeds / first.name)
    status = LibraryStatus()
    seen: list[str] = []
    original = status.set
    status.set = lambda message, busy: (seen.append(message), original(message, busy))  # type: ignore[method-assign]
    seed_store(empty_store, seeds, status, console=False)
    message, busy = status.get()
    assert not busy and message.startswith("Added ") and empty_store.count() > 0
    assert any("embedded" in m for m in seen)
    line = Actions(empty_store, status=status).library.status_markdown()
    assert f"**{empty_store.count()}** paper(s)" in line and "Added" in line


def test_auth_setting_must_be_user_and_password():
    from assistant.errors import LitassistError
    from ui.app import parse_auth

    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss")
    assert parse_auth(None) is None
    for bad in ("ann", ":pw", "ann:"):
        with pytest.raises(LitassistError):
            parse_auth(bad)


def test_reasoning_model_thinking_is_shown_apart_and_collapsed(url):
    from tests.http_fixtures import FakeServer, ollama_chat

    thinking = "The user asks about Llama 3. Maybe [9] helps."
    text = f"<think>\n{thinking}\n</think>\n\nLlama 3's largest model has 405B parameters [Source 1]."
    client = Client(url, verbose=False)
    with FakeServer({"/api/chat": ollama_chat([text[i : i + 4] for i in range(0, len(text), 4)])}) as server:
        _, (chat, sources, plain, _bib, _box) = ask(client, OTHER_QUESTION, backend="ollama", model_name="qwen3", base_url=server.url)
    reasoning = [m for m in chat if (m.get("metadata") or {}).get("title")]
    assert len(reasoning) == 1 and "reasoning" in reasoning[0]["metadata"]["title"]
    assert reasoning[0]["metadata"]["status"] == "done"  # shown collapsed
    assert thinking.split(".")[0] in text_of(reasoning[0])
    answer = text_of(chat[-1])
    assert "405B" in answer and "think" not in answer and "Maybe" not in answer
    assert "Source 1" not in plain and "[1]" in plain


def test_model_picker_lists_the_servers_models(url):
    from tests.http_fixtures import FakeServer, ollama_tags

    tags = [{"name": "qwen3:8b", "model": "qwen3:8b", "size": 5225388164, "digest": "a", "modified_at": "2025-05-01T00:00:00Z",
             "details": {"family": "qwen3", "parameter_size": "8.2B", "quantization_level": "Q4_K_M"}}]
    client = Client(url, verbose=False)
    with FakeServer({"/api/tags": ollama_tags(tags)}) as server:
        picker, note = client.predict("ollama", "", server.url, "", api_name="/models")
    assert picker["value"] == "qwen3:8b" and picker["choices"] == [["qwen3:8b (qwen3 8.2B Q4_K_M)", "qwen3:8b"]]
    assert "1 model" in note
    _, note = client.predict("ollama", "", f"http://127.0.0.1:{free_port()}", "", api_name="/models")
    assert "cannot be reached" in note
