"""One browser tab's chat (held in a `gr.State`): its turns as shown, the saved conversation it
belongs to, and the values a chat event sends back to the page.

Each turn keeps the result's JSON (what the conversation saves) beside its rendered Markdown,
sources panel, plain text and pictures, so the page can be redrawn without rendering again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ui.modes import ASK
from ui.result_view import answer_view
from ui.safe_text import escape_md
from ui.sources_panel import sources_panel

HISTORY_TURNS = 4  # earlier Q/A pairs passed to ask_stream for follow-ups
REASONING_TITLE = "The model's reasoning (not part of the answer; never citation-checked)"


@dataclass
class ShownTurn:
    mode: str
    query: str
    data: dict[str, Any]  # the result's JSON ({} when the request failed)
    markdown: str  # the chat bubble
    panel: str = ""  # the sources panel
    plain: str = ""  # the answer and its references as plain text
    images: list[dict[str, str]] = field(default_factory=list)  # an author summary's plots
    cited: list[str] = field(default_factory=list)  # ids of the cited papers, in citation order
    error: str = ""


@dataclass
class ChatSession:
    turns: list[ShownTurn] = field(default_factory=list)
    conversation: str | None = None  # the id of the saved conversation


def new_session() -> ChatSession:
    return ChatSession()


def user_markdown(mode: str, query: str) -> str:
    prefix = "" if mode == ASK else f"**{escape_md(mode)}:** "
    return prefix + escape_md(query)


def reasoning_message(thinking: str, *, done: bool = True) -> dict[str, Any]:
    """A reasoning model's thinking as a collapsed chat bubble of its own, apart from the answer."""
    return {
        "role": "assistant",
        "content": escape_md(thinking.strip()) or "…",
        "metadata": {"title": REASONING_TITLE, "status": "done" if done else "pending"},
    }


def chat_messages(session: ChatSession) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for turn in session.turns:
        messages.append({"role": "user", "content": user_markdown(turn.mode, turn.query)})
        if turn.mode == ASK and not turn.error and turn.data["thinking"].strip():
            messages.append(reasoning_message(turn.data["thinking"]))
        messages.append({"role": "assistant", "content": turn.markdown})
        if turn.images:
            messages.append({"role": "assistant", "content": list(turn.images)})
    return messages


def panels(session: ChatSession) -> str:
    return sources_panel([t.panel for t in session.turns if t.panel])


def ask_history(session: ChatSession) -> list[dict[str, str]]:
    """Earlier questions and validated answers, oldest first, as chat messages."""
    history: list[dict[str, str]] = []
    for turn in session.turns[-HISTORY_TURNS:]:
        if turn.mode != ASK or turn.error:
            continue
        history.append({"role": "user", "content": turn.query})
        history.append({"role": "assistant", "content": answer_view(turn.data).text})
    return history


class Outputs:
    """The values one chat event sends back: chat, sources, session, plain text, BibTeX button, message box."""

    def __init__(self, session: ChatSession):
        self.session = session

    def __call__(self, pending: list[dict[str, Any]] | None = None, bib: Any = None, clear_box: bool = False) -> tuple:
        import gradio as gr

        chat = chat_messages(self.session) + (pending or [])
        answered = [t for t in self.session.turns if not t.error]
        return (
            chat,
            panels(self.session),
            self.session,
            answered[-1].plain if answered else "",
            bib if bib is not None else gr.update(),
            "" if clear_box else gr.update(),
        )
