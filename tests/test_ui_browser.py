"""The web app in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Install the browser with `apt-get install -y chromium` (scripts/test does it when run as root).
Screenshots go to each test's tmp dir; with LITASSIST_UPDATE_SCREENSHOTS=1 the chat screenshot is
also copied to docs/screenshot-chat.png (the README's), so a normal run leaves the tree clean.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LITASSIST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
REPO = Path(__file__).resolve().parent.parent
QUESTION = "How does federated learning cope with non-IID data on client devices?"
XSS_TITLE = 'Robust aggregation <script>window.__xss=1</script> <img src=x onerror="window.__xss=1">'
XSS_ABSTRACT = (
    "We study robust aggregation for federated learning under poisoning. "
    "[x](javascript:window.__xss=1) <img src=x onerror=\"window.__xss=1\"> <script>window.__xss=1</script> "
    "Our defence blocks poisoned updates from malicious clients."
)

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(seeded_store_dir, tmp_path_factory, embedder):
    from assistant.library import Library
    from ui.app import build_app, launch

    target = tmp_path_factory.mktemp("ui-browser") / "store"
    shutil.copytree(seeded_store_dir, target)
    store = Library(target, embedder=embedder)
    demo = build_app(store, default_model="extractive")
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, block=False, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A fresh page on the app that records dialogs, page errors and off-host requests."""

    def __init__(self, browser, url: str, shots: Path):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.external: list[str] = []
        self.shots = shots
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else self.external.append(r.url))
        self.page.goto(url)
        self.page.wait_for_selector("#la-message textarea", timeout=30_000)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path

    def open_filters(self, author: str = "") -> None:
        self.page.get_by_text("Filters (author, years)").click()
        box = self.page.locator("#la-f-author textarea, #la-f-author input").first
        box.wait_for(state="visible")
        box.fill(author)

    def ask(self, question: str) -> None:
        self.page.locator("#la-message textarea").fill(question)
        self.page.locator("#la-send").click()

    def wait_answer(self, turn: int = 1) -> None:
        self.page.wait_for_selector(f"#la-sources [data-turn='{turn}']", timeout=60_000)
        self.page.wait_for_function("() => !document.querySelector('#la-chat').innerText.includes('▌')", timeout=60_000)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser, server, tmp_path):
    p = Page(browser, server, tmp_path)
    yield p
    p.close()


def test_ask_shows_streamed_answer_and_numbered_sources(page):
    pg = page.page
    page.shot("01-loaded")
    page.ask(QUESTION)
    # the answer streams: a partial answer (with the typing cursor) shows before the final one
    pg.wait_for_function("() => document.querySelector('#la-chat').innerText.length > 40", timeout=60_000)
    page.wait_answer()
    chat = pg.locator("#la-chat").inner_text()
    assert "[1]" in chat
    cite = pg.locator("#la-chat a.la-cite").first
    assert cite.get_attribute("href") == "#src-1-1"
    entry = pg.locator("#src-1-1")
    assert entry.is_visible()
    assert "[1]" in entry.inner_text()
    assert entry.locator("mark.la-support").count() == 1
    assert pg.locator("#la-bib").is_visible()
    # "Copy answer" copies clean text: the answer and its numbered references, no markup
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    pg.locator("#la-copy").click()
    pg.wait_for_function("async () => (await navigator.clipboard.readText()).includes('References')", timeout=10_000)
    copied = pg.evaluate("() => navigator.clipboard.readText()")
    assert "[1]" in copied and "<a" not in copied and "\\" not in copied
    shot = page.shot("02-answer")
    if os.environ.get("LITASSIST_UPDATE_SCREENSHOTS"):  # refresh the README's screenshot on request only
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "screenshot-chat.png")
    assert not page.dialogs and not page.external, (page.dialogs, page.external)


