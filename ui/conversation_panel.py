"""The saved-conversations panel of the chat: the list (reopen by clicking), rename, delete, and
Markdown downloads of the conversation and of its last answer.

Saving happens in `ui.chat.ChatActions.respond` (each turn, as it finishes). This module only
reads and changes the saved conversations through `assistant.conversations` and turns them back
into chat turns through `ui.turns`; the Markdown comes from `assistant.conversation_export`.

Which conversation a browser tab shows is kept in the browser (`gr.BrowserState`, with a key and
secret kept per library in its store dir), so a page reload or a server restart reopens it.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import LitassistError
from assistant.retrieve import Filters
from ui.actions import Actions
from ui.modes import MODE_OF_KIND
from ui.safe_text import notice_html
from ui.session import ChatSession, Outputs, new_session

log = logging.getLogger("litassist.ui")

SECRET_FILE = ".browser-secret"
LIST_LIMIT = 200  # conversations shown in the list, most recent first


@dataclass
class ConversationPanel:
    current: Any  # gr.BrowserState: the id of the conversation this browser shows
    choices: Any  # gr.Radio: the list
    title: Any
    rename: Any
    delete: Any
    confirm_row: Any
    confirm: Any
    cancel: Any
    note: Any
    export_conversation: Any
    export_answer: Any


def browser_key(store_dir: Path) -> tuple[str, str]:
    """(storage key, secret) for the BrowserState: one per library, stable across restarts."""
    folder = Path(store_dir) / "conversations"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_FILE
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) < 16:
        secret = secrets.token_urlsafe(24)
        path.write_text(secret, encoding="utf-8")
    key = "litassist-conversation-" + hashlib.sha1(str(Path(store_dir).resolve()).encode("utf-8")).hexdigest()[:12]
    return key, secret


def build(actions: Actions) -> ConversationPanel:
    """The panel's components, laid out where it is called (a column beside the chat)."""
    import gradio as gr

    key, secret = browser_key(actions.conversations.folder.parent)
    current = gr.BrowserState(None, storage_key=key, secret=secret)
    gr.Markdown("**Conversations**", elem_id="la-conv-heading")
    choices = gr.Radio(choices=[], value=None, show_label=False, label="Conversations", elem_id="la-conv-list", container=False)
    with gr.Accordion("Rename, delete, download", open=False, elem_id="la-conv-tools"):
        title = gr.Textbox(label="Title", placeholder="open a conversation", elem_id="la-conv-title", lines=1, max_lines=2)
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="la-conv-rename", min_width=60)
            delete = gr.Button("Delete…", size="sm", variant="stop", elem_id="la-conv-delete", min_width=60)
        with gr.Row(visible=False) as confirm_row:
            confirm = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="la-conv-confirm", min_width=60)
            cancel = gr.Button("Cancel", size="sm", elem_id="la-conv-cancel", min_width=60)
        note = gr.HTML("", elem_id="la-conv-note", js_on_load=None)
        # Always visible (empty until there is something to export): gradio 6 can freeze the page when
        # one event makes several components of one type visible (gradio-app/gradio#13521).
        export_conversation = gr.DownloadButton("Conversation (.md)", value=None, size="sm", elem_id="la-conv-export")
        export_answer = gr.DownloadButton("Last answer (.md)", value=None, size="sm", elem_id="la-answer-export")
    return ConversationPanel(current, choices, title, rename, delete, confirm_row, confirm, cancel, note, export_conversation, export_answer)


