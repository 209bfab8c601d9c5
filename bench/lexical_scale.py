"""The BM25 index and the facets alone at 100k and 1M papers: what a write and a fresh open cost.

    python bench/lexical_scale.py [--papers 100000 1000000] [--tokens 110]

No Chroma and no text: each paper is one chunk of `--tokens` term ids on average (Zipf-distributed
over a vocabulary that grows with the library, as stemmed abstracts do), put straight into
`assistant.lexical.LexicalIndex`, and its authors, a year and categories, put into the library's
other peer, `assistant.facets.Facets`. Reported per size: the full weight matrix build (`_build`,
which every save runs: so every ingest or delete pays it, however small), the save of each (npz
sizes), a fresh process's open of both (`sync`: read, not rebuilt), a BM25 query, a filter
selection (the facets' mask handed to the index as a chunk selection: the first one maps the facet
rows to the index's paper numbers, later ones reuse that map), and the RSS both add.
"""
from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, rss_mb

sys.path.insert(0, str(ROOT))


class _Marker:
    """What the BM25 index and the facets ask their store when they are current: the change marker
    and the chunk count (never a rebuild here)."""

    def __init__(self, chunks: int):
        self.chunks = chunks

    def change_marker(self) -> int:
        return 7

    def count_chunks(self) -> int:
        return self.chunks


def build(directory: Path, n: int, tokens: int, seed: int = 0) -> dict[str, float]:
    from assistant.chunks import chunk_id
    from assistant.facets import FACETS_FILE, Facets, FacetTable
    from assistant.lexical import INDEX_FILE, LexicalIndex

    rng = np.random.default_rng(seed)
    vocabulary = int(40 * n**0.6)  # Heaps' law, roughly: ~150k terms at 1M abstracts
    lengths = np.clip(rng.poisson(tokens, n), 5, None)
    flat = (rng.zipf(1.3, int(lengths.sum())) - 1) % vocabulary
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = LexicalIndex(directory, _Marker(n))
    flat = flat.astype(np.int32)
    index._docs = {chunk_id(f"p{i:07d}", 0): flat[offsets[i] : offsets[i + 1]] for i in range(n)}
    index._terms = [f"t{i}" for i in range(vocabulary)]
    index._term_id = {t: i for i, t in enumerate(index._terms)}
    people = [f"a:person{i}" for i in range(40_000)]
    facets = {}
    for i in range(n):
        authors = [people[j] for j in rng.integers(0, len(people), rng.integers(1, 7))]
        facets[f"p{i:07d}"] = {"year": int(rng.integers(1995, 2026)), "author_keys": [a[2:] for a in authors],
                               "categories": ["cs.lg"] if i % 3 else ["q-bio.gn", "stat.ml"]}
    peer = Facets(directory, _Marker(n))
    peer._table = FacetTable()
    peer.upsert(facets)
    peer._marker = index._marker = 7
    index._matrix_stale = index._dirty = True
    started = time.perf_counter()
    index._build()
    build_s = time.perf_counter() - started
    index._matrix_stale = True  # save() builds again: time the save alone
    index._build()
    started = time.perf_counter()
    index._dirty = True
    index.save()
    save_s = time.perf_counter() - started
    started = time.perf_counter()
    peer.save()
    facets_save_s = time.perf_counter() - started
    return {"build_s": build_s, "save_s": save_s, "disk_mb": (directory / INDEX_FILE).stat().st_size / 2**20,
            "facets_save_s": facets_save_s, "facets_mb": (directory / FACETS_FILE).stat().st_size / 2**20}


OPEN = """
import json, sys, time
sys.path.insert(0, {bench!r}); sys.path.insert(0, {root!r})
from lexical_scale import _Marker
from _common import rss_mb
from assistant.facets import Facets
from assistant.lexical import LexicalIndex

before = rss_mb()
t = time.perf_counter()
index = LexicalIndex({directory!r}, _Marker({n}))
index.sync()
facets = Facets({directory!r}, _Marker({n}))
facets.sync()
open_s = time.perf_counter() - t
t = time.perf_counter()
index._ready()
scores = [index.scores(q) for q in ["t3 t50 t700", "t1 t2 t9000 t12", "t20000 t5"]]
t1 = time.perf_counter()
filters = [dict(any_of=[["a:person17", "a:person9"]]), dict(year_from=2010, year_to=2014), dict(any_of=[["c:stat.ml"]])]
selections = []
for f in filters:
    t2 = time.perf_counter()
    index.selection(facets.select(**f))
    selections.append((time.perf_counter() - t2) * 1000)
print(json.dumps({{"open_s": open_s, "query_ms": (t1 - t) / 3 * 1000, "first_select_ms": selections[0],
                  "select_ms": sum(selections[1:]) / 2, "rss_mb": rss_mb() - before}}))
"""


def measure_open(directory: Path, n: int) -> dict[str, float]:
    import json

    code = OPEN.format(bench=str(Path(__file__).parent), root=str(ROOT), directory=str(directory), n=n)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--tokens", type=int, default=110, help="mean stemmed tokens per abstract")
    args = parser.parse_args()
    print(f"{'papers':>10}{'matrix build s':>16}{'save s':>8}{'npz MB':>8}{'facets save s':>15}{'facets MB':>11}"
          f"{'fresh open s':>14}{'query ms':>10}{'1st select ms':>15}{'select ms':>11}{'RSS MB':>8}")
    for n in args.papers:
        with tempfile.TemporaryDirectory(prefix="lexical-scale-") as tmp:
            built = build(Path(tmp), n, args.tokens)
            gc.collect()
            opened = measure_open(Path(tmp), n)
            print(f"{n:>10,}{built['build_s']:>16.1f}{built['save_s']:>8.1f}{built['disk_mb']:>8.0f}"
                  f"{built['facets_save_s']:>15.2f}{built['facets_mb']:>11.0f}"
                  f"{opened['open_s']:>14.2f}{opened['query_ms']:>10.1f}{opened['first_select_ms']:>15.1f}"
                  f"{opened['select_ms']:>11.2f}{opened['rss_mb']:>8.0f}", flush=True)
    print(f"(this process peaked at {rss_mb():.0f} MB now)")


if __name__ == "__main__":
    main()
