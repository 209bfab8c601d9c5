"""Reconciliation: incoming papers + the stored records they may be -> a write plan. Pure: the
library fetches the stored records (`Lookup` says which) and carries the plan out.

A stored record read only from files being re-read is replaced by the incoming one (the file was
edited: its values win); one with other sources too is merged, after dropping its old entries
from those files (the incoming record carries their current ones). Two papers with conflicting
ids are never merged (`papers.joinable`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from assistant.papers import Paper, finalise, identity_keys, joinable, library_ids, merge, merge_keys


@dataclass(frozen=True)
class Lookup:
    """Which stored records may be incoming papers: those with one of these merge keys, those
    whose id is one of `ids`, and those holding one of `weak_ids` as an alias."""

    keys: list[str]
    ids: list[str]
    # Ids of incoming papers without an arXiv id or DOI: only these can be missed by the keys
    # (their keys hash texts a merged record may no longer carry), so only they need the alias scan.
    weak_ids: list[str]


@dataclass
class Incoming:
    """An incoming paper with its merge keys (computed once, reused for its stored record)."""

    paper: Paper
    keys: set[str]


@dataclass
class Plan:
    """What one write does: records to write (with their merge keys when already known), stored
    ids to retire (merged into another record), and the outcome per incoming paper."""

    write: list[Paper] = field(default_factory=list)
    keys: dict[str, set[str]] = field(default_factory=dict)  # paper id -> merge keys of its written record
    retire: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass
class StaleSources:
    """Stored papers the re-read files no longer hold: `removed` (no other source left) and
    `detached` (kept, without the re-read files among their sources)."""

    removed: list[str]
    detached: list[Paper]


def incoming(papers: Sequence[Paper]) -> list[Incoming]:
    return [Incoming(p, merge_keys(p)) for p in papers]


def lookup(papers: Sequence[Incoming]) -> Lookup:
    return Lookup(
        keys=sorted({k for p in papers for k in p.keys}),
        ids=sorted({a for p in papers for a in library_ids(p.paper)}),
        weak_ids=sorted({a for p in papers if not (p.paper.arxiv_id or p.paper.doi) for a in library_ids(p.paper)}),
    )


def by_identity(stored: Iterable[Paper]) -> dict[str, list[Paper]]:
    """Stored records by each of their identity keys (several may share one, e.g. a title)."""
    found: dict[str, list[Paper]] = {}
    for record in {p.id: p for p in stored}.values():
        for key in identity_keys(record):
            found.setdefault(key, []).append(record)
    return found


def plan(papers: Sequence[Incoming], stored: Iterable[Paper], reread: set[str]) -> Plan:
    """Merge incoming papers with the stored records they are (`stored`: at least every record
    `lookup(papers)` names); `reread`: paths of the files read whole for this write."""
    existing = by_identity(stored)
    result = Plan()
    for item in papers:
        paper = item.paper
        candidates = {s.id: s for key in identity_keys(paper, item.keys) for s in existing.get(key, ())}
        matches = {s.id: s for s in joinable(paper, list(candidates.values()))}
        if not matches:
            result.added.append(paper.id)
            _write(result, paper, item.keys)
            continue
        merged = paper
        for record in matches.values():
            if only_from(record, reread):
                merged = taking_over(merged, record)
            else:
                merged = merge(without_sources(record, reread), merged)
        first = next(iter(matches.values()))
        if len(matches) == 1 and record_equal(merged, first):
            result.unchanged.append(first.id)
            continue
        result.updated.append(merged.id)
        _write(result, merged, item.keys if merged is paper else None)
        result.retire += [old for old in matches if old != merged.id]
    return result


def _write(result: Plan, record: Paper, keys: set[str] | None) -> None:
    result.write.append(record)
    if keys is None:
        result.keys.pop(record.id, None)  # the record written last for an id decides
    else:
        result.keys[record.id] = keys


def stale_sources(stale: Iterable[Paper], reread: set[str]) -> StaleSources:
    """`stale`: stored papers read from `reread` files that this read did not produce."""
    stale = list(stale)
    removed = [p.id for p in stale if only_from(p, reread)]
    return StaleSources(removed, [without_sources(p, reread) for p in stale if p.id not in removed])


def record_equal(a: Paper, b: Paper) -> bool:
    return a.to_dict(with_full_text=True) == b.to_dict(with_full_text=True)


def only_from(paper: Paper, paths: set[str]) -> bool:
    """True when every file the paper was read from is among `paths`."""
    return bool(paper.sources) and all(s.path in paths for s in paper.sources)


def without_sources(paper: Paper, paths: set[str]) -> Paper:
    return replace(paper, sources=[s for s in paper.sources if s.path not in paths])


def taking_over(incoming: Paper, stored: Paper) -> Paper:
    """`incoming` replaces `stored` (re-read from the files `stored` came from): the new values
    win, even a shorter abstract or fewer authors; the stored ids stay resolvable as aliases."""
    aliases = [*incoming.aliases, *stored.aliases, stored.id]
    return finalise(replace(incoming, aliases=[a for a in dict.fromkeys(aliases) if a != incoming.id]))
