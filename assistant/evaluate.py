"""Retrieval evaluation: build a throwaway store from a JSONL corpus, run JSONL queries, and report
recall@1/5/10 and MRR@10, overall and per task.

Corpus lines: `{"id", "title", "abstract"}`. Query lines: `{"query", "relevant": [ids], "task"?}`.
Embeddings can be cached across runs (env `LITASSIST_EVAL_CACHE`, a directory), keyed by text.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

from assistant.errors import InputError
from assistant.settings import eval_cache_dir

CUTOFFS = (1, 5, 10)
METRICS = tuple(f"recall@{k}" for k in CUTOFFS) + ("mrr@10",)


def read_jsonl(path: str | Path, required: tuple[str, ...]) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise InputError(str(path), "no such file")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(str(path), f"not JSON ({exc.msg})", line=line_no) from exc
            missing = [k for k in required if k not in row]
            if missing:
                raise InputError(str(path), f"missing field(s) {', '.join(missing)}", line=line_no)
            rows.append(row)
    return rows


def corpus_papers(rows: Iterable[dict]):
    """One finalised `Paper` per corpus line; the corpus id is kept as an alias."""
    from assistant.papers import Paper, finalise

    papers = []
    for row in rows:
        paper = Paper(title=(row.get("title") or "").strip(), abstract=(row.get("abstract") or "").strip(), aliases=[str(row["id"])])
        papers.append(finalise(paper))
    return papers


def build_store(
    corpus_rows: list[dict],
    store_dir: Path,
    *,
    cache_dir: Path,
    show_progress: bool = True,
):
    """A store of the corpus, embedded once (through the cache) with a progress bar; returns
    (store, corpus id -> stored paper id)."""
    from assistant.embed import Embedder, default_backend
    from assistant.chunks import paper_chunks
    from assistant.library import Library

    embedder = Embedder(default_backend(), cache_dir=cache_dir)
    papers = corpus_papers(corpus_rows)
    texts = [c.text for p in papers for c in paper_chunks(p)]
    bar = _bar(len(texts), "embedding corpus", show_progress)
    embedder.embed(texts, on_batch=bar.update if bar else None)  # fills the cache; write reads it
    if bar:
        bar.close()
    store = Library(store_dir, embedder=embedder)
    store.write(papers)
    id_map: dict[str, str] = {}
    for paper in store.papers():
        for alias in [paper.id, *paper.aliases]:
            id_map[alias] = paper.id
    return store, id_map


def _bar(total: int, description: str, show: bool, unit: str = "text"):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit=unit, file=sys.stderr, leave=False)


def score_ranking(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    """recall@k and reciprocal rank (within 10) of one ranked list of ids."""
    scores = {f"recall@{k}": (len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0) for k in CUTOFFS}
    rr = 0.0
    for rank, pid in enumerate(ranked[:10], 1):
        if pid in relevant:
            rr = 1.0 / rank
            break
    scores["mrr@10"] = rr
    return scores


def aggregate(per_query: list[tuple[str, dict[str, float]]]) -> dict[str, Any]:
    """Mean metrics overall and per task from (task, scores) pairs."""

    def mean(rows: list[dict[str, float]]) -> dict[str, Any]:
        n = len(rows)
        return {"n": n, **{m: (round(sum(r[m] for r in rows) / n, 4) if n else 0.0) for m in METRICS}}

    report = mean([s for _, s in per_query])
    tasks = sorted({t for t, _ in per_query})
    report["by_task"] = {t: mean([s for task, s in per_query if task == t]) for t in tasks}
    return report


def run_queries(
    store,
    queries: list[dict],
    id_map: dict[str, str],
    *,
    mode: str = "hybrid",
    show_progress: bool = True,
    search_fn: Callable | None = None,
) -> dict[str, Any]:
    """Search every query in `store` and aggregate the metrics (queries with no known relevant id
    still count, as misses)."""
    from assistant.retrieve import search

    run_search: Callable[..., Any] = search_fn or search
    # Embed all questions in one batch: single searches then find their vectors in the cache.
    if mode in ("hybrid", "dense"):
        store.embedder.embed([q["query"].strip() for q in queries])
    bar = _bar(len(queries), f"searching ({mode})", show_progress, unit="query")
    per_query = []
    for q in queries:
        relevant = {id_map.get(str(r), f"missing:{r}") for r in q["relevant"]}
        hits = run_search(store, q["query"], k=10, mode=mode)
        per_query.append((str(q.get("task") or "all"), score_ranking([h.paper.id for h in hits], relevant)))
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    report = aggregate(per_query)
    report["mode"] = mode
    return report


def evaluate(
    corpus_path: str | Path,
    queries_path: str | Path,
    *,
    mode: str = "hybrid",
    show_progress: bool = True,
    limit: int | None = None,
    store_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Build a temporary store from `corpus_path`, run the queries, return the metrics:
    `{"n", "recall@1", "recall@5", "recall@10", "mrr@10", "by_task": {task: {...}}, "mode"}`."""
    from assistant.search_modes import SEARCH_MODES

    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; use one of {', '.join(SEARCH_MODES)}")
    corpus = read_jsonl(corpus_path, ("id",))
    queries = read_jsonl(queries_path, ("query", "relevant"))
    if limit is not None:
        queries = queries[:limit]
    with tempfile.TemporaryDirectory(prefix="litassist-eval-") as tmp:
        cache_dir = eval_cache_dir() or Path(tmp) / "cache"
        directory = Path(store_dir) if store_dir else Path(tmp) / "store"
        store, id_map = build_store(corpus, directory, cache_dir=cache_dir, show_progress=show_progress)
        return run_queries(store, queries, id_map, mode=mode, show_progress=show_progress)


def format_report(report: dict[str, Any]) -> str:
    """A plain table: one row overall, one per task."""
    header = f"{'':<12}{'n':>6}" + "".join(f"{m:>11}" for m in METRICS)
    lines = []
    if report.get("mode"):
        lines.append(f"mode: {report['mode']}")
    lines += [header, "-" * len(header)]

    def row(name: str, data: dict[str, Any]) -> str:
        return f"{name:<12}{data['n']:>6}" + "".join(f"{data[m]:>11.4f}" for m in METRICS)

    lines.append(row("overall", report))
    for task, data in report.get("by_task", {}).items():
        lines.append(row(task, data))
    return "\n".join(lines)
