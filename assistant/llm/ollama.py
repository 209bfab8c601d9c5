"""Ollama backend: `ollama:MODEL`, streamed from a local or remote Ollama server through
llama-index's `Ollama` integration (which speaks `POST /api/chat` via the `ollama` client)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.errors import ModelError
from assistant.llm._chat import LlamaIndexChatModel, http_error
from assistant.llm.base import Request

if TYPE_CHECKING:
    from llama_index.core.llms import LLM

# llama-index's Ollama asks the server for the model's full context length when none is given
# (an extra request, and a 128k-token KV cache for many models); a fixed window avoids both.
DEFAULT_CONTEXT_WINDOW = 8192


class OllamaModel(LlamaIndexChatModel):
    backend = "ollama"
    context_window: int

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        timeout: float = 120.0,
        context_window: int = DEFAULT_CONTEXT_WINDOW,
        think: bool | str | None = None,
    ) -> None:
        from ollama import Client

        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.context_window = context_window
        # Ollama's `think` option: None leaves the model's default; True/False or a level
        # ("low", "medium", "high") for models that offer them. The thinking comes back apart.
        self.think = think
        self.name = f"ollama:{model}"
        # One client (one connection pool) for every request; `timeout` bounds connecting and
        # each wait for the next streamed line, so a stalled server fails after `timeout` s.
        self._client = Client(host=base_url, timeout=timeout)

    def _llm(self, request: Request) -> LLM:
        from llama_index.llms.ollama import Ollama

        options: dict[str, object] = {"num_predict": request.max_tokens} if request.max_tokens else {}
        if request.stop:
            options["stop"] = list(request.stop)
        return Ollama(
            model=self.model,
            base_url=self.base_url,
            client=self._client,
            request_timeout=self.timeout,
            temperature=request.temperature,
            context_window=self.context_window,
            additional_kwargs=options,
            thinking=self.think,  # type: ignore[arg-type]  # a level is checked by registry.parse_think
        )

    def _error(self, exc: Exception) -> ModelError:
        from ollama import ResponseError

        if isinstance(exc, ResponseError):
            return self._response_error(exc)
        if isinstance(exc, ConnectionError):  # the ollama client's wrapper for refused connections
            return self.unreachable(f"connection failed ({exc})")
        return self.unexpected(exc)

    def _response_error(self, exc: Exception) -> ModelError:
        status = int(getattr(exc, "status_code", -1))
        detail = str(getattr(exc, "error", exc))
        hint = f"pull it with `ollama pull {self.model}`" if "not found" in detail.lower() else ""
        if status < 0:  # an {"error": ...} line inside an otherwise successful stream
            suffix = f" ({hint})" if hint else ""
            return self.unreachable(f"the server reported: {detail}{suffix}")
        return http_error(self.backend, self.base_url, status, detail, hint=hint)

    def server_models(self) -> list[tuple[str, str, int | None]]:
        """(name, detail, size) of every model the server has (`GET /api/tags`)."""
        try:
            listing = self._client.list()
        except Exception as exc:  # noqa: BLE001 - every client failure becomes one ModelError
            raise self._error(exc) from exc
        found: list[tuple[str, str, int | None]] = []
        for entry in listing.models:
            details = entry.details
            words = [details.family, details.parameter_size, details.quantization_level] if details else []
            found.append((str(entry.model), " ".join(w for w in words if w), None if entry.size is None else int(entry.size)))
        return found
