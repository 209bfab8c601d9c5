"""Files in, paper records out. Parsers (`base.Parser`, one module per format, chosen by
`detect`) are pure; `parse_file` never touches the store. A Zotero data directory is read from its
path (the database and its attachments), not as one file's bytes."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from assistant.errors import InputError
from assistant.ingest import zotero
from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.detect import detect

SKIP_NAMES = {".DS_Store", "Thumbs.db"}


def iter_files(paths: Sequence[str | Path]) -> Iterator[Path]:
    """Expand folders recursively (sorted, hidden files skipped); files are yielded as given.
    A Zotero data directory (a folder holding `zotero.sqlite`) is its database alone: its
    `storage/` files are read as the items' attachments, its backups not at all."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            zotero_dirs = {db.parent for db in path.rglob(zotero.DATABASE_NAME) if db.is_file()}
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
                    if child.name not in SKIP_NAMES and _outside_zotero_dirs(child, zotero_dirs):
                        yield child
        else:
            yield path


def _outside_zotero_dirs(child: Path, zotero_dirs: set[Path]) -> bool:
    """False for the files of a Zotero data directory but its database."""
    return not any(folder in child.parents for folder in zotero_dirs) or child.name == zotero.DATABASE_NAME and (
        child.parent in zotero_dirs)


def parse_file(path: Path, *, columns: dict[str, str] | None = None) -> ParseResult:
    """Parse one file completely. Raises InputError when the file as a whole is unusable.

    `columns` (field -> column name) overrides the automatic column mapping of CSV/TSV files."""
    if not path.exists():
        raise InputError(str(path), "no such file")
    if zotero.is_database(path):
        return zotero.parse_path(path)
    raw = RawFile.read(path, columns)
    result = detect(raw).parse(raw)
    if not result.papers:
        detail = f" ({result.problems[0].message})" if result.problems else ""
        raise InputError(str(path), f"no readable paper entries{detail}")
    return result


__all__ = ["ParseResult", "Problem", "RawFile", "iter_files", "parse_file"]
