"""Search latency on a small library: the sciqa corpus (1,025 abstracts), dev questions.

    python bench/search.py [--queries 200] [-k 10]

Per mode, p50/p95 ms of `search()`: end to end (the model embeds each question) and retrieval
only (question vectors from the cache). The store is built once from cached embeddings.
Filters are measured at scale (bench/search_scale.py): sciqa has no authors or years.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

from _common import CORPUS, QUERIES, cache_dir, percentiles, table, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()

    from assistant.embed import Embedder
    from assistant.evaluate import build_store, read_jsonl
    from assistant.retrieve import search
    from assistant.search_modes import SEARCH_MODES
    from assistant.library import Library

    corpus = read_jsonl(CORPUS, ("id",))
    questions = [json.loads(line)["query"] for line in QUERIES.open(encoding="utf-8")]
    questions = random.Random(0).sample(questions, min(args.queries, len(questions)))
    with tempfile.TemporaryDirectory(prefix="litassist-search-") as tmp:
        cached, _ = build_store(corpus, Path(tmp) / "store", cache_dir=cache_dir(), show_progress=False)
        cached.embedder.embed(questions)
        live = Library(Path(tmp) / "store", embedder=Embedder(cached.embedder.backend))
        live.embedder.embed_one("load the model")
        rows = []
        for mode in SEARCH_MODES:
            for label, store in (("end to end", live), ("retrieval only", cached)):
                samples = [timed(search, store, q, k=args.k, mode=mode)[0] for q in questions]
                p50, p95 = percentiles(samples)
                rows.append([mode, label, f"{p50:.1f}", f"{p95:.1f}"])
    print(f"{len(corpus)} papers, {len(questions)} questions, k={args.k}")
    print(table(["mode", "timing", "p50 ms", "p95 ms"], rows))


if __name__ == "__main__":
    main()
