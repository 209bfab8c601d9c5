"""The Chat tab: mode, filters and model picker above; saved conversations, the chat and the
sources panel side by side; and the events that tie them to `ui.chat` and `ui.model_choice`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ui import conversation_panel
from ui.actions import Actions
from ui.model_choice import backend_choices, server_models, split_spec
from ui.modes import ASK, MODE_PLACEHOLDERS, MODES
from ui.sources_panel import EMPTY_SOURCES

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


@dataclass
class FilterBoxes:
    author: Any
    year_from: Any
    year_to: Any
    category: Any
    collection: Any
    tag: Any


@dataclass
class ModelPicker:
    backend: Any
    name: Any
    base_url: Any
    api_key: Any
    list: Any
    note: Any
    cite_style: Any


@dataclass
class ChatTab:
    mode: Any
    filters: FilterBoxes
    model: ModelPicker
    conversations: conversation_panel.ConversationPanel
    chatbot: Any
    message: Any
    send: Any
    clear: Any
    copy: Any
    bib: Any
    plain: Any
    sources: Any


def _filters() -> FilterBoxes:
    import gradio as gr

    with gr.Accordion("Filters (author, years)", open=False, elem_id="la-filters"):
        author = gr.Textbox(label="Author", placeholder="e.g. Nguyen, or a full name", elem_id="la-f-author")
        with gr.Row():
            year_from = gr.Textbox(label="From year", placeholder="e.g. 2019", elem_id="la-f-from", min_width=90)
            year_to = gr.Textbox(label="To year", placeholder="e.g. 2024", elem_id="la-f-to", min_width=90)
        category = gr.Textbox(label="arXiv category", placeholder="e.g. cs.LG", elem_id="la-f-cat")
        with gr.Row():
            collection = gr.Textbox(label="Collection", value="", placeholder="e.g. Thesis/Chapter 2", elem_id="la-f-collection", min_width=90)
            tag = gr.Textbox(label="Tag", value="", placeholder="e.g. to-read", elem_id="la-f-tag", min_width=90)
    return FilterBoxes(author, year_from, year_to, category, collection, tag)


def _model_picker(default_model: str, default_base_url: str | None) -> ModelPicker:
    import gradio as gr

    backend, model_name = split_spec(default_model)
    choices = backend_choices()
    if backend not in [v for _, v in choices]:
        choices.append((backend, backend))
    with gr.Accordion("Model", open=False, elem_id="la-model"):
        picked = gr.Dropdown(choices=choices, value=backend, label="Backend", elem_id="la-m-backend")
        name = gr.Dropdown(
            choices=[model_name] if model_name else [], value=model_name, allow_custom_value=True,
            label="Model name (type one, or list the server's)", elem_id="la-m-name",
        )
        base_url = gr.Textbox(label="Base URL", value=default_base_url or "", placeholder="empty: the backend's default", elem_id="la-m-url")
        api_key = gr.Textbox(label="API key", type="password", value="", placeholder="hosted endpoints only; never shown or logged", elem_id="la-m-key")
        listing = gr.Button("List the server's models", size="sm", elem_id="la-m-list")
        note = gr.Markdown("", elem_id="la-m-note")
        cite_style = gr.Radio(["numeric", "latex"], value="numeric", label="Related-work citations", elem_id="la-m-cite")
    return ModelPicker(picked, name, base_url, api_key, listing, note, cite_style)


def build(actions: Actions, default_base_url: str | None) -> ChatTab:
    """The tab's components, laid out inside the current `gr.Tab`."""
    import gradio as gr

    with gr.Row(equal_height=False):
        mode = gr.Radio(list(MODES), value=ASK, label="Mode", elem_id="la-mode", scale=4)
        with gr.Column(scale=3, min_width=260):
            filters = _filters()
        with gr.Column(scale=3, min_width=260):
            model = _model_picker(actions.chat.default_model, default_base_url)
    with gr.Row():
        with gr.Column(scale=2, min_width=190, elem_id="la-conv-col"):
            conversations = conversation_panel.build(actions)
        with gr.Column(scale=6):
            chatbot = gr.Chatbot(
                value=[], label="Chat", elem_id="la-chat", height=560,
                buttons=[],  # its copy buttons copy Markdown source; "Copy answer" copies clean text
                sanitize_html=True, render_markdown=True, latex_delimiters=[], allow_tags=False, feedback_options=None,
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
            sources = gr.HTML(EMPTY_SOURCES, label="Sources", elem_id="la-sources", js_on_load=None)
    return ChatTab(mode, filters, model, conversations, chatbot, message, send, clear, copy, bib, plain, sources)


def wire(demo: Any, tab: ChatTab, actions: Actions, session: Any) -> None:
    import gradio as gr

    f, m = tab.filters, tab.model
    chat_inputs = [tab.message, session, tab.mode, f.author, f.year_from, f.year_to, f.category,
                   m.backend, m.name, m.base_url, m.api_key, m.cite_style, f.collection, f.tag]
    chat_outputs = [tab.chatbot, tab.sources, session, tab.plain, tab.bib, tab.message]
    asked = tab.send.click(actions.chat.respond, chat_inputs, chat_outputs, api_name="ask")
    m.list.click(server_models, [m.backend, m.name, m.base_url, m.api_key], [m.name, m.note], api_name="models")
    submitted = tab.message.submit(actions.chat.respond, chat_inputs, chat_outputs, api_visibility="private")
    cleared = tab.clear.click(actions.chat.clear, None, chat_outputs, api_name="new_chat")
    chat_cleared = tab.chatbot.clear(actions.chat.clear, None, chat_outputs, api_visibility="private")
    conversation_panel.wire(
        demo, tab.conversations, conversation_panel.ConversationActions(actions),
        session=session, chat_outputs=chat_outputs, after=[asked, submitted], new_chat=[cleared, chat_cleared],
    )
    tab.copy.click(None, tab.plain, None, js=COPY_JS, api_visibility="private")
    tab.mode.change(lambda mode: gr.update(placeholder=MODE_PLACEHOLDERS.get(mode, "")), tab.mode, tab.message,
                    api_visibility="private", queue=False)
