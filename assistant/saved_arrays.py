"""Arrays saved beside the store (the BM25 index, the facets): strings packed into one byte array,
npz files written atomically, and the change-marker rule both follow at the end of a write."""
from __future__ import annotations

import os
import threading
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

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


class MarkedCache(ABC):
    """A peer kept in memory and saved beside the store, current as of the store's change marker
    `_marker` (None: distrusted, so the next use re-reads or rebuilds it)."""

    _lock: threading.RLock
    _marker: int | None
    _dirty: bool

    @abstractmethod
    def _in_memory(self) -> bool: ...

    @abstractmethod
    def save(self) -> None: ...

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
