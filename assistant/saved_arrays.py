"""Arrays saved beside the store (the BM25 index, the facets): strings packed into one byte array,
and npz files written atomically."""
from __future__ import annotations

import os
import uuid
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
