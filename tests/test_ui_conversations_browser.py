"""Saved conversations and author plots in a real headless Chromium.

The conversation test runs `litassist serve` as a real process, stops it and starts it again on
the same port (the browser keeps which conversation it shows in its localStorage, per origin).
With LITASSIST_UPDATE_SCREENSHOTS=1 the author view is copied to docs/screenshot-author.png.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_ui_browser import QUESTION, REPO, Page, browser, free_port, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
AUTHOR = "Summarise an author"


def start_server(store: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--store", str(store), "--port", str(port), "--no-seed", "--model", "extractive"],
            stdout=handle, stderr=subprocess.STDOUT, env=env,
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text(errors='replace')[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def saved(store: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((store / "conversations").glob("*.json"))]


def list_items(pg) -> list[str]:
    return [t.strip() for t in pg.locator("#la-conv-list label").all_inner_texts()]


def checked_item(pg) -> str:
    return pg.locator("#la-conv-list label:has(input:checked)").inner_text().strip()


def open_tools(pg) -> None:
    if not pg.locator("#la-conv-title textarea").is_visible():
        pg.get_by_text("Rename, delete, download").click()
    pg.locator("#la-conv-title textarea").wait_for(state="visible")


@pytest.fixture
def served_store(seeded_store_dir, tmp_path):
    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return target


def test_conversation_survives_reload_and_restart(browser, served_store, tmp_path):  # noqa: F811
    port, log = free_port(), tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}/"
    proc = start_server(served_store, port, log)
    page = None
    try:
        page = Page(browser, url, tmp_path)
        pg = page.page
        assert list_items(pg) == []
        page.ask(QUESTION)
        # a fresh server process loads the embedding model for its first question: allow for a busy machine
        pg.wait_for_selector("#la-sources [data-turn='1']", timeout=300_000)
        page.wait_answer()
        pg.wait_for_function("() => document.querySelectorAll('#la-conv-list label').length === 1", timeout=20_000)
        assert "federated learning" in checked_item(pg)
        [record] = saved(served_store)
        assert [t["query"] for t in record["turns"]] == [QUESTION] and record["turns"][0]["result"]["citations"]
        answer = pg.locator("#la-chat").inner_text()
        assert pg.locator("#la-bib").is_visible()

        # rename
        open_tools(pg)
        pg.locator("#la-conv-title textarea").fill("My FL notes")
        pg.locator("#la-conv-rename").click()
        pg.wait_for_function("() => document.querySelector('#la-conv-list').innerText.includes('My FL notes')", timeout=20_000)

        # the Markdown download of the conversation
        with pg.expect_download() as download:
            pg.locator("#la-conv-export").click()
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("# My FL notes") and f"## 1. Question: {QUESTION}" in text and "```bibtex" in text

        # a reload shows the same conversation
        pg.reload()
        pg.wait_for_selector("#la-sources [data-turn='1']", timeout=30_000)
        assert "My FL notes" in checked_item(pg)
        assert pg.locator("#src-1-1").is_visible()
        pg.locator("#la-bib").wait_for(state="visible", timeout=10_000)  # the last answer's BibTeX is offered again
        assert pg.locator("#la-chat").inner_text().split("\n")[:3] == answer.split("\n")[:3]
        page.shot("conversation-reloaded")

        # a server restart too
        stop_server(proc)
        proc = start_server(served_store, port, log)
        pg.reload()
        pg.wait_for_selector("#la-sources [data-turn='1']", timeout=30_000)
        assert "My FL notes" in checked_item(pg) and len(list_items(pg)) == 1
        page.ask("What is Llama 3 and how large is its biggest model?")
        pg.wait_for_selector("#la-sources [data-turn='2']", timeout=300_000)
        page.wait_answer(turn=2)
        [record] = saved(served_store)
        assert len(record["turns"]) == 2 and record["title"] == "My FL notes"

        # a new chat is a new conversation; the first one reopens from the list
        pg.locator("#la-clear").click()
        pg.wait_for_function("() => !document.querySelector('#la-sources [data-turn]')", timeout=20_000)
        page.ask("federated learning with partial model personalization")
        page.wait_answer()
        pg.wait_for_function("() => document.querySelectorAll('#la-conv-list label').length === 2", timeout=20_000)
        pg.locator("#la-conv-list label", has_text="My FL notes").click()
        pg.wait_for_selector("#la-sources [data-turn='2']", timeout=30_000)
        assert "Llama 3" in pg.locator("#la-chat").inner_text()

        # delete it
        open_tools(pg)
        pg.locator("#la-conv-delete").click()
        pg.locator("#la-conv-confirm").click()
        pg.wait_for_function("() => document.querySelectorAll('#la-conv-list label').length === 1", timeout=20_000)
        assert "My FL notes" not in pg.locator("#la-conv-list").inner_text()
        assert not pg.locator("#la-sources [data-turn]").count()
        assert [r["title"] for r in saved(served_store)] == ["federated learning with partial model personalization"]
        assert not page.dialogs and not page.external, (page.dialogs, page.external)
    finally:
        if page is not None:
            page.close()
        stop_server(proc)


def test_author_view_shows_plots(browser, server, tmp_path):  # noqa: F811
    from assistant.plots import NETWORK_SIZE, TIMELINE_SIZE

    page = Page(browser, server, tmp_path)
    pg = page.page
    try:
        pg.get_by_text(AUTHOR, exact=True).click()
        page.ask("Kshitiz Malik")
        page.wait_answer()
        images = pg.locator("#la-chat img")
        pg.wait_for_function(
            "() => [...document.querySelectorAll('#la-chat img')].filter(i => i.complete && i.naturalWidth > 0).length >= 2",
            timeout=30_000,
        )
        sizes = pg.evaluate("() => [...document.querySelectorAll('#la-chat img')].map(i => [i.naturalWidth, i.naturalHeight])")
        assert sorted(map(tuple, sizes)) == sorted([TIMELINE_SIZE, NETWORK_SIZE])
        # the README's picture: the summary's end and its timeline
        images.first.scroll_into_view_if_needed()
        pg.locator("#la-chat .bubble-wrap, #la-chat [role=log]").first.evaluate("(el) => { el.scrollTop = el.scrollTop - 260; }")
        shot = page.shot("author-view")
        if os.environ.get("LITASSIST_UPDATE_SCREENSHOTS"):
            shutil.copyfile(shot, REPO / "docs" / "screenshot-author.png")

        # reopened from the list, the summary draws its plots again
        pg.locator("#la-clear").click()
        pg.wait_for_function("() => document.querySelectorAll('#la-chat img').length === 0", timeout=20_000)
        pg.locator("#la-conv-list label", has_text="Author: Kshitiz Malik").first.click()
        pg.wait_for_function(
            "() => [...document.querySelectorAll('#la-chat img')].filter(i => i.complete && i.naturalWidth > 0).length >= 2",
            timeout=30_000,
        )
        assert not page.dialogs and not page.external, (page.dialogs, page.external)
    finally:
        page.close()
