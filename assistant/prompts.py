"""Prompt templates: every prompt is a file `prompts/NAME.txt` with `$name` / `${name}`
placeholders (`string.Template`: braces stay literal, so `\\cite{key}` needs no escaping; a
literal dollar sign is `$$`). One loader for every task, plus the shared rendering of numbered
sources and of a conversation.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Iterable, Sequence

from assistant.errors import LitassistError
from assistant.papers import authors_line
from assistant.llm.base import Message, SourceText

_TAG = re.compile(r"<(/?)(source)\b", re.IGNORECASE)


def prompts_dir() -> Path:
    from assistant.settings import PROMPTS_DIR

    return Path(PROMPTS_DIR)


@lru_cache(maxsize=64)
def _load(path: Path) -> Template:
    try:
        return Template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LitassistError(f"prompt template {path} cannot be read: {exc}") from exc


def load_prompt(name: str) -> Template:
    """The template `prompts/<name>.txt`."""
    return _load(prompts_dir() / f"{name}.txt")


def render_prompt(name: str, **values: object) -> str:
    """`prompts/<name>.txt` with its placeholders filled; a missing value is an error naming both."""
    template = load_prompt(name)
    try:
        return template.substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise LitassistError(f"prompt template {prompts_dir() / (name + '.txt')} needs a value for ${exc.args[0]}") from exc
    except ValueError as exc:
        raise LitassistError(f"prompt template {prompts_dir() / (name + '.txt')} has a bad placeholder: {exc}") from exc


def quote_data(text: str) -> str:
    """Source text made safe to put between <source> tags: it cannot open or close one."""
    return _TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text.strip())


def format_source(source: SourceText, key: str | None = None) -> str:
    """One source for a prompt: `<source n="1" [key="..."]>` title, authors, year, text `</source>`."""
    attributes = f'n="{source.n}"' + (f' key="{quote_data(key)}"' if key else "")
    return "\n".join(
        [
            f"<source {attributes}>",
            f"Title: {quote_data(source.title) or 'untitled'}",
            f"Authors: {quote_data(authors_line(source.authors, unknown='unknown'))}",
            f"Year: {source.year or 'unknown'}",
            f"Text: {quote_data(source.text)}",
            "</source>",
        ]
    )


def format_sources(sources: Iterable[SourceText], keys: dict[int, str] | None = None) -> str:
    """Numbered sources for a prompt; `keys` (source number -> citation key) adds `key="..."`."""
    return "\n\n".join(format_source(s, (keys or {}).get(s.n)) for s in sources)


def format_history(history: Sequence[Message], max_turns: int = 6, max_chars: int = 600) -> str:
    """The last turns of a conversation as `User: ...` / `Assistant: ...` lines."""
    lines = []
    for message in list(history)[-max_turns:]:
        text = " ".join(message.content.split())
        if len(text) > max_chars:
            text = text[: max_chars - 1] + "…"
        lines.append(f"{message.role.capitalize()}: {text}")
    return "\n".join(lines)
