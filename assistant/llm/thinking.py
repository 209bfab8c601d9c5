"""Reasoning models' thinking, kept apart from their answer.

Reasoning models (qwen3, deepseek-r1 and their kin) think before answering. Servers hand the
thinking over in one of three ways: inside the content as a `<think>...</think>` block (the tags
may be split across stream chunks anywhere), in a separate field (Ollama's `message.thinking`,
`reasoning_content` deltas on OpenAI-compatible servers), or, when the chat template already
opened the block in the prompt, as content that ends its thinking with a lone `</think>`.
Thinking is never the answer: it is not shown as the answer and never citation-checked.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
_TAGS = (OPEN_TAG, CLOSE_TAG)


@dataclass(frozen=True)
class Part:
    """A piece of a model's output: answer text, or thinking when `thinking` is set."""

    text: str
    thinking: bool = False


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that could be the start of `tag` (held back until
    the next chunk says whether it is the tag)."""
    lowered = text.lower()
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(lowered[-size:]):
            return size
    return 0


class ThinkingSplitter:
    """Splits streamed content into answer and thinking parts at `<think>` / `</think>`,
    whichever chunk boundaries the tags fall on. Feed chunks, then `close()`."""

    def __init__(self) -> None:
        self._buffer = ""
        self._thinking = False
        self._after_block = False  # the blank lines between a block and the answer are not answer

    def feed(self, text: str) -> list[Part]:
        self._buffer += text
        parts: list[Part] = []
        while self._buffer:
            tag = CLOSE_TAG if self._thinking else OPEN_TAG
            at = self._buffer.lower().find(tag)
            if at < 0:
                keep = _partial_tag_suffix(self._buffer, tag)
                ready, self._buffer = self._buffer[: len(self._buffer) - keep], self._buffer[len(self._buffer) - keep :]
                self._emit(ready, parts)
                break
            self._emit(self._buffer[:at], parts)
            self._buffer = self._buffer[at + len(tag) :]
            self._thinking = not self._thinking
            self._after_block = not self._thinking
        return parts

    def _emit(self, text: str, parts: list[Part]) -> None:
        if self._after_block and not self._thinking:
            text = text.lstrip()
            self._after_block = not text
        if text:
            parts.append(Part(text, self._thinking))

    def close(self) -> list[Part]:
        rest, self._buffer = self._buffer, ""
        parts: list[Part] = []
        self._emit(rest, parts)
        return parts


def split_stream(chunks: Iterable[str]) -> Iterator[Part]:
    """Content chunks as answer and thinking parts (see `ThinkingSplitter`)."""
    splitter = ThinkingSplitter()
    for chunk in chunks:
        yield from splitter.feed(chunk)
    yield from splitter.close()


_ORPHAN_CLOSE = re.compile(re.escape(CLOSE_TAG), re.IGNORECASE)
_STRAY_TAG = re.compile("|".join(re.escape(t) for t in _TAGS), re.IGNORECASE)


@dataclass(frozen=True)
class Separated:
    answer: str
    thinking: str


def separate(answer_parts: Iterable[str], thinking_parts: Iterable[str] = ()) -> Separated:
    """The final answer and thinking from the parts a stream gave. An answer that still holds a
    `</think>` (the template opened the block in the prompt, so the model wrote only its end) had
    thinking before it; stray tags are dropped."""
    answer = "".join(answer_parts)
    thinking = "".join(thinking_parts)
    closes = list(_ORPHAN_CLOSE.finditer(answer))
    if closes:
        last = closes[-1]
        thinking = "\n".join(t for t in (thinking.strip(), answer[: last.start()].strip()) if t)
        answer = answer[last.end() :]
    answer = _STRAY_TAG.sub("", answer)
    return Separated(answer.strip(), _STRAY_TAG.sub("", thinking).strip())
