"""Plain-text rendering of results for the terminal (answers; author summaries and related work
add their printers here), and the library's log messages as plain lines on stderr. Printing only:
results arrive complete from the library."""
from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

from assistant.papers import authors_line, plain_title

if TYPE_CHECKING:
    from assistant.answer import AnswerResult, PaperRef


def _out(stream: TextIO | None) -> TextIO:
    return stream or sys.stdout


def paper_label(paper: "PaperRef") -> str:
    """The title, or `(untitled: label)` when the title was derived from the abstract."""
    return plain_title(paper.title, paper.title_derived)


def reference_line(paper: "PaperRef") -> str:
    """`[n] Title — Authors, Year. arXiv:ID`"""

    line = f"[{paper.n}] {paper_label(paper)} — {authors_line(paper.authors, limit=3)}, {paper.year or 'n.d'}."
    if paper.arxiv_id:
        line += f" arXiv:{paper.arxiv_id}"
    elif not paper.paper_id.startswith("h"):
        line += f" {paper.paper_id}"
    return line


def _normalised(text: str) -> str:
    return " ".join(text.split())


def print_thinking(text: str, *, first: bool, stream: TextIO | None = None) -> None:
    """A reasoning model's thinking as it streams, on stderr (stdout holds the answer alone)."""
    out = stream or sys.stderr
    if first:
        out.write("[the model's reasoning: not part of the answer, never citation-checked]\n")
    out.write(text)
    out.flush()


def end_thinking(stream: TextIO | None = None) -> None:
    print("\n[end of the model's reasoning]", file=stream or sys.stderr, flush=True)


def print_answer(result: "AnswerResult", *, streamed: bool = True, stream: TextIO | None = None) -> None:
    """After the streamed model text: the validated answer when validation changed it, the
    numbered references, then flags (removed citations, unsupported sentences). An abstention's
    message and closest papers are the answer text itself. With `streamed=False` the answer text
    is printed first."""
    out = _out(stream)
    if not streamed:
        print(result.answer, file=out)
    else:
        print(file=out)
    if result.abstained:
        return
    if result.sources_trimmed:
        shown = ", ".join(f"[{n}]" for n in result.sources_trimmed)
        print(f"\n(papers {shown} were found but left out so the prompt fits the model's context window)", file=out)
    if streamed and _normalised(result.answer) != _normalised(result.raw_answer):
        change = "invalid citations removed, the rest" if result.removed_citations else "citations"
        print(f"\nChecked answer ({change} renumbered in order of appearance):\n", file=out)
        print(result.answer, file=out)
    if result.citations:
        print("\nReferences:", file=out)
        for citation in result.citations:
            print(reference_line(citation), file=out)
    else:
        print("\n(no citations: nothing in this answer is backed by a retrieved paper)", file=out)
    if result.removed_citations:
        print("\nRemoved citations:", file=out)
        for removed in result.removed_citations:
            print(f"  {removed['marker']}: {removed['reason']}", file=out)
    flagged = [s for s in result.sentences if not s.supported]
    if flagged:
        print("\nCheck these sentences (not supported by the papers they cite):", file=out)
        for sentence in flagged:
            print(f"  - {sentence.text}  ({sentence.reason})", file=out)


# ---- author summaries and related-work drafts -------------------------------------------------

