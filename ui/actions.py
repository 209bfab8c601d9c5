"""What the UI's events do: thin calls into the library, results turned into component values.

No retrieval, prompting or citation logic lives here: questions go to `assistant.answer.ask_stream`,
author summaries to `assistant.tasks.author.summarize_author`, related work to
`assistant.tasks.related_work.draft_related_work`, library changes to `assistant.library`.
Those modules are imported inside the handlers so that the app starts (and says what is missing)
even when one of them is absent.

Per-session state is a plain dict `{"turns": [...], "conversation": id}` held in a `gr.State`;
every turn records the mode, the query, the result's JSON and its rendered Markdown and sources
panel (and, for an author summary, its plots). Each finished turn is also saved at once in the
library's saved conversations (`assistant.conversations`); `ui.conversation_panel` lists, reopens,
renames, deletes and exports them.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, TypedDict

from assistant.errors import LitassistError, NotFoundError
from ui import render

log = logging.getLogger("litassist.ui")

ASK, AUTHOR, RELATED, CITE = "Ask", "Summarise an author", "Draft related work", "Find citations"
MODES = (ASK, AUTHOR, RELATED, CITE)
MODE_PLACEHOLDERS = {
    ASK: "Ask a question about your papers…",
    AUTHOR: "An author's name, e.g. Yann LeCun",
    RELATED: "A topic for a related-work section, e.g. federated learning on non-IID data",
    CITE: "Paste a passage of your draft (LaTeX, Markdown or plain text): each sentence gets the papers that support it",
}
# How a mode is saved in a conversation (`assistant.conversations` kinds); another mode is saved
# under its own label.
KIND_OF_MODE = {ASK: "ask", AUTHOR: "author", RELATED: "related_work", CITE: "cite_draft"}
MODE_OF_KIND = {kind: mode for mode, kind in KIND_OF_MODE.items()}
HISTORY_TURNS = 4  # earlier Q/A pairs passed to ask_stream for follow-ups
STREAM_INTERVAL = 0.05  # seconds between streamed UI updates


def new_session() -> dict[str, Any]:
    return {"turns": [], "conversation": None}


# ---- seeding status (shared by all sessions) ------------------------------------------------

class LibraryStatus:
    """What the library is doing in the background (seeding), for the status line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy = False
        self.message = ""

    def set(self, message: str, busy: bool) -> None:
        with self._lock:
            self.message, self.busy = message, busy

    def get(self) -> tuple[str, bool]:
        with self._lock:
            return self.message, self.busy


def seed_store(store: Any, seeds_dir: Path, status: LibraryStatus, console: bool = True) -> None:
    """Ingest the bundled seeds into an empty store, reporting progress to the console and UI."""
    from assistant.library import ingest_paths

    bar = None
    status.set(f"Adding the bundled seed papers from {seeds_dir}…", True)

    def progress(done: int, total: int) -> None:
        nonlocal bar
        status.set(f"Adding the bundled seed papers… {done}/{total} embedded", True)
        if console:
            if bar is None:
                import sys

                from tqdm import tqdm

                bar = tqdm(total=total, desc="seeding the library", unit="paper", file=sys.stderr)
            bar.update(done - bar.n)

    try:
        report = ingest_paths(store, [seeds_dir], on_progress=progress)
    except Exception as exc:  # the UI keeps running on an empty library
        log.exception("seeding failed")
        status.set(f"Could not add the bundled seeds: {exc}", False)
        return
    finally:
        if bar is not None:
            bar.close()
    problems = len(report.failed) + len(report.problems)
    status.set(
        f"Added {report.added} seed paper(s)" + (f"; {problems} problem(s), see the console" if problems else "") + ".",
        False,
    )
    for failure in report.failed + report.problems:
        log.warning("seed %s: %s", failure.path, failure.error)


# ---- helpers ---------------------------------------------------------------------------------

