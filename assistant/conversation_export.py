"""A saved conversation, or one of its answers, as Markdown with its references and BibTeX.

Each answer keeps its own citation numbers ([1], [2], ... restart with every answer, as in the
chat), so each answer section lists its own references. The BibTeX of everything cited comes once
at the end; when two answers used one key for two different papers (keys are made per answer), each
answer's BibTeX is given under it instead, so that every key in the text still means its paper.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from assistant.conversations import AUTHOR, KIND_LABELS, Conversation, Turn
from assistant.errors import NotFoundError
from assistant.papers import plain_title, without_untitled_mark

_ENTRY_START = re.compile(r"(?m)^@\w+\s*\{\s*([^,\s]+)\s*,")


def _authors(authors: Any, limit: int = 6) -> str:
    names = [str(a) for a in authors or [] if a]
    shown = ", ".join(names[:limit])
    return shown + (" et al." if len(names) > limit else "") if names else "authors unknown"


def _reference_line(ref: Mapping[str, Any], papers: Mapping[str, Mapping[str, Any]]) -> str:
    paper = papers.get(str(ref.get("paper_id") or ref.get("id")), {})
    title = without_untitled_mark(str(ref.get("title") or paper.get("title") or ""))
    derived = ref.get("title_derived", paper.get("title_derived"))
    label = plain_title(title, bool(derived))
    authors = ref.get("authors") or paper.get("authors")
    year = ref.get("year") or paper.get("year")
    arxiv_id = ref.get("arxiv_id") or paper.get("arxiv_id")
    doi = paper.get("doi")
    bits = [f"{label}.", f"{_authors(authors)}, {year or 'n.d.'}."]
    if arxiv_id:
        bits.append(f"arXiv:{arxiv_id}.")
    elif doi:
        bits.append(f"doi:{doi}.")
    bits.append(f"(library id `{ref.get('paper_id') or ref.get('id')}`)")
    key = f" `{ref['key']}`" if ref.get("key") else ""
    return f"- [{ref.get('n')}]{key} " + " ".join(bits)


def _text_of(result: Mapping[str, Any]) -> str:
    for key in ("answer", "summary", "text", "draft"):
        value = result.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return str(result.get("message") or result.get("abstain_reason") or "").strip()


def _author_extras(result: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    papers = [p for p in result.get("papers") or [] if isinstance(p, Mapping)]
    years = sorted(p["year"] for p in papers if p.get("year"))
    if papers:
        lines.append(f"**Papers:** {len(papers)}" + (f", {years[0]}–{years[-1]}" if years else ""))
    for theme in result.get("themes") or []:
        first, last = theme.get("first_year"), theme.get("last_year")
        when = f" ({first}–{last})" if first and last and first != last else (f" ({first})" if first else "")
        lines.append(f"### {theme.get('label', '')}{when}\n\n{str(theme.get('summary') or '').strip()}".rstrip())
    collaborators = [c for c in result.get("collaborators") or [] if isinstance(c, Mapping)]
    if collaborators:
        lines.append("**Frequent co-authors:** " + ", ".join(f"{c.get('name')} ({c.get('count')})" for c in collaborators))
    return lines


def _closest(result: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = result.get("closest") or []
    return [c for c in value if isinstance(c, Mapping)]


def turn_markdown(turn: Turn, number: int) -> str:
    """One answer: its heading, text, extras (author summaries) and numbered references."""
    label = KIND_LABELS.get(turn.kind, turn.kind.replace("_", " ").capitalize())
    parts = [f"## {number}. {label}: {' '.join(turn.query.split())}"]
    if turn.filters:
        parts.append("*Filters: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in turn.filters.items()) + "*")
    if turn.error:
        parts.append(f"*This request failed: {turn.error}*")
        return "\n\n".join(parts)
    result = turn.result
    text = _text_of(result)
    parts.append(text or "*(no answer text)*")
    if turn.kind == AUTHOR:
        parts.extend(_author_extras(result))
    papers = {str(p.get("id")): p for p in result.get("papers") or [] if isinstance(p, Mapping)}
    citations = [c for c in result.get("citations") or [] if isinstance(c, Mapping)]
    if citations:
        parts.append("**References**\n\n" + "\n".join(_reference_line(c, papers) for c in citations))
    elif _closest(result):
        lines = [_reference_line({**c, "n": i}, papers) for i, c in enumerate(_closest(result), 1)]
        parts.append("**Closest papers (not cited: nothing in the library answers this)**\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


def _entries(bibtex: str) -> list[tuple[str, str]]:
    """(key, entry text) of each entry of a BibTeX string."""
    starts = list(_ENTRY_START.finditer(bibtex))
    return [
        (m.group(1), bibtex[m.start(): starts[i + 1].start() if i + 1 < len(starts) else len(bibtex)].strip())
        for i, m in enumerate(starts)
    ]


def merged_bibtex(turns: list[Turn]) -> str | None:
    """The BibTeX of all turns, each entry once; None when one key names two different entries."""
    seen: dict[str, str] = {}
    for turn in turns:
        for key, entry in _entries(turn.bibtex or ""):
            if seen.setdefault(key, entry) != entry:
                return None
    return "\n\n".join(seen.values())


def _fenced(bibtex: str) -> str:
    return f"```bibtex\n{bibtex.strip()}\n```"


def export_markdown(conversation: Conversation, answer: int | None = None) -> str:
    """The conversation (or only its answer number `answer`, counted from 1) as Markdown."""
    numbered = list(enumerate(conversation.turns, 1))
    if answer is not None:
        numbered = [(n, t) for n, t in numbered if n == answer]
        if not numbered:
            raise NotFoundError(f"conversation {conversation.id} has no answer {answer} (it has {len(conversation.turns)})")
    turns = [t for _, t in numbered]
    merged = merged_bibtex(turns)
    what = f"Answer {answer} of the conversation" if answer is not None else f"{len(turns)} answer(s)"
    out = [f"# {conversation.title or 'Conversation'}", f"*litassist conversation `{conversation.id}`, started {conversation.created}. {what}.*"]
    for number, turn in numbered:
        out.append(turn_markdown(turn, number))
        if merged is None and turn.bibtex.strip():
            out.append(f"**BibTeX of answer {number}**\n\n" + _fenced(turn.bibtex))
    if merged:
        out.append("## BibTeX\n\n" + _fenced(merged))
    return "\n\n".join(out) + "\n"


def export_file_name(conversation: Conversation, answer: int | None = None) -> str:
    """`litassist-<title words>-<id>[-answer-N].md`"""
    words = re.findall(r"[A-Za-z0-9]+", conversation.title.lower())[:6]
    stem = "-".join(["litassist", *words, conversation.id])
    return stem + (f"-answer-{answer}" if answer is not None else "") + ".md"
