"""Collections and tags from a reference manager as filter keys.

A paper in collection `Thesis/Chapter 2/Figures` is in `Thesis` (a collection includes its
subcollections), in `Thesis/Chapter 2`, and also matches `Chapter 2` or `Chapter 2/Figures` typed
without the parents: its keys are every run of consecutive path parts, normalised (case, spacing
around `/`). Tags match whole, case-insensitively.
"""
from __future__ import annotations

from typing import Iterable

SEPARATOR = "/"


def collection_parts(path: str) -> list[str]:
    return [" ".join(part.split()).lower() for part in path.split(SEPARATOR) if part.strip()]


def collection_key(name: str) -> str:
    """What a typed collection name or path is matched as."""
    return SEPARATOR.join(collection_parts(name))


def collection_keys(paths: Iterable[str]) -> list[str]:
    """Filter keys of a paper's collection paths: each run of consecutive parts of each path."""
    keys: list[str] = []
    for path in paths:
        parts = collection_parts(path)
        for start in range(len(parts)):
            for end in range(start + 1, len(parts) + 1):
                keys.append(SEPARATOR.join(parts[start:end]))
    return list(dict.fromkeys(keys))


def tag_key(tag: str) -> str:
    return " ".join(tag.split()).lower()


def tag_keys(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(k for k in map(tag_key, tags) if k))
