"""The citation styles models write, besides `[1]`, `[1, 2]`, `[1-3]` and `[1][2]` (read as they are):
each is rewritten to `[n]` before validation, or removed and reported."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.llm.base import SourceText

_NUMBER_LIST = r"\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*(?:[,;&]|\band\b)\s*(?:sources?\s*)?\d{1,4}(?:\s*[-–—]\s*\d{1,4})?)*"
# `[Source 1]`, `(Source 2)`, `[Sources 1, 3]`, `(sources 2 and 4)`, `[Source: 1]`
_SOURCE_WORD = re.compile(r"[\[(]\s*sources?\s*:?\s*(" + _NUMBER_LIST + r")\s*[\])]", re.IGNORECASE)
# `【1】`, `【1, 2】`, `【4†source】`, `【4:0†source】` (full-width brackets)
_LENTICULAR = re.compile(r"【\s*(" + _NUMBER_LIST + r")\s*(?:[:†][^】]*)?】")
# a footnote reference `[^1]` and a footnote definition line `[^1]: Title, 2020.`
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]{1,20})\](?!:)")
_FOOTNOTE_DEF = re.compile(r"^[ \t]*\[\^([^\]\s]{1,20})\]:[ \t]*(.*)$", re.MULTILINE)
# a heading that opens the model's own reference list: `References:`, `**Sources**`, `## Bibliography`
_LIST_HEADING = re.compile(
    r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}(references|sources|sources cited|bibliography|works cited|citations)[*_]{0,2}[ \t]*:?[*_]{0,2}[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_LIST_NUMBER = re.compile(r"^[ \t]*(?:[-*•][ \t]*)?(?:\[(\d{1,4})\]|【(\d{1,4})】|\(?(\d{1,4})[.)]|sources?[ \t]+(\d{1,4}))", re.IGNORECASE)
_SOURCE_NUMBER_IN_TEXT = re.compile(r"(?:\[|【|\bsources?\s*)(\d{1,4})", re.IGNORECASE)


@dataclass
class Normalised:
    """The text with every citation style rewritten as `[n]`, and what was removed, and why."""

    text: str
    removed: list[dict[str, str]] = field(default_factory=list)


def _as_brackets(numbers: str) -> str:
    parts = re.split(r"\s*(?:[,;&]|\band\b)\s*", re.sub(r"(?i)sources?\s*", "", numbers))
    return "[" + ", ".join(p.strip() for p in parts if p.strip()) + "]"


def _given_numbers(text: str, given: set[int]) -> list[int]:
    return [int(m.group(1)) for m in _SOURCE_NUMBER_IN_TEXT.finditer(text) if int(m.group(1)) in given] or [
        n for n in (int(t) for t in re.findall(r"^\s*(\d{1,4})\b", text)) if n in given
    ]


def _footnote_source(label: str, definition: str, sources: list[SourceText]) -> int | None:
    """The source a footnote stands for: a source number its definition names, else a source
    whose title it quotes, else (with no definition) its own number."""
    given = {s.n for s in sources}
    named = _given_numbers(definition, given)
    if named:
        return named[0]
    wanted = " ".join(definition.lower().split())
    for source in sources:
        title = " ".join(source.title.lower().split())
        if len(title) >= 8 and title in wanted:
            return source.n
    if not definition.strip() and label.isdigit() and int(label) in given:
        return int(label)
    return None


def _footnotes(text: str, sources: list[SourceText], removed: list[dict[str, str]]) -> str:
    definitions = {m.group(1): m.group(2) for m in _FOOTNOTE_DEF.finditer(text)}
    text = _FOOTNOTE_DEF.sub("", text)
    resolved: dict[str, int | None] = {}
    for label in dict.fromkeys(m.group(1) for m in _FOOTNOTE_REF.finditer(text)):
        resolved[label] = _footnote_source(label, definitions.get(label, ""), sources)
        if resolved[label] is None:
            reason = "footnote that names no retrieved source" if label in definitions else "footnote with no definition and no such source"
            removed.append({"marker": f"[^{label}]", "reason": reason})

    def rewrite(m: re.Match[str]) -> str:
        n = resolved.get(m.group(1))
        return f"[{n}]" if n is not None else ""

    return _FOOTNOTE_REF.sub(rewrite, text)


def _reference_list(text: str, given: set[int], removed: list[dict[str, str]]) -> str:
    """`text` without a trailing reference list the model added (the app shows its own); a
    number in that list that names no given source is reported."""
    for heading in reversed(list(_LIST_HEADING.finditer(text))):
        lines = [line for line in text[heading.end() :].splitlines() if line.strip()]
        if not lines or not all(_LIST_NUMBER.match(line) or line.lstrip().startswith(("-", "*", "•")) for line in lines):
            continue
        shown = given_text(given)
        for line in lines:
            m = _LIST_NUMBER.match(line)
            number = next((int(g) for g in m.groups() if g), None) if m else None
            if number is not None and number not in given:
                removed.append({"marker": f"[{number}]", "reason": f"in the model's own reference list, not a retrieved source ({shown})"})
        return text[: heading.start()].rstrip()
    return text


def given_text(given: set[int]) -> str:
    ns = sorted(given)
    if not ns:
        return "no sources were given"
    if len(ns) == 1:
        return f"only [{ns[0]}] was given"
    if ns == list(range(ns[0], ns[-1] + 1)):
        return f"only [{ns[0]}]-[{ns[-1]}] were given"
    return "only " + ", ".join(f"[{n}]" for n in ns) + " were given"


def normalise_citations(text: str, sources: list[SourceText]) -> Normalised:
    """Every citation style a model writes, as `[n]`: `[Source 1]`, `(Source 2)`, `【1】`,
    footnotes `[^1]` (resolved through their definitions, which are removed), and no reference
    list of the model's own (removed; numbers in it that were not given are reported)."""
    removed: list[dict[str, str]] = []
    given = {s.n for s in sources}
    text = _reference_list(text, given, removed)
    text = _footnotes(text, sources, removed)
    text = _SOURCE_WORD.sub(lambda m: _as_brackets(m.group(1)), text)
    text = _LENTICULAR.sub(lambda m: _as_brackets(m.group(1)), text)
    return Normalised(text.strip(), removed)
