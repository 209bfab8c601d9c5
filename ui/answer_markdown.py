"""A result as chat Markdown (escaped, each `[n]` a link to its entry in the sources panel) and
as plain text for copying."""
from __future__ import annotations

from typing import Any, Mapping

from assistant.cite.markers import parse_cite_commands, parse_markers
from assistant.papers import UNTITLED_MARK
from ui.result_view import ResultView
from ui.safe_text import anchor_id, arxiv_url, authors_text, escape_md, with_structure


def cited_markdown(text: str, turn: int, valid: set[int] | None = None, key_numbers: Mapping[str, int] | None = None) -> str:
    """Validated answer text as Markdown: text escaped, each `[n]` a link to its source entry."""
    spans: list[tuple[int, int, str]] = []
    for marker in parse_markers(text):
        links = []
        for n in marker.numbers:
            if valid is None or n in valid:
                links.append(f'<a href="#{anchor_id(turn, n)}" class="la-cite">[{n}]</a>')
            else:
                links.append(escape_md(f"[{n}]"))
        spans.append((marker.start, marker.end, "".join(links)))
    if key_numbers:
        for command in parse_cite_commands(text):
            parts = []
            for key in command.tokens:
                number = key_numbers.get(key)
                label = escape_md(f"[{number}: {key}]" if number else f"[{key}]")
                parts.append(f'<a href="#{anchor_id(turn, number)}" class="la-cite">{label}</a>' if number else label)
            spans.append((command.start, command.end, "".join(parts)))
    spans.sort()
    out, pos = [], 0
    for start, end, rendered in spans:
        if start < pos:
            continue
        out.append(escape_md(text[pos:start]))
        out.append(rendered)
        pos = end
    out.append(escape_md(text[pos:]))
    return with_structure("".join(out))


def result_markdown(view: ResultView, turn: int) -> str:
    """The text of an answer, summary or draft with its citations linked ("" when it has none)."""
    if not view.text:
        return ""
    valid = {c.n for c in view.citations if c.n is not None}
    return cited_markdown(view.text, turn, valid, view.key_numbers())


def author_extras_markdown(data: Mapping[str, Any]) -> str:
    """Themes, timeline span and frequent co-authors of an author summary's JSON (escaped)."""
    lines = []
    resolved, author = data["resolved_from"], data["author"]
    if resolved and author and resolved != author:
        lines.append(f"*{escape_md(str(resolved))} read as {escape_md(str(author))}.*")
    papers = data["papers"]
    years = sorted(int(p["year"]) for p in papers if p["year"])
    if papers:
        span = f", {years[0]}–{years[-1]}" if years else ""
        lines.append(f"**Papers:** {len(papers)}{span}")
    if data["themes"]:
        items = []
        for t in data["themes"]:
            first, last = t["first_year"], t["last_year"]
            when = f" ({first}–{last})" if first and last and first != last else (f" ({first})" if first else "")
            items.append(f"- {escape_md(str(t['label']))}{when}, {len(t['paper_ids'])} paper(s)")
        lines.append("**Themes:**\n" + "\n".join(items))
    if data["collaborators"]:
        names = ", ".join(f"{escape_md(str(c['name']))} ({c['count']})" for c in data["collaborators"][:6])
        lines.append(f"**Frequent co-authors:** {names}")
    return "\n\n".join(lines)


def draft_markdown(data: Mapping[str, Any]) -> str:
    """A "Find citations" result (`DraftCitations` JSON): the counts, then the draft with citations (escaped)."""
    counts = data["counts"]
    head = (
        f"**Citations for your draft:** {counts['supported']} sentence(s) supported, "
        f"{counts['weak']} weakly, {counts['none']} without support in the library. "
        "Each sentence's papers are in the panel."
    )
    return head + "\n\n" + escape_md(data["text"])


def streaming_markdown(raw: str) -> str:
    """The model's raw text while it streams (escaped; markers shown as typed)."""
    return with_structure(escape_md(raw)) + " ▌"


def plain_text(view: ResultView) -> str:
    """The answer and its numbered references as plain text (for copying)."""
    text = view.text.strip()
    if not view.citations:
        return text
    lines = [text, "", "References"]
    for c in view.citations:
        title = f"{UNTITLED_MARK} {c.title}" if c.title_derived else c.title
        bits = [f"[{c.n}] {title}", authors_text(c.authors)]
        if c.year:
            bits.append(str(c.year))
        url = arxiv_url(c.arxiv_id)
        if url:
            bits.append(url)
        lines.append(". ".join(b for b in bits if b))
    return "\n".join(lines)
