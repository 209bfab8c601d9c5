"""The Library tab's HTML: the papers table, one paper's record, and the results of an upload
(all untrusted text through `esc`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from assistant.papers import Paper
from ui.safe_text import arxiv_url, authors_text, esc, links_html, title_html

TABLE_LIMIT = 500  # rows shown in the library table; search or filter to narrow

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


def papers_table_html(papers: list[Paper], limit: int = TABLE_LIMIT) -> str:
    """The library table (escaped). Rows carry `data-id`; clicking one shows its record."""
    if not papers:
        return '<p class="la-empty">No papers.</p>'
    rows = []
    for p in papers[:limit]:
        title = title_html(p.title or p.display_title(), p.title_derived or not p.title)
        url = arxiv_url(p.arxiv_id)
        arxiv = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(p.arxiv_id)}</a>' if url else ""
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


def paper_record_html(paper: Paper) -> str:
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
    sources = "".join(
        f"<li><code>{esc(s.path)}{':' + esc(s.line) if s.line else ''}</code> (entry {esc(s.entry)}, {esc(s.format)})</li>"
        for s in paper.sources
    )
    title = title_html(paper.title or paper.display_title(), paper.title_derived or not paper.title)
    full = f"<p class='la-meta'>full text: {len(paper.full_text.split())} words</p>" if paper.full_text else ""
    return (
        f'<div class="la-record"><h3>{title}</h3>'
        f'<div class="la-meta">{links_html(paper.arxiv_id)}</div><table class="la-fields">{table}</table>'
        f'<h4>Abstract</h4><p class="la-abstract-text">{esc(paper.abstract) or "<em>no abstract</em>"}</p>{full}'
        f"<h4>Sources</h4><ul>{sources}</ul></div>"
    )


@dataclass
class FileResult:
    """What became of one uploaded file."""

    file: str
    failed: bool = False  # nothing of it could be used
    format: str | None = None
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # papers it no longer holds, removed
    errors: list[str] = field(default_factory=list)


def ingest_results_html(results: list[FileResult]) -> str:
    """One line per uploaded file: its format, what was added, updated, unchanged or removed, its problems."""
    if not results:
        return '<p class="la-empty">No files given.</p>'
    rows = []
    for r in results:
        status = "failed" if r.failed else ("with problems" if r.errors else "ok")
        cls = {"failed": "la-bad", "with problems": "la-warn", "ok": "la-ok"}[status]
        counts = "" if r.failed else f"added {r.added}, updated {r.updated}, unchanged {r.unchanged}"
        if not r.failed and r.removed:
            counts += f", removed {r.removed} no longer in the file"
        fmt = f" ({esc(r.format)})" if r.format else ""
        err = "".join(f"<li>{esc(e)}</li>" for e in r.errors)
        rows.append(
            f'<li class="la-file {cls}"><strong>{esc(r.file)}</strong>{fmt}: '
            f'<span class="la-status">{status}</span> {esc(counts)}'
            + (f"<ul>{err}</ul>" if err else "")
            + "</li>"
        )
    return f'<ul class="la-ingest">{"".join(rows)}</ul>'
