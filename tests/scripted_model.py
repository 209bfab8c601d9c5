"""A stand-in model for tests: streams fixed text and records every Request it was given."""
from __future__ import annotations

from typing import Iterator

from assistant.llm.base import Model, Request


class ScriptedModel(Model):
    """Streams `text` word by word (or one reply per call from `replies`), keeping the requests."""

    def __init__(self, text: str = "", *, replies: list[str] | None = None, name: str = "scripted", generative: bool = True):
        self.text = text
        self.replies = list(replies or [])
        self.name = name
        self.generative = generative
        self.requests: list[Request] = []

    def stream(self, request: Request) -> Iterator[str]:
        self.requests.append(request)
        text = self.replies.pop(0) if self.replies else self.text
        words = text.split(" ")
        for i, word in enumerate(words):
            yield word + (" " if i < len(words) - 1 else "")
