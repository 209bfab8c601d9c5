"""Shared fixtures: real Chroma stores in temp dirs, the real embedding model, the real seeds."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def embedder():
    from assistant.embed import get_embedder

    return get_embedder()


@pytest.fixture(scope="session")
def seeded_store_dir(tmp_path_factory, embedder) -> Path:
    """A store holding the five bundled seed files (built once per test session; copy before writing)."""
    from assistant.library import ingest_paths
    from assistant.library import Library

    directory = tmp_path_factory.mktemp("seeded") / "store"
    store = Library(directory, embedder=embedder)
    report = ingest_paths(store, [SEEDS])
    assert report.added == 25, report
    return directory


@pytest.fixture(scope="session")
def seeded_store(seeded_store_dir, embedder):
    """Read-only use only: the session's seeded store."""
    from assistant.library import Library

    return Library(seeded_store_dir, embedder=embedder)


@pytest.fixture
def writable_seeded_store(seeded_store_dir, tmp_path, embedder):
    """A private copy of the seeded store that a test may change."""
    from assistant.library import Library

    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return Library(target, embedder=embedder)


@pytest.fixture
def empty_store(tmp_path, embedder):
    from assistant.library import Library

    return Library(tmp_path / "store", embedder=embedder)
