"""Citation markers: numeric brackets (`[1]`, `[1, 3]`, `[2-4]`; `[1][2]` is two markers) whose
tokens are source numbers, and LaTeX commands (`\\cite{key1,key2}`, `\\citep{...}`) whose tokens are
keys; how each syntax is found, written back and removed."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

# A range wider than this ([1-400]) is not read as a list of citations.
MAX_RANGE = 20

_NUMERIC = re.compile(
    r"\[\s*(\d{1,4}(?:\s*[-–—]\s*\d{1,4})?(?:\s*[,;]\s*\d{1,4}(?:\s*[-–—]\s*\d{1,4})?)*)\s*\](?!\()"
)
_RANGE = re.compile(r"^(\d+)\s*[-–—]\s*(\d+)$")
_CITE = re.compile(r"\\(cite[a-zA-Z]*)\*?((?:\[[^\]]*\])*)\{([^{}]*)\}")
# The punctuation that ends a sentence, with closing quotes or brackets after it.
FINAL_PUNCTUATION = re.compile(r"[.!?][\"'”’)]*$")


@dataclass
class Marker:
    """One citation marker: where it is, what it says, and its tokens (source numbers or keys).

    A numeric range is expanded (`[2-4]` -> "2", "3", "4"); a range wider than MAX_RANGE stays
    one token ("1-400"), which matches no source."""

    start: int
    end: int
    raw: str
    tokens: list[str]
    command: str = ""  # "cite", "citep", ... for the LaTeX syntax
    options: str = ""  # "[p. 3]" of \cite[p. 3]{key}

    @property
    def numbers(self) -> list[int]:
        return [int(t) for t in self.tokens if t.isdigit()]


def _expand(part: str) -> list[str]:
    m = _RANGE.match(part)
    if not m:
        return [str(int(part))]
    lo, hi = sorted((int(m.group(1)), int(m.group(2))))
    if hi - lo > MAX_RANGE:
        return [f"{lo}-{hi}"]
    return [str(n) for n in range(lo, hi + 1)]


def parse_markers(text: str) -> list[Marker]:
    """Numeric citation markers in order. Brackets holding anything but numbers, commas,
    semicolons and ranges (`[12a]`, `[Smith 2020]`, `[see 2]`) and Markdown links (`[1](url)`)
    are not citations."""
    markers = []
    for m in _NUMERIC.finditer(text):
        tokens = [t for part in re.split(r"\s*[,;]\s*", m.group(1)) for t in _expand(part.strip())]
        markers.append(Marker(m.start(), m.end(), m.group(), tokens))
    return markers


def parse_cite_commands(text: str) -> list[Marker]:
    """LaTeX citation commands (`\\cite{a,b}`, `\\citep[p. 2]{a}`, `\\citet*{a}`) in order."""
    return [
        Marker(m.start(), m.end(), m.group(), [k.strip() for k in m.group(3).split(",") if k.strip()], m.group(1), m.group(2))
        for m in _CITE.finditer(text)
    ]


@dataclass(frozen=True)
class Syntax:
    """How one citation style is found, written back, and named in messages."""

    name: str
    find: Callable[[str], list[Marker]]
    render: Callable[[list[str], Marker], str]
    label: Callable[[str], str]
    renumber: bool  # numeric tokens are replaced by their new numbers; keys stay as they are


NUMERIC = Syntax(
    "numeric",
    parse_markers,
    lambda tokens, _m: "[" + ", ".join(tokens) + "]",
    lambda token: f"[{token}]",
    renumber=True,
)
LATEX = Syntax(
    "latex",
    parse_cite_commands,
    lambda tokens, m: f"\\{m.command}{m.options}{{{','.join(tokens)}}}",
    lambda token: f"\\cite{{{token}}}",
    renumber=False,
)


def strip_markers(text: str, syntax: Syntax | None = None) -> str:
    """`text` without citation markers (both syntaxes unless one is named), spacing tidied."""
    for s in [syntax] if syntax else [NUMERIC, LATEX]:
        text = replace_groups(text, s, lambda _group: "")
    return text.strip()



def _groups(text: str, markers: list[Marker]) -> list[list[Marker]]:
    """Markers separated by nothing but spaces ("[1][2]", "[1] [2]") form one group."""
    groups: list[list[Marker]] = []
    for marker in markers:
        if groups and not text[groups[-1][-1].end : marker.start].strip(" \t"):
            groups[-1].append(marker)
        else:
            groups.append([marker])
    return groups


def replace_groups(text: str, syntax: Syntax, render_group: Callable[[list[Marker]], str]) -> str:
    """Rewrite every marker group with `render_group` ("" removes it, with the space before it)."""
    out = ""
    position = 0
    at_line_start = False  # a removed marker opened the line: drop the spaces after it
    for group in _groups(text, syntax.find(text)):
        segment = text[position : group[0].start]
        out += segment.lstrip(" \t") if at_line_start else segment
        position = group[-1].end
        rendered = render_group(group)
        at_line_start = False
        if rendered:
            out += rendered
            continue
        out = out.rstrip(" \t")
        at_line_start = not out or out.endswith("\n")
        if not at_line_start and text[position : position + 1].isalnum():
            out += " "
    tail = text[position:]
    return out + (tail.lstrip(" \t") if at_line_start else tail)



def cite_at_end(text: str, marker: str) -> str:
    """`text` with ` marker` placed before its final punctuation (a full stop added if it has none)."""
    text = text.rstrip()
    m = FINAL_PUNCTUATION.search(text)
    if m:
        return f"{text[: m.start()]} {marker}{m.group()}"
    return f"{text} {marker}."
