"""The chat's events: a request in one of the modes goes to the library (`ask_stream`,
`summarize_author`, `draft_related_work`, `cite_draft`), streams its progress to the page, and
ends as a shown turn that is saved at once in the session's conversation."""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import asdict
from typing import Any, Callable, Generator, Iterator

from assistant.answer import AnswerResult, ask_stream
from assistant.conversations import Conversations, Turn, bibtex_of
from assistant.errors import LitassistError
from assistant.retrieve import Filters
from assistant.settings import Settings
from assistant.library import Library
from assistant.tasks.author import summarize_author
from assistant.tasks.cite_draft import DraftCitations, cite_draft
from assistant.tasks.related_work import draft_related_work
from ui.answer_markdown import streaming_markdown
from ui.filters import make_filters
from ui.model_choice import request_settings
from ui.modes import ASK, AUTHOR, CITE, KIND_OF_MODE, MODES, WORKING
from ui.session import ChatSession, Outputs, ShownTurn, ask_history, new_session, reasoning_message, user_markdown
from ui.sources_panel import EMPTY_SOURCES
from ui.turns import TurnBuilder

log = logging.getLogger("litassist.ui")

STREAM_INTERVAL = 0.05  # seconds between streamed UI updates
Message = dict[str, Any]
# A mode's run: yields the pending chat bubbles while it works, returns (result JSON, BibTeX).
Run = Generator[list[Message], None, tuple[dict[str, Any], str]]


class ChatActions:
    def __init__(
        self, store: Library, turns: TurnBuilder, conversations: Conversations, *,
        default_model: str, settings: Settings,
    ):
        self.store = store
        self.turns = turns
        self.conversations = conversations
        self.default_model = default_model
        self.settings = settings  # resolved once by the app; the key is never shown in the page

    def respond(
        self, message: str, session: ChatSession | None, mode: str, author: str, year_from: Any, year_to: Any,
        category: str, backend: str, model_name: str, base_url: str, api_key: str,
        cite_style: str = "numeric", collection: str = "", tag: str = "",
    ) -> Iterator[tuple]:
        session = session if isinstance(session, ChatSession) else new_session()
        out = Outputs(session)
        query = (message or "").strip()
        mode = mode if mode in MODES else ASK
        if not query:
            yield out()
            return
        turn_no = len(session.turns) + 1
        user = {"role": "user", "content": user_markdown(mode, query)}
        yield out([user, {"role": "assistant", "content": f"*{WORKING[mode]}*"}], clear_box=True)

        settings = request_settings(
            self.settings, backend, model_name, base_url, api_key, default_model=self.default_model
        )
        try:
            filters = make_filters(author, year_from, year_to, category, collection, tag)
            run = self._run(mode, query, message or "", session, filters, settings, cite_style)
            data, bibtex = yield from _relay(run, lambda pending: out([user, *pending]))
        except LitassistError as exc:
            self._add_turn(session, self.turns.failed(mode, query, str(exc)), settings.model)
            yield out()
            return
        except Exception as exc:  # never a stack trace in the chat; the console has it
            log.exception("chat request failed")
            failure = f"Something went wrong ({type(exc).__name__}: {exc}). The server log has details."
            self._add_turn(session, self.turns.failed(mode, query, failure), settings.model)
            yield out()
            return
        turn = self.turns.shown(turn_no, mode, query, data, filters.label())
        bibtex = bibtex or bibtex_of(self.store, turn.cited)
        self._add_turn(session, turn, settings.model, bibtex=bibtex, filters=filters)
        yield out(bib=self.turns.bib_button(turn_no, bibtex))

    def _run(self, mode: str, query: str, draft: str, session: ChatSession, filters: Filters, settings: Settings, cite_style: str) -> Run:
        if mode == ASK:
            return (yield from self._answer(query, session, filters, settings))
        if mode == AUTHOR:
            summary = summarize_author(query, store=self.store, filters=filters, settings=settings)
            return summary.to_json(), summary.bibtex
        if mode == CITE:
            result = None
            for item in cite_with_progress(self.store, draft, filters):
                if isinstance(item, str):
                    yield [{"role": "assistant", "content": f"*{item}*"}]
                else:
                    result = item
            assert result is not None
            return result.to_json(), result.bibtex
        related = draft_related_work(
            query, store=self.store, filters=filters, cite_style="latex" if cite_style == "latex" else "numeric", settings=settings,
        )
        return related.to_json(), related.bibtex

    def _answer(self, query: str, session: ChatSession, filters: Filters, settings: Settings) -> Run:
        """`ask_stream`: the answer's text (and a reasoning model's thinking, apart) as it comes."""
        result = None
        raw, thinking, last_push = "", "", 0.0
        for item in ask_stream(query, store=self.store, history=ask_history(session), filters=filters, settings=settings):
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
                    pending.append({"role": "assistant", "content": streaming_markdown(raw)})
                yield pending
        if result is None:
            raise LitassistError("the answer stream ended without a result")
        return result.to_json(), ""  # an answer's BibTeX is that of the papers it cites

    def _add_turn(self, session: ChatSession, turn: ShownTurn, model: str, *, bibtex: str = "", filters: Filters | None = None) -> None:
        """Show the turn in this session and save it at once in the session's conversation."""
        session.turns.append(turn)
        record = Turn(
            kind=KIND_OF_MODE[turn.mode], query=turn.query, result=turn.data, bibtex=bibtex,
            filters={k: v for k, v in asdict(filters).items() if v} if filters is not None else {},
            model=model, error=turn.error,
        )
        try:
            session.conversation = self.conversations.append(session.conversation, record).id
        except Exception:  # the answer is still shown; the console says why it was not saved
            log.exception("could not save the conversation in %s", self.conversations.folder)

    def clear(self) -> tuple:
        import gradio as gr

        return [], EMPTY_SOURCES, new_session(), "", gr.update(visible=False), ""


def _relay(run: Run, show: Callable[[list[Message]], tuple]) -> Generator[tuple, None, tuple[dict[str, Any], str]]:
    """The page's outputs for each list of pending bubbles `run` yields; then what `run` returns."""
    while True:
        try:
            pending = next(run)
        except StopIteration as finished:
            return finished.value
        yield show(pending)


def cite_with_progress(store: Library, draft: str, filters: Filters | None, interval: float = 0.5) -> Iterator[str | DraftCitations]:
    """`cite_draft` run in a thread: yields "Checking sentence i of n…" while it works, then the
    result (its error, if any, is raised here)."""
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
