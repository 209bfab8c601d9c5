"""Find a model by name: `get_model("ollama:llama3.2")`.

Specs: `extractive` (default) | `ollama:MODEL` | `openai:MODEL` | `llamacpp:PATH.gguf`.
Each backend is registered once (`BACKENDS`: what a model picker shows and its builder); its module
is imported only when asked for, so a missing optional one never breaks this module.
"""
from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from assistant.errors import ModelError
from assistant.llm.base import Model

if TYPE_CHECKING:
    from assistant.settings import Settings

DEFAULT_SPEC = "extractive"
SPEC_FORMS = "extractive, ollama:MODEL, openai:MODEL, llamacpp:PATH.gguf"
DEFAULT_TIMEOUT = 120.0

OLLAMA_HOST_ENV = "OLLAMA_HOST"
OLLAMA_DEFAULT_PORT = 11434
OLLAMA_DEFAULT_URL = f"http://127.0.0.1:{OLLAMA_DEFAULT_PORT}"
OPENAI_BASE_URL_ENV = "OPENAI_BASE_URL"
OPENAI_API_KEY_ENV = "OPENAI_API_KEY"
OPENAI_DEFAULT_URL = "https://api.openai.com/v1"


# ---- spec and endpoint resolution -------------------------------------------------------------

def parse_spec(spec: str) -> tuple[str, str]:
    """`"ollama:llama3.2:3b"` -> `("ollama", "llama3.2:3b")`; `"extractive"` -> `("extractive", "")`."""
    text = (spec or DEFAULT_SPEC).strip()
    prefix, _, target = text.partition(":")
    prefix, target = prefix.strip().lower(), target.strip()
    if prefix not in BACKENDS:
        raise ModelError(f"unknown model {spec!r}: use one of {SPEC_FORMS}")
    if prefix == "extractive" and target:
        raise ModelError(f"unknown model {spec!r}: 'extractive' takes no model name (use one of {SPEC_FORMS})")
    if prefix != "extractive" and not target:
        raise ModelError(f"model {spec!r} names no model: write it as {_example(prefix)}")
    return prefix, target


def _example(prefix: str) -> str:
    return BACKENDS[prefix].example


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def normalize_ollama_url(host: str) -> str:
    """`host`, `host:port` or a full URL -> `scheme://host:port[/path]` (as Ollama itself reads
    OLLAMA_HOST: no scheme means http, no port means 11434)."""
    text = host.strip().rstrip("/")
    if "://" in text:
        return text
    url = f"http://{text}"
    if urlsplit(url).port is None:
        parts = urlsplit(url)
        url = parts._replace(netloc=f"{parts.netloc}:{OLLAMA_DEFAULT_PORT}").geturl()
    return url


def ollama_base_url(base_url: str | None = None) -> str:
    """Argument, else $OLLAMA_HOST, else http://127.0.0.1:11434."""
    return normalize_ollama_url(base_url or _env(OLLAMA_HOST_ENV) or OLLAMA_DEFAULT_URL)


def openai_base_url(base_url: str | None = None) -> str:
    """Argument, else $OPENAI_BASE_URL, else https://api.openai.com/v1."""
    return (base_url or _env(OPENAI_BASE_URL_ENV) or OPENAI_DEFAULT_URL).strip().rstrip("/")


def openai_api_key(api_key: str | None = None) -> str | None:
    """Argument, else $OPENAI_API_KEY, else none (fine for local servers)."""
    return api_key or _env(OPENAI_API_KEY_ENV)


# ---- builders ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tuning:
    """Settings only some backends use: the context window (tokens) and Ollama's `think`."""

    context_window: int | None = None
    think: bool | str | None = None


Builder = Callable[[str, str | None, str | None, float, Tuning], Model]


def _extractive(target: str, base_url: str | None, api_key: str | None, timeout: float, tuning: Tuning) -> Model:
    try:
        module = importlib.import_module("assistant.llm.extractive")
    except ImportError as exc:
        raise ModelError(f"the extractive backend (assistant/llm/extractive.py) cannot be loaded: {exc}") from exc
    return _model_class(module)()


def _model_class(module: object) -> type[Model]:
    """The module's `ExtractiveModel`, else the one concrete `Model` subclass it defines."""
    named = getattr(module, "ExtractiveModel", None)
    if isinstance(named, type) and issubclass(named, Model):
        return named
    found = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Model) and not inspect.isabstract(obj)
        and obj.__module__ == getattr(module, "__name__", None)
    ]
    if len(found) != 1:
        raise ModelError("assistant/llm/extractive.py defines no single Model class (expected ExtractiveModel)")
    return found[0]


