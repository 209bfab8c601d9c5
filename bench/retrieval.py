"""Retrieval quality: bm25, dense and hybrid side by side on the sciqa dev set, one store.

    python bench/retrieval.py [--limit N] [--json out.json]

Builds one temporary store from the corpus (embeddings cached under bench/out/embed-cache), then
runs every query in each mode and prints recall@1/5/10 and MRR@10, overall and per task.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _common import CORPUS, QUERIES, cache_dir, table

MODES = ("bm25", "dense", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(CORPUS))
    parser.add_argument("--queries", default=str(QUERIES))
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries")
    parser.add_argument("--json", help="also write the reports to this file")
    args = parser.parse_args()

    from assistant.evaluate import METRICS, build_store, read_jsonl, run_queries

    corpus = read_jsonl(args.corpus, ("id",))
    queries = read_jsonl(args.queries, ("query", "relevant"))[: args.limit]
    reports = {}
    with tempfile.TemporaryDirectory(prefix="litassist-bench-") as tmp:
        start = time.perf_counter()
        store, id_map = build_store(corpus, Path(tmp) / "store", cache_dir=cache_dir())
        print(f"store: {len(corpus)} papers in {time.perf_counter() - start:.1f} s; {len(queries)} queries")
        for mode in MODES:
            start = time.perf_counter()
            reports[mode] = run_queries(store, queries, id_map, mode=mode)
            reports[mode]["seconds"] = round(time.perf_counter() - start, 2)

    rows = []
    for scope in ["overall", *reports["hybrid"]["by_task"]]:
        for mode in MODES:
            data = reports[mode] if scope == "overall" else reports[mode]["by_task"][scope]
            rows.append([scope, mode, data["n"], *(float(data[m]) for m in METRICS)])
    print(table(["scope", "mode", "n", *METRICS], rows))
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))


if __name__ == "__main__":
    main()
