"""What the library is doing in the background (seeding an empty library with the bundled papers,
following watched folders), for the status line every session shows."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

from assistant.library import ingest_paths
from assistant.library import Library

log = logging.getLogger("litassist.ui")


class LibraryStatus:
    """What the library is doing in the background (seeding), for the status line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy = False
        self.message = ""

    def set(self, message: str, busy: bool) -> None:
        with self._lock:
            self.message, self.busy = message, busy

    def get(self) -> tuple[str, bool]:
        with self._lock:
            return self.message, self.busy


def seed_store(store: Library, seeds_dir: Path, status: LibraryStatus, console: bool = True) -> None:
    """Ingest the bundled seeds into an empty store, reporting progress to the console and UI."""
    bar = None
    status.set(f"Adding the bundled seed papers from {seeds_dir}…", True)

    def progress(done: int, total: int) -> None:
        nonlocal bar
        status.set(f"Adding the bundled seed papers… {done}/{total} embedded", True)
        if console:
            if bar is None:
                import sys

                from tqdm import tqdm

                bar = tqdm(total=total, desc="seeding the library", unit="paper", file=sys.stderr)
            bar.update(done - bar.n)

    try:
        report = ingest_paths(store, [seeds_dir], on_progress=progress)
    except Exception as exc:  # the UI keeps running on an empty library
        log.exception("seeding failed")
        status.set(f"Could not add the bundled seeds: {exc}", False)
        return
    finally:
        if bar is not None:
            bar.close()
    problems = len(report.failed) + len(report.problems)
    status.set(
        f"Added {report.added} seed paper(s)" + (f"; {problems} problem(s), see the console" if problems else "") + ".",
        False,
    )
    for failure in report.failed + report.problems:
        log.warning("seed %s: %s", failure.path, failure.error)
