"""Plumbing shared by the generative backends: message conversion, streaming through a
llama-index LLM, and turning client-library exceptions into one clear `ModelError`.

Nothing here imports llama-index at module level, so `registry` stays cheap to import.
"""
from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from assistant.errors import ModelError
from assistant.llm.base import Message, Model, ModelUnreachable, Request
from assistant.llm.thinking import Part, ThinkingSplitter

if TYPE_CHECKING:
    from llama_index.core.llms import LLM, ChatMessage, ChatResponse

ROLES = ("system", "user", "assistant")
REDACTED = "***"


# ---- messages ---------------------------------------------------------------------------------

def checked_role(message: Message) -> str:
    """The message's role, or a ModelError naming the bad role."""
    role = message.role.strip().lower()
    if role not in ROLES:
        raise ModelError(f"message role {message.role!r} is not one of {', '.join(ROLES)}")
    return role


def to_role_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Our messages as OpenAI-style `{"role", "content"}` dicts (for llama-cpp-python)."""
    return [{"role": checked_role(m), "content": m.content} for m in messages]


def to_chat_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    """Our messages as llama-index `ChatMessage`s: the one conversion every backend uses."""
    from llama_index.core.llms import ChatMessage, MessageRole

    return [ChatMessage(role=MessageRole(checked_role(m)), content=m.content) for m in messages]


# ---- secrets and error text -------------------------------------------------------------------

def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def mentions_secret(exc: BaseException, secrets: Iterable[str | None]) -> bool:
    """True if the exception, or any exception chained to it, shows a secret."""
    wanted = [s for s in secrets if s]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        shown = f"{current!s} {current!r}"
        if any(s in shown for s in wanted):
            return True
        current = current.__cause__ or current.__context__
    return False


def status_text(status: int) -> str:
    """`404 Not Found` style text for an HTTP status code."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def http_error(
    backend: str,
    url: str,
    status: int,
    detail: str,
    *,
    hint: str = "",
    secrets: Iterable[str | None] = (),
) -> ModelError:
    """The error for an HTTP error status. Server-side trouble (5xx, 408, 429) means the backend
    cannot serve us now (`ModelUnreachable`); other 4xx mean a setting is wrong (`ModelError`)."""
    secrets = list(secrets)
    detail = redact(detail.strip(), secrets)
    text = f"HTTP {status_text(status)}" + (f": {detail}" if detail else "")
    if hint:
        text += f" ({hint})"
    if status >= 500 or status in (408, 429):
        return ModelUnreachable(backend, redact(url, secrets), text)
    return ModelError(f"{backend} backend at {redact(url, secrets)} refused the request: {text}")


def transport_detail(exc: BaseException, timeout: float) -> str | None:
    """Words for an httpx transport failure (refused, DNS, timeout, dropped), or None."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"timed out: no response within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc or 'connection refused'}); is the server running?"
    if isinstance(exc, httpx.TransportError):
        return f"connection broken ({type(exc).__name__}: {exc})"
    return None


# ---- the shared llama-index streaming model ---------------------------------------------------

class LlamaIndexChatModel(Model):
    """A backend served over HTTP through a llama-index LLM. Subclasses build the LLM for a
    request and explain their client library's exceptions; streaming lives here, once."""

    backend: str = "llm"
    model: str
    base_url: str
    timeout: float

    @abstractmethod
    def _llm(self, request: Request) -> LLM:
        """A llama-index LLM configured for this request (temperature, max tokens)."""

    @abstractmethod
    def _error(self, exc: Exception) -> ModelError:
        """One clear error (backend, URL, status or reason) for a client-library exception."""

    def _secrets(self) -> list[str]:
        """Strings that must never appear in errors or logs (API keys)."""
        return []

    def _responses(self, request: Request) -> Iterator[ChatResponse]:
        """The llama-index stream, every client failure turned into one ModelError."""
        messages = to_chat_messages(request.messages)
        try:
            yield from self._llm(request).stream_chat(messages)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - every client failure becomes one ModelError
            cause = None if mentions_secret(exc, self._secrets()) else exc
            raise self._error(exc) from cause

    def stream(self, request: Request) -> Iterator[str]:
        for response in self._responses(request):
            if response.delta:
                yield response.delta

    def stream_parts(self, request: Request) -> Iterator[Part]:
        """Thinking from the server's own field (Ollama `thinking`, OpenAI-compatible
        `reasoning_content`; llama-index hands both over as `thinking_delta`) and from `<think>`
        blocks in the content, apart from the answer."""
        splitter = ThinkingSplitter()
        for response in self._responses(request):
            thinking = (response.additional_kwargs or {}).get("thinking_delta")
            if isinstance(thinking, str) and thinking:
                yield Part(thinking, thinking=True)
            if response.delta:
                yield from splitter.feed(response.delta)
        yield from splitter.close()

    def unreachable(self, detail: str) -> ModelUnreachable:
        """`<backend> backend cannot be reached at <url>: <detail>`, with secrets scrubbed."""
        secrets = self._secrets()
        return ModelUnreachable(self.backend, redact(self.base_url, secrets), redact(detail, secrets))

    def unexpected(self, exc: BaseException) -> ModelError:
        """The error for a transport failure, or one no backend rule explains (a malformed reply)."""
        return self.unreachable(transport_detail(exc, self.timeout) or f"unexpected reply ({type(exc).__name__}: {exc})")

    def describe(self) -> str:
        return f"{self.name} at {redact(self.base_url, self._secrets())}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r}, timeout={self.timeout!r})"