def model_spec(backend: str | None, model_name: str | None) -> str | None:
    """`extractive`, `ollama:llama3.2`, ... from the picker's backend and model name."""
    backend = (backend or "").strip()
    name = (model_name or "").strip()
    if not backend:
        return None
    if backend == "extractive":
        return "extractive"
    return f"{backend}:{name}"  # an empty name is reported by the registry, clearly


def split_spec(spec: str | None) -> tuple[str, str]:
    spec = (spec or "extractive").strip()
    backend, _, name = spec.partition(":")
    return backend.strip().lower() or "extractive", name.strip()


def backend_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the model picker, from the registry when it is there."""
    try:
        from assistant.llm.registry import available_backends

        infos = available_backends()
    except Exception:  # pragma: no cover - registry missing
        infos = [{"name": "extractive"}, {"name": "ollama"}, {"name": "openai"}]
    labels = {
        "extractive": "extractive (no LLM; quotes the papers)",
        "ollama": "ollama (local or remote Ollama)",
        "openai": "openai (any OpenAI-compatible endpoint)",
        "llamacpp": "llamacpp (GGUF file, in-process)",
    }
    return [(labels.get(str(i["name"]), str(i["name"])), str(i["name"])) for i in infos]


def make_filters(author: str | None, year_from: Any, year_to: Any, category: str | None = None,
                 collection: str | None = None, tag: str | None = None):
    from assistant.retrieve import Filters

    def year(value: Any) -> int | None:
        text = str(value).strip() if value is not None else ""
        if not text:
            return None
        try:
            number = int(float(text))
        except (TypeError, ValueError):
            raise LitassistError(f"year filter {text!r} is not a year") from None
        if not 0 < number < 10000:
            raise LitassistError(f"year filter {text!r} is not a year")
        return number

    return Filters(
        author=(author or "").strip() or None,
        year_from=year(year_from),
        year_to=year(year_to),
        category=(category or "").strip() or None,
        collection=(collection or "").strip() or None,
        tag=(tag or "").strip() or None,
    )


def filters_label(filters: Any) -> str:
    """The filters for the sources panel ('' when unfiltered)."""
    return "" if filters is None else filters.label()


def _to_json(result: Any) -> dict[str, Any]:
    if hasattr(result, "to_json"):
        return result.to_json()
    if isinstance(result, dict):
        return result
    return {"answer": str(result)}


def _user_markdown(mode: str, query: str) -> str:
    prefix = "" if mode == ASK else f"**{render.escape_md(mode)}:** "
    return prefix + render.escape_md(query)


REASONING_TITLE = "The model's reasoning (not part of the answer; never citation-checked)"


def reasoning_message(thinking: str, *, done: bool = True) -> dict[str, Any]:
    """A reasoning model's thinking as a collapsed chat bubble of its own, apart from the answer."""
    return {
        "role": "assistant",
        "content": render.escape_md(thinking.strip()) or "…",
        "metadata": {"title": REASONING_TITLE, "status": "done" if done else "pending"},
    }


