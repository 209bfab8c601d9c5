"""The write journal and lock of a store.

- Every write or remove adds a "begin" and an "end" entry to the small `litassist_meta`
  collection; its count is the store's change marker, which other processes (and the BM25
  cache) compare to notice writes they did not make, even ones that leave the chunk count equal.
- An embedded store is written by one process at a time: a write holds an fcntl lock on
  `STORE/write.lock` (a second writer waits, saying so). A writer killed mid-way leaves its pid in
  that file; the next open sees it, finds the lock free, and repairs.
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator

LOCK_FILE = "write.lock"

log = logging.getLogger("litassist.library")


def log_waiting(message: str) -> None:
    log.warning(message)


class WriteLock:
    """The fcntl lock on `STORE/write.lock` that one writer of an embedded store holds."""

    def __init__(self, store_dir: Path, on_wait: Callable[[str], None] | None = None):
        self.store_dir = store_dir
        self.path = store_dir / LOCK_FILE
        self.on_wait = on_wait or log_waiting

    def _take(self, handle: IO[str]) -> None:
        """Take the exclusive lock on an open write.lock, telling `on_wait` if it has to wait."""
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            self.on_wait(
                f"waiting for {holder} to finish writing to {self.store_dir} (an embedded store takes one "
                f"writer at a time; several writers need a Chroma server: --chroma-url)"
            )
            fcntl.flock(handle, fcntl.LOCK_EX)

    @contextmanager
    def creating(self) -> Iterator[None]:
        """Held while a new embedded database is created (Chroma's first open sets up its
        tables; two processes doing that at once fail). Nothing to do for an existing one."""
        if (self.store_dir / "chroma" / "chroma.sqlite3").exists():
            yield
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            self._take(handle)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[str | None]:
        """The lock for a whole write; the file holds the writer's pid meanwhile. Yields what a
        killed writer left there (or None)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            self._take(handle)
            try:
                handle.seek(0)
                left = handle.read().strip() or None
                handle.truncate(0)
                handle.write(f"litassist pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
                handle.flush()
                yield left
                handle.truncate(0)
                handle.flush()
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def interrupted(self) -> bool:
        """True when a writer was killed: its pid is still in write.lock and nobody holds the
        lock. Cheap when nothing happened: one stat."""
        try:
            if self.path.stat().st_size == 0:
                return False
        except FileNotFoundError:
            return False
        with open(self.path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a live writer: it is not interrupted
            fcntl.flock(handle, fcntl.LOCK_UN)
        return True


class Journal:
    """The begin/end entries of every write in the meta collection, whose count is the change
    marker. `call` runs a Chroma call (with the store's retry and error rules)."""

    def __init__(self, meta: Callable[[], Any], call: Callable[..., Any]):
        self._meta = meta  # the meta collection now (it changes when the client reconnects)
        self._call = call

    def change_marker(self) -> int:
        """The store's change counter: it grows by two with every write or remove, whichever
        process makes it (entries are added, never read-modified-written, so concurrent
        writers cannot hide each other's changes)."""
        return int(self._call(self._meta().count))

    def begin(self) -> str:
        token = uuid.uuid4().hex
        self._log("begin", token)
        return token

    def end(self, token: str) -> int:
        """Log the end of a write; returns the change marker after it."""
        self._log("end", token)
        return self.change_marker()

    def _log(self, kind: str, token: str) -> None:
        self._call(
            lambda: self._meta().add(
                ids=[f"{token}:{kind}"],
                embeddings=[[1.0]],
                metadatas=[{"kind": kind, "pid": os.getpid(), "time": time.time()}],
            ),
            "cannot write to",
        )
