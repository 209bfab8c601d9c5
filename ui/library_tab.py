"""The Library tab: search and filter the papers, show or delete one, add files; and its events
(`ui.library_actions`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ui.actions import Actions
from ui.library_html import TABLE_JS


@dataclass
class LibraryTab:
    query: Any
    author: Any
    year_from: Any
    year_to: Any
    search: Any
    note: Any
    table: Any
    paper_id: Any
    show: Any
    delete: Any
    confirm_row: Any
    confirm: Any
    cancel: Any
    delete_note: Any
    record: Any
    files: Any
    replace_uploads: Any
    ingest: Any
    ingest_result: Any

    @property
    def list_inputs(self) -> list[Any]:
        return [self.query, self.author, self.year_from, self.year_to]


def build() -> LibraryTab:
    """The tab's components, laid out inside the current `gr.Tab`."""
    import gradio as gr

    with gr.Row():
        query = gr.Textbox(label="Search", placeholder="words or a question; empty lists all", scale=4, elem_id="la-l-query")
        author = gr.Textbox(label="Author", scale=2, elem_id="la-l-author")
        year_from = gr.Textbox(label="From year", placeholder="e.g. 2019", scale=1, min_width=90)
        year_to = gr.Textbox(label="To year", placeholder="e.g. 2024", scale=1, min_width=90)
        search = gr.Button("Search", variant="primary", scale=1, elem_id="la-l-search")
    note = gr.Markdown("", label="Count", elem_id="la-l-note")
    # An HTML table, not gr.Dataframe: gradio 6's Dataframe freezes the page when shown in
    # a tab next to an Accordion (gradio-app/gradio#13448), and we escape cells ourselves.
    table = gr.HTML("", label="Papers", elem_id="la-table", js_on_load=TABLE_JS)
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row():
                paper_id = gr.Textbox(label="Paper id (click a row or type it)", scale=3, elem_id="la-paper-id")
                show = gr.Button("Show record", scale=1, elem_id="la-show")
                delete = gr.Button("Delete…", variant="stop", scale=1, elem_id="la-delete")
            with gr.Row(visible=False) as confirm_row:
                confirm = gr.Button("Yes, delete it", variant="stop", elem_id="la-confirm-delete")
                cancel = gr.Button("Cancel", elem_id="la-cancel-delete")
            delete_note = gr.HTML("", label="Delete result", elem_id="la-delete-note", js_on_load=None)
            record = gr.HTML("", label="Record", elem_id="la-record", js_on_load=None)
        with gr.Column(scale=2):
            files = gr.File(label="Add papers (text, CSV/TSV, JSONL, BibTeX, PDF)", file_count="multiple", type="filepath", elem_id="la-upload")
            replace_uploads = gr.Checkbox(
                value=False, elem_id="la-replace",
                label="New version of an earlier upload (same file name): update its papers and remove the ones it no longer holds",
            )
            ingest = gr.Button("Add to library", variant="primary", elem_id="la-ingest")
            ingest_result = gr.HTML("", label="Ingest results", elem_id="la-ingest-result", js_on_load=None)
    return LibraryTab(query, author, year_from, year_to, search, note, table, paper_id, show, delete, confirm_row, confirm,
                      cancel, delete_note, record, files, replace_uploads, ingest, ingest_result)


def wire(demo: Any, tab: LibraryTab, actions: Actions, status_md: Any, timer: Any) -> None:
    """The tab's events, and the status line's (`status_md`, refreshed by `timer` while seeding)."""
    import gradio as gr

    library, listed = actions.library, [tab.table, tab.note]
    timer.tick(library.status_tick, tab.list_inputs, [status_md, timer, *listed], api_visibility="private", queue=False)
    demo.load(library.list_papers, tab.list_inputs, listed, api_name="initial_papers", api_visibility="private")
    demo.load(library.status_markdown, None, status_md, api_name="initial_status", api_visibility="private", queue=False)
    tab.search.click(library.list_papers, tab.list_inputs, listed, api_name="list_papers")
    tab.query.submit(library.list_papers, tab.list_inputs, listed, api_visibility="private")
    tab.show.click(library.show_paper, tab.paper_id, tab.record, api_name="show_paper")
    tab.paper_id.submit(library.show_paper, tab.paper_id, tab.record, api_visibility="private")

    def on_ingest(uploaded, replace, progress=gr.Progress()):
        return library.ingest(uploaded, progress, replace=bool(replace))

    tab.ingest.click(on_ingest, [tab.files, tab.replace_uploads], tab.ingest_result, api_name="ingest").then(
        library.list_papers, tab.list_inputs, listed, api_visibility="private"
    ).then(library.status_markdown, None, status_md, api_visibility="private")
    tab.delete.click(library.ask_delete, tab.paper_id, [tab.confirm_row, tab.delete_note], api_visibility="private")
    tab.confirm.click(library.confirm_delete, tab.paper_id, [tab.confirm_row, tab.delete_note], api_name="delete_paper").then(
        library.list_papers, tab.list_inputs, listed, api_visibility="private"
    ).then(library.status_markdown, None, status_md, api_visibility="private").then(lambda: "", None, tab.record, api_visibility="private")
    tab.cancel.click(lambda: (gr.update(visible=False), ""), None, [tab.confirm_row, tab.delete_note], api_visibility="private")