def chat_messages(session: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in session["turns"]:
        messages.append({"role": "user", "content": _user_markdown(turn["mode"], turn["query"])})
        thinking = (turn.get("data") or {}).get("thinking")
        if isinstance(thinking, str) and thinking.strip():
            messages.append(reasoning_message(thinking))
        messages.append({"role": "assistant", "content": turn["markdown"]})
        if turn.get("images"):
            messages.append({"role": "assistant", "content": list(turn["images"])})
    return messages


def panels(session: dict[str, Any]) -> str:
    return render.sources_panel([t["panel"] for t in session["turns"] if t.get("panel")])


def ask_history(session: dict[str, Any]) -> list[dict[str, str]]:
    """Earlier questions and validated answers, oldest first, as chat messages."""
    history: list[dict[str, str]] = []
    for turn in session["turns"][-HISTORY_TURNS:]:
        if turn["mode"] != ASK or turn.get("error"):
            continue
        history.append({"role": "user", "content": turn["query"]})
        history.append({"role": "assistant", "content": render.result_text(turn["data"])})
    return history


class Outputs:
    """The values one chat event sends back: chat, sources, session, plain text, BibTeX button."""

    def __init__(self, session: dict[str, Any]):
        self.session = session

    def __call__(self, pending: list[dict[str, Any]] | None = None, bib: Any = None, clear_box: bool = False):
        import gradio as gr

        chat = chat_messages(self.session) + (pending or [])
        answered = [t for t in self.session["turns"] if not t.get("error")]
        plain = render.plain_text(answered[-1]["data"]) if answered else ""
        return (
            chat,
            panels(self.session),
            self.session,
            plain,
            bib if bib is not None else gr.update(),
            "" if clear_box else gr.update(),
        )


# ---- the actions -----------------------------------------------------------------------------

class ModelOptions(TypedDict):
    """The model a chat request asked for, with its endpoint and key (the settings' when empty)."""

    model: str
    base_url: str | None
    api_key: str | None


class Actions:
    def __init__(
        self,
        store: Any,
        *,
        default_model: str | None = None,
        status: LibraryStatus | None = None,
        default_api_key: str | None = None,
    ):
        self.store = store
        self.default_model = default_model or "extractive"
        self.default_api_key = default_api_key  # from the resolved settings; never shown in the page
        self.status = status or LibraryStatus()
        self._bib_dir = Path(tempfile.mkdtemp(prefix="litassist-bib-"))
        # Copies of cited PDFs, the only files the app serves from the library (see `pdf_urls`).
        self.pdf_dir = Path(tempfile.mkdtemp(prefix="litassist-pdf-"))
        self._plot_dir = Path(tempfile.mkdtemp(prefix="litassist-plots-"))
        from assistant.conversations import Conversations

        self.conversations = Conversations(store.store_dir)

    # ---- chat ---------------------------------------------------------------------------------
    def respond(
        self,
        message: str,
        session: dict[str, Any] | None,
        mode: str,
        author: str,
        year_from: Any,
        year_to: Any,
        category: str,
        backend: str,
        model_name: str,
        base_url: str,
        api_key: str,
        cite_style: str = "numeric",
        collection: str = "",
        tag: str = "",
    ) -> Iterator[tuple]:
        import gradio as gr

        session = session if isinstance(session, dict) and "turns" in session else new_session()
        out = Outputs(session)
        query = (message or "").strip()
        mode = mode if mode in MODES else ASK
        if not query:
            yield out()
            return
        turn_no = len(session["turns"]) + 1
        user = {"role": "user", "content": _user_markdown(mode, query)}
        working = {ASK: "Searching the library…", AUTHOR: "Reading this author's papers…", RELATED: "Drafting…", CITE: "Checking each sentence…"}[mode]
        yield out([user, {"role": "assistant", "content": f"*{working}*"}], clear_box=True)

        spec = model_spec(backend, model_name) or self.default_model
        options = ModelOptions(
            model=spec,
            base_url=(base_url or "").strip() or None,
            api_key=(api_key or "").strip() or self.default_api_key,
        )
        try:
            filters = make_filters(author, year_from, year_to, category, collection, tag)
            if mode == ASK:
                result = None
                raw, thinking, last_push = "", "", 0.0
                from assistant.answer import AnswerResult, ask_stream

                stream = ask_stream(query, store=self.store, history=ask_history(session), filters=filters, **options)
                for item in stream:
                    if isinstance(item, AnswerResult):
                        result = item
                        continue
                    if isinstance(item, str):
                        raw += item
                    else:  # a reasoning model's thinking, shown apart
                        thinking += item.text
                    now = time.monotonic()
                    if now - last_push >= STREAM_INTERVAL:
                        last_push = now
                        pending = [reasoning_message(thinking, done=bool(raw))] if thinking else []
                        if raw or not thinking:
                            pending.append({"role": "assistant", "content": render.streaming_markdown(raw)})
                        yield out([user, *pending])
                if result is None:
                    raise LitassistError("the answer stream ended without a result")
                data, bibtex = _to_json(result), None
            elif mode == AUTHOR:
                from assistant.tasks.author import summarize_author

                summary = summarize_author(query, store=self.store, filters=filters, **options)
                data, bibtex = _to_json(summary), summary.bibtex
            elif mode == CITE:
                result = None
                for item in cite_with_progress(self.store, message or "", filters):
                    if isinstance(item, str):
                        yield out([user, {"role": "assistant", "content": f"*{item}*"}])
                    else:
                        result = item
                data, bibtex = _to_json(result), getattr(result, "bibtex", None)
            else:
                from assistant.tasks.related_work import draft_related_work

                draft = draft_related_work(
                    query, store=self.store, filters=filters,
                    cite_style="latex" if cite_style == "latex" else "numeric", **options,
                )
                data, bibtex = _to_json(draft), draft.bibtex
        except LitassistError as exc:
            self._add_turn(session, self._error_turn(mode, query, str(exc)), spec)
            yield out()
            return
        except Exception as exc:  # never a stack trace in the chat; the console has it
            log.exception("chat request failed")
            message = f"Something went wrong ({type(exc).__name__}: {exc}). The server log has details."
            self._add_turn(session, self._error_turn(mode, query, message), spec)
            yield out()
            return

        if not bibtex and render.citations_of(data):
            from assistant.conversations import bibtex_of

            bibtex = bibtex_of(self.store, [str(c.get("paper_id")) for c in render.citations_of(data)])
        turn = self._turn(turn_no, mode, query, data, filters_label(filters))
        self._add_turn(session, turn, spec, bibtex=bibtex or "", filters=filters)
        yield out(bib=self._bib_button(turn_no, data, bibtex, gr))

    def _add_turn(self, session: dict[str, Any], turn: dict[str, Any], model: str, *, bibtex: str = "", filters: Any = None) -> None:
        """Show the turn in this session and save it at once in the session's conversation."""
        from dataclasses import asdict

        from assistant.conversations import Turn

        session["turns"].append(turn)
        mode = turn["mode"]
        record = Turn(
            kind=KIND_OF_MODE.get(mode, mode), query=turn["query"], result=turn["data"], bibtex=bibtex,
            filters={k: v for k, v in asdict(filters).items() if v} if filters is not None else {},
            model=model, error=turn.get("error") or "",
        )
        try:
            session["conversation"] = self.conversations.append(session.get("conversation"), record).id
        except Exception:  # the answer is still shown; the console says why it was not saved
            log.exception("could not save the conversation in %s", self.conversations.folder)

    def _error_turn(self, mode: str, query: str, message: str) -> dict[str, Any]:
        return {"mode": mode, "query": query, "data": {}, "markdown": render.error_markdown(message), "panel": "", "error": message}

    def _turn(self, turn_no: int, mode: str, query: str, data: dict[str, Any], filters: str = "") -> dict[str, Any]:
        if mode == CITE:
            ids = [str(x.get("paper_id")) for s in data.get("sentences") or [] for x in s.get("suggestions") or [] if x.get("page")]
            panel = render.draft_sources_html(data, turn_no, self.pdf_urls(ids))
            return {"mode": mode, "query": query, "data": data, "markdown": render.draft_markdown(data), "panel": panel}
        cites = render.citations_of(data)
        ids = [str(c.get("paper_id")) for c in cites] + [
            str(c.get("paper_id") or c.get("id")) for c in render.closest_of(data)
        ]
        try:
            papers = self.store.get_many([i for i in ids if i and i != "None"])
        except Exception:  # the panel still shows what the result carries
            log.exception("could not load cited papers")
            papers = {}
        valid = {c["n"] for c in cites if isinstance(c.get("n"), int)}
        keys = {str(c["key"]): c["n"] for c in cites if c.get("key") and isinstance(c.get("n"), int)}
        text = render.result_text(data)
        markdown = render.cited_markdown(text, turn_no, valid, keys) if text else ""
        images: list[dict[str, str]] = []
        if mode == AUTHOR:
            extras = render.author_extras_markdown(data)
            markdown = "\n\n".join(x for x in (markdown, extras) if x)
            images = self.author_images(data)
        if not markdown:
            message = data.get("message") or data.get("abstain_reason")
            markdown = render.escape_md(str(message)) if message else "*(no answer text)*"
        heading = {ASK: "Sources", AUTHOR: "Papers summarised", RELATED: "Papers cited"}.get(mode, "Sources")
        paged = [str(c.get("paper_id")) for c in cites if c.get("pages")]
        panel = render.sources_html(
            data, papers, turn_no, heading=f"{heading} (answer {turn_no})", filters=filters, pdf_urls=self.pdf_urls(paged, papers)
        )
        return {"mode": mode, "query": query, "data": data, "markdown": markdown, "panel": panel, "images": images}

    def author_images(self, data: dict[str, Any]) -> list[dict[str, str]]:
        """The author summary's timeline and co-author network as chat images (drawn once per
        summary: a reopened conversation reuses them while the server runs)."""
        import hashlib
        import json

        if not data.get("papers"):
            return []
        digest = hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
        try:
            from assistant.plots import author_plots, file_stem

            folder = self._plot_dir / digest
            stem = file_stem(str(data.get("author") or "author"))
            if (folder / f"{stem}-coauthors.png").is_file():
                from assistant.plots import AuthorPlots

                plots = AuthorPlots(folder / f"{stem}-timeline.png", folder / f"{stem}-coauthors.png")
            else:
                plots = author_plots(data, folder, stem)
        except Exception:  # the summary is still shown without its pictures
            log.exception("could not draw the author plots")
            return []
        who = str(data.get("author") or "the author")
        return [
            {"path": str(plots.timeline), "alt_text": f"Timeline of {who}'s papers by theme"},
            {"path": str(plots.network), "alt_text": f"{who}'s frequent co-authors"},
        ]

    def pdf_urls(self, paper_ids: list[str], papers: dict[str, Any] | None = None) -> dict[str, str]:
        """paper id -> the URL of its PDF served by the app. The stored file is copied into
        `pdf_dir` (the app's only allowed path, `launch(allowed_paths=...)`): gradio then serves it
        inline behind its login check, and no other file of the library or the disk is reachable."""
        from ui.served_files import serve_copy

        wanted = [i for i in dict.fromkeys(paper_ids) if i and i != "None"]
        if not wanted:
            return {}
        try:
            found = {**(papers or {}), **self.store.get_many([i for i in wanted if i not in (papers or {})])}
        except Exception:  # no link is better than a failed panel
            log.exception("could not load papers for their PDFs")
            return {}
        urls = {}
        for pid in wanted:
            paper = found.get(pid)
            pdfs = [s.path for s in getattr(paper, "sources", []) if s.format == "pdf" and s.path]
            url = next((u for u in (serve_copy(self.pdf_dir, Path(path)) for path in pdfs) if u), None)
            if url:
                urls[pid] = url
        return urls

    def _bib_button(self, turn_no: int, data: dict[str, Any], bibtex: str | None, gr: Any) -> Any:
        cites = render.citations_of(data)
        if not bibtex and cites:
            from assistant.bibtex import to_bibtex

            found = self.store.get_many([str(c.get("paper_id")) for c in cites])
            ordered = [found[str(c.get("paper_id"))] for c in cites if str(c.get("paper_id")) in found]
            bibtex = to_bibtex(ordered)
        if not bibtex:
            return gr.update(visible=False)
        folder = Path(tempfile.mkdtemp(dir=self._bib_dir))
        path = folder / f"litassist-references-{turn_no}.bib"
        path.write_text(bibtex, encoding="utf-8")
        entries = sum(1 for line in bibtex.splitlines() if line.startswith("@"))
        return gr.update(value=str(path), visible=True, interactive=True, label=f"Download BibTeX ({entries} entr{'y' if entries == 1 else 'ies'})")

    def server_models(self, backend: str, current: str, base_url: str, api_key: str):
        """The picker's choices from what the server has (Ollama /api/tags, OpenAI-compatible
        /v1/models), and a note saying how many, or why none."""
        import gradio as gr

        from assistant.llm.catalog import LISTABLE, list_server_models

        backend = (backend or "").strip()
        if backend not in LISTABLE:
            return gr.update(), render.escape_md(f"The {backend or 'chosen'} backend has no server to list models from.")
        try:
            models = list_server_models(backend, base_url=(base_url or "").strip() or None, api_key=(api_key or "").strip() or None)
        except LitassistError as exc:
            return gr.update(), render.error_markdown(str(exc))
        names = [m.name for m in models]
        value = current if current in names else (names[0] if names else current)
        labels = [(f"{m.name} ({m.detail})" if m.detail else m.name, m.name) for m in models]
        note = f"{len(names)} model(s) on the server." if names else "The server offers no models."
        return gr.update(choices=labels, value=value), render.escape_md(note)

    def clear(self):
        import gradio as gr

        session = new_session()
        return [], render.EMPTY_SOURCES, session, "", gr.update(visible=False), ""

    # ---- status ---------------------------------------------------------------------------------
    def status_markdown(self) -> str:
        message, busy = self.status.get()
        try:
            count = self.store.count()
            where = self.store.describe()
        except Exception as exc:
            return f"⚠ The library cannot be read: {render.escape_md(str(exc))}"
        line = f"**{count}** paper(s) in the library · store: `{where}`"
        if message:
            line += f" · {'**working:** ' if busy else ''}{render.escape_md(message)}"
        return line

    def status_tick(self, query: str = "", author: str = "", year_from: Any = "", year_to: Any = ""):
        """Timer tick while seeding: the status line; once seeding ends, stop and refresh the table."""
        import gradio as gr

        _, busy = self.status.get()
        if busy:
            return self.status_markdown(), gr.Timer(active=True), gr.update(), gr.update()
        table, note = self.list_papers(query, author, year_from, year_to)
        return self.status_markdown(), gr.Timer(active=False), table, note

    # ---- library --------------------------------------------------------------------------------
    def list_papers(self, query: str, author: str, year_from: Any, year_to: Any):
        try:
            filters = make_filters(author, year_from, year_to)
            query = (query or "").strip()
            if query:
                from assistant.retrieve import search

                papers = [h.paper for h in search(self.store, query, k=50, filters=filters)]
                note = f"{len(papers)} paper(s) matching “{query}”, best first"
            else:
                from assistant.retrieve import filters_where

                papers = self.store.papers(filters_where(filters))
                note = f"{len(papers)} paper(s)" + ("" if filters.is_empty() else " matching the filters")
        except LitassistError as exc:
            return render.notice_html(str(exc), "error"), render.escape_md(str(exc))
        return render.papers_table_html(papers), render.escape_md(note)

    def show_paper(self, paper_id: str) -> str:
        paper_id = (paper_id or "").strip()
        if not paper_id:
            return render.notice_html("Type or select a paper id.")
        try:
            return render.paper_record_html(self.store.get(paper_id))
        except NotFoundError as exc:
            return render.notice_html(str(exc), "error")

    def ingest(self, files: Any, progress: Any = None, *, replace: bool = False) -> str:
        """Copy uploads into `<store>/uploads/` and ingest each file; one result per file.

        With `replace`, a file named like an earlier upload is its new version: it takes that
        upload's place, so its papers follow it (edited entries updated, dropped ones removed).
        Without, a different file of the same name is kept beside the earlier one (`name-2`...),
        since two exports called `references.bib` may well be two libraries."""
        from assistant.library import ingest_paths

        paths = [Path(f if isinstance(f, str) else getattr(f, "name", f)) for f in (files or [])]
        if not paths:
            return render.ingest_results_html([])
        uploads = Path(self.store.store_dir) / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        results = []
        taken: set[str] = set()
        for i, path in enumerate(paths):
            name = path.name
            if progress is not None:
                progress((i, len(paths)), desc=f"reading {name}")
            target = _upload_target(uploads, name, path, taken, replace=replace)
            try:
                if not (target.exists() and _same_bytes(target, path)):
                    shutil.copyfile(path, target)
                report = ingest_paths(self.store, [target], on_progress=_embedding_progress(progress, name))
            except LitassistError as exc:
                results.append({"file": name, "failed": True, "errors": [str(exc)]})
                continue
            except Exception as exc:
                log.exception("ingest of %s failed", name)
                results.append({"file": name, "failed": True, "errors": [f"{type(exc).__name__}: {exc}"]})
                continue
            errors = [_relative_error(f.path, f.error, target, name) for f in report.failed + report.problems]
            results.append({
                "file": name,
                "format": ", ".join(report.formats) or None,
                "failed": bool(report.failed) and not report.paper_ids,
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "removed": report.removed,
                "errors": errors,
            })
        return render.ingest_results_html(results)

    def ask_delete(self, paper_id: str):
        import gradio as gr

        paper_id = (paper_id or "").strip()
        if not paper_id:
            return gr.update(visible=False), render.notice_html("Type or select the id of the paper to delete.")
        try:
            paper = self.store.get(paper_id)
        except NotFoundError as exc:
            return gr.update(visible=False), render.notice_html(str(exc), "error")
        return (
            gr.update(visible=True),
            render.notice_html(f"Delete “{paper.display_title()}” ({paper.id}) from the library? This cannot be undone.", "warn"),
        )

    def confirm_delete(self, paper_id: str):
        import gradio as gr

        try:
            removed = self.store.remove([(paper_id or "").strip()])
        except LitassistError as exc:
            return gr.update(visible=False), render.notice_html(str(exc), "error")
        return gr.update(visible=False), render.notice_html(f"Deleted {', '.join(removed)}.", "ok")


def cite_with_progress(store: Any, draft: str, filters: Any, interval: float = 0.5) -> Iterator[Any]:
    """`cite_draft` run in a thread: yields "Checking sentence i of n…" while it works, then the
    result (its error, if any, is raised here)."""
    import queue

    from assistant.tasks.cite_draft import cite_draft

    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            events.put(("done", cite_draft(draft, store=store, filters=filters, on_progress=lambda i, n: events.put(("progress", (i, n))))))
        except BaseException as exc:  # handed to the caller's thread
            events.put(("error", exc))

    threading.Thread(target=work, daemon=True, name="litassist-cite-draft").start()
    last = 0.0
    while True:
        kind, value = events.get()
        if kind == "done":
            yield value
            return
        if kind == "error":
            raise value
        if time.monotonic() - last >= interval:
            last = time.monotonic()
            yield f"Checking sentence {value[0]} of {value[1]}…"


def _embedding_progress(progress: Any, name: str):
    """Gradio progress for the texts of one uploaded file (abstracts, full-text chunks) as they are embedded."""
    if progress is None:
        return None
    return lambda done, total: progress((done, total), desc=f"embedding {name}", unit="texts")


def _upload_target(folder: Path, name: str, source: Path, taken: set[str], *, replace: bool) -> Path:
    """Where an upload is kept: `folder/name`, or `name-2`, `name-3`... for a second file of that
    name in one upload or, unless `replace`, for a different file of a name already stored (an
    identical file reuses its earlier copy)."""
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, i = name, 2
    while candidate in taken or (
        not replace and (folder / candidate).exists() and not _same_bytes(folder / candidate, source)
    ):
        candidate, i = f"{stem}-{i}{suffix}", i + 1
    taken.add(candidate)
    return folder / candidate


def _same_bytes(a: Path, b: Path) -> bool:
    import filecmp

    try:
        return filecmp.cmp(a, b, shallow=False)  # sizes first, then in blocks: a 50 MB upload is not read whole
    except OSError:
        return False


def _relative_error(path: str, error: str, target: Path, name: str) -> str:
    """An error message naming the uploaded file rather than its stored copy."""
    where = name if str(path) in (str(target), str(target.resolve())) else Path(path).name
    return f"{where}: {error}"
