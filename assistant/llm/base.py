"""The one interface every model backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator

from assistant.errors import ModelError


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


class Model(ABC):
    """A model found by name through the registry. `stream` yields text chunks as they arrive."""

    name: str = "model"
    generative: bool = True

    @abstractmethod
    def stream(self, request: Request) -> Iterator[str]:
        """Yield text chunks. Raise ModelError (naming backend and URL) when unreachable."""

    def complete(self, request: Request) -> str:
        return "".join(self.stream(request))

    def describe(self) -> str:
        return self.name


class ModelUnreachable(ModelError):
    def __init__(self, backend: str, url: str, detail: str):
        super().__init__(f"{backend} backend cannot be reached at {url}: {detail}")