def test_filter_by_author(page):
    pg = page.page
    page.open_filters("Nguyen")
    page.ask("federated learning")
    page.wait_answer()
    page.shot("filter-author")
    entries = pg.locator("#la-sources li.la-src")
    assert entries.count() >= 1, pg.locator("#la-sources").inner_text()
    for i in range(entries.count()):
        assert "Nguyen" in entries.nth(i).locator(".la-meta").inner_text()


def test_upload_in_library_shows_per_file_result(page, tmp_path):
    pg = page.page
    good = tmp_path / "my-papers.jsonl"
    good.write_text(json.dumps({
        "id": "2402.00002", "title": "Graph transformers for molecule property prediction", "authors": "Grace Hopper",
        "abstract": "We predict molecule properties with graph transformers.", "update_date": "2024-02-02",
    }) + "\n", encoding="utf-8")
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    pg.get_by_role("tab", name="Library").click()
    pg.wait_for_selector("#la-table", timeout=10_000)
    pg.locator("#la-upload input[type=file]").set_input_files([str(good), str(bad)])
    pg.locator("#la-ingest").click()
    pg.wait_for_selector("#la-ingest-result .la-ingest", timeout=60_000)
    result = pg.locator("#la-ingest-result").inner_text()
    assert "my-papers.jsonl" in result and "added 1" in result
    assert "empty.txt" in result and "failed" in result
    pg.wait_for_function("() => document.querySelector('#la-table').innerText.includes('Graph transformers')", timeout=20_000)
    page.shot("library-upload")


def test_hostile_paper_text_renders_inert(page, tmp_path):
    pg = page.page
    hostile = tmp_path / "hostile <img src=x onerror=alert(1)>.jsonl"
    hostile.write_text(json.dumps({
        "id": "2403.00003", "title": XSS_TITLE, "authors": "Mallory Attacker, Eve Intruder",
        "abstract": XSS_ABSTRACT, "categories": "cs.LG", "update_date": "2024-03-03",
    }) + "\n", encoding="utf-8")
    pg.get_by_role("tab", name="Library").click()
    pg.locator("#la-upload input[type=file]").set_input_files([str(hostile)])
    pg.locator("#la-ingest").click()
    pg.wait_for_selector("#la-ingest-result .la-ingest", timeout=60_000)
    assert "added 1" in pg.locator("#la-ingest-result").inner_text()
    # (gradio drops < > from upload names; what is left shows as text)
    assert "onerror=alert(1)" in pg.locator("#la-ingest-result").inner_text()

    # the table row and the record (shown by clicking the row), as text
    row = pg.locator("#la-table tr[data-id='2403.00003']")
    row.wait_for(timeout=20_000)
    assert "<script>window.__xss=1</script>" in row.inner_text()
    row.click()
    pg.wait_for_selector("#la-record .la-record", timeout=20_000)
    record = pg.locator("#la-record").inner_text()
    assert "<script>window.__xss=1</script>" in record
    assert "[x](javascript:window.__xss=1)" in record
    pg.locator("#la-record").scroll_into_view_if_needed()
    page.shot("hostile-record")

    # an answer citing it, with its sources
    pg.get_by_role("tab", name="Chat").click()
    page.open_filters("Mallory Attacker")
    page.ask("robust aggregation against poisoned updates from malicious clients")
    page.wait_answer()
    sources = pg.locator("#la-sources").inner_text()
    assert "<script>window.__xss=1</script>" in sources
    assert '<img src=x onerror="window.__xss=1">' in sources
    chat = pg.locator("#la-chat").inner_text()
    page.shot("hostile-answer")

    assert pg.evaluate("() => window.__xss") is None
    assert not page.dialogs
    assert pg.locator("a[href^='javascript']").count() == 0
    assert pg.locator("img[src='x']").count() == 0
    assert pg.locator("#la-sources script, #la-chat script, #la-record script").count() == 0
    # the quoted hostile sentence (if the answer quotes it) shows literally, not as a link
    if "javascript" in chat:
        assert "[x](javascript:window.__xss=1)" in chat
    assert not page.external, page.external
