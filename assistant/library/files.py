"""Reading files into the library and forgetting them: parse every file, merge duplicates across
them, write. Shared by the CLI, the UI and the MCP server."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from assistant.errors import InputError
from assistant.ingest import iter_files, parse_file
from assistant.ingest.fields import mangled_id_note
from assistant.library.core import Library, TextProgress
from assistant.papers import Paper, merge_all

ReadProgress = Callable[[int, int, str], None]  # (files done, files total, the file being read)


@dataclass
class Failure:
    path: str
    error: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0  # papers deleted because the re-read files no longer hold them (and nothing else did)
    failed: list[Failure] = field(default_factory=list)  # whole files that could not be used
    problems: list[Failure] = field(default_factory=list)  # entries skipped inside usable files
    # Worth knowing, not a problem: the files still count as read whole (a Zotero attachment's
    # missing file, ids that look like arXiv ids but are not).
    notes: list[str] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)  # files read per format
    entries: dict[str, int] = field(default_factory=dict)  # paper entries read per format (before merging)
    # Entries that were another entry of a paper already seen in the files read (merged into it).
    merged: int = 0
    paper_ids: list[str] = field(default_factory=list)
    # Files read whole and without problems: the library now follows their current contents.
    reread: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"path": f.path, "error": f.error} for f in self.failed + self.problems],
            "formats": self.formats,
            "entries": self.entries,
            "merged": self.merged,
            "notes": self.notes,
        }

    def format_summary(self) -> str:
        """One line: files and entries read per format, and how many files could not be used."""
        def count(n: int, one: str, many: str) -> str:
            return f"{n} {one if n == 1 else many}"

        parts = [
            f"{fmt} {count(n, 'file', 'files')} ({count(self.entries.get(fmt, 0), 'entry', 'entries')})"
            for fmt, n in sorted(self.formats.items())
        ]
        if self.failed:
            parts.append(f"unusable {count(len(self.failed), 'file', 'files')}")
        return ", ".join(parts) or "no files read"

    def merge_summary(self) -> str | None:
        """`1102 entries -> 879 papers (223 merged into papers already seen)`, when any merged."""
        total = sum(self.entries.values())
        if not self.merged:
            return None
        return (
            f"{total} entries -> {total - self.merged} papers ({self.merged} merged into papers already seen: "
            "the same arXiv id, DOI, title or abstract)"
        )


def parse_paths(
    paths: Sequence[str | Path],
    report: IngestReport,
    columns: dict[str, str] | None = None,
    on_reading: ReadProgress | None = None,
) -> list[Paper]:
    """Parse every file completely; bad files and entries are recorded in `report`, never raised.
    Files read without any problem are listed in `report.reread`."""
    papers: list[Paper] = []
    formats: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    files = list(iter_files(paths))
    for i, path in enumerate(files):
        if on_reading:
            on_reading(i, len(files), str(path))
        try:
            result = parse_file(path.resolve() if path.exists() else path, columns=columns)
        except InputError as exc:
            report.failed.append(Failure(exc.path, exc.problem if exc.line is None else f"line {exc.line}: {exc.problem}"))
            continue
        except Exception as exc:  # a parser bug must not lose the other files
            report.failed.append(Failure(str(path), f"could not be parsed ({type(exc).__name__}: {exc})"))
            continue
        formats[result.format] += 1
        entries[result.format] += len(result.papers)
        note = mangled_id_note(result.path, result.papers)
        if note:
            report.notes.append(note)
        papers.extend(result.papers)
        report.problems.extend(
            Failure(p.path, f"line {p.line}: {p.message}" if p.line is not None else p.message) for p in result.problems
        )
        report.notes.extend(str(p) for p in result.notes)
        if not result.problems:
            report.reread.append(result.path)
    if on_reading:
        on_reading(len(files), len(files), "")
    report.formats, report.entries = dict(formats), dict(entries)
    return papers


def ingest_paths(
    store: Library,
    paths: Sequence[str | Path],
    *,
    on_progress: TextProgress | None = None,
    on_reading: ReadProgress | None = None,
    columns: dict[str, str] | None = None,
) -> IngestReport:
    """Parse all files first, merge duplicates across them, then write to the store.

    Re-ingesting a file updates the library to its current contents: its papers take the new
    values, and papers it no longer holds lose it as a source (and are removed when no other file
    holds them). A file with bad entries only adds and updates, so a broken line never deletes.

    `on_reading` hears of each file as it is parsed, `on_progress` of the texts (abstracts, full-text
    chunks) as they are embedded and written."""
    report = IngestReport()
    parsed = parse_paths(paths, report, columns, on_reading)
    papers = merge_all(parsed)
    report.merged = len(parsed) - len(papers)
    written = store.write(papers, on_progress=on_progress, reread=report.reread)
    report.added, report.updated, report.unchanged = len(written.added), len(written.updated), len(written.unchanged)
    report.removed = len(written.removed)
    report.paper_ids = written.added + written.updated + written.unchanged
    return report


def forget_files(store: Library, paths: list[str | Path]) -> tuple[list[str], list[str]]:
    """Forget files (say, deleted from a folder): papers read only from them are removed, papers
    other files also hold just lose them as a source. Returns (removed ids, detached ids)."""
    resolved = [str(Path(p).expanduser().resolve()) for p in paths]
    unknown = [p for p in resolved if not store.papers_from([p])]
    if unknown:
        raise InputError(unknown[0], "no paper in the library was read from this file")
    written = store.write([], reread=resolved)
    return written.removed, written.detached
