"""What a model server has: Ollama's `GET /api/tags`, an OpenAI-compatible `GET /v1/models`.

For the web chat's model picker and `litassist models`. Errors are the backends' own
ModelErrors (unreachable server, refused key), named by backend and URL.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from assistant.errors import ModelError
from assistant.llm.registry import (
    DEFAULT_TIMEOUT,
    ollama_base_url,
    openai_api_key,
    openai_base_url,
)

LISTABLE = ("ollama", "openai")


@dataclass(frozen=True)
class ServerModel:
    name: str  # as the spec wants it: `ollama:<name>`, `openai:<name>`
    detail: str = ""  # family, parameters, quantisation; or the owner
    size: int | None = None  # bytes on the server's disk (Ollama)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def list_server_models(
    backend: str, *, base_url: str | None = None, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> list[ServerModel]:
    """The models the server behind `backend` offers, sorted by name."""
    backend = (backend or "").strip().lower()
    if backend == "ollama":
        models = _ollama_models(ollama_base_url(base_url), timeout)
    elif backend == "openai":
        models = _openai_models(openai_base_url(base_url), openai_api_key(api_key), timeout)
    else:
        raise ModelError(f"the {backend or 'empty'} backend has no server to list models from (listable: {', '.join(LISTABLE)})")
    return sorted(models, key=lambda m: m.name.lower())


def _ollama_models(base_url: str, timeout: float) -> list[ServerModel]:
    from assistant.llm.ollama import OllamaModel

    return [ServerModel(*entry) for entry in OllamaModel("", base_url, timeout=timeout).server_models()]


def _openai_models(base_url: str, api_key: str | None, timeout: float) -> list[ServerModel]:
    from assistant.llm.openai_compat import OpenAICompatModel

    return [ServerModel(*entry) for entry in OpenAICompatModel("", base_url, api_key=api_key, timeout=timeout).server_models()]