class ConversationActions:
    """What the panel's events do."""

    def __init__(self, actions: Actions):
        self.turns = actions.turns
        self.chats = actions.conversations
        self._export_dir = Path(tempfile.mkdtemp(prefix="litassist-export-"))

    # ---- the list -------------------------------------------------------------------------------
    def list_update(self, selected: str | None = None) -> Any:
        import gradio as gr

        found = self.chats.list()[:LIST_LIMIT]
        choices = [(f"{c.title or 'Untitled'} · {c.updated[:16].replace('T', ' ')}", c.id) for c in found]
        value = selected if selected in {c.id for c in found} else None
        return gr.update(choices=choices, value=value)

    def _panel(self, session: ChatSession) -> tuple:
        """(current id, list, title box, conversation download, answer download, note)."""
        import gradio as gr

        conversation_id = session.conversation
        title = ""
        if conversation_id and self.chats.exists(conversation_id):
            title = self.chats.open(conversation_id).title
        conversation_file, answer_file = self._export_files(conversation_id)
        return (
            conversation_id,
            self.list_update(conversation_id),
            gr.update(value=title),
            gr.update(value=conversation_file, interactive=bool(conversation_file)),
            gr.update(value=answer_file, interactive=bool(answer_file)),
            "",
        )

    def _export_files(self, conversation_id: str | None) -> tuple[str | None, str | None]:
        if not conversation_id or not self.chats.exists(conversation_id):
            return None, None
        from assistant.conversation_export import export_file_name, export_markdown

        conversation = self.chats.open(conversation_id)
        folder = Path(tempfile.mkdtemp(dir=self._export_dir))
        whole = folder / export_file_name(conversation)
        whole.write_text(export_markdown(conversation), encoding="utf-8")
        answered = [n for n, t in enumerate(conversation.turns, 1) if not t.error]
        if not answered:
            return str(whole), None
        last = folder / export_file_name(conversation, answered[-1])
        last.write_text(export_markdown(conversation, answer=answered[-1]), encoding="utf-8")
        return str(whole), str(last)

    # ---- events -----------------------------------------------------------------------------------
    def after_turn(self, session: ChatSession | None) -> tuple:
        """After an answer (saved by `respond`): remember the conversation in the browser, refresh the list."""
        return self._panel(session if isinstance(session, ChatSession) else new_session())

    def open(self, conversation_id: str | None) -> tuple:
        """Chat outputs (chat, sources, session, plain, bib, box) and the panel for a saved conversation;
        an unknown id (deleted, or from another library) gives a new chat."""
        import gradio as gr

        session = self.session_of(conversation_id)
        # An empty BibTeX button is disabled, not hidden: hiding a button the page has not shown yet
        # keeps gradio 6 from ever showing it again.
        bib = self._bib_update(session) or gr.update(value=None, interactive=False, label="Download BibTeX")
        return (*Outputs(session)(bib=bib), *self._panel(session))

    def restore(self, conversation_id: str | None) -> tuple:
        """On page load: the conversation this browser showed last (the BibTeX button is left alone
        unless the last answer has BibTeX)."""
        import gradio as gr

        session = self.session_of(conversation_id)
        return (*Outputs(session)(bib=self._bib_update(session) or gr.update()), *self._panel(session))

    def session_of(self, conversation_id: str | None) -> ChatSession:
        session = new_session()
        if not conversation_id or not self.chats.exists(conversation_id):
            return session
        try:
            conversation = self.chats.open(conversation_id)
        except LitassistError:
            log.exception("could not open conversation %s", conversation_id)
            return session
        for n, record in enumerate(conversation.turns, 1):
            mode = MODE_OF_KIND.get(record.kind)
            if record.error or mode is None:
                problem = record.error or f"a saved {record.kind!r} turn, which the chat cannot show"
                session.turns.append(self.turns.failed(mode or record.kind, record.query, problem))
                continue
            session.turns.append(self.turns.shown(n, mode, record.query, record.result, Filters(**record.filters).label()))
        session.conversation = conversation.id
        return session

    def _bib_update(self, session: ChatSession) -> Any:
        """The BibTeX button showing the last answer's BibTeX, or None when it has none."""
        if not session.conversation or not session.turns or session.turns[-1].error:
            return None
        record = self.chats.open(session.conversation).turns[-1]
        if not record.bibtex.strip():
            return None
        return self.turns.bib_button(len(session.turns), record.bibtex)

    def rename(self, session: ChatSession | None, title: str) -> tuple:
        """(list, note, conversation download, answer download): the downloads carry the new title."""
        import gradio as gr

        conversation_id = _shown(session)
        if not conversation_id:
            return self.list_update(None), notice_html("Open a conversation first."), gr.update(), gr.update()
        try:
            renamed = self.chats.rename(conversation_id, title)
        except LitassistError as exc:
            return self.list_update(conversation_id), notice_html(str(exc), "error"), gr.update(), gr.update()
        whole, last = self._export_files(renamed.id)
        return (
            self.list_update(renamed.id), notice_html(f"Renamed to “{renamed.title}”.", "ok"),
            gr.update(value=whole, interactive=bool(whole)), gr.update(value=last, interactive=bool(last)),
        )

    def ask_delete(self, session: ChatSession | None) -> tuple:
        import gradio as gr

        conversation_id = _shown(session)
        if not conversation_id or not self.chats.exists(conversation_id):
            return gr.update(visible=False), notice_html("Open a conversation first.")
        title = self.chats.open(conversation_id).title
        return gr.update(visible=True), notice_html(f"Delete “{title}”? This cannot be undone.", "warn")

    def confirm_delete(self, session: ChatSession | None) -> tuple:
        """Delete the shown conversation; the chat starts afresh."""
        import gradio as gr

        conversation_id = _shown(session)
        message = notice_html("Nothing to delete.")
        if conversation_id:
            try:
                self.chats.delete(conversation_id)
                message = notice_html("Conversation deleted.", "ok")
            except LitassistError as exc:
                message = notice_html(str(exc), "error")
        opened = self.open(None)
        return (*opened[:-1], message, gr.update(visible=False))


def _shown(session: ChatSession | None) -> str | None:
    """The id of the conversation a session shows (the session, not the browser's storage, which
    other tabs of the same browser share)."""
    return session.conversation if isinstance(session, ChatSession) else None


def wire(demo: Any, panel: ConversationPanel, conv: ConversationActions, *, session: Any, chat_outputs: list, after: list, new_chat: list) -> None:
    """The panel's events; `after` are the chat's answer events, `new_chat` its "New chat" events."""
    import gradio as gr

    panel_outputs = [panel.current, panel.choices, panel.title, panel.export_conversation, panel.export_answer, panel.note]
    for event in after + new_chat:
        event.then(conv.after_turn, session, panel_outputs, api_visibility="private", queue=False)
    demo.load(conv.restore, panel.current, chat_outputs + panel_outputs, api_visibility="private")
    panel.choices.input(conv.open, panel.choices, chat_outputs + panel_outputs, api_name="open_conversation")
    renamed = [panel.choices, panel.note, panel.export_conversation, panel.export_answer]
    panel.rename.click(conv.rename, [session, panel.title], renamed, api_visibility="private")
    panel.title.submit(conv.rename, [session, panel.title], renamed, api_visibility="private")
    panel.delete.click(conv.ask_delete, session, [panel.confirm_row, panel.note], api_visibility="private")
    panel.confirm.click(conv.confirm_delete, session, chat_outputs + panel_outputs + [panel.confirm_row], api_visibility="private")
    panel.cancel.click(lambda: (gr.update(visible=False), ""), None, [panel.confirm_row, panel.note], api_visibility="private", queue=False)


CSS = """
#la-conv-col { max-height: 78vh; overflow-y: auto; }
#la-conv-list .wrap { flex-direction: column; align-items: stretch; gap: 4px; }
#la-conv-list label { width: 100%; font-size: .88em; line-height: 1.25; padding: .35em .5em; }
#la-conv-list label span { overflow-wrap: anywhere; }
"""
