"""Seconds per author summary and per related-work draft (built-in extractive model), on the
seeds and on a 1,000-paper store.

    python bench/tasks.py [--rounds 3] [--rebuild] [--json bench/out/tasks.json]

Stores (built once, cached under bench/out/):
* `tasks-seeds/`: the five bundled seed files, ingested as a user would (25 papers).
* `tasks-1000/`: the first 1,000 abstracts of /work/shared/data/sciqa/corpus.jsonl (real titles and
  abstracts, biomedical) with synthetic author lists: a pool of 400 made-up people, 2-6 authors a
  paper, years 1995-2025. Planted: "Kshitiz Malik" on 20 papers drawn from three topical
  neighbourhoods (8 + 7 + 5 nearest neighbours of three random papers, dated early / middle / late
  so the work "moves" between themes) with three recurring co-authors; a collection owner "Jack"
  (12 papers) and exactly one author named Jack ("Jack Sorensen", 6 papers), so "Jack" resolves
  by inference. Vectors come from the bench embedding cache (bench/out/embed-cache).

Timing: the embedding model is loaded and warmed before any timing (its load time is reported on
its own line); the in-process sentence-vector memo is cleared before every call, so each call
embeds its sentences as a fresh request would. Reported: the first call and the median of
`--rounds` calls per case, plus what the call produced (papers, themes, paragraphs, citations).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from _common import CORPUS, OUT, ROOT, cached_embedder, people, table, timed

SEEDS = ROOT / "seeds"
N_PAPERS = 1000

SEED_CASES = {
    "author": ["Kshitiz Malik", "K. Malik", "Jack", "Sid"],
    "related": [("federated learning", "latex"), ("federated learning", "numeric"), ("large language models", "latex"), ("differential privacy", "latex")],
}
BIG_CASES = {
    "author": ["Kshitiz Malik", "Jack", "Jack Sorensen"],
    "related": [("malaria parasites and anaemia", "latex"), ("microRNA processing and gene silencing", "latex"),
                ("cancer immunotherapy", "numeric"), ("federated learning on mobile devices", "latex")],
}



def build_big(directory, seed: int = 7) -> dict:
    import shutil

    import numpy as np

    from assistant.papers import Paper, finalise
    from assistant.chunks import paper_chunks
    from assistant.library import Library

    if directory.exists():
        shutil.rmtree(directory)
    t0 = time.perf_counter()
    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")][:N_PAPERS]
    rng = random.Random(seed)
    pool = people(rng, 400, first_names=20, last_names=300)
    papers = [finalise(Paper(title=r["title"].strip(), abstract=r["abstract"].strip())) for r in rows]
    embedder = cached_embedder()
    vectors = np.asarray(embedder.embed([paper_chunks(p)[0].text for p in papers]), dtype=np.float32)

    # Kshitiz Malik: three topical neighbourhoods, early / middle / late.
    taken: set[int] = set()
    themes = []
    for size, years in ((8, (2004, 2010)), (7, (2011, 2017)), (5, (2018, 2024))):
        centre = rng.choice([i for i in range(len(papers)) if i not in taken])
        order = np.argsort(-(vectors @ vectors[centre]))
        members = [int(i) for i in order if int(i) not in taken][:size]
        taken.update(members)
        themes.append((members, years))
    malik = {i for members, _ in themes for i in members}
    circle = ["Amina Kalo", "Lars Tenvel", "Priya Ishber"]
    jack_papers = rng.sample([i for i in range(len(papers)) if i not in malik], 18)
    jack_goetz, jack_owned = set(jack_papers[:6]), set(jack_papers[6:])

    for i, paper in enumerate(papers):
        authors = rng.sample(pool, rng.randint(2, 6))
        year = rng.randint(1995, 2025)
        for members, (lo, hi) in themes:
            if i in members:
                year = rng.randint(lo, hi)
                authors.insert(rng.randint(0, 2), "Kshitiz Malik")
                authors += [c for c in circle if rng.random() < 0.5]
        if i in jack_goetz:
            authors.insert(0, "Jack Sorensen")
        if i in jack_owned:
            paper.partial_authors = ["Jack"]
        paper.authors = list(dict.fromkeys(authors))
        paper.date = f"{year}-{rng.randint(1, 12):02d}"
        paper.year = year
    store = Library(directory, embedder=embedder)
    store.write_prepared(papers, vectors.tolist())
    built = {"papers": len(papers), "build_s": round(time.perf_counter() - t0, 1), "malik": len(malik), "jack": 18}
    (directory / "built.json").write_text(json.dumps(built))
    return built


def build_seeds(directory) -> dict:
    import shutil

    from assistant.library import ingest_paths
    from assistant.library import Library

    if directory.exists():
        shutil.rmtree(directory)
    t0 = time.perf_counter()
    report = ingest_paths(Library(directory, embedder=cached_embedder()), [SEEDS])
    built = {"papers": report.added, "build_s": round(time.perf_counter() - t0, 1)}
    (directory / "built.json").write_text(json.dumps(built))
    return built


def _fresh() -> None:
    """Forget recently embedded sentences, so the next call embeds as a new request would."""
    from assistant import sentences

    with sentences._memo_lock:
        sentences._memo.clear()


def _measure(fn, rounds: int) -> tuple[float, float, object]:
    samples, result = [], None
    for _ in range(rounds):
        _fresh()
        ms, result = timed(fn)
        samples.append(ms / 1000.0)
    return samples[0], statistics.median(samples), result


def run_cases(store, cases: dict, rounds: int) -> list[dict]:
    from assistant.tasks.author import summarize_author
    from assistant.tasks.related_work import draft_related_work

    rows = []
    for name in cases["author"]:
        first, median, s = _measure(lambda: summarize_author(name, store=store, model="extractive"), rounds)
        rows.append({
            "task": "author", "input": name, "first_s": round(first, 2), "median_s": round(median, 2),
            "papers": len(s.papers), "themes": len(s.themes), "citations": len(s.cited.citations),
            "unsupported": len(s.cited.unsupported_sentences), "resolved": s.author + (f" (from {s.resolved_from})" if s.resolved_from else ""),
        })
    for topic, style in cases["related"]:
        first, median, d = _measure(lambda: draft_related_work(topic, store=store, model="extractive", cite_style=style), rounds)
        rows.append({
            "task": f"related-work ({style})", "input": topic, "first_s": round(first, 2), "median_s": round(median, 2),
            "papers": len(d.papers), "themes": len(d.paragraphs), "citations": len(d.citations),
            "unsupported": len(d.unsupported_sentences), "resolved": "abstained" if d.abstained else "",
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached stores")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--only", choices=["seeds", "1000"], help="run one of the two stores")
    args = parser.parse_args(argv)

    from assistant.embed import get_embedder
    from assistant.library import Library

    results: dict = {"rounds": args.rounds}
    t_model, _ = timed(lambda: get_embedder().embed_one("warm up the model"))
    results["model_load_s"] = round(t_model / 1000.0, 1)
    for label, directory, builder, cases in (
        ("seeds", OUT / "tasks-seeds", build_seeds, SEED_CASES),
        ("1000", OUT / f"tasks-{N_PAPERS}", build_big, BIG_CASES),
    ):
        if args.only and args.only != label:
            continue
        marker = directory / "built.json"
        if args.rebuild or not marker.exists():
            print(f"building {directory} ...", file=sys.stderr, flush=True)
            builder(directory)
        built = json.loads(marker.read_text())
        store = Library(directory, embedder=get_embedder())
        rows = run_cases(store, cases, args.rounds)
        results[label] = {"store": built, "rows": rows}
        print(f"\n{label} store: {built['papers']} papers ({directory})")
        print(table(
            ["task", "input", "first s", "median s", "papers", "themes/paras", "citations", "flagged", "note"],
            [[r["task"], r["input"], f"{r['first_s']:.2f}", f"{r['median_s']:.2f}", r["papers"], r["themes"], r["citations"], r["unsupported"], r["resolved"]] for r in rows],
        ))
    print(f"\nembedding model load + first embedding: {results['model_load_s']} s (not included above); {args.rounds} round(s) per case")
    if args.json:
        from pathlib import Path

        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
