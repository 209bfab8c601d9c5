"""The sources panel beside the chat: for each answer, the papers it cites (ids `src-T-n`, the
targets of the answer's `[n]` links) with the supporting sentence highlighted, the warnings of the
citation check, and the closest papers when nothing is cited; for "Find citations", each sentence
of the draft with the papers that support it. All untrusted text goes through `esc`."""
from __future__ import annotations

import re
from typing import Any, Mapping

from assistant.papers import Paper, is_marked_untitled, without_untitled_mark
from ui.result_view import ResultView, SourceEntry
from ui.safe_text import anchor_id, authors_text, esc, links_html, title_html

EMPTY_SOURCES = (
    '<div class="la-sources la-sources-empty"><h3>Sources</h3>'
    "<p>Ask a question: the papers each answer cites appear here, numbered as in the answer, "
    "with the supporting sentence highlighted.</p></div>"
)
_STATUS_LABELS = {"supported": "supported", "weak": "weak support", "none": "no support in the library"}


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


def _title(entry: SourceEntry, paper: Paper | None) -> tuple[str, bool]:
    """(title, derived): the stored record knows best whether the title is real."""
    if paper is not None:
        return paper.title or paper.display_title(), bool(paper.title_derived) or not paper.title
    derived = entry.title_derived or is_marked_untitled(entry.title)
    return without_untitled_mark(entry.title), derived


def _who(entry: SourceEntry, paper: Paper | None) -> str:
    authors = entry.authors or (paper.authors if paper else [])
    partial = list(paper.partial_authors) if paper else []
    if authors or not partial:
        return authors_text(authors, paper.authors_truncated if paper else False)
    return "authors not given (listed under " + ", ".join(partial) + ")"


def source_entry_html(entry: SourceEntry, paper: Paper | None, turn: int, *, cited: bool = True, pdf_url: str | None = None) -> str:
    """One paper in the panel; `paper` is the stored record (for the abstract) or None when it has
    left the library; `pdf_url` where the app serves its PDF."""
    title, derived = _title(entry, paper)
    year = entry.year or (paper.year if paper else None)
    arxiv_id = entry.arxiv_id or (paper.arxiv_id if paper else None)
    sentence = entry.supporting_sentence
    abstract = paper.abstract if paper is not None else ""
    element_id = f' id="{esc(anchor_id(turn, entry.n))}"' if cited and entry.n is not None else ""
    label = f'<span class="la-n">[{esc(entry.n)}]</span> ' if cited and entry.n is not None else ""
    meta = " · ".join(
        x for x in (esc(_who(entry, paper)), esc(year) if year else "n.d.", links_html(arxiv_id, paper.doi if paper else None, entry.paper_id)) if x
    )
    passage = page_passage_html(sentence, entry.pages[0], pdf_url) if entry.pages and sentence else ""
    body = _highlight(abstract, "" if passage else sentence)
    if sentence and not passage and "la-support" not in body:
        body = (f'<blockquote class="la-support-quote"><mark class="la-support">{esc(sentence)}</mark></blockquote>' + body)
    details = f'<details class="la-abstract"{" open" if cited and not passage else ""}><summary>Abstract</summary><p>{body}</p></details>' if body else ""
    cls = "la-src" if cited else "la-src la-closest-entry"
    return f'<li class="{cls}"{element_id}>{label}{title_html(title, derived)}<div class="la-meta">{meta}</div>{passage}{details}</li>'


def warnings_html(view: ResultView) -> str:
    items = [
        f'<li>Removed citation <code>{esc(removed["marker"])}</code>: {esc(removed["reason"])}</li>'
        for removed in view.removed_citations
    ]
    items += [f"<li>Not supported by the cited sources: “{esc(text)}”</li>" for text in view.unsupported_sentences]
    if not items:
        return ""
    return (
        '<div class="la-warnings" role="alert"><strong>⚠ Check these</strong>'
        f'<ul>{"".join(items)}</ul></div>'
    )


