"""The Library tab's events and the status line: list, search, show and delete papers, add
uploaded files (kept in the library's uploads folder under `assistant.uploads`' policy)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from assistant.errors import LitassistError, NotFoundError
from assistant.library import IngestReport, ingest_paths
from assistant.retrieve import filters_where, search
from assistant.library import Library
from assistant.uploads import UploadBatch, naming_the_upload, store_copy, uploads_folder
from ui.filters import make_filters
from ui.library_html import FileResult, ingest_results_html, paper_record_html, papers_table_html
from ui.safe_text import escape_md, notice_html
from ui.status import LibraryStatus

log = logging.getLogger("litassist.ui")


class LibraryActions:
    def __init__(self, store: Library, status: LibraryStatus):
        self.store = store
        self.status = status

    # ---- status ---------------------------------------------------------------------------------
    def status_markdown(self) -> str:
        message, busy = self.status.get()
        try:
            count = self.store.count()
            where = self.store.describe()
        except Exception as exc:
            return f"⚠ The library cannot be read: {escape_md(str(exc))}"
        line = f"**{count}** paper(s) in the library · store: `{where}`"
        if message:
            line += f" · {'**working:** ' if busy else ''}{escape_md(message)}"
        return line

    def status_tick(self, query: str = "", author: str = "", year_from: Any = "", year_to: Any = "") -> tuple:
        """Timer tick while seeding: the status line; once seeding ends, stop and refresh the table."""
        import gradio as gr

        _, busy = self.status.get()
        if busy:
            return self.status_markdown(), gr.Timer(active=True), gr.update(), gr.update()
        table, note = self.list_papers(query, author, year_from, year_to)
        return self.status_markdown(), gr.Timer(active=False), table, note

    # ---- papers ---------------------------------------------------------------------------------
    def list_papers(self, query: str, author: str, year_from: Any, year_to: Any) -> tuple[str, str]:
        try:
            filters = make_filters(author, year_from, year_to)
            query = (query or "").strip()
            if query:
                papers = [h.paper for h in search(self.store, query, k=50, filters=filters)]
                note = f"{len(papers)} paper(s) matching “{query}”, best first"
            else:
                papers = self.store.papers(filters_where(filters))
                note = f"{len(papers)} paper(s)" + ("" if filters.is_empty() else " matching the filters")
        except LitassistError as exc:
            return notice_html(str(exc), "error"), escape_md(str(exc))
        return papers_table_html(papers), escape_md(note)

    def show_paper(self, paper_id: str) -> str:
        paper_id = (paper_id or "").strip()
        if not paper_id:
            return notice_html("Type or select a paper id.")
        try:
            return paper_record_html(self.store.get(paper_id))
        except NotFoundError as exc:
            return notice_html(str(exc), "error")

    def ask_delete(self, paper_id: str) -> tuple:
        import gradio as gr

        paper_id = (paper_id or "").strip()
        if not paper_id:
            return gr.update(visible=False), notice_html("Type or select the id of the paper to delete.")
        try:
            paper = self.store.get(paper_id)
        except NotFoundError as exc:
            return gr.update(visible=False), notice_html(str(exc), "error")
        return (
            gr.update(visible=True),
            notice_html(f"Delete “{paper.display_title()}” ({paper.id}) from the library? This cannot be undone.", "warn"),
        )

    def confirm_delete(self, paper_id: str) -> tuple:
        import gradio as gr

        try:
            removed = self.store.remove([(paper_id or "").strip()])
        except LitassistError as exc:
            return gr.update(visible=False), notice_html(str(exc), "error")
        return gr.update(visible=False), notice_html(f"Deleted {', '.join(removed)}.", "ok")

    # ---- uploads --------------------------------------------------------------------------------
    def ingest(self, files: list[str] | None, progress: Any = None, *, replace: bool = False) -> str:
        """Copy uploads into the library's uploads folder and ingest each file; one result per file.
        With `replace`, a file named like an earlier upload is its new version (`assistant.uploads`)."""
        paths = [Path(f) for f in files or []]  # the File component gives file paths
        if not paths:
            return ingest_results_html([])
        batch = UploadBatch(uploads_folder(self.store.store_dir), replace=replace)
        results = []
        for i, path in enumerate(paths):
            if progress is not None:
                progress((i, len(paths)), desc=f"reading {path.name}")
            results.append(self._ingest_one(batch, path, progress))
        return ingest_results_html(results)

    def _ingest_one(self, batch: UploadBatch, path: Path, progress: Any) -> FileResult:
        name = path.name
        target = batch.target(path)
        try:
            store_copy(path, target)
            report = ingest_paths(self.store, [target], on_progress=_embedding_progress(progress, name))
        except LitassistError as exc:
            return FileResult(name, failed=True, errors=[str(exc)])
        except Exception as exc:
            log.exception("ingest of %s failed", name)
            return FileResult(name, failed=True, errors=[f"{type(exc).__name__}: {exc}"])
        return _file_result(name, report, [naming_the_upload(f.path, f.error, target, name) for f in report.failed + report.problems])


def _file_result(name: str, report: IngestReport, errors: list[str]) -> FileResult:
    return FileResult(
        name, failed=bool(report.failed) and not report.paper_ids, format=", ".join(report.formats) or None,
        added=report.added, updated=report.updated, unchanged=report.unchanged, removed=report.removed, errors=errors,
    )


def _embedding_progress(progress: Any, name: str) -> Callable[[int, int], None] | None:
    """Gradio progress for the texts of one uploaded file (abstracts, full-text chunks) as they are embedded."""
    if progress is None:
        return None
    return lambda done, total: progress((done, total), desc=f"embedding {name}", unit="texts")
