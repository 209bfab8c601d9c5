"""Embedder backends compared: throughput (abstracts/s) and sciqa dev dense MRR@10.

For each backend (torch fp32, onnx fp32, onnx int8) this embeds the sciqa corpus (each paper's
chunk 0, title + abstract, exactly as the store embeds it) and the dev queries, ranks the corpus
for each query by cosine (numpy; no store involved) and scores MRR@10 and recall@10. Corpus texts
are embedded in batches, as an ingest does, and each question on its own, as search does; the
cosine of each corpus vector to torch's (mean and min) shows what quantization costs.

Throughput is timed with the raw model over the first `--timed` corpus texts, with the same batch
size and thread count for every backend, after one warm-up batch; CPU ms per abstract (process CPU time, all threads) is reported
too, as it moves much less than wall time when other jobs share the cores. The machine may be shared, so
the backends are timed in interleaved rounds and the best round is reported (median beside it).
Quality vectors go through the embedding cache (`--cache`, keyed by text and embedder name), so a
re-run only times.

    python bench/embedders.py                       # all three backends, 3 rounds, 2 threads
    python bench/embedders.py --backends torch onnx-int8 --rounds 1 --limit 200
    python bench/embedders.py --json bench/out/embedders.json
    python bench/embedders.py --backends onnx onnx-int8 --rounds 1 --vs-sentence-transformers --cache ''

`--vs-sentence-transformers` also runs each ONNX export through sentence-transformers' own ONNX
backend (what litassist used before its runtime dropped torch) and prints the cosine of our
vectors to it, corpus (batched) and questions (one by one), and both MRR@10s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "sciqa"
BACKENDS = ("torch", "onnx", "onnx-int8")


def load_texts(corpus_path: Path, queries_path: Path, limit: int | None):
    from assistant.evaluate import corpus_papers, read_jsonl
    from assistant.chunks import paper_chunks

    rows = read_jsonl(corpus_path, ("id",))
    queries = read_jsonl(queries_path, ("query", "relevant"))
    if limit:
        queries = queries[:limit]
    papers = corpus_papers(rows)
    corpus_ids = [str(r["id"]) for r in rows]
    corpus_texts = [paper_chunks(p)[0].text for p in papers]
    return corpus_ids, corpus_texts, queries


def make_model(backend: str, threads: int):
    """The raw sentence-transformers model for a backend, pinned to `threads` threads."""
    if backend == "torch":
        import torch
        from sentence_transformers import SentenceTransformer

        from assistant.embed import model_path

        torch.set_num_threads(threads)
        return SentenceTransformer(model_path(), device="cpu")
    from assistant import embed_onnx

    return embed_onnx.load(backend, threads=threads)


def sentence_transformers_onnx(backend: str, threads: int):
    """The same export run by sentence-transformers' ONNX backend (the reference for our runtime)."""
    from sentence_transformers import SentenceTransformer

    from assistant.embed_export import ensure_exported, model_file
    from assistant.embed_onnx import session_options

    directory = ensure_exported(backend)
    return SentenceTransformer(str(directory), device="cpu", backend="onnx", model_kwargs={
        "file_name": model_file(directory), "provider": "CPUExecutionProvider", "session_options": session_options(threads)})


def compare_to_sentence_transformers(backends, threads, corpus_ids, corpus_texts, queries, batch_size) -> None:
    import numpy as np

    from assistant.embed import Embedder

    query_texts = [q["query"].strip() for q in queries]
    for backend in backends:
        if backend == "torch":
            continue
        vectors = {}
        for label, model in (("ours", make_model(backend, threads)), ("sentence-transformers", sentence_transformers_onnx(backend, threads))):
            embedder = Embedder(backend)
            embedder._model = model
            corpus = np.asarray(embedder.embed(corpus_texts, batch_size=batch_size), dtype=np.float32)
            asked = np.asarray([embedder.embed([q])[0] for q in query_texts], dtype=np.float32)
            vectors[label] = (corpus, asked, dense_scores(corpus_ids, corpus, queries, asked)["mrr@10"])
        (c1, q1, m1), (c2, q2, m2) = vectors["ours"], vectors["sentence-transformers"]
        cos_c, cos_q = (c1 * c2).sum(axis=1), (q1 * q2).sum(axis=1)
        print(f"{backend}: ours vs sentence-transformers ONNX: corpus cosine min {cos_c.min():.6f} mean {cos_c.mean():.6f}; "
              f"questions min {cos_q.min():.6f} mean {cos_q.mean():.6f}; dense MRR@10 {m1:.4f} vs {m2:.4f}")


