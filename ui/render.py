"""Turning library results into safe chat Markdown and sources-panel HTML.

Everything that comes from a paper (title, authors, abstract, ids, file names) or from a model is
untrusted. Two rules:

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
from typing import Any, Iterable, Mapping

from assistant.answer import CLOSEST_SHOWN
from assistant.papers import ARXIV_ID

# Markdown-active characters, always escaped (CommonMark allows a backslash before any ASCII
# punctuation). Others (# + - = > and "1.") only act at the start of a line.
_MD_ALWAYS = re.compile(r"([\\`*_\[\]<>|~$@])")
_MD_LINE_START = re.compile(r"(?m)^(\s*)([#+\-=]|\d+[.)])")
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


# ---- escaping ---------------------------------------------------------------------------------

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


# ---- citation markers -------------------------------------------------------------------------

def _markers(text: str) -> list[tuple[int, int, list[int]]]:
    """(start, end, numbers) of numeric citation markers, via assistant.cite when available."""
    try:
        from assistant.cite.markers import parse_markers

        return [(m.start, m.end, m.numbers) for m in parse_markers(text)]
    except ImportError:  # pragma: no cover - cite.py is part of the package
        return [
            (m.start(), m.end(), [int(n) for n in re.findall(r"\d+", m.group())])
            for m in re.finditer(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\](?!\()", text)
        ]


def _latex_markers(text: str) -> list[tuple[int, int, list[str]]]:
    try:
        from assistant.cite.markers import parse_cite_commands

        return [(m.start, m.end, m.tokens) for m in parse_cite_commands(text)]
    except ImportError:  # pragma: no cover
        return []


def anchor_id(turn: int, n: int) -> str:
    """The id of source n of chat turn `turn` in the sources panel (`src-1-1`, `src-1-2`, ...)."""
    return f"src-{turn}-{n}"


def cited_markdown(text: str, turn: int, valid: set[int] | None = None, key_numbers: Mapping[str, int] | None = None) -> str:
    """Validated answer text as Markdown: text escaped, each `[n]` a link to its source entry."""
    spans: list[tuple[int, int, str]] = []
    for start, end, numbers in _markers(text):
        links = []
        for n in numbers:
            if valid is None or n in valid:
                links.append(f'<a href="#{anchor_id(turn, n)}" class="la-cite">[{n}]</a>')
            else:
                links.append(escape_md(f"[{n}]"))
        spans.append((start, end, "".join(links)))
    if key_numbers:
        for start, end, keys in _latex_markers(text):
            parts = []
            for key in keys:
                number = key_numbers.get(key)
                label = escape_md(f"[{number}: {key}]" if number else f"[{key}]")
                parts.append(f'<a href="#{anchor_id(turn, number)}" class="la-cite">{label}</a>' if number else label)
            spans.append((start, end, "".join(parts)))
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


def author_extras_markdown(data: Mapping[str, Any]) -> str:
    """Themes, timeline span and frequent co-authors of an author summary (escaped)."""
    lines = []
    resolved = data.get("resolved_from")
    if resolved and data.get("author") and resolved != data.get("author"):
        lines.append(f"*{escape_md(str(resolved))} read as {escape_md(str(data.get('author')))}.*")
    papers = data.get("papers") or []
    years = sorted(int(p["year"]) for p in papers if isinstance(p, Mapping) and p.get("year"))
    if papers:
        span = f", {years[0]}–{years[-1]}" if years else ""
        lines.append(f"**Papers:** {len(papers)}{span}")
    themes = [t for t in data.get("themes") or [] if isinstance(t, Mapping)]
    if themes:
        items = []
        for t in themes:
            first, last = t.get("first_year"), t.get("last_year")
            when = f" ({first}–{last})" if first and last and first != last else (f" ({first})" if first else "")
            items.append(f"- {escape_md(str(t.get('label', '')))}{when}, {len(t.get('paper_ids') or [])} paper(s)")
        lines.append("**Themes:**\n" + "\n".join(items))
    collaborators = [c for c in data.get("collaborators") or [] if isinstance(c, Mapping)]
    if collaborators:
        names = ", ".join(f"{escape_md(str(c.get('name', '')))} ({c.get('count', '?')})" for c in collaborators[:6])
        lines.append(f"**Frequent co-authors:** {names}")
    return "\n\n".join(lines)


def streaming_markdown(raw: str) -> str:
    """The model's raw text while it streams (escaped; markers shown as typed)."""
    return with_structure(escape_md(raw)) + " ▌"


