"""Ingest at scale: 10,000 abstracts through `litassist ingest`'s path (parse, merge, embed,
Chroma, BM25) with the real default embedder, against the raw embedder on the same texts.

    python bench/ingest_scale.py [--papers 10000] [--backend onnx-int8] [--chroma-url URL | --server]
    python bench/ingest_scale.py --fake-model --papers 20000      # the write path alone, profiled

Papers are made by recombining sentences of the sciqa corpus and the arXiv metadata sample (each
abstract: 4-7 sentences from different sources; titles from title words; authors from the pool
bench/search_scale.py uses), written as one arXiv-style JSONL file and ingested as a user would.

Reported: ingest papers/s against the raw embedder's papers/s (the raw rate is measured on a
sample before and after the ingest, and the mean taken, because a shared machine's speed drifts);
the share of the ingest's wall time spent inside the embedder; CPU seconds per 1,000 papers for
both; peak RSS; the store's size on disk. `--fake-model` swaps in a hashing stand-in for the
model, so what remains is the store's own overhead, with a cProfile summary.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from _common import CORPUS, OUT, ROOT, disk_mb, peak_rss_mb

ARXIV_SAMPLE = ROOT.parent / "shared" / "data" / "arxiv-metadata-sample.jsonl"


# ---- papers -------------------------------------------------------------------------------------

def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if 30 <= len(s.strip()) <= 400]


def generate(path: Path, n: int, seed: int = 0) -> int:
    """Write n distinct arXiv-style JSONL records to `path`; returns n."""
    from _common import people
    from search_scale import CATEGORIES

    pool: list[str] = []
    titles: list[str] = []
    for source in (CORPUS, ARXIV_SAMPLE):
        if source.exists():
            for line in source.open(encoding="utf-8"):
                row = json.loads(line)
                pool += _sentences(row.get("abstract") or "")
                titles.append(" ".join((row.get("title") or "").split()))
    rng = random.Random(seed)
    authors = people(rng, 20_000)
    title_words = [w for t in titles for w in t.split() if len(w) > 3]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            year = rng.randint(2008, 2025)
            record = {
                "id": f"{year % 100:02d}{rng.randint(1, 12):02d}.{i:05d}",
                "submitter": "Bench",
                "authors": ", ".join(rng.sample(authors, rng.randint(1, 6))),
                "title": " ".join(rng.sample(title_words, rng.randint(5, 11))).capitalize() + f" ({i})",
                "abstract": " ".join(rng.sample(pool, rng.randint(4, 7))),
                "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 2))),
                "update_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            }
            handle.write(json.dumps(record) + "\n")
    return n


# ---- helpers ------------------------------------------------------------------------------------

class FakeModel:
    """The hashing stand-in (no model): isolates the write path's own cost."""

    def encode(self, texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, **_):
        import zlib

        import numpy as np

        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % 384] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system


