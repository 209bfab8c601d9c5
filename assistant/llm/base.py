"""The one interface every model backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator

from assistant.errors import ModelError
from assistant.llm.thinking import Part, separate, split_stream

# Without the model's own tokenizer a prompt's size is estimated at this many characters per
# token: fewer than most tokenizers manage on English prose, so the estimate errs large.
CHARS_PER_TOKEN = 3.0


@dataclass
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class SourceText:
    """A numbered source as shown to the model: [n] title, authors, year, then its text."""

    n: int
    paper_id: str
    title: str
    authors: list[str]
    year: int | None
    text: str


@dataclass
class Request:
    """Everything a backend may use. Generative backends read `messages` (the rendered prompt);
    the extractive backend composes its answer from `question` and `sources` directly."""

    messages: list[Message]
    question: str = ""
    sources: list[SourceText] = field(default_factory=list)
    task: str = "answer"  # "answer" | "author_summary" | "related_work" | "condense" | "label"
    max_tokens: int | None = None
    temperature: float = 0.1
    stop: list[str] = field(default_factory=list)  # generation ends before any of these


class Model(ABC):
    """A model found by name through the registry. `stream` yields the text the model writes as
    it arrives; `stream_parts` keeps a reasoning model's thinking apart from its answer, and
    `complete` returns the answer alone."""

    name: str = "model"
    generative: bool = True
    context_window: int | None = None  # tokens the model reads and writes per request, if known

    @abstractmethod
    def stream(self, request: Request) -> Iterator[str]:
        """Yield text chunks as the model writes them (a `<think>` block included). Raise
        ModelError (naming backend and URL) when unreachable."""

    def stream_parts(self, request: Request) -> Iterator[Part]:
        """Answer and thinking parts. Backends whose server sends thinking in its own field
        override this; here `<think>` blocks are split out of the text."""
        if not self.generative:
            yield from (Part(chunk) for chunk in self.stream(request))
            return
        yield from split_stream(self.stream(request))

    def complete(self, request: Request) -> str:
        """The answer text, thinking removed."""
        answer: list[str] = []
        thinking: list[str] = []
        for part in self.stream_parts(request):
            (thinking if part.thinking else answer).append(part.text)
        return separate(answer, thinking).answer

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes; an estimate unless the backend has the model's tokenizer."""
        return int(len(text) / CHARS_PER_TOKEN) + 1

    def describe(self) -> str:
        return self.name


class ModelUnreachable(ModelError):
    def __init__(self, backend: str, url: str, detail: str):
        super().__init__(f"{backend} backend cannot be reached at {url}: {detail}")
