"""Consistency checks of a store: every paper's chunk 0 has its record, no chunk lacks one, chunk
counts match the records, no paper is stored both alone and merged, the BM25 index holds exactly
the stored chunks and the facets exactly the stored papers. `Library.repair` deletes what
`problems` marks."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from assistant.chunks import chunk_id
from assistant.facets import Facets
from assistant.lexical import LexicalIndex
from assistant.library.chroma import ChromaGateway


@dataclass
class Scan:
    """Every chunk's id and layout metadata (no documents, no vectors)."""

    chunks: dict[str, dict[int, str]] = field(default_factory=dict)  # paper id -> chunk index -> chunk id
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # paper id -> n_chunks, aliases[, broken]
    bad: list[str] = field(default_factory=list)  # chunk ids that do not match their metadata

    def chunk_ids(self) -> set[str]:
        return {cid for parts in self.chunks.values() for cid in parts.values()} | set(self.bad)


def scan(chroma: ChromaGateway) -> Scan:
    found = Scan()
    offset = 0
    while True:
        page = chroma.call(lambda: chroma.collection.get(include=["metadatas"], limit=5000, offset=offset))
        if not page["ids"]:
            break
        for cid, meta in zip(page["ids"], page["metadatas"]):
            meta = meta or {}
            pid, index = meta.get("paper_id"), meta.get("chunk")
            if not isinstance(pid, str) or not isinstance(index, int) or cid != chunk_id(pid, index):
                found.bad.append(cid)
                continue
            found.chunks.setdefault(pid, {})[index] = cid
            if index == 0:
                found.records[pid] = _record_layout(pid, meta)
        offset += len(page["ids"])
    return found


def _record_layout(pid: str, meta: dict[str, Any]) -> dict[str, Any]:
    try:
        record = json.loads(meta["record"])
        if record.get("id") != pid:
            raise ValueError(f"record id {record.get('id')!r}")
        return {"n_chunks": int(meta.get("n_chunks", 1)), "aliases": list(meta.get("aliases") or [])}
    except (KeyError, ValueError, TypeError) as exc:
        return {"n_chunks": int(meta.get("n_chunks", 1) or 1), "aliases": [], "broken": str(exc)}


def problems(found: Scan) -> tuple[list[str], list[str]]:
    """(problems, chunk ids a repair deletes)."""
    listed: list[str] = []
    doomed: list[str] = []
    chunks, records = found.chunks, found.records
    for cid in found.bad:
        listed.append(f"chunk {cid}: id does not match its paper_id/chunk metadata")
        doomed.append(cid)
    owner_of_alias = {a: pid for pid, r in records.items() for a in r["aliases"] if a != pid}
    retired: set[str] = set()
    for pid, parts in sorted(chunks.items()):
        record = records.get(pid)
        if record is None:
            listed.append(f"paper {pid}: {len(parts)} chunk(s) without a record (no chunk 0)")
            doomed += parts.values()
            continue
        if "broken" in record:
            listed.append(f"paper {pid}: unreadable record on chunk 0 ({record['broken']})")
        n = record["n_chunks"]
        missing = [i for i in range(n) if i not in parts]
        extra = sorted(i for i in parts if i >= n)
        if missing:
            listed.append(f"paper {pid}: missing chunk(s) {missing} of {n} (re-ingest its file)")
        if extra:
            listed.append(f"paper {pid}: {len(extra)} chunk(s) beyond its {n} (left by an interrupted update)")
            doomed += [parts[i] for i in extra]
        owner = owner_of_alias.get(pid)
        if owner is not None and owner in records and owner not in retired:
            listed.append(f"paper {pid}: also stored merged into {owner} (an interrupted merge)")
            doomed += parts.values()
            retired.add(pid)  # of two records naming each other, one stays
    return listed, list(dict.fromkeys(doomed))


def check(chroma: ChromaGateway, lexical: LexicalIndex, facets: Facets) -> list[str]:
    """Problems found (empty: consistent)."""
    found = scan(chroma)
    listed, _ = problems(found)
    stored = found.chunk_ids()
    lexical.sync()
    indexed = set(lexical.chunk_ids())
    if indexed != stored:
        listed.append(
            f"BM25 index out of step: {len(indexed - stored)} chunk(s) not in Chroma, {len(stored - indexed)} missing"
        )
    facets.sync()
    faceted, recorded = set(facets.paper_ids()), set(found.records)
    if faceted != recorded:
        listed.append(
            f"facets out of step: {len(faceted - recorded)} paper(s) not in Chroma, {len(recorded - faceted)} missing"
        )
    return listed