@contextmanager
def chroma_server(path: Path):
    """A `chroma run` on a free 127.0.0.1 port for the duration."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    chroma = Path(sys.executable).parent / "chroma"
    log = open(path.parent / "chroma.log", "wb")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("chroma run did not start")
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def process_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


# ---- the bench ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--backend", default=None, help="embedder backend (default: the default one)")
    parser.add_argument("--raw-sample", type=int, default=1000, help="texts timed for the raw rate, before and after")
    parser.add_argument("--chroma-url", default=None, help="ingest into this Chroma server")
    parser.add_argument("--server", action="store_true", help="start a `chroma run` for the ingest")
    parser.add_argument("--fake-model", action="store_true", help="hashing stand-in for the model; profile the rest")
    parser.add_argument("--keep", action="store_true", help="keep the store in bench/out/ingest-scale")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from assistant.embed import Embedder, default_backend
    from assistant.ingest import parse_file
    from assistant.library import ingest_paths
    from assistant.papers import merge_all
    from assistant.chunks import paper_chunks
    from assistant.library import Library

    work = Path(tempfile.mkdtemp(prefix="litassist-ingest-scale-", dir=OUT if args.keep else None))
    try:
        source = work / "papers.jsonl"
        t0 = time.perf_counter()
        generate(source, args.papers)
        papers = merge_all(parse_file(source).papers)
        texts = [c.text for p in papers for c in paper_chunks(p)]
        print(f"{len(papers):,} papers ({len(texts):,} chunks) generated in {time.perf_counter() - t0:.1f} s", flush=True)

        embedder = Embedder(args.backend or default_backend())
        if args.fake_model:
            embedder._model = FakeModel()
        embedder.embed(texts[:32])  # load (and warm) the model: neither figure pays for that
        sample = random.Random(1).sample(texts, min(args.raw_sample, len(texts)))

        def raw_rate() -> tuple[float, float]:
            wall, cpu = time.perf_counter(), cpu_s()
            embedder.embed(sample)
            return len(sample) / (time.perf_counter() - wall), (cpu_s() - cpu) / len(sample) * 1000

        before = raw_rate()
        print(f"raw embedder ({embedder.name}): {before[0]:.1f} texts/s", flush=True)

        inside = {"s": 0.0}
        real_embed = embedder.embed

        def timed_embed(*a, **kw):
            start = time.perf_counter()
            try:
                return real_embed(*a, **kw)
            finally:
                inside["s"] += time.perf_counter() - start

        embedder.embed = timed_embed  # type: ignore[method-assign]

        server = None
        url = args.chroma_url
        if args.server:
            server = chroma_server(work / "chroma-server")
            url, server_pid = server.__enter__()
        try:
            store = Library(work / "store", chroma_url=url, embedder=embedder, on_wait=print)
            profile = None
            if args.fake_model:
                import cProfile

                profile = cProfile.Profile()
                profile.enable()
            wall, cpu = time.perf_counter(), cpu_s()
            last = {"t": wall}

            def progress(done: int, total: int) -> None:
                if time.perf_counter() - last["t"] > 30 or done == total:
                    last["t"] = time.perf_counter()
                    print(f"  ingested {done:,}/{total:,} ({done / (last['t'] - wall):.1f} papers/s)", flush=True)

            report = ingest_paths(store, [source], on_progress=progress)
            ingest_s = time.perf_counter() - wall
            ingest_cpu = (cpu_s() - cpu) / len(papers) * 1000
            if profile is not None:
                import pstats

                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
            assert report.added == len(papers), report.to_json()
            server_rss = process_rss_mb(server_pid) if server else None
            size = disk_mb(work / "chroma-server") if server else disk_mb(work / "store")
            local_size = disk_mb(work / "store")
        finally:
            if server:
                server.__exit__(None, None, None)
        embedder.embed = real_embed  # type: ignore[method-assign]
        after = raw_rate()
        raw = (before[0] + after[0]) / 2
        raw_cpu = (before[1] + after[1]) / 2
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    rate = len(papers) / ingest_s
    result = {
        "papers": len(papers),
        "chunks": len(texts),
        "embedder": embedder.name + (" (fake)" if args.fake_model else ""),
        "mode": f"server {url}" if url else "embedded",
        "raw_texts_per_s": [round(before[0], 2), round(after[0], 2)],
        "ingest_papers_per_s": round(rate, 2),
        "ingest_over_raw": round(rate / raw, 3),
        "share_in_embedder": round(inside["s"] / ingest_s, 3),
        "cpu_ms_per_paper": {"raw": round(raw_cpu, 1), "ingest": round(ingest_cpu, 1)},
        "ingest_s": round(ingest_s, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "server_peak_rss_mb": round(server_rss) if server_rss else None,
        "store_mb": round(size, 1),
        "local_mb": round(local_size, 1),
    }
    print()
    print(f"papers: {len(papers):,} ({len(texts):,} chunks), embedder {result['embedder']}, {result['mode']}")
    print(f"raw embedder: {raw:.1f} texts/s (before {before[0]:.1f}, after {after[0]:.1f}); "
          f"{raw_cpu:.0f} CPU ms per text")
    print(f"ingest:       {rate:.1f} papers/s = {100 * rate / raw:.0f}% of raw; {100 * inside['s'] / ingest_s:.0f}% of "
          f"its {ingest_s:.0f} s inside the embedder; {ingest_cpu:.0f} CPU ms per paper")
    print(f"peak RSS {result['peak_rss_mb']} MB" + (f" (server {result['server_peak_rss_mb']} MB)" if server_rss else "")
          + f"; store on disk {size:.1f} MB" + (f" (+ {local_size:.1f} MB local BM25 cache)" if url else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