def _ollama(target: str, base_url: str | None, api_key: str | None, timeout: float, tuning: Tuning) -> Model:
    from assistant.llm.ollama import DEFAULT_CONTEXT_WINDOW, OllamaModel

    return OllamaModel(
        target, ollama_base_url(base_url), timeout=timeout,
        context_window=tuning.context_window or DEFAULT_CONTEXT_WINDOW, think=tuning.think,
    )


def _openai(target: str, base_url: str | None, api_key: str | None, timeout: float, tuning: Tuning) -> Model:
    from assistant.llm.openai_compat import DEFAULT_CONTEXT_WINDOW, OpenAICompatModel

    return OpenAICompatModel(
        target, openai_base_url(base_url), api_key=openai_api_key(api_key), timeout=timeout,
        context_window=tuning.context_window or DEFAULT_CONTEXT_WINDOW,
    )


def _llamacpp(target: str, base_url: str | None, api_key: str | None, timeout: float, tuning: Tuning) -> Model:
    from assistant.llm.llamacpp import LlamaCppModel

    return LlamaCppModel(target, context_window=tuning.context_window)


@dataclass(frozen=True)
class Backend:
    """One model backend's registration: what a model picker shows, and how its models are built."""

    name: str
    example: str
    description: str
    needs_base_url: bool  # talks to a server, so a UI should offer a base-URL field
    default_base_url: str | None
    uses_api_key: bool
    build: Builder = field(repr=False, compare=False)

    def describe(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "build"}


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("extractive", "extractive", "No LLM: composes answers from the retrieved papers' own sentences.",
            False, None, False, _extractive),
    Backend("ollama", "ollama:llama3.2", "A model served by Ollama (local or remote).",
            True, OLLAMA_DEFAULT_URL, False, _ollama),
    Backend("openai", "openai:gpt-4o-mini", "Any OpenAI-compatible endpoint: hosted APIs, vLLM, LM Studio, "
            "llama.cpp server.", True, OPENAI_DEFAULT_URL, True, _openai),
    Backend("llamacpp", "llamacpp:/path/to/model.gguf", "A GGUF model run in-process by llama-cpp-python "
            "(pip install 'litassist[llamacpp]').", False, None, False, _llamacpp),
)}


def available_backends() -> list[dict[str, object]]:
    """One dict per backend (name, example, description, needs_base_url, default_base_url,
    uses_api_key) for a model picker."""
    return [backend.describe() for backend in BACKENDS.values()]


def get_model(
    spec: str = DEFAULT_SPEC,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    context_window: int | str | None = None,
    think: bool | str | None = None,
) -> Model:
    """The model named by `spec`. Raises ModelError for an unknown spec or a backend that is
    not installed or misconfigured; network trouble surfaces later, from `stream`."""
    prefix, target = parse_spec(spec)
    tuning = Tuning(parse_context_window(context_window), parse_think(think))
    return BACKENDS[prefix].build(target, base_url or None, api_key or None, timeout, tuning)


def parse_context_window(value: int | str | None) -> int | None:
    """A context window in tokens from a setting ("4096"), or a ModelError naming the value."""
    if value is None or value == "":
        return None
    try:
        window = int(value)
    except (TypeError, ValueError):
        window = 0
    if window < 256:
        raise ModelError(f"context window {value!r} (--context-window / LITASSIST_CONTEXT_WINDOW) must be a number of tokens, at least 256")
    return window


THINK_LEVELS = ("low", "medium", "high")


def parse_think(value: bool | str | None) -> bool | str | None:
    """Ollama's `think` from a setting: true/false, low/medium/high, or unset (the model's default)."""
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower()
    if not text:
        return None
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    if text in THINK_LEVELS:
        return text
    raise ModelError(f"think {value!r} (--think / LITASSIST_THINK) must be true, false, low, medium or high")


def model_from_settings(settings: Settings, override: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> Model:
    """The model the settings ask for (`override`, e.g. a UI choice, wins over settings.model).

    The base URL and key come from settings (option > LITASSIST_BASE_URL / LITASSIST_API_KEY >
    config file); only when those are unset do the backend's own variables apply
    (OLLAMA_HOST, OPENAI_BASE_URL, OPENAI_API_KEY)."""
    spec = override or settings.get("model") or DEFAULT_SPEC
    return get_model(
        spec, base_url=settings.get("base_url"), api_key=settings.get("api_key"), timeout=timeout,
        context_window=settings.get("context_window"), think=settings.get("think"),
    )