def _wrapped(text: str, indent: str = "", width: int = 100) -> str:
    import textwrap

    return "\n".join(
        textwrap.fill(p, width=width, initial_indent=indent, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
        for p in text.split("\n\n")
    )


def _flags(removed: list[dict], unsupported: list[str], out: TextIO) -> None:
    if removed:
        print("\nRemoved citations:", file=out)
        for item in removed:
            print(f"  {item['marker']}: {item['reason']}", file=out)
    if unsupported:
        print("\nCheck these sentences (not supported by the papers they cite):", file=out)
        for sentence in unsupported:
            print(_wrapped(sentence, "    ").replace("    ", "  - ", 1), file=out)


def print_author_summary(summary, *, stream: TextIO | None = None) -> None:
    """An author summary for the terminal: who (and how the name was resolved), the cited summary
    paragraph, themes with their papers, the timeline, collaborators, the numbered papers
    (collection papers flagged), then flags (removed citations, unsupported sentences)."""

    out = _out(stream)
    r = summary.resolution
    print(summary.author, file=out)
    for note in r.notes:
        print(f"  ({note})", file=out)
    authored, collected = len(r.author_paper_ids), len(r.collection_paper_ids)
    counts = [f"{authored} paper(s) as an author"] if r.full_name else []
    if collected:
        counts.append(f"{collected} in {r.owner}'s collection")
    print("  " + ", ".join(counts) + f"  ·  model: {summary.model}", file=out)

    number = {c["paper_id"]: c["n"] for c in summary.citations}
    by_id = {p.id: p for p in summary.papers}

    def tag(pid: str) -> str:
        return f"[{number[pid]}]" if pid in number else "[-]"

    print("\nSummary\n", file=out)
    print(_wrapped(summary.summary, "  "), file=out)
    if summary.themes:
        print("\nThemes", file=out)
        for i, theme in enumerate(summary.themes, 1):
            years = summary.theme_years(theme)
            when = (f"{years[0]}" if years[0] == years[-1] else f"{years[0]}–{years[-1]}") if years else "undated"
            print(f"\n  {i}. {theme.label}  ({len(theme.paper_ids)} paper(s), {when})", file=out)
            if theme.summary:
                print(_wrapped(theme.summary, "     "), file=out)
            for pid in theme.paper_ids:
                print(f"     {tag(pid)} {by_id[pid].display_title()[:90]} ({by_id[pid].year or 'n.d.'})", file=out)
    timeline = summary.timeline()
    if timeline:
        print("\nTimeline", file=out)
        for row in timeline:
            year = row["year"] or "n.d."
            print(f"  {year}: {len(row['paper_ids'])} paper(s) — {'; '.join(row['themes'])}", file=out)
    if summary.collaborators:
        print("\nFrequent co-authors", file=out)
        print(_wrapped(", ".join(f"{c.name} ({c.count})" for c in summary.collaborators), "  "), file=out)
    print("\nPapers (oldest first)", file=out)
    collection = summary.collection_ids
    for p in summary.papers:
        flag = f"  (in {r.owner}'s collection)" if p.id in collection else ""
        ident = f"  arXiv:{p.arxiv_id}" if p.arxiv_id else ""
        print(f"  {tag(p.id)} {p.display_title()[:90]} — {authors_line(p.authors, p.authors_truncated, limit=3)}, {p.year or 'n.d.'}.{ident}{flag}", file=out)
    _flags(summary.cited.removed, summary.cited.unsupported_sentences, out)


def print_related_work(draft, bib_path: str | None = None, *, stream: TextIO | None = None) -> None:
    """A related-work draft for the terminal: the paragraphs (a LaTeX comment names each theme),
    the references, where the BibTeX went (or the BibTeX itself), then flags and the retrieved
    papers dropped as not relevant."""
    out = _out(stream)
    if draft.abstained:
        print(draft.message, file=out)
        return
    latex = draft.cite_style == "latex"
    print(f"% Related work: {draft.topic}  ({len(draft.paragraphs)} paragraph(s), {len(draft.citations)} cited paper(s), model: {draft.model})\n", file=out)
    for paragraph in draft.paragraphs:
        print(("% Theme: " if latex else "Theme: ") + paragraph.theme, file=out)
        print(_wrapped(paragraph.text), file=out)
        print(file=out)
    if not latex and draft.citations:
        print("References:", file=out)
        for c in draft.citations:
            print(f"[{c['n']}] {c['title']} ({c['year'] or 'n.d.'})  {{{c['key']}}}", file=out)
        print(file=out)
    entries = len(draft.citations)
    if bib_path:
        print(f"BibTeX: {entries} entr{'y' if entries == 1 else 'ies'} written to {bib_path}", file=out)
    elif draft.bibtex:
        print(f"BibTeX ({entries} entr{'y' if entries == 1 else 'ies'}; save it with --bib FILE):\n", file=out)
        print(draft.bibtex.rstrip(), file=out)
    _flags(draft.removed_citations, draft.unsupported_sentences, out)
    if draft.dropped:
        print("\nRetrieved but not relevant enough to cite:", file=out)
        for hit in draft.dropped:
            sim = "n/a" if hit.dense is None else f"{hit.dense:.2f}"
            print(f"  - {hit.paper.display_title()[:90]} (similarity {sim})", file=out)


# ---- citations for a draft --------------------------------------------------------------------

_STATUS_MARK = {"supported": "✓ supported", "weak": "~ weak", "none": "✗ none"}


def print_draft_citations(result, *, out_path: str | None = None, bib_path: str | None = None, stream: TextIO | None = None) -> None:
    """Per sentence: its status and suggestions (support score, supporting sentence, page); then
    the draft with citations (unless written to `out_path`) and the BibTeX (unless `bib_path`)."""
    out = _out(stream)
    for i, sentence in enumerate(result.sentences, 1):
        label = _STATUS_MARK[sentence.status] if sentence.claim else "· not a claim"
        print(f"{i:>3}. [{label}] {_normalised(sentence.text)}", file=out)
        for suggestion in sentence.suggestions:
            page = f", p. {suggestion.page}" if suggestion.page else ""
            key = f"\\cite{{{suggestion.citation_key}}}" if result.format == "latex" else f"[@{suggestion.citation_key}]"
            print(f"       {suggestion.support:.2f}  {key}  {suggestion.title[:90]}{page}", file=out)
            print(_wrapped(f"“{suggestion.supporting_sentence}”", indent="             "), file=out)
        if sentence.claim and sentence.status == "none":
            print("       nothing in the library supports this sentence", file=out)
    counts = result.counts()
    print(f"\n{counts['supported']} supported, {counts['weak']} weak, {counts['none']} without support "
          f"(of {len(result.sentences)} sentences)", file=out)
    if out_path:
        print(f"draft with citations written to {out_path}", file=out)
    else:
        print("\n---- draft with citations ----\n", file=out)
        print(result.text, file=out)
    if bib_path:
        print(f"BibTeX of the cited papers written to {bib_path}", file=out)
    elif result.bibtex:
        print("\n---- BibTeX ----\n", file=out)
        print(result.bibtex, file=out)


class _StderrLines(logging.Handler):
    """The library's messages as plain lines on whatever `sys.stderr` is when they come."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001  (logging never raises into the caller)
            self.handleError(record)


def show_library_messages() -> None:
    """The library reports through `logging`; the CLI (and the servers it starts) shows its INFO
    messages and above on stderr, as they are written."""
    logger = logging.getLogger("assistant")
    if not any(isinstance(h, _StderrLines) for h in logger.handlers):
        logger.addHandler(_StderrLines())
    logger.setLevel(logging.INFO)
    logger.propagate = False
