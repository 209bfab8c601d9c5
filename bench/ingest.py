"""Ingest throughput: papers/s through `litassist ingest`'s path (parse, merge, embed, Chroma,
BM25) on the sciqa corpus, against the raw embedder's papers/s on the same texts.

    python bench/ingest.py [--limit N] [--backend torch|onnx|onnx-int8]

No embedding cache: both figures include the model. The raw figure runs first (it also loads the
model, so neither pays for loading it).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import CORPUS, disk_mb, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(CORPUS))
    parser.add_argument("--limit", type=int, default=None, help="only the first N papers")
    parser.add_argument("--backend", default=None, help="embedder backend (default: the configured one)")
    args = parser.parse_args()

    from assistant.embed import Embedder, default_backend
    from assistant.ingest import parse_file
    from assistant.library import ingest_paths
    from assistant.papers import merge_all
    from assistant.chunks import paper_chunks
    from assistant.library import Library

    lines = Path(args.corpus).read_text(encoding="utf-8").splitlines()[: args.limit]
    with tempfile.TemporaryDirectory(prefix="litassist-ingest-") as tmp:
        source = Path(tmp) / "corpus.jsonl"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        papers = merge_all(parse_file(source).papers)
        texts = [c.text for p in papers for c in paper_chunks(p)]
        embedder = Embedder(args.backend or default_backend())
        embedder.embed(texts[:8])  # load the model
        start = time.perf_counter()
        embedder.embed(texts)
        raw_s = time.perf_counter() - start

        store = Library(Path(tmp) / "store", embedder=embedder)
        start = time.perf_counter()
        report = ingest_paths(store, [source])
        ingest_s = time.perf_counter() - start
        size = disk_mb(Path(tmp) / "store")

    n = len(papers)
    print(f"corpus: {n} papers ({len(texts)} chunks) from {args.corpus}; embedder {embedder.name}")
    print(f"raw embedder:  {n / raw_s:7.1f} papers/s  ({raw_s:.1f} s)")
    print(f"ingest:        {n / ingest_s:7.1f} papers/s  ({ingest_s:.1f} s; added {report.added}, "
          f"overhead {100 * (ingest_s - raw_s) / raw_s:.0f}% over embedding alone)")
    print(f"store on disk: {size:.1f} MB; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
