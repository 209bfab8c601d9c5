"""Untrusted text (anything from a paper or a model) made safe for the page, and the small pieces
of HTML built from it. Two rules:

* HTML we build ourselves (the sources panel, the paper record, ingest results) passes every
  untrusted string through `esc` (html.escape, quotes included); URLs are built only from
  validated arXiv ids.
* Chat messages are Markdown: untrusted text goes through `escape_md`, which backslash-escapes
  every Markdown-active character and `<`, `>`, so links, images, raw HTML and emphasis show as
  the literal characters. The only HTML we add there are our own `<a href="#src-T-n">` anchors.

Gradio's own sanitizer stays on as a second line of defence.
"""
from __future__ import annotations

import html
import re
from typing import Any, Iterable

from assistant.papers import ARXIV_ID


# Markdown-active characters, always escaped (CommonMark allows a backslash before any ASCII
# punctuation). Others (# + - = > and "1.") only act at the start of a line.
_MD_ALWAYS = re.compile(r"([\\`*_\[\]<>|~$@])")
_MD_LINE_START = re.compile(r"(?m)^(\s*)([#+\-=]|\d+[.)])")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def esc(value: Any) -> str:
    """HTML-escape any value for element text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def escape_md(text: str) -> str:
    """Markdown that displays `text` literally: no links, images, HTML, code, emphasis or math.

    `www.` and `://` are broken up too so that GFM autolinks cannot turn untrusted text into links.
    """
    text = _ENTITY.sub(lambda m: "&amp;" + m.group(0)[1:], str(text))  # "&lt;" shows as "&lt;"
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)
    text = re.sub(r"(?i)\b(www)\.", r"\1\\.", text)  # no GFM autolinks from untrusted text
    text = text.replace("://", "\\://")
    return text


_ESCAPED_BOLD = re.compile(r"\\\*\\\*(?=\S)(.+?)(?<=\S)\\\*\\\*")
_ESCAPED_HEADING = re.compile(r"(?m)^\\#(#{0,5} )")
_ESCAPED_BULLET = re.compile(r"(?m)^(\s*)\\([-+] )")
_ESCAPED_NUMBER = re.compile(r"(?m)^(\s*\d+)\\([.)] )")


def with_structure(escaped: str) -> str:
    """Escaped answer text with its harmless structure shown again: **bold**, headings, bullet and
    numbered lists (what the extractive answer uses to group and attribute quotes). The text inside
    stays escaped, so no link, image, HTML or code can come of it."""
    text = _ESCAPED_BOLD.sub(r"**\1**", escaped)
    text = _ESCAPED_HEADING.sub(r"#\1", text)
    text = _ESCAPED_BULLET.sub(r"\1\2", text)
    return _ESCAPED_NUMBER.sub(r"\1\2", text)


def error_markdown(message: str) -> str:
    return "**⚠ " + escape_md(message) + "**"


def notice_html(message: str, kind: str = "info") -> str:
    return f'<p class="la-notice la-{esc(kind)}">{esc(message)}</p>'


def arxiv_url(arxiv_id: str | None) -> str | None:
    if arxiv_id and ARXIV_ID.match(arxiv_id.strip()):
        return f"https://arxiv.org/abs/{arxiv_id.strip()}"
    return None


def authors_text(authors: Iterable[str] | None, truncated: bool = False, limit: int = 8) -> str:
    authors = [a for a in (authors or []) if a]
    shown = ", ".join(authors[:limit])
    if len(authors) > limit or truncated:
        shown += " et al."
    return shown or "authors unknown"


def anchor_id(turn: int, n: int) -> str:
    """The id of source n of chat turn `turn` in the sources panel (`src-1-1`, `src-1-2`, ...)."""
    return f"src-{turn}-{n}"


def title_html(title: str, derived: bool) -> str:
    if derived:
        return (
            '<span class="la-untitled" title="The source gives no title; this label is the start of the abstract">'
            "untitled</span> "
            f'<span class="la-title la-derived">{esc(title)}</span>'
        )
    return f'<span class="la-title">{esc(title)}</span>'


def links_html(arxiv_id: str | None, doi: str | None = None, paper_id: str | None = None) -> str:
    parts = []
    url = arxiv_url(arxiv_id)
    if url:
        parts.append(f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">arXiv:{esc(arxiv_id)}</a>')
    if doi and re.match(r"^10\.\d{3,9}/\S+$", doi):
        parts.append(f'<span class="la-doi">doi:{esc(doi)}</span>')
    if paper_id:
        parts.append(f'<span class="la-id">id {esc(paper_id)}</span>')
    return " · ".join(parts)
