"""The web app: the status line above two tabs (`ui.chat_tab`, `ui.library_tab`; what their
events do is in `ui.actions`).

`build_app(store, default_model=...)` returns the `gr.Blocks`; `launch(demo, ...)` starts it with
the app's CSS, offline and without share links; `serve(...)` is `litassist serve`.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import assistant  # noqa: F401  (offline and no-analytics environment before gradio is imported)
from assistant.settings import Settings
from assistant.errors import LitassistError
from assistant.library import Library
from ui import chat_tab, conversation_panel, library_tab
from ui.actions import Actions
from ui.session import new_session
from ui.status import LibraryStatus, seed_store
from ui.style import CSS

CONCURRENCY = 8  # chat requests served at once (>= 4 users chatting concurrently)
TITLE = "litassist"


def build_app(
    store: Library,
    default_model: str | None = None,
    *,
    status: LibraryStatus | None = None,
    default_base_url: str | None = None,
    settings: Settings | None = None,
):
    import gradio as gr

    actions = Actions(store, default_model=default_model, status=status, settings=settings)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(new_session())
        with gr.Row(equal_height=True):
            gr.Markdown("## litassist · answers from your papers, every citation a real paper", elem_id="la-header")
        status_md = gr.Markdown(actions.library.status_markdown(), elem_id="la-status")
        _, busy = actions.status.get()
        timer = gr.Timer(1.0, active=busy)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = chat_tab.build(actions, default_base_url)
            with gr.Tab("Library", id="library"):
                library = library_tab.build()
        chat_tab.wire(demo, chat, actions, session)
        library_tab.wire(demo, library, actions, status_md, timer)

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
        css=CSS + conversation_panel.CSS,
        # Only the copies of cited PDFs (ui/served_files.py); gradio's file route checks the login.
        allowed_paths=[str(actions.turns.pdf_dir)] if actions is not None else None,
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

    from assistant.settings import SEEDS_DIR
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
        default_base_url=settings.base_url, settings=settings,
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