def sources_html(
    view: ResultView, papers: Mapping[str, Paper], turn: int, *, heading: str = "Sources", filters: str = "",
    pdf_urls: Mapping[str, str] | None = None,
) -> str:
    """The sources panel for one answer: warnings, cited papers (ids src-T-n), closest papers."""
    parts = [f'<div class="la-sources" data-turn="{esc(turn)}"><h3>{esc(heading)}</h3>']
    if view.subject or filters:
        text = (f"for: {view.subject}" if view.subject else "") + (f" · filters: {filters}" if filters else "")
        parts.append(f'<p class="la-question">{esc(text.strip(" ·"))}</p>')
    parts.append(warnings_html(view))
    if view.citations:
        urls = pdf_urls or {}
        entries = "".join(
            source_entry_html(c, papers.get(c.paper_id), turn, pdf_url=urls.get(c.paper_id)) for c in view.citations
        )
        parts.append(f'<ol class="la-src-list">{entries}</ol>')
    elif not view.abstained:
        parts.append('<p class="la-empty">This answer cites no papers.</p>')
    closest = view.closest if (view.abstained or not view.citations) else []
    if view.abstained:
        parts.append('<p class="la-abstained">Nothing in the library answers this, so nothing is cited.</p>')
    if closest:
        entries = "".join(source_entry_html(c, papers.get(c.paper_id), turn, cited=False) for c in closest)
        parts.append(f'<div class="la-closest"><h4>Closest, not cited</h4><ul class="la-src-list">{entries}</ul></div>')
    parts.append("</div>")
    return "".join(parts)


def _suggestion_html(suggestion: Mapping[str, Any], fmt: str, pdf_url: str | None, supported: float) -> str:
    key = suggestion["citation_key"]
    marker = f"\\cite{{{key}}}" if fmt == "latex" else f"[@{key}]"
    sentence, support, page = suggestion["supporting_sentence"], suggestion["support"], suggestion["page"]
    quote = (
        page_passage_html(sentence, page, pdf_url) if isinstance(page, int)
        else f'<blockquote class="la-support-quote"><mark class="la-support">{esc(sentence)}</mark></blockquote>'
    )
    return (
        f'<li class="la-suggestion"><span class="la-title">{esc(suggestion["title"])}</span>'
        f'<div class="la-meta"><code>{esc(marker)}</code> · support {support:.2f}{"" if support >= supported else " (weak)"}'
        f' · id {esc(suggestion["paper_id"])}</div>{quote}</li>'
    )


def draft_pdf_paper_ids(data: Mapping[str, Any]) -> list[str]:
    """The papers a "Find citations" result quotes from a PDF page (their PDFs are linked)."""
    return [x["paper_id"] for s in data["sentences"] for x in s["suggestions"] if x["page"]]


def draft_sources_html(data: Mapping[str, Any], turn: int, pdf_urls: Mapping[str, str] | None = None) -> str:
    """The panel for "Find citations" (`DraftCitations` JSON): each sentence with its status and suggested papers."""
    fmt, supported = data["format"], float(data["thresholds"]["supported"])
    urls = pdf_urls or {}
    items = []
    for i, sentence in enumerate(data["sentences"], 1):
        if not sentence["claim"]:
            continue
        status = sentence["status"]
        listed = "".join(_suggestion_html(x, fmt, urls.get(x["paper_id"]), supported) for x in sentence["suggestions"])
        body = f'<ol class="la-src-list">{listed}</ol>' if listed else '<p class="la-empty">Nothing in the library supports this sentence.</p>'
        items.append(
            f'<li class="la-src la-draft-sentence la-status-{esc(status)}" id="{esc(anchor_id(turn, i))}">'
            f'<div><span class="la-badge">{esc(_STATUS_LABELS[status])}</span> '
            f'<span class="la-sentence">{esc(" ".join(sentence["text"].split()))}</span></div>{body}</li>'
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
