"""A collection owner's abstract list: the owner's name, then one `Abstract:` line per paper.

    Jack
    Abstract:Modern artificial intelligence (AI) systems are powered by ...
    Abstract:Federated learning enables resource-constrained edge compute devices ...

There are no titles (`finalise` derives a marked one) and the owner's name is often a first name
only, so it is kept in `Paper.partial_authors`, never in `authors`.
"""
from __future__ import annotations

import re

from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.text_utils import Line, clean_space, fraction, non_blank, numbered_lines, sniff_lines, source
from assistant.papers import Paper

FORMAT = "abstract_list"

ABSTRACT = re.compile(r"^abstract\s*:\s*", re.I)
MAX_OWNER_WORDS = 5
MAX_OWNER_CHARS = 80
OWNER_FORBIDDEN = set(':;!?()[]{}=<>@/\\|"#*_')


def is_owner_line(text: str) -> bool:
    """A short name-like line: a few words, no sentence punctuation, not an `Abstract:` line."""
    return (
        not ABSTRACT.match(text)
        and len(text) <= MAX_OWNER_CHARS
        and 1 <= len(text.split()) <= MAX_OWNER_WORDS
        and not any(c in OWNER_FORBIDDEN for c in text)
        and any(c.isalpha() for c in text)
    )


def sniff(raw: RawFile) -> float:
    lines = sniff_lines(raw)
    if not lines:
        return 0.0
    body = lines[1:] if is_owner_line(lines[0]) else lines
    share = fraction(sum(1 for text in body if ABSTRACT.match(text)), len(body))
    if share == 0:
        return 0.0
    score = 0.6 + 0.35 * share if is_owner_line(lines[0]) else 0.5 * share
    return round(score, 3)


def _owner(lines: list[Line]) -> tuple[str | None, list[Line]]:
    """The owner's name (if the first line is one) and the remaining lines."""
    if lines and is_owner_line(lines[0].text):
        return clean_space(lines[0].text), lines[1:]
    return None, lines


def parse(raw: RawFile) -> ParseResult:
    result = ParseResult(path=raw.name, format=FORMAT)
    owner, lines = _owner(non_blank(numbered_lines(raw.text)))
    for index, line in enumerate(lines):
        match = ABSTRACT.match(line.text)
        if not match:
            result.problems.append(Problem(raw.name, "expected a line starting with 'Abstract:'", line.number))
            continue
        abstract = clean_space(line.text[match.end():])
        if not abstract:
            result.problems.append(Problem(raw.name, "empty abstract", line.number))
            continue
        result.papers.append(
            Paper(
                partial_authors=[owner] if owner else [],
                abstract=abstract,
                sources=[source(raw, index, line.number, FORMAT)],
            )
        )
    return result