def encode(model, texts: list[str], batch_size: int):
    import numpy as np

    out = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def dense_scores(corpus_ids, corpus_vecs, queries, query_vecs) -> dict[str, float]:
    import numpy as np

    from assistant.evaluate import score_ranking

    sims = query_vecs @ corpus_vecs.T
    top = np.argsort(-sims, axis=1)[:, :10]
    mrr = recall = 0.0
    for q, row in zip(queries, top):
        s = score_ranking([corpus_ids[i] for i in row], {str(r) for r in q["relevant"]})
        mrr += s["mrr@10"]
        recall += s["recall@10"]
    n = len(queries)
    return {"mrr@10": mrr / n, "recall@10": recall / n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--corpus", type=Path, default=DATA / "corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "dev_queries.jsonl")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per backend (interleaved)")
    parser.add_argument("--timed", type=int, default=512, help="corpus texts per timed pass")
    parser.add_argument("--cache", type=Path, default=REPO / "bench" / "out" / "embed-cache",
                        help="embedding cache for the quality pass ('' for none)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N queries")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--vs-sentence-transformers", action="store_true",
                        help="only compare our ONNX runtime's vectors with sentence-transformers' ONNX backend")
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    corpus_ids, corpus_texts, queries = load_texts(args.corpus, args.queries, args.limit)
    query_texts = [q["query"].strip() for q in queries]
    print(f"corpus {len(corpus_texts)} abstracts, {len(queries)} dev queries, batch {args.batch_size}, "
          f"{args.threads} threads, {os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.vs_sentence_transformers:
        compare_to_sentence_transformers(args.backends, args.threads, corpus_ids, corpus_texts, queries, args.batch_size)
        return 0

    models, results = {}, {}
    for backend in args.backends:
        started = time.perf_counter()
        models[backend] = make_model(backend, args.threads)
        encode(models[backend], corpus_texts[: args.batch_size], args.batch_size)  # warm-up
        results[backend] = {"load_s": round(time.perf_counter() - started, 1), "rates": []}

    timed = corpus_texts[: args.timed]
    for round_no in range(args.rounds):
        for backend in args.backends:
            started, cpu = time.perf_counter(), sum(os.times()[:2])
            encode(models[backend], timed, args.batch_size)
            rate = len(timed) / (time.perf_counter() - started)
            cpu_ms = (sum(os.times()[:2]) - cpu) / len(timed) * 1000
            results[backend]["rates"].append(rate)
            results[backend].setdefault("cpu_ms", []).append(cpu_ms)
            print(f"round {round_no + 1}: {backend:<10} {rate:7.1f} abstracts/s, {cpu_ms:6.1f} CPU ms each "
                  f"(load avg {os.getloadavg()[0]:.1f})", file=sys.stderr)

    import numpy as np

    from assistant.embed import Embedder

    corpus_vecs = {}
    for backend in args.backends:
        embedder = Embedder(backend, cache_dir=args.cache if str(args.cache) else None)
        embedder._model = models[backend]  # the pinned-thread model loaded above
        corpus_vecs[backend] = np.asarray(embedder.embed(corpus_texts, batch_size=args.batch_size), dtype=np.float32)
        # one question at a time, as search embeds it (int8 activations are quantized per batch)
        query_vecs = np.asarray([embedder.embed([q])[0] for q in query_texts], dtype=np.float32)
        results[backend].update(dense_scores(corpus_ids, corpus_vecs[backend], queries, query_vecs))
        print(f"quality: {backend:<10} MRR@10 {results[backend]['mrr@10']:.4f}", file=sys.stderr)

    reference = corpus_vecs.get("torch")
    for backend in args.backends:
        r = results[backend]
        r["best_rate"] = max(r["rates"])
        r["median_rate"] = statistics.median(r["rates"])
        r["median_cpu_ms"] = statistics.median(r["cpu_ms"])
        if reference is not None:
            cosines = (corpus_vecs[backend] * reference).sum(axis=1)
            r["min_cos_vs_torch"], r["mean_cos_vs_torch"] = float(cosines.min()), float(cosines.mean())

    base = results.get("torch")
    header = (f"{'backend':<11}{'abstracts/s':>12}{'(median)':>10}{'speed-up':>10}{'CPU ms':>8}{'MRR@10':>9}"
              f"{'dMRR':>9}{'R@10':>8}{'mean cos':>10}{'min cos':>9}")
    print(header)
    print("-" * len(header))
    for backend in args.backends:
        r = results[backend]
        speedup = f"{r['best_rate'] / base['best_rate']:.2f}x" if base else "-"
        delta = f"{r['mrr@10'] - base['mrr@10']:+.4f}" if base else "-"
        cos = f"{r['mean_cos_vs_torch']:>10.4f}{r['min_cos_vs_torch']:>9.4f}" if "min_cos_vs_torch" in r else f"{'-':>10}{'-':>9}"
        print(f"{backend:<11}{r['best_rate']:>12.1f}{r['median_rate']:>10.1f}{speedup:>10}{r['median_cpu_ms']:>8.1f}"
              f"{r['mrr@10']:>9.4f}{delta:>9}{r['recall@10']:>8.4f}{cos}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"batch_size": args.batch_size, "threads": args.threads, "timed_texts": len(timed), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
