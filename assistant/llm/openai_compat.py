"""OpenAI-compatible backend: `openai:MODEL` against any `/v1/chat/completions` endpoint (hosted
APIs, vLLM, LM Studio, llama.cpp server), streamed through llama-index's `OpenAILike`.

The API key lives only inside the `openai` client: it is never put in a message, repr or log, and
it is scrubbed from any error text a server echoes back.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.errors import ModelError
from assistant.llm._chat import LlamaIndexChatModel, http_error, mentions_secret, redact, transport_detail
from assistant.llm.base import Request

if TYPE_CHECKING:
    from collections.abc import Iterator

    import openai
    from llama_index.core.llms import LLM, ChatResponse

# Local servers (vLLM, LM Studio, llama.cpp) ignore the key, but the client insists on one.
NO_KEY = "no-key"
KEY_SETTINGS = "--api-key, LITASSIST_API_KEY or OPENAI_API_KEY"
DEFAULT_CONTEXT_WINDOW = 8192
CONTEXT_WORDS = re.compile(r"context (length|window|size)|context_length_exceeded", re.IGNORECASE)


class OpenAICompatModel(LlamaIndexChatModel):
    backend = "openai"
    context_window: int

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
        context_window: int = DEFAULT_CONTEXT_WINDOW,
    ) -> None:
        from openai import OpenAI

        self.model = model
        self.base_url = base_url
        self.timeout = timeout
        self.context_window = context_window
        self.name = f"openai:{model}"
        self._has_key = bool(api_key)
        # No retries: a failure is reported at once, and a timeout means `timeout` seconds, not
        # several times that. The client (not llama-index) holds the key and the connection pool.
        self._client = OpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout, max_retries=0)

    def _secrets(self) -> list[str]:
        key = self._client.api_key
        return [key] if self._has_key and key else []

    def _llm(self, request: Request) -> LLM:
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(  # type: ignore[call-arg]  # openai_client: a field of OpenAI, its base
            model=self.model,
            api_base=self.base_url,
            # The request goes through `openai_client`, which carries the real key; giving
            # llama-index a placeholder keeps the key out of its (printable) pydantic fields.
            api_key=NO_KEY,
            openai_client=self._client,
            is_chat_model=True,
            context_window=self.context_window,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            timeout=self.timeout,
            max_retries=0,
            additional_kwargs={"stop": list(request.stop)} if request.stop else {},
        )

    def _error(self, exc: Exception) -> ModelError:
        import openai

        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, openai.APITimeoutError):
            return self.unreachable(f"timed out: no response within {self.timeout:g} s")
        if isinstance(exc, openai.APIConnectionError):  # wraps the httpx error as its cause
            cause = exc.__cause__
            if cause is not None and transport_detail(cause, self.timeout):
                return self.unexpected(cause)
            return self.unreachable(f"connection failed ({exc.message})")
        if isinstance(exc, openai.APIError):  # an error event inside the stream
            return self.unreachable(f"the server reported: {exc.message}")
        if isinstance(exc, ValueError) and self.model in str(exc):  # llama-index rejected the model name
            return ModelError(f"openai backend: {exc}")
        return self.unexpected(exc)

    def _status_error(self, exc: openai.APIStatusError) -> ModelError:
        body = exc.body
        detail = str(body.get("message") or body) if isinstance(body, dict) else exc.message
        return http_error(
            self.backend, self.base_url, exc.status_code, detail, hint=self._status_hint(exc.status_code, detail), secrets=self._secrets()
        )

    def _responses(self, request: Request) -> Iterator[ChatResponse]:
        """The stream, which must end with a finish_reason: a server that fails after it began
        streaming (llama.cpp's server when the prompt overflows its window) just closes it."""
        finished = False
        for response in super()._responses(request):
            choices = getattr(response.raw, "choices", None) or []
            finished = finished or any(getattr(choice, "finish_reason", None) for choice in choices)
            yield response
        if not finished:
            raise ModelError(
                f"{self.backend} backend at {redact(self.base_url, self._secrets())}: the stream ended before the model "
                "finished (no finish_reason), so the server failed mid-answer; its log says why (a prompt longer than "
                "its context window? set --context-window or LITASSIST_CONTEXT_WINDOW to its size)"
            )

    def server_models(self) -> list[tuple[str, str, int | None]]:
        """(name, owner, None) of every model the endpoint offers (`GET /v1/models`)."""
        try:
            return [(str(entry.id), str(getattr(entry, "owned_by", "") or ""), None) for entry in self._client.models.list()]
        except Exception as exc:  # noqa: BLE001 - every client failure becomes one ModelError
            cause = None if mentions_secret(exc, self._secrets()) else exc
            raise self._error(exc) from cause

    def _hint(self, status: int) -> str:
        if status in (401, 403):
            return f"check the API key from {KEY_SETTINGS}" if self._has_key else f"no API key was given: set {KEY_SETTINGS}"
        if status == 404:
            return f"check the model name {self.model!r} and that the base URL ends in /v1"
        return ""

    def _status_hint(self, status: int, detail: str) -> str:
        if status == 400 and CONTEXT_WORDS.search(detail):
            return (f"the prompt does not fit the server's context window; set --context-window or "
                    f"LITASSIST_CONTEXT_WINDOW to the server's size (now {self.context_window}) and litassist trims sources to fit")
        return self._hint(status)
