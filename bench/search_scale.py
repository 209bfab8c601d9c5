"""Search at scale: a store of 100,000 abstracts made from the sciqa corpus, searched with and
without filters in each mode.

    python bench/search_scale.py [--papers 100000] [--queries 200] [--rebuild]
    python bench/search_scale.py --server                 # the same against a `chroma run` it starts
    python bench/search_scale.py --chroma-url http://HOST:PORT [--rebuild]

Server mode keeps the Chroma data in bench/out/scale-N-server-data (with --server) or on the given
server, and this machine's BM25 cache in bench/out/scale-N-server; the server's RSS is reported too.

Papers: each synthetic abstract is most of one real abstract's sentences followed by the second
half of another's, under the first one's title plus a few words of the other's; authors come from
a pool of 40,000 synthetic people (each on ~0.01% of papers) plus a few planted ones for filters:
"Kshitiz Malik" (0.3% of papers), other Maliks (the last name on ~1%), "José Núñez" (0.1%,
searched as "jose nunez"), and a collection owner "Jack" (0.1%). Years 1995-2025, arXiv-like
categories. Vectors are the real embeddings of the two source abstracts (0.75/0.25) plus small
Gaussian noise, normalised, so no model runs for the 100k texts. The store is written through
`Library.write_prepared`, with the same chunk ids and metadata as an ingest.

Reported: build time and write throughput (Chroma upsert, BM25 tokenising and index), store RSS
and disk size, the time to open the library (Chroma, then the BM25 index and facets loaded from
disk, never rebuilt), cold first query, and p50/p95 ms per mode and filter over the sample of dev
questions. After a build, the measurements run in a fresh process (as a user's next command
would), so its RSS and open time are not those of the process that wrote the store. Query
vectors come from the embedding cache, so latencies are retrieval only; the model's time to embed
one question is reported on its own line.

    nice -n 19 python bench/search_scale.py --server --papers 1000000 --batch 50000 --queries 100 --modes hybrid
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from _common import (
    CORPUS,
    OUT,
    QUERIES,
    cache_dir,
    cached_embedder,
    disk_mb,
    peak_rss_mb,
    people,
    percentiles,
    rss_mb,
    table,
    timed,
)

CATEGORIES = ["q-bio.GN", "q-bio.QM", "q-bio.NC", "q-bio.PE", "stat.AP", "stat.ML", "cs.LG", "cs.CL", "physics.med-ph", "q-bio.TO"]
PLANTED = [  # (name, share of papers, as partial owner?)
    ("Kshitiz Malik", 0.003, False),
    ("Amna Malik", 0.004, False),
    ("Rahul Malik", 0.003, False),
    ("José Núñez", 0.001, False),
    ("Jack", 0.001, True),
]
FILTERS = [  # label, Filters kwargs
    ("none", {}),
    ("author 'Kshitiz Malik' (0.3%)", {"author": "Kshitiz Malik"}),
    ("author 'MALIK' (1%)", {"author": "MALIK"}),
    ("author 'jose nunez' (0.1%)", {"author": "jose nunez"}),
    ("author 'Jack' owner (0.1%)", {"author": "Jack"}),
    ("years 2015-2016 (6%)", {"year_from": 2015, "year_to": 2016}),
]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]



def synthesize(n: int, seed: int = 0):
    """(papers, vectors) for n synthetic papers; vectors in `paper_chunks` order (one per paper)."""
    from assistant.papers import Paper, finalise
    from assistant.chunks import paper_chunks

    rows = [json.loads(line) for line in CORPUS.open(encoding="utf-8")]
    base_papers = [finalise(Paper(title=r["title"].strip(), abstract=r["abstract"].strip())) for r in rows]
    base_vectors = np.asarray(cached_embedder().embed([paper_chunks(p)[0].text for p in base_papers]), dtype=np.float32)
    split = [sentences(p.abstract) for p in base_papers]
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    pool = people(rng, 40_000)
    papers, pairs, seen = [], [], set()
    while len(papers) < n:
        a, b = rng.randrange(len(rows)), rng.randrange(len(rows))
        sa, sb = split[a], split[b]
        keep = max(1, (len(sa) * rng.randint(55, 85)) // 100)
        abstract = " ".join(sa[:keep] + sb[len(sb) // 2 :])
        title = f"{base_papers[a].title}: {' '.join(base_papers[b].title.split()[:4])}"
        authors = rng.sample(pool, rng.randint(1, 7))
        partial = []
        for name, share, owner in PLANTED:
            if rng.random() < share:
                if owner:
                    partial.append(name)
                else:
                    authors.insert(rng.randint(0, len(authors)), name)
        year = rng.randint(1995, 2025)
        paper = finalise(
            Paper(
                title=title,
                abstract=abstract,
                authors=authors,
                partial_authors=partial,
                date=f"{year}-{rng.randint(1, 12):02d}",
                categories=rng.sample(CATEGORIES, rng.randint(1, 2)),
            )
        )
        if paper.id in seen:
            continue
        seen.add(paper.id)
        papers.append(paper)
        pairs.append((a, b))
    index = np.asarray(pairs)
    vectors = 0.75 * base_vectors[index[:, 0]] + 0.25 * base_vectors[index[:, 1]]
    vectors += nrng.normal(0.0, 0.02, size=vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return papers, vectors


def build(directory, n: int, batch: int = 20_000, chroma_url: str | None = None) -> dict:
    from assistant.library import Library

    if directory.exists():
        shutil.rmtree(directory)
    t0 = time.perf_counter()
    papers, vectors = synthesize(n)
    t1 = time.perf_counter()
    store = Library(directory, chroma_url=chroma_url, embedder=cached_embedder())
    for start in range(0, len(papers), batch):
        # write_prepared saves the BM25 index each call; the last one is what a reader loads
        store.write_prepared(papers[start : start + batch], vectors[start : start + batch].tolist())
        print(f"  wrote {min(start + batch, len(papers)):,} papers ({time.perf_counter() - t1:.0f} s)", flush=True)
    t2 = time.perf_counter()
    return {"papers": len(papers), "generate_s": t1 - t0, "write_s": t2 - t1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the store even if it exists")
    parser.add_argument("--modes", default="hybrid,dense,bm25")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--batch", type=int, default=20_000, help="papers per write_prepared call (each saves the BM25 index)")
    parser.add_argument("--chroma-url", default=None, help="use this Chroma server instead of an embedded store")
    parser.add_argument("--same-process", action="store_true", help="measure in the process that built the store")
    parser.add_argument("--server", action="store_true", help="start a `chroma run` (data in bench/out) and use it")
    args = parser.parse_args()
    if args.server or args.chroma_url:
        with _server(args) as (url, server_pid):
            run(args, url, server_pid)
    else:
        run(args, None, None)


@contextmanager
def _server(args):
    """The Chroma server to bench against: the given URL, or a `chroma run` started here."""
    if args.chroma_url:
        yield args.chroma_url, None
        return
    import socket

    import httpx

    data = OUT / f"scale-{args.papers}-server-data"
    data.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(data.parent / f"scale-{args.papers}-server.log", "wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "chroma"), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"chroma run did not start (see {log.name})")
            time.sleep(0.3)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _server_rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _server_papers(url: str, rebuild: bool, wanted: int) -> bool:
    """Whether the server already holds the bench store; with `rebuild`, empty it first."""
    import chromadb
    from chromadb.config import Settings

    from assistant.library.connection import COLLECTION, META_COLLECTION

    parsed = urlparse(url)
    client = chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000, settings=Settings(anonymized_telemetry=False))
    names = {getattr(c, "name", c) for c in client.list_collections()}
    count = client.get_collection(COLLECTION).count() if COLLECTION in names else 0
    if count == wanted and not rebuild:
        return True
    if count and not rebuild:
        raise SystemExit(f"{url} holds {count:,} chunks, not the {wanted:,} of this bench; pass --rebuild to replace them")
    for name in (COLLECTION, META_COLLECTION):
        if name in names:
            client.delete_collection(name)
    return False


def _measure_in_fresh_process(args, chroma_url: str | None, server_pid: int | None) -> None:
    argv = [sys.executable, __file__, "--papers", str(args.papers), "--queries", str(args.queries),
            "--modes", args.modes, "-k", str(args.k)]
    if chroma_url:
        argv += ["--chroma-url", chroma_url]
    env = dict(os.environ, LITASSIST_BENCH_SERVER_PID=str(server_pid or ""))
    print("measuring in a fresh process ...", flush=True)
    subprocess.run(argv, check=True, env=env)


def _open_library(directory: Path, chroma_url: str | None):
    """(ms to open the Library, ms to load its BM25 index and facets, whether that rebuilt them)."""
    from assistant.library import Library

    def saved_files() -> dict[Path, int]:  # a server's cache is in servers/collection-<id>/bm25
        return {path: path.stat().st_mtime_ns for path in [*directory.glob("bm25/*.npz"), *directory.glob("servers/*/bm25/*.npz")]}

    before = saved_files()
    t_open, store = timed(Library, directory, chroma_url=chroma_url)  # with the embedder the store records
    t_index, _ = timed(lambda: (store.lexical.sync(), store.facets.sync()))
    ours = store.connection.local_dir / "bm25"
    rebuilt = any(before.get(path) != mtime for path, mtime in saved_files().items() if path.parent == ours) or not before
    return store, t_open, t_index, rebuilt


def run(args, chroma_url: str | None, server_pid: int | None) -> None:
    from assistant.embed import Embedder
    from assistant.retrieve import Filters, search, select

    directory = OUT / (f"scale-{args.papers}-server" if chroma_url else f"scale-{args.papers}")
    marker = directory / "built.json"
    present = _server_papers(chroma_url, args.rebuild, args.papers) if chroma_url else not args.rebuild
    if not present or not marker.exists():
        where = f"{chroma_url} (BM25 cache in {directory})" if chroma_url else str(directory)
        print(f"building a store of {args.papers:,} papers in {where} ...", flush=True)
        built = build(directory, args.papers, batch=args.batch, chroma_url=chroma_url)
        marker.write_text(json.dumps(built))
        if not args.same_process:
            _measure_in_fresh_process(args, chroma_url, server_pid)
            return
    built = json.loads(marker.read_text())
    server_pid = server_pid or int(os.environ.get("LITASSIST_BENCH_SERVER_PID") or 0) or None

    gc.collect()
    rss_before = rss_mb()
    store, t_open, t_index, rebuilt = _open_library(directory, chroma_url)
    embedder = store.connection.embedder = Embedder(store.embedder.backend, cache_dir=cache_dir())
    questions = [json.loads(line)["query"] for line in QUERIES.open(encoding="utf-8")]
    questions = random.Random(1).sample(questions, min(args.queries, len(questions)))
    embedder.embed(questions)  # from the cache: latencies below exclude the model
    t_cold, _ = timed(search, store, questions[0], k=args.k, mode="hybrid")
    t_cold_filtered, _ = timed(search, store, questions[1], k=args.k, mode="hybrid", filters=Filters(author="Malik"))

    rows = []
    for mode in args.modes.split(","):
        for label, kwargs in FILTERS:
            filters = Filters(**kwargs) if kwargs else None
            samples, returned = [], []
            for q in questions:
                ms, hits = timed(search, store, q, k=args.k, mode=mode, filters=filters)
                samples.append(ms)
                returned.append(len(hits))
            p50, p95 = percentiles(samples)
            rows.append([mode, label, f"{p50:.1f}", f"{p95:.1f}", f"{min(returned)}-{max(returned)}"])
            print(f"  {mode:<7} {label:<32} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms", flush=True)
    rss_after = rss_mb()
    allowed = {label: select(store, Filters(**kw)).n_papers for label, kw in FILTERS if kw}

    from assistant.embed import default_backend

    embed_ms = {}
    for backend in dict.fromkeys([store.embedder.backend, default_backend()]):
        model = Embedder(backend)
        model.embed_one("warm up")
        embed_ms[model.name] = [timed(model.embed_one, q)[0] for q in questions[:50]]

    print()
    print(f"store: {built['papers']:,} papers; generated in {built['generate_s']:.1f} s, written (Chroma + BM25) in "
          f"{built['write_s']:.1f} s = {built['papers'] / built['write_s']:.0f} papers/s with precomputed vectors")
    if chroma_url:
        data = OUT / f"scale-{args.papers}-server-data"
        server_rss = _server_rss_mb(server_pid)
        print(f"server: {chroma_url}" + (f"; data {disk_mb(data):.0f} MB; server RSS {server_rss:.0f} MB" if server_pid else ""))
        print(f"local BM25 cache: {disk_mb(directory):.0f} MB in {directory}")
    else:
        print(f"disk: {disk_mb(directory):.0f} MB (chroma {disk_mb(directory / 'chroma'):.0f} MB, bm25 {disk_mb(directory / 'bm25'):.0f} MB)")
    print(f"open library in a fresh process: Library {t_open:.0f} ms, BM25 index + facets {t_index:.0f} ms "
          f"({'REBUILT from Chroma' if rebuilt else 'loaded from disk'})")
    print(f"open store: {t_open:.0f} ms; first hybrid query (loads BM25 index) {t_cold:.0f} ms; first filtered {t_cold_filtered:.0f} ms")
    print(f"RSS: {rss_before:.0f} MB before opening, {rss_after:.0f} MB after the searches (peak {peak_rss_mb():.0f} MB)")
    if server_pid:
        print(f"server RSS after the searches: {_server_rss_mb(server_pid):.0f} MB")
    print("papers per filter: " + ", ".join(f"{label}: {n}" for label, n in allowed.items()))
    for name, samples in embed_ms.items():
        p50, p95 = percentiles(samples)
        print(f"embedding one question ({name}): p50 {p50:.1f} ms, p95 {p95:.1f} ms (not included below)")
    print(f"search latency over {len(questions)} dev questions, k={args.k}:")
    print(table(["mode", "filter", "p50 ms", "p95 ms", "hits"], rows))


if __name__ == "__main__":
    main()
