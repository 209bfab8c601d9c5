"""The queries that find stored records for reconciliation: the records an incoming batch may
be (`reconcile.Lookup`), and the records read from given files."""
from __future__ import annotations

from typing import Iterable

from assistant.chunks import KEY_FIELD_PREFIX, chunk_id, paper_id_of_chunk
from assistant.library.chroma import ChromaGateway
from assistant.papers import Paper
from assistant.reconcile import Lookup


def _any_of(clauses: list[dict]) -> dict:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def records_for(chroma: ChromaGateway, wanted: Lookup) -> list[Paper]:
    """Stored records sharing a merge key or library id with the incoming papers (`wanted`)."""
    records: dict[str, Paper] = {}

    def take(where: dict | None = None, ids: list[str] | None = None) -> None:
        for stored in chroma.call(lambda: chroma.records(where=where, ids=ids)):
            records[stored.id] = stored

    # merge keys: one indexed `$in` per kind (arxiv, doi, abs, title)
    by_kind: dict[str, list[str]] = {}
    for key in wanted.keys:
        by_kind.setdefault(key.split(":", 1)[0], []).append(key)
    clauses = [
        {KEY_FIELD_PREFIX + kind: {"$in": values[i : i + 500]}}
        for kind, values in by_kind.items()
        for i in range(0, len(values), 500)
    ]
    for start in range(0, len(clauses), 8):
        take(where=_any_of(clauses[start : start + 8]))
    # records whose own id is an incoming id or alias
    for start in range(0, len(wanted.ids), 1000):
        take(ids=[chunk_id(i, 0) for i in wanted.ids[start : start + 1000]])
    # records that absorbed an incoming id as an alias
    for start in range(0, len(wanted.weak_ids), 200):
        take(where=_any_of([{"aliases": {"$contains": i}} for i in wanted.weak_ids[start : start + 200]]))
    return list(records.values())


def records_from(chroma: ChromaGateway, paths: Iterable[str], excluding: frozenset[str] | set[str]) -> list[Paper]:
    """Stored records read from any of these files (paths as in `Source.path`), but for the
    ids in `excluding` (whose records are not even loaded)."""
    paths = set(paths)
    ids: set[str] = set()
    ordered = sorted(paths)
    for start in range(0, len(ordered), 100):
        where = _any_of([{"source_paths": {"$contains": path}} for path in ordered[start : start + 100]])  # only chunk 0 has it
        ids.update(chroma.call(lambda: chroma.collection.get(where=where, include=[]))["ids"])
    wanted = sorted(i for i in ids if paper_id_of_chunk(i) not in excluding)
    found: list[Paper] = []
    for start in range(0, len(wanted), 1000):
        found += chroma.call(lambda: chroma.records(ids=wanted[start : start + 1000]))
    return found
