"""Fit a prompt into the model's context window by leaving out the lowest-ranked sources.

A server handed a prompt longer than its window either fails (llama.cpp) or silently cuts it
(Ollama keeps the end), so the model answers from sources it never fully saw. Measured here
instead, before the request is sent: the caller learns which sources were left out.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.errors import ModelError
from assistant.llm.base import Model, Request, SourceText

ANSWER_RESERVE = 1024  # tokens kept free for the answer when the request sets no max_tokens
MESSAGE_OVERHEAD = 8  # tokens a chat template adds around each message (role markers)


@dataclass
class Fitted:
    request: Request
    sources: list[SourceText]  # the sources the prompt holds, best first
    trimmed: list[SourceText] = field(default_factory=list)  # left out, best first
    prompt_tokens: int | None = None  # as counted (None when the window is unknown)


def prompt_tokens(model: Model, request: Request) -> int:
    return sum(model.count_tokens(m.content) + MESSAGE_OVERHEAD for m in request.messages)


def answer_reserve(window: int, request: Request) -> int:
    return request.max_tokens or min(ANSWER_RESERVE, window // 4)


def fit_sources(model: Model, sources: list[SourceText], build: Callable[[list[SourceText]], Request]) -> Fitted:
    """The request `build(sources)` with as many of the best-ranked sources as fit the model's
    context window, leaving room for the answer. Raises ModelError when not even one fits."""
    window = model.context_window
    request = build(sources)
    if not model.generative or not window:
        return Fitted(request, list(sources))
    kept = list(sources)
    while True:
        tokens = prompt_tokens(model, request)
        budget = window - answer_reserve(window, request)
        if tokens <= budget:
            return Fitted(request, kept, list(sources[len(kept) :]), tokens)
        if len(kept) <= 1:
            raise ModelError(
                f"{model.name}: the prompt needs about {tokens} tokens even with one source, but the context "
                f"window of {window} tokens leaves {budget} after {window - budget} for the answer; raise it "
                "with --context-window or LITASSIST_CONTEXT_WINDOW (as far as the model allows)"
            )
        kept = kept[:-1]
        request = build(kept)
