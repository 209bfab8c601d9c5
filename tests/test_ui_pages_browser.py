"""Page citations and "Find citations" in a real headless Chromium, on an app started with a
login (`--auth`): the sources panel shows "p. 3" with the passage, its link opens the stored PDF
(served by the app, only to a signed-in user) at that page, and a pasted draft gets its citations.

With LITASSIST_UPDATE_SCREENSHOTS=1 the "Find citations" screenshot is copied to
docs/screenshot-find-citations.png (the README's).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.test_pages import PAGE_3_CLAIM, tidal_pdf
from tests.test_ui_browser import CHROMIUM, REPO, browser, free_port  # noqa: F401  (browser: the shared fixture)

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)

USER, PASSWORD = "reader", "s3cret-pages"
LLAMA = "Llama 3 is a herd of language models whose largest model is a dense Transformer with 405B parameters."
PENGUINS = "Emperor penguins breed during the Antarctic winter and the males incubate the single egg on their feet."
DRAFT = f"""\\section{{Background}}
{LLAMA} {PAGE_3_CLAIM}
{PENGUINS}
"""


@pytest.fixture(scope="module")
def app(seeded_store_dir, tmp_path_factory, embedder):
    from assistant.library import ingest_paths
    from assistant.library import Library
    from ui.app import build_app, launch

    base = tmp_path_factory.mktemp("ui-pages")
    shutil.copytree(seeded_store_dir, base / "store")
    store = Library(base / "store", embedder=embedder)
    pdf = base / "papers" / "tidal.pdf"
    pdf.parent.mkdir()
    pdf.write_bytes(tidal_pdf())
    assert ingest_paths(store, [pdf]).added == 1
    demo = build_app(store, default_model="extractive")
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, auth=(USER, PASSWORD), block=False, quiet=True)
    yield f"http://127.0.0.1:{port}/", pdf
    demo.close()


@pytest.fixture
def signed_in(browser, app):  # noqa: F811  (the shared fixture)
    url, _ = app
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.locator("input[type=password]").wait_for(timeout=30_000)
    page.locator("input[type=text], input:not([type])").first.fill(USER)
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#la-message textarea", timeout=30_000)
    yield context, page
    context.close()


def send(page, text: str, turn: int) -> None:
    page.locator("#la-message textarea").fill(text)
    page.locator("#la-send").click()
    page.wait_for_selector(f"#la-sources [data-turn='{turn}']", timeout=120_000)


def test_cited_page_opens_the_served_pdf_at_that_page(signed_in, app, browser, tmp_path):  # noqa: F811
    context, page = signed_in
    url, pdf = app
    send(page, "How much kinetic energy did the semidiurnal tide carry at the shelf break during spring tides?", 1)
    entry = page.locator("#la-sources li.la-src", has_text="Tidal Currents on the Continental Shelf").first
    assert entry.locator(".la-page").inner_text() == "p. 3"
    assert "semidiurnal" in entry.locator(".la-passage mark.la-support").inner_text()
    link = entry.locator("a.la-pdf")
    href = link.get_attribute("href")
    assert href.startswith("/gradio_api/file=") and href.endswith("#page=3")
    page.screenshot(path=str(tmp_path / "page-citation.png"))

    with context.expect_page() as opened:
        link.click()
    viewer = opened.value
    assert viewer.url.endswith("tidal.pdf#page=3"), viewer.url
    viewer.close()

    served = context.request.get(url.rstrip("/") + href.split("#")[0])
    assert served.status == 200
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith("inline")
    assert served.body() == pdf.read_bytes()

    # not signed in: the same file is refused; and no other path is served
    stranger = browser.new_context()
    try:
        refused = stranger.request.get(url.rstrip("/") + href.split("#")[0])
        assert refused.status in (401, 403)
    finally:
        stranger.close()
    for other in (str(pdf), str(REPO / "pyproject.toml"), "/etc/passwd"):
        assert context.request.get(url.rstrip("/") + "/gradio_api/file=" + other).status == 403


def test_find_citations_in_the_chat(signed_in, tmp_path):
    _, page = signed_in
    page.get_by_text("Find citations", exact=True).click()
    send(page, DRAFT, 1)
    panel = page.locator("#la-sources")
    sentences = panel.locator("li.la-draft-sentence")
    assert sentences.count() == 3, panel.inner_text()
    llama = panel.locator("li.la-draft-sentence", has_text="405B parameters").first
    assert "la-status-supported" in llama.get_attribute("class")
    assert "Llama 3" in llama.locator(".la-suggestion .la-title").first.inner_text()
    tidal = panel.locator("li.la-draft-sentence", has_text="semidiurnal").first
    top = tidal.locator(".la-suggestion").first
    assert "Tidal Currents" in top.inner_text() and top.locator(".la-page").inner_text() == "p. 3"
    assert top.locator("a.la-pdf").get_attribute("href").endswith("#page=3")
    penguins = panel.locator("li.la-draft-sentence", has_text="Emperor penguins").first
    assert "la-status-none" in penguins.get_attribute("class")
    assert "Nothing in the library supports this sentence" in penguins.inner_text()
    chat = page.locator("#la-chat").inner_text()
    assert "\\cite{" in chat and "Citations for your draft" in chat
    assert page.locator("#la-bib").is_visible()
    shot = tmp_path / "find-citations.png"
    page.screenshot(path=str(shot))
    if os.environ.get("LITASSIST_UPDATE_SCREENSHOTS"):
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / "screenshot-find-citations.png")
