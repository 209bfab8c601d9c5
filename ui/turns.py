"""A finished request as the chat shows it: the answer's Markdown, its sources panel (with links
to the cited PDFs the app serves), its plain text, an author summary's plots, and the BibTeX
download. Used for a new answer and for each answer of a reopened conversation alike."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any, Mapping

from assistant.library import Library
from ui.answer_markdown import author_extras_markdown, draft_markdown, plain_text, result_markdown
from ui.author_plots import author_images
from ui.modes import AUTHOR, CITE, RELATED
from ui.result_view import result_view
from ui.safe_text import error_markdown, escape_md
from ui.served_files import serve_copy
from ui.session import ShownTurn
from ui.sources_panel import draft_pdf_paper_ids, draft_sources_html, sources_html

log = logging.getLogger("litassist.ui")

PANEL_HEADINGS = {AUTHOR: "Papers summarised", RELATED: "Papers cited"}  # otherwise "Sources"


class TurnBuilder:
    """Turns results into `ShownTurn`s for one app; keeps the served PDF copies, the plots and the
    BibTeX files in temporary folders of its own."""

    def __init__(self, store: Library):
        self.store = store
        # Copies of cited PDFs, the only files the app serves from the library (see `pdf_urls`).
        self.pdf_dir = Path(tempfile.mkdtemp(prefix="litassist-pdf-"))
        self._plot_dir = Path(tempfile.mkdtemp(prefix="litassist-plots-"))
        self._bib_dir = Path(tempfile.mkdtemp(prefix="litassist-bib-"))

    @staticmethod
    def failed(mode: str, query: str, message: str) -> ShownTurn:
        return ShownTurn(mode, query, {}, error_markdown(message), error=message)

    def shown(self, turn_no: int, mode: str, query: str, data: dict[str, Any], filters: str = "") -> ShownTurn:
        """Turn number `turn_no` of the chat, from its result's JSON; `filters` as the panel names them."""
        if mode == CITE:
            panel = draft_sources_html(data, turn_no, self.pdf_urls(draft_pdf_paper_ids(data)))
            plain = data["text"].strip()
            return ShownTurn(mode, query, data, draft_markdown(data), panel, plain)
        view = result_view(mode, data)
        try:
            papers = self.store.get_many([c.paper_id for c in view.citations + view.closest])
        except Exception:  # the panel still shows what the result carries
            log.exception("could not load cited papers")
            papers = {}
        markdown = result_markdown(view, turn_no)
        images: list[dict[str, str]] = []
        if mode == AUTHOR:
            markdown = "\n\n".join(x for x in (markdown, author_extras_markdown(data)) if x)
            images = author_images(self._plot_dir, data)
        if not markdown:
            markdown = escape_md(view.no_text_message) if view.no_text_message else "*(no answer text)*"
        paged = [c.paper_id for c in view.citations if c.pages]
        heading = f"{PANEL_HEADINGS.get(mode, 'Sources')} (answer {turn_no})"
        panel = sources_html(view, papers, turn_no, heading=heading, filters=filters, pdf_urls=self.pdf_urls(paged, papers))
        cited = [c.paper_id for c in view.citations]
        return ShownTurn(mode, query, data, markdown, panel, plain_text(view), images, cited)

    def pdf_urls(self, paper_ids: list[str], papers: Mapping[str, Any] | None = None) -> dict[str, str]:
        """paper id -> the URL of its PDF served by the app. The stored file is copied into
        `pdf_dir` (the app's only allowed path, `launch(allowed_paths=...)`): gradio then serves it
        inline behind its login check, and no other file of the library or the disk is reachable."""
        wanted = [i for i in dict.fromkeys(paper_ids) if i]
        if not wanted:
            return {}
        known = dict(papers or {})
        try:
            found = {**known, **self.store.get_many([i for i in wanted if i not in known])}
        except Exception:  # no link is better than a failed panel
            log.exception("could not load papers for their PDFs")
            return {}
        urls = {}
        for pid in wanted:
            paper = found.get(pid)
            pdfs = [s.path for s in paper.sources if s.format == "pdf" and s.path] if paper else []
            url = next((u for u in (serve_copy(self.pdf_dir, Path(path)) for path in pdfs) if u), None)
            if url:
                urls[pid] = url
        return urls

    def bib_button(self, turn_no: int, bibtex: str) -> Any:
        """The BibTeX download of a turn, hidden when it cites nothing."""
        import gradio as gr

        if not bibtex:
            return gr.update(visible=False)
        folder = Path(tempfile.mkdtemp(dir=self._bib_dir))
        path = folder / f"litassist-references-{turn_no}.bib"
        path.write_text(bibtex, encoding="utf-8")
        entries = sum(1 for line in bibtex.splitlines() if line.startswith("@"))
        return gr.update(value=str(path), visible=True, interactive=True, label=f"Download BibTeX ({entries} entr{'y' if entries == 1 else 'ies'})")
