"""The model picker: its choices, the spec its fields name, and the models a server offers."""
from __future__ import annotations

from typing import Any

from assistant.errors import LitassistError
from assistant.llm.catalog import LISTABLE, list_server_models
from assistant.llm.registry import available_backends
from assistant.settings import Settings
from ui.safe_text import error_markdown, escape_md

BACKEND_LABELS = {
    "extractive": "extractive (no LLM; quotes the papers)",
    "ollama": "ollama (local or remote Ollama)",
    "openai": "openai (any OpenAI-compatible endpoint)",
    "llamacpp": "llamacpp (GGUF file, in-process)",
}


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
    """The picker's (backend, model name) for a spec, without judging it (the registry does, when it is used)."""
    spec = (spec or "extractive").strip()
    backend, _, name = spec.partition(":")
    return backend.strip().lower() or "extractive", name.strip()


def backend_choices() -> list[tuple[str, str]]:
    """(label, value) pairs for the backend picker, from the registry."""
    names = [str(info["name"]) for info in available_backends()]
    return [(BACKEND_LABELS.get(name, name), name) for name in names]


def request_settings(
    settings: Settings, backend: str, model_name: str, base_url: str, api_key: str, *, default_model: str
) -> Settings:
    """The resolved settings with what the picker's fields ask for; an empty field keeps the settings'."""
    return settings.overridden(
        model=model_spec(backend, model_name) or default_model,
        base_url=(base_url or "").strip(),
        api_key=(api_key or "").strip(),
    )


def server_models(backend: str, current: str, base_url: str, api_key: str) -> tuple[Any, str]:
    """The picker's choices from what the server has (Ollama /api/tags, OpenAI-compatible
    /v1/models), and a note saying how many, or why none."""
    import gradio as gr

    backend = (backend or "").strip()
    if backend not in LISTABLE:
        return gr.update(), escape_md(f"The {backend or 'chosen'} backend has no server to list models from.")
    try:
        models = list_server_models(backend, base_url=(base_url or "").strip() or None, api_key=(api_key or "").strip() or None)
    except LitassistError as exc:
        return gr.update(), error_markdown(str(exc))
    names = [m.name for m in models]
    value = current if current in names else (names[0] if names else current)
    labels = [(f"{m.name} ({m.detail})" if m.detail else m.name, m.name) for m in models]
    note = f"{len(names)} model(s) on the server." if names else "The server offers no models."
    return gr.update(choices=labels, value=value), escape_md(note)
