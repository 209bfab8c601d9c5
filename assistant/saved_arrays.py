"""Arrays saved beside the store (the BM25 index, the facets): strings packed into one byte array,
npz files written atomically, and the change-marker rule both follow at the end of a write."""
from __future__ import annotations

import os
import threading
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Protocol

import numpy as np


def pack_strings(items: list[str]) -> np.ndarray:
    """Strings (without newlines: ids, terms) as one byte array, for an npz file."""
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def unpack_strings(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` atomically: a private temp file (processes sharing the directory
    never write the same one), then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.npz"
    np.savez(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwds as allow_pickle
    os.replace(tmp, path)


class ChangeCounter(Protocol):
    """The store's counter of its changes (the journal's entries), read by the saved peers."""

    def change_marker(self) -> int: ...


class MarkedCache(ABC):
    """A peer kept in memory and saved beside the store, current as of the store's change marker
    `_marker` (None: distrusted, so the next use re-reads or rebuilds it)."""

    source: ChangeCounter
    _lock: threading.RLock
    _marker: int | None
    _dirty: bool

    @abstractmethod
    def _in_memory(self) -> bool: ...

    @abstractmethod
    def _read_current(self, marker: int) -> bool:
        """Load the saved file; True when it holds the store as of `marker`."""

    @abstractmethod
    def _rebuild(self) -> None:
        """Build what is in memory from the store's content."""

    @abstractmethod
    def save(self) -> None: ...

    def sync(self, marker: int | None = None) -> None:
        """Make what is in memory match the store as of `marker` (default: the store's marker now):
        keep it, read the saved file (perhaps saved by the process that wrote), or rebuild it from
        the store, saved when no other process wrote meanwhile."""
        with self._lock:
            if marker is None:
                marker = self.source.change_marker()
            if self._in_memory() and self._marker == marker:
                return
            if self._read_current(marker):
                return
            self._rebuild()
            self._marker = marker  # read before the content: a write meanwhile shows as a new marker
            self._dirty = True
            if self.source.change_marker() == marker:
                self.save()

    def commit(self, before: int, after: int, ok: bool = True) -> None:
        """End of a write made through the library: if the cache matched the marker `before` and
        the only change since is this write (its begin and end entries: +2), it matches `after`
        and is saved; otherwise another process wrote meanwhile, and the next use rebuilds."""
        with self._lock:
            if ok and self._in_memory() and self._marker == before and after == before + 2:
                self._marker = after
                self._dirty = True
                self.save()
            else:
                self.invalidate()

    def invalidate(self) -> None:
        """Distrust what is in memory: the next use re-reads or rebuilds it."""
        with self._lock:
            self._marker = None
