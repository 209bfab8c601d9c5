"""The web app: layout and event wiring only (what the events do is in `ui.actions`,
how results look in `ui.render`).

`build_app(store, default_model=...)` returns the `gr.Blocks`; `launch(demo, ...)` starts it with
the app's CSS, offline and without share links; `serve(...)` is `litassist serve`.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import assistant  # noqa: F401  (offline and no-analytics environment before gradio is imported)
from assistant.config import Settings
from assistant.errors import LitassistError
from assistant.library import Library
from ui import conversation_panel, render
from ui.actions import ASK, MODE_PLACEHOLDERS, MODES, Actions, LibraryStatus, backend_choices, new_session, seed_store, split_spec

# Copies the last answer's plain text (answer + numbered references) in the browser.
COPY_JS = """
(text) => {
  if (!text) return [];
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text);
  } else {
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  return [];
}
"""
CONCURRENCY = 8  # chat requests served at once (>= 4 users chatting concurrently)
TITLE = "litassist"


def build_app(
    store: Any,
    default_model: str | None = None,
    *,
    status: LibraryStatus | None = None,
    default_base_url: str | None = None,
    default_api_key: str | None = None,
):
    import gradio as gr

    actions = Actions(store, default_model=default_model, status=status, default_api_key=default_api_key)
    backend, model_name = split_spec(actions.default_model)
    choices = backend_choices()
    if backend not in [v for _, v in choices]:
        choices.append((backend, backend))

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(new_session())
        with gr.Row(equal_height=True):
            gr.Markdown("## litassist · answers from your papers, every citation a real paper", elem_id="la-header")
        status_md = gr.Markdown(actions.status_markdown(), elem_id="la-status")
        _, busy = actions.status.get()
        timer = gr.Timer(1.0, active=busy)

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    mode = gr.Radio(list(MODES), value=ASK, label="Mode", elem_id="la-mode", scale=4)
                    with gr.Column(scale=3, min_width=260):
                        with gr.Accordion("Filters (author, years)", open=False, elem_id="la-filters"):
                            f_author = gr.Textbox(label="Author", placeholder="e.g. Nguyen, or a full name", elem_id="la-f-author")
                            with gr.Row():
                                f_year_from = gr.Textbox(label="From year", placeholder="e.g. 2019", elem_id="la-f-from", min_width=90)
                                f_year_to = gr.Textbox(label="To year", placeholder="e.g. 2024", elem_id="la-f-to", min_width=90)
                            f_category = gr.Textbox(label="arXiv category", placeholder="e.g. cs.LG", elem_id="la-f-cat")
                            with gr.Row():
                                f_collection = gr.Textbox(label="Collection", value="", placeholder="e.g. Thesis/Chapter 2", elem_id="la-f-collection", min_width=90)
                                f_tag = gr.Textbox(label="Tag", value="", placeholder="e.g. to-read", elem_id="la-f-tag", min_width=90)
                    with gr.Column(scale=3, min_width=260):
                        with gr.Accordion("Model", open=False, elem_id="la-model"):
                            m_backend = gr.Dropdown(choices=choices, value=backend, label="Backend", elem_id="la-m-backend")
                            m_name = gr.Dropdown(
                                choices=[model_name] if model_name else [], value=model_name, allow_custom_value=True,
                                label="Model name (type one, or list the server's)", elem_id="la-m-name",
                            )
                            m_base_url = gr.Textbox(label="Base URL", value=default_base_url or "", placeholder="empty: the backend's default", elem_id="la-m-url")
                            m_api_key = gr.Textbox(label="API key", type="password", value="", placeholder="hosted endpoints only; never shown or logged", elem_id="la-m-key")
                            m_list = gr.Button("List the server's models", size="sm", elem_id="la-m-list")
                            m_note = gr.Markdown("", elem_id="la-m-note")
                            m_cite = gr.Radio(["numeric", "latex"], value="numeric", label="Related-work citations", elem_id="la-m-cite")
                with gr.Row():
                    with gr.Column(scale=2, min_width=190, elem_id="la-conv-col"):
                        conversations = conversation_panel.build(actions)
                    with gr.Column(scale=6):
                        chatbot = gr.Chatbot(
                            value=[],
                            label="Chat",
                            elem_id="la-chat",
                            height=560,
                            buttons=[],  # its copy buttons copy Markdown source; "Copy answer" copies clean text
                            sanitize_html=True,
                            render_markdown=True,
                            latex_delimiters=[],
                            allow_tags=False,
                            feedback_options=None,
                            placeholder="Ask about the papers in your library. Answers cite them as [1], [2], … — "
                            "the numbers match the Sources panel.",
                        )
                        with gr.Row():
                            message = gr.Textbox(
                                label="Message", placeholder=MODE_PLACEHOLDERS[ASK], show_label=False, scale=8, lines=1, max_lines=4,
                                elem_id="la-message", autofocus=True, submit_btn=False,
                            )
                            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="la-send")
                        with gr.Row():
                            clear = gr.Button("New chat", size="sm", elem_id="la-clear")
                            copy = gr.Button("Copy answer", size="sm", elem_id="la-copy")
                            bib = gr.DownloadButton("Download BibTeX", visible=False, size="sm", elem_id="la-bib")
                        with gr.Accordion("Last answer as plain text", open=False):
                            plain = gr.Textbox(label="Answer (plain text)", show_label=False, lines=6, max_lines=20, buttons=["copy"], interactive=False, elem_id="la-plain")
                    with gr.Column(scale=5, elem_id="la-sources-col"):
                        sources = gr.HTML(render.EMPTY_SOURCES, label="Sources", elem_id="la-sources", js_on_load=None)

            with gr.Tab("Library", id="library"):
                with gr.Row():
                    l_query = gr.Textbox(label="Search", placeholder="words or a question; empty lists all", scale=4, elem_id="la-l-query")
                    l_author = gr.Textbox(label="Author", scale=2, elem_id="la-l-author")
                    l_from = gr.Textbox(label="From year", placeholder="e.g. 2019", scale=1, min_width=90)
                    l_to = gr.Textbox(label="To year", placeholder="e.g. 2024", scale=1, min_width=90)
                    l_search = gr.Button("Search", variant="primary", scale=1, elem_id="la-l-search")
                l_note = gr.Markdown("", label="Count", elem_id="la-l-note")
                # An HTML table, not gr.Dataframe: gradio 6's Dataframe freezes the page when shown in
                # a tab next to an Accordion (gradio-app/gradio#13448), and we escape cells ourselves.
                table = gr.HTML("", label="Papers", elem_id="la-table", js_on_load=render.TABLE_JS)
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

        # ---- events -----------------------------------------------------------------------------
        chat_inputs = [message, session, mode, f_author, f_year_from, f_year_to, f_category, m_backend, m_name, m_base_url, m_api_key, m_cite, f_collection, f_tag]
        chat_outputs = [chatbot, sources, session, plain, bib, message]
        asked = send.click(actions.respond, chat_inputs, chat_outputs, api_name="ask")
        m_list.click(actions.server_models, [m_backend, m_name, m_base_url, m_api_key], [m_name, m_note], api_name="models")
        submitted = message.submit(actions.respond, chat_inputs, chat_outputs, api_visibility="private")
        cleared = clear.click(actions.clear, None, chat_outputs, api_name="new_chat")
        chat_cleared = chatbot.clear(actions.clear, None, chat_outputs, api_visibility="private")
        conversation_panel.wire(
            demo, conversations, conversation_panel.ConversationActions(actions),
            session=session, chat_outputs=chat_outputs, after=[asked, submitted], new_chat=[cleared, chat_cleared],
        )
        copy.click(None, plain, None, js=COPY_JS, api_visibility="private")
        mode.change(lambda m: gr.update(placeholder=MODE_PLACEHOLDERS.get(m, "")), mode, message, api_visibility="private", queue=False)

        list_inputs = [l_query, l_author, l_from, l_to]
        timer.tick(actions.status_tick, list_inputs, [status_md, timer, table, l_note], api_visibility="private", queue=False)
        demo.load(actions.list_papers, list_inputs, [table, l_note], api_name="initial_papers", api_visibility="private")
        demo.load(actions.status_markdown, None, status_md, api_name="initial_status", api_visibility="private", queue=False)
        l_search.click(actions.list_papers, list_inputs, [table, l_note], api_name="list_papers")
        l_query.submit(actions.list_papers, list_inputs, [table, l_note], api_visibility="private")
        show.click(actions.show_paper, paper_id, record, api_name="show_paper")
        paper_id.submit(actions.show_paper, paper_id, record, api_visibility="private")

        def on_ingest(uploaded, replace, progress=gr.Progress()):
            return actions.ingest(uploaded, progress, replace=bool(replace))

        ingest.click(on_ingest, [files, replace_uploads], ingest_result, api_name="ingest").then(
            actions.list_papers, list_inputs, [table, l_note], api_visibility="private"
        ).then(actions.status_markdown, None, status_md, api_visibility="private")
        delete.click(actions.ask_delete, paper_id, [confirm_row, delete_note], api_visibility="private")
        confirm.click(actions.confirm_delete, paper_id, [confirm_row, delete_note], api_name="delete_paper").then(
            actions.list_papers, list_inputs, [table, l_note], api_visibility="private"
        ).then(actions.status_markdown, None, status_md, api_visibility="private").then(lambda: "", None, record, api_visibility="private")
        cancel.click(lambda: (gr.update(visible=False), ""), None, [confirm_row, delete_note], api_visibility="private")

    demo.queue(default_concurrency_limit=CONCURRENCY)
    demo.litassist_actions = actions  # for tests and embedding
    return demo


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """`USER:PASS` -> (user, pass)."""
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise LitassistError("--auth / LITASSIST_AUTH must be USER:PASS (both non-empty)")
    return user, password


def launch(demo, *, host: str = "127.0.0.1", port: int | None = 7860, auth: tuple[str, str] | str | None = None, block: bool = True, quiet: bool = False):
    """Start the app: local only unless `host` says otherwise, no share link, no SSR node server."""
    import gradio as gr

    if isinstance(auth, str):
        auth = parse_auth(auth)
    actions = getattr(demo, "litassist_actions", None)
    return demo.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="litassist: log in with the user and password given to `litassist serve --auth`" if auth else None,
        share=False,
        inbrowser=False,
        prevent_thread_lock=not block,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        footer_links=["api", "settings"],
        theme=gr.themes.Default(primary_hue="indigo"),
        css=render.CSS + conversation_panel.CSS,
        # Only the copies of cited PDFs (ui/served_files.py); gradio's file route checks the login.
        allowed_paths=[str(actions.pdf_dir)] if actions is not None else None,
    )


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host if host not in ("", "0.0.0.0") else "0.0.0.0", port))
        except OSError:
            return False
    return True


@dataclass
class App:
    """The web app over the library the settings name, not yet launched."""

    demo: Any
    library: Library
    status: LibraryStatus
    seeding: bool


def create_app(settings: Settings, *, seed: bool = True) -> App:
    """Open the library with the resolved settings (the same as the CLI's), build the app, and start
    seeding an empty library with the bundled seeds in the background."""
    import threading

    from assistant.config import SEEDS_DIR
    from assistant.library import open_library_with

    library = open_library_with(settings)
    status = LibraryStatus()
    seeding = seed and library.count() == 0
    if seeding:
        status.set("Adding the bundled seed papers…", True)
    else:  # load the model and indexes while gradio imports
        from assistant.retrieve import warm_up

        threading.Thread(target=warm_up, args=(library,), daemon=True, name="litassist-warm-up").start()
    demo = build_app(
        library, default_model=settings.model, status=status,
        default_base_url=settings.base_url, default_api_key=settings.api_key,
    )
    if seeding:
        threading.Thread(target=seed_store, args=(library, SEEDS_DIR, status), daemon=True, name="litassist-seed").start()
    return App(demo=demo, library=library, status=status, seeding=seeding)


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    seed: bool = True,
    watch_paths: list[str] | None = None,
) -> None:
    """`litassist serve`: open the store, seed an empty one in the background, start the app;
    with `watch_paths`, keep the library in step with them (`assistant.watch`) while it runs."""
    credentials = parse_auth(auth)
    if port and not _port_free(host, port):
        raise LitassistError(f"port {port} on {host} is in use: choose another with --port")
    print(f"opening the library at {settings.chroma_url or settings.store_dir}…")
    app = create_app(settings, seed=seed)
    stop_watching = start_watching(app.library, watch_paths, app.status) if watch_paths else None
    print(f"litassist: http://{host}:{port}/" + ("  (login required)" if credentials else ""))
    try:
        launch(app.demo, host=host, port=port, auth=credentials, block=True)
    finally:
        if stop_watching is not None:
            stop_watching.set()


def start_watching(library, paths: list[str], status: LibraryStatus):
    """Follow `paths` on a background thread; each handled change is shown in the status line."""
    from assistant.watch import watch_in_background

    def on_round(round_) -> None:
        report = round_.report
        if report is not None:
            status.set(f"Synced {report.format_summary()}: added {report.added}, updated {report.updated}, "
                       f"removed {report.removed + len(round_.removed)}", False)
        elif round_.removed:
            status.set(f"Removed {len(round_.removed)} paper(s) of deleted files", False)
        elif round_.error:
            status.set(f"Could not sync a change: {round_.error}", False)
        print(f"watch: {status.get()[0]}", flush=True)

    print(f"watching {', '.join(paths)} for changes")
    return watch_in_background(library, paths, on_round)