def error_markdown(message: str) -> str:
    return "**⚠ " + escape_md(message) + "**"


# ---- result normalisation ---------------------------------------------------------------------

def result_text(data: Mapping[str, Any]) -> str:
    """The main text of an answer / author summary / related-work draft."""
    for key in ("answer", "summary", "text", "draft", "paragraphs"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
    return ""


def citations_of(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    cites = data.get("citations") or []
    return [c for c in cites if isinstance(c, Mapping)]


def closest_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Papers an abstaining answer found closest (not cited): its best retrieved papers."""
    for key in ("closest", "closest_papers", "retrieved"):
        value = data.get(key)
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            return list(value)[:CLOSEST_SHOWN]
    return []


def plain_text(data: Mapping[str, Any]) -> str:
    """The answer and its numbered references as plain text (for copying)."""
    text = result_text(data).strip()
    cites = citations_of(data)
    if cites:
        lines = [text, "", "References"]
        for c in cites:
            title = c.get("title") or ""
            if c.get("title_derived"):
                title = f"[untitled] {title}"
            bits = [f"[{c.get('n')}] {title}", authors_text(c.get("authors"))]
            if c.get("year"):
                bits.append(str(c.get("year")))
            url = arxiv_url(c.get("arxiv_id"))
            if url:
                bits.append(url)
            lines.append(". ".join(b for b in bits if b))
        text = "\n".join(lines)
    return text


# ---- sources panel ----------------------------------------------------------------------------

def _highlight(abstract: str, sentence: str) -> str:
    """The abstract, escaped, with the supporting sentence in <mark> (whitespace-insensitive)."""
    if not abstract:
        return ""
    if sentence:
        words = sentence.split()
        if words:
            pattern = r"\s+".join(re.escape(w) for w in words)
            m = re.search(pattern, abstract)
            if m:
                return (
                    esc(abstract[: m.start()])
                    + '<mark class="la-support">'
                    + esc(m.group())
                    + "</mark>"
                    + esc(abstract[m.end():])
                )
    return esc(abstract)


def _title_html(title: str, derived: bool) -> str:
    if derived:
        return (
            '<span class="la-untitled" title="The source gives no title; this label is the start of the abstract">'
            "untitled</span> "
            f'<span class="la-title la-derived">{esc(title)}</span>'
        )
    return f'<span class="la-title">{esc(title)}</span>'


def _links_html(arxiv_id: str | None, doi: str | None = None, paper_id: str | None = None) -> str:
    parts = []
    url = arxiv_url(arxiv_id)
    if url:
        parts.append(f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">arXiv:{esc(arxiv_id)}</a>')
    if doi and re.match(r"^10\.\d{3,9}/\S+$", doi):
        parts.append(f'<span class="la-doi">doi:{esc(doi)}</span>')
    if paper_id:
        parts.append(f'<span class="la-id">id {esc(paper_id)}</span>')
    return " · ".join(parts)


def pdf_page_url(url: str, page: int) -> str:
    """The served PDF opened at `page` (the #page= fragment PDF viewers follow)."""
    return f"{url}#page={int(page)}"


def page_passage_html(sentence: str, page: int, pdf_url: str | None) -> str:
    """A supporting passage from a PDF page: "p. 5", the passage highlighted, and a link that
    opens the stored PDF at that page (when the app serves it)."""
    link = (
        f' <a class="la-pdf" href="{esc(pdf_page_url(pdf_url, page))}" target="_blank" rel="noopener noreferrer">open the PDF at p. {int(page)}</a>'
        if pdf_url else ""
    )
    return (
        f'<div class="la-passage"><span class="la-page">p. {int(page)}</span>{link}'
        f'<blockquote class="la-support-quote"><mark class="la-support">{esc(sentence)}</mark></blockquote></div>'
    )


def source_entry_html(entry: Mapping[str, Any], paper: Any, turn: int, *, cited: bool = True, pdf_url: str | None = None) -> str:
    """One paper in the panel. `entry` is a citation dict (n, title, ...) or a closest-paper dict;
    `paper` the stored Paper (for the abstract) or None; `pdf_url` where the app serves its PDF."""
    n = entry.get("n")
    if paper is not None:  # the stored record knows best whether the title is real
        title = paper.title or paper.display_title()
        derived = bool(paper.title_derived) or not paper.title
    else:
        title = str(entry.get("title") or "")
        derived = bool(entry.get("title_derived")) or title.startswith("[untitled] ")
        title = title.removeprefix("[untitled] ")
    authors = entry.get("authors") or (paper.authors if paper else [])
    truncated = bool(getattr(paper, "authors_truncated", False)) if paper else False
    partial = list(getattr(paper, "partial_authors", []) or []) if paper else []
    who = authors_text(authors, truncated) if authors or not partial else "authors not given (listed under " + ", ".join(partial) + ")"
    year = entry.get("year") or (paper.year if paper else None)
    arxiv_id = entry.get("arxiv_id") or (paper.arxiv_id if paper else None)
    paper_id = entry.get("paper_id") or entry.get("id") or (paper.id if paper else "")
    sentence = entry.get("supporting_sentence") or ""
    abstract = (paper.abstract if paper is not None else "") or entry.get("abstract") or entry.get("snippet") or ""
    element_id = f' id="{esc(anchor_id(turn, int(n)))}"' if cited and isinstance(n, int) else ""
    label = f'<span class="la-n">[{esc(n)}]</span> ' if cited and n is not None else ""
    meta = " · ".join(
        x for x in (esc(who), esc(year) if year else "n.d.", _links_html(arxiv_id, getattr(paper, "doi", None) if paper else None, paper_id)) if x
    )
    pages = [p for p in entry.get("pages") or [] if isinstance(p, int)]
    passage = page_passage_html(sentence, pages[0], pdf_url) if pages and sentence else ""
    body = _highlight(abstract, "" if passage else sentence)
    if sentence and not passage and "la-support" not in body:
        body = (f'<blockquote class="la-support-quote"><mark class="la-support">{esc(sentence)}</mark></blockquote>' + body)
    details = f'<details class="la-abstract"{" open" if cited and not passage else ""}><summary>Abstract</summary><p>{body}</p></details>' if body else ""
    cls = "la-src" if cited else "la-src la-closest-entry"
    return f'<li class="{cls}"{element_id}>{label}{_title_html(title, derived)}<div class="la-meta">{meta}</div>{passage}{details}</li>'


def warnings_html(data: Mapping[str, Any]) -> str:
    items = []
    for removed in data.get("removed_citations") or []:
        if isinstance(removed, Mapping):
            items.append(
                f'<li>Removed citation <code>{esc(removed.get("marker", "?"))}</code>: {esc(removed.get("reason", ""))}</li>'
            )
        else:
            items.append(f"<li>Removed citation: {esc(removed)}</li>")
    for sentence in data.get("unsupported_sentences") or []:
        text = sentence.get("text", sentence) if isinstance(sentence, Mapping) else sentence
        reason = sentence.get("reason") if isinstance(sentence, Mapping) else None
        items.append(
            f'<li>Not supported by the cited sources: “{esc(text)}”' + (f" ({esc(reason)})" if reason else "") + "</li>"
        )
    if not items:
        return ""
    return (
        '<div class="la-warnings" role="alert"><strong>⚠ Check these</strong>'
        f'<ul>{"".join(items)}</ul></div>'
    )


def sources_html(
    data: Mapping[str, Any], papers: Mapping[str, Any], turn: int, *, heading: str = "Sources", filters: str = "",
    pdf_urls: Mapping[str, str] | None = None,
) -> str:
    """The sources panel for one answer: warnings, cited papers (ids src-T-n), closest papers."""
    parts = [f'<div class="la-sources" data-turn="{esc(turn)}"><h3>{esc(heading)}</h3>']
    question = data.get("question") or data.get("topic") or data.get("author") or data.get("name")
    if question or filters:
        text = (f"for: {question}" if question else "") + (f" · filters: {filters}" if filters else "")
        parts.append(f'<p class="la-question">{esc(text.strip(" ·"))}</p>')
    parts.append(warnings_html(data))
    cites = citations_of(data)
    if cites:
        urls = pdf_urls or {}
        entries = "".join(
            source_entry_html(c, papers.get(str(c.get("paper_id"))), turn, pdf_url=urls.get(str(c.get("paper_id")))) for c in cites
        )
        parts.append(f'<ol class="la-src-list">{entries}</ol>')
    elif not data.get("abstained"):
        parts.append('<p class="la-empty">This answer cites no papers.</p>')
    closest = closest_of(data) if (data.get("abstained") or not cites) else []
    if data.get("abstained"):
        parts.append('<p class="la-abstained">Nothing in the library answers this, so nothing is cited.</p>')
    if closest:
        entries = "".join(
            source_entry_html(c, papers.get(str(c.get("paper_id") or c.get("id"))), turn, cited=False) for c in closest
        )
        parts.append(f'<div class="la-closest"><h4>Closest, not cited</h4><ul class="la-src-list">{entries}</ul></div>')
    parts.append("</div>")
    return "".join(parts)


_STATUS_LABELS = {"supported": "supported", "weak": "weak support", "none": "no support in the library"}


def draft_markdown(data: Mapping[str, Any]) -> str:
    """A "Find citations" result in the chat: the counts, then the draft with citations (escaped)."""
    counts = data.get("counts") or {}
    head = (
        f"**Citations for your draft:** {counts.get('supported', 0)} sentence(s) supported, "
        f"{counts.get('weak', 0)} weakly, {counts.get('none', 0)} without support in the library. "
        "Each sentence's papers are in the panel."
    )
    return head + "\n\n" + escape_md(str(data.get("text") or ""))


def _suggestion_html(suggestion: Mapping[str, Any], fmt: str, pdf_url: str | None, supported: float) -> str:
    key = str(suggestion.get("citation_key") or "")
    marker = f"\\cite{{{key}}}" if fmt == "latex" else f"[@{key}]"
    sentence = str(suggestion.get("supporting_sentence") or "")
    support = float(suggestion.get("support") or 0)
    page = suggestion.get("page")
    quote = (
        page_passage_html(sentence, page, pdf_url) if isinstance(page, int)
        else f'<blockquote class="la-support-quote"><mark class="la-support">{esc(sentence)}</mark></blockquote>'
    )
    return (
        f'<li class="la-suggestion"><span class="la-title">{esc(suggestion.get("title"))}</span>'
        f'<div class="la-meta"><code>{esc(marker)}</code> · support {support:.2f}{"" if support >= supported else " (weak)"}'
        f' · id {esc(suggestion.get("paper_id"))}</div>{quote}</li>'
    )


def draft_sources_html(data: Mapping[str, Any], turn: int, pdf_urls: Mapping[str, str] | None = None) -> str:
    """The panel for "Find citations": each sentence with its status and suggested papers."""
    fmt = str(data.get("format") or "text")
    supported = float((data.get("thresholds") or {}).get("supported") or 0)
    urls = pdf_urls or {}
    items = []
    for i, sentence in enumerate(data.get("sentences") or [], 1):
        if not isinstance(sentence, Mapping) or not sentence.get("claim", True):
            continue
        status = str(sentence.get("status") or "none")
        suggestions = [x for x in sentence.get("suggestions") or [] if isinstance(x, Mapping)]
        listed = "".join(_suggestion_html(x, fmt, urls.get(str(x.get("paper_id"))), supported) for x in suggestions)
        body = f'<ol class="la-src-list">{listed}</ol>' if listed else '<p class="la-empty">Nothing in the library supports this sentence.</p>'
        items.append(
            f'<li class="la-src la-draft-sentence la-status-{esc(status)}" id="{esc(anchor_id(turn, i))}">'
            f'<div><span class="la-badge">{esc(_STATUS_LABELS.get(status, status))}</span> '
            f'<span class="la-sentence">{esc(" ".join(str(sentence.get("text") or "").split()))}</span></div>{body}</li>'
        )
    entries = "".join(items) or '<li class="la-empty">The draft has no sentences to cite.</li>'
    return f'<div class="la-sources" data-turn="{esc(turn)}"><h3>Citations for the draft (turn {esc(turn)})</h3><ol class="la-src-list">{entries}</ol></div>'


def sources_panel(turn_panels: list[str]) -> str:
    """Newest answer's sources first; earlier answers' sources folded below."""
    if not turn_panels:
        return EMPTY_SOURCES
    newest, older = turn_panels[-1], turn_panels[:-1]
    folded = "".join(
        f'<details class="la-older"><summary>Sources of answer {i}</summary>{panel}</details>'
        for i, panel in reversed(list(enumerate(older, 1)))
    )
    return newest + folded


EMPTY_SOURCES = (
    '<div class="la-sources la-sources-empty"><h3>Sources</h3>'
    "<p>Ask a question: the papers each answer cites appear here, numbered as in the answer, "
    "with the supporting sentence highlighted.</p></div>"
)


# ---- library views ----------------------------------------------------------------------------

TABLE_LIMIT = 500  # rows shown in the library table; search or filter to narrow


def papers_table_html(papers: list[Any], limit: int = TABLE_LIMIT) -> str:
    """The library table (escaped). Rows carry `data-id`; clicking one shows its record."""
    if not papers:
        return '<p class="la-empty">No papers.</p>'
    rows = []
    for p in papers[:limit]:
        derived = p.title_derived or not p.title
        title = _title_html(p.title or p.display_title(), derived)
        arxiv = f'<a href="{esc(arxiv_url(p.arxiv_id))}" target="_blank" rel="noopener noreferrer">{esc(p.arxiv_id)}</a>' if arxiv_url(p.arxiv_id) else ""
        rows.append(
            f'<tr data-id="{esc(p.id)}" title="Show this paper\'s record"><td class="la-c-id"><code>{esc(p.id)}</code></td>'
            f'<td>{esc(p.year or "")}</td><td>{title}</td>'
            f"<td>{esc(authors_text(p.authors, p.authors_truncated, limit=4))}</td><td>{arxiv}</td></tr>"
        )
    more = f'<p class="la-meta">Showing the first {limit} of {len(papers)}; search or filter to narrow.</p>' if len(papers) > limit else ""
    return (
        '<div class="la-table-wrap"><table class="la-table"><thead><tr><th>id</th><th>year</th><th>title</th>'
        f'<th>authors</th><th>arXiv</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>{more}'
    )


# Trusted script for the table: clicking a row puts its id in the paper-id box and shows the record.
TABLE_JS = """
element.addEventListener('click', (event) => {
  if (event.target.closest('a')) return;
  const row = event.target.closest('tr[data-id]');
  if (!row) return;
  const box = document.querySelector('#la-paper-id textarea, #la-paper-id input');
  if (!box) return;
  box.value = row.dataset.id;
  box.dispatchEvent(new Event('input', { bubbles: true }));
  setTimeout(() => document.querySelector('#la-show')?.click(), 50);
});
"""


def paper_record_html(paper: Any) -> str:
    """A paper's full record (escaped), with where it came from."""
    rows = [
        ("id", paper.id + (f" (also: {', '.join(paper.aliases)})" if paper.aliases else "")),
        ("authors", authors_text(paper.authors, paper.authors_truncated, limit=30)),
    ]
    if paper.partial_authors:
        rows.append(("partial names", ", ".join(paper.partial_authors)))
    date = paper.date or (str(paper.year) if paper.year else "unknown")
    rows.append(("date", date + (" (year inferred)" if paper.year_inferred else "")))
    for label, value in (
        ("DOI", paper.doi),
        ("categories", ", ".join(paper.categories)),
        ("affiliations", ", ".join(paper.affiliations)),
        ("comments", paper.comments),
        ("versions", ", ".join(paper.versions)),
    ):
        if value:
            rows.append((label, value))
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    links = _links_html(paper.arxiv_id)
    sources = "".join(
        f"<li><code>{esc(s.path)}{':' + esc(s.line) if s.line else ''}</code> (entry {esc(s.entry)}, {esc(s.format)})</li>"
        for s in paper.sources
    )
    title = _title_html(paper.title or paper.display_title(), paper.title_derived or not paper.title)
    full = f"<p class='la-meta'>full text: {len(paper.full_text.split())} words</p>" if paper.full_text else ""
    return (
        f'<div class="la-record"><h3>{title}</h3>'
        f'<div class="la-meta">{links}</div><table class="la-fields">{table}</table>'
        f'<h4>Abstract</h4><p class="la-abstract-text">{esc(paper.abstract) or "<em>no abstract</em>"}</p>{full}'
        f"<h4>Sources</h4><ul>{sources}</ul></div>"
    )


def ingest_results_html(results: list[dict[str, Any]]) -> str:
    """Per-file ingest results: [{"file", "added", "updated", "unchanged", "removed", "errors": [..], "format"}]."""
    if not results:
        return '<p class="la-empty">No files given.</p>'
    rows = []
    for r in results:
        errors = r.get("errors") or []
        failed = r.get("failed", False)
        status = "failed" if failed else ("with problems" if errors else "ok")
        cls = {"failed": "la-bad", "with problems": "la-warn", "ok": "la-ok"}[status]
        counts = "" if failed else f"added {r.get('added', 0)}, updated {r.get('updated', 0)}, unchanged {r.get('unchanged', 0)}"
        if not failed and r.get("removed"):
            counts += f", removed {r['removed']} no longer in the file"
        fmt = f" ({esc(r.get('format'))})" if r.get("format") else ""
        err = "".join(f"<li>{esc(e)}</li>" for e in errors)
        rows.append(
            f'<li class="la-file {cls}"><strong>{esc(r.get("file"))}</strong>{fmt}: '
            f'<span class="la-status">{status}</span> {esc(counts)}'
            + (f"<ul>{err}</ul>" if err else "")
            + "</li>"
        )
    return f'<ul class="la-ingest">{"".join(rows)}</ul>'


def notice_html(message: str, kind: str = "info") -> str:
    return f'<p class="la-notice la-{esc(kind)}">{esc(message)}</p>'


CSS = """
.la-sources h3, .la-record h3 { margin: 0 0 .4em 0; }
.la-sources { font-size: 0.95em; }
.la-question { color: var(--body-text-color-subdued); margin: 0 0 .6em 0; }
.la-src-list { padding-left: 0; list-style: none; margin: 0; }
.la-src { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .75em; margin: 0 0 .6em 0; scroll-margin-top: 1em; }
.la-src:target { outline: 2px solid var(--color-accent); }
.la-closest-entry { opacity: .85; border-style: dashed; }
.la-n { font-weight: 700; color: var(--color-accent); margin-right: .2em; }
.la-title { font-weight: 600; }
.la-untitled { font-size: .75em; text-transform: uppercase; letter-spacing: .05em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 .35em; margin-right: .3em; color: var(--body-text-color-subdued); }
.la-derived { font-style: italic; font-weight: 500; }
.la-meta { color: var(--body-text-color-subdued); font-size: .9em; margin: .2em 0; }
.la-abstract summary { cursor: pointer; font-size: .85em; color: var(--body-text-color-subdued); }
.la-abstract p { margin: .3em 0 0 0; line-height: 1.45; }
mark.la-support { background: #fff1a8; color: #222; padding: 0 .1em; border-radius: 2px; }
.la-warnings { border: 1px solid #e0a000; background: rgba(255, 190, 0, .12); border-radius: 8px; padding: .5em .75em; margin: 0 0 .7em 0; }
.la-warnings ul { margin: .3em 0 0 1.1em; }
.la-abstained { font-weight: 600; }
.la-closest h4 { margin: .6em 0 .3em 0; }
.la-older { margin-top: .8em; }
.la-older summary { cursor: pointer; color: var(--body-text-color-subdued); }
.la-fields th { text-align: left; padding-right: 1em; vertical-align: top; white-space: nowrap; }
.la-ingest { list-style: none; padding-left: 0; }
.la-file { margin: .3em 0; }
.la-ok .la-status { color: #1a7f37; font-weight: 600; }
.la-warn .la-status { color: #b36b00; font-weight: 600; }
.la-bad .la-status { color: #c62828; font-weight: 600; }
.la-notice { margin: .3em 0; }
.la-error { color: #c62828; }
a.la-cite { text-decoration: none; font-weight: 600; }
.la-page { font-weight: 700; font-size: .85em; border: 1px solid var(--border-color-primary); border-radius: 4px; padding: 0 .35em; }
.la-passage { margin: .35em 0; }
.la-passage blockquote, .la-suggestion blockquote { margin: .3em 0 .2em .4em; }
.la-badge { font-size: .75em; text-transform: uppercase; letter-spacing: .04em; border-radius: 4px; padding: .05em .4em; font-weight: 700; }
.la-status-supported .la-badge { background: #d8f3dc; color: #1a5e2a; }
.la-status-weak .la-badge { background: #fff1c2; color: #7a5200; }
.la-status-none .la-badge { background: #f3d8d8; color: #7a1a1a; }
.la-suggestion { border-top: 1px dashed var(--border-color-primary); padding: .35em 0 0 0; margin: .35em 0 0 0; }
#la-sources-col { max-height: 78vh; overflow-y: auto; }
.la-table-wrap { max-height: 440px; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; }
.la-table { width: 100%; border-collapse: collapse; font-size: .9em; }
.la-table th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left; padding: .35em .5em; }
.la-table td { padding: .3em .5em; border-top: 1px solid var(--border-color-primary); vertical-align: top; }
.la-table tbody tr { cursor: pointer; }
.la-table tbody tr:hover { background: var(--background-fill-secondary); }
.la-c-id code { font-size: .85em; white-space: nowrap; }
#la-table table.la-table, #la-table table.la-table th, #la-table table.la-table td { border: none !important; }
#la-table table.la-table td { border-top: 1px solid var(--border-color-primary) !important; }
#la-record table.la-fields, #la-record table.la-fields th, #la-record table.la-fields td { border: none !important; padding: .15em .8em .15em 0; }
"""
