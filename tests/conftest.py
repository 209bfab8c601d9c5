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
    from assistant.store import ingest_paths
    from assistant.store import Store

    directory = tmp_path_factory.mktemp("seeded") / "store"
    store = Store(directory, embedder=embedder)
    report = ingest_paths(store, [SEEDS])
    assert report.added == 25, report
    return directory


@pytest.fixture(scope="session")
def seeded_store(seeded_store_dir, embedder):
    """Read-only use only: the session's seeded store."""
    from assistant.store import Store

    return Store(seeded_store_dir, embedder=embedder)


@pytest.fixture
def writable_seeded_store(seeded_store_dir, tmp_path, embedder):
    """A private copy of the seeded store that a test may change."""
    from assistant.store import Store

    target = tmp_path / "store"
    shutil.copytree(seeded_store_dir, target)
    return Store(target, embedder=embedder)


@pytest.fixture
def empty_store(tmp_path, embedder):
    from assistant.store import Store

    return Store(tmp_path / "store", embedder=embedder)
