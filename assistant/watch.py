"""`litassist watch PATH...`: keep the library in step with folders, exports and Zotero libraries.

Changes are noticed with watchfiles (OS file events, debounced: a burst of writes, such as Zotero
saving an item or an editor saving an export, is one re-ingest) and handled with the ordinary
re-ingest rules (`library.ingest_paths`): an edited file updates its papers and retires those it no
longer holds; a deleted file is forgotten (`library.forget_files`). Any change inside a Zotero
data directory (its database, WAL, or `storage/`) re-reads that library's `zotero.sqlite`.

Stopping at any moment is safe: each store write is whole or repaired on the next open
(library/journal.py), and a change missed while stopped is caught by the full sync each start begins with.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from assistant.errors import InputError, LitassistError
from assistant.ingest import SKIP_NAMES, iter_files
from assistant.ingest.zotero import DATABASE_NAME
from assistant.library import IngestReport, forget_files, ingest_paths
from assistant.library import Library

DEBOUNCE_MS = 1600  # watchfiles' default: changes within this window are handled together


@dataclass
class Plan:
    """What a batch of changes asks for: files to (re-)read and files to forget."""

    ingest: set[Path] = field(default_factory=set)
    forget: set[Path] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.ingest or self.forget)


@dataclass
class Round:
    """One handled batch: the ingest report (None when nothing was read) and forgotten files."""

    report: IngestReport | None
    forgotten: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    error: str = ""  # a store error that stopped this round (the watch goes on)


def zotero_database_of(path: Path, roots: Iterable[Path]) -> Path | None:
    """The `zotero.sqlite` of the Zotero data directory holding `path` (within a watched root)."""
    for folder in [path if path.is_dir() else path.parent, *path.parents]:
        database = folder / DATABASE_NAME
        if database.is_file():
            return database
        if any(folder == root for root in roots):
            break
    return None


def _ignored(path: Path, roots: list[Path]) -> bool:
    root = next((r for r in roots if r == path or r in path.parents), None)
    inside = path.relative_to(root).parts if root is not None and root != path else ()
    return path.name in SKIP_NAMES or any(part.startswith(".") for part in inside)


def plan_changes(changes: Iterable[tuple[object, str]], roots: list[Path]) -> Plan:
    """Map watchfiles' (change, path) pairs to files to read and files to forget."""
    from watchfiles import Change

    plan = Plan()
    for change, raw_path in changes:
        path = Path(raw_path).resolve()
        database = zotero_database_of(path, roots)
        if database is not None:
            plan.ingest.add(database)
        elif _ignored(path, roots):
            continue
        elif change == Change.deleted:
            plan.forget.add(path)
        elif path.is_file():
            plan.ingest.add(path)
        elif path.is_dir():  # a folder moved in: everything in it
            plan.ingest.update(p.resolve() for p in iter_files([path]))
    return plan


def apply_plan(store: Library, plan: Plan, ingest: Callable[..., IngestReport] = ingest_paths) -> Round:
    """Forget deleted files (those the library knows), then re-read the changed ones."""
    result = Round(report=None)
    for path in sorted(plan.forget):
        try:
            removed, _ = forget_files(store, [path])
        except InputError:  # a file the library never read from (a temporary file, say)
            continue
        result.forgotten.append(str(path))
        result.removed += removed
    existing = sorted(p for p in plan.ingest if p.exists())
    if existing:
        result.report = ingest(store, existing)
    return result


def watch(
    store: Library,
    paths: list[str | Path],
    *,
    on_round: Callable[[Round], None] = lambda r: None,
    stop: threading.Event | None = None,
    debounce_ms: int = DEBOUNCE_MS,
    initial_sync: bool = True,
) -> None:
    """Sync `paths` once, then follow their changes until `stop` is set (or Ctrl-C)."""
    from watchfiles import watch as watch_changes

    roots = [Path(p).expanduser().resolve() for p in paths]
    missing = [str(r) for r in roots if not r.exists()]
    if missing:
        raise InputError(missing[0], "no such file or folder to watch")
    synced = not initial_sync
    # The watcher starts before the first sync (a first, empty batch comes after `rust_timeout`), so
    # a change made while that sync runs is not missed: it is the next batch.
    for changes in watch_changes(*roots, debounce=debounce_ms, stop_event=stop, raise_interrupt=False,
                                 yield_on_timeout=True, rust_timeout=1000):
        if not synced:
            synced = True
            _handle(lambda: Round(report=ingest_paths(store, roots)), on_round)
        plan = plan_changes(changes, roots)
        if plan:
            _handle(lambda: apply_plan(store, plan), on_round)


def _handle(work: Callable[[], Round], on_round: Callable[[Round], None]) -> None:
    try:
        result = work()
    except LitassistError as exc:  # say, a Chroma server gone for a moment: the next change retries
        result = Round(report=None, error=str(exc))
    on_round(result)


def watch_in_background(store: Library, paths: Sequence[str | Path], on_round: Callable[[Round], None]) -> threading.Event:
    """`watch` on a daemon thread (for `serve --watch`); set the returned event to stop it."""
    missing = [str(p) for p in paths if not Path(p).expanduser().exists()]
    if missing:
        raise InputError(missing[0], "no such file or folder to watch")
    stop = threading.Event()
    thread = threading.Thread(
        target=watch, args=(store, paths), kwargs={"on_round": on_round, "stop": stop}, daemon=True, name="litassist-watch"
    )
    thread.start()
    return stop
