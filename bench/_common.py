"""Shared helpers for the bench scripts: the sciqa data, cached embeddings, timing and sizes.

Embeddings are cached by text under `bench/out/embed-cache` (or $LITASSIST_EVAL_CACHE), so only
the first run of any bench pays for embedding the sciqa corpus.
"""
from __future__ import annotations

import os
import random
import resource
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCIQA = Path(os.environ.get("LITASSIST_SCIQA", ROOT.parent / "shared" / "data" / "sciqa"))
CORPUS = SCIQA / "corpus.jsonl"
QUERIES = SCIQA / "dev_queries.jsonl"
OUT = ROOT / "bench" / "out"


FIRST_NAMES = "Amina Wei Lars Sofia Mateo Hana Oluwaseun Priya Ivan Chloe Diego Yuki Fatima Noah Elena Arjun Ines Tomasz Leila Kofi Mei Pablo Anja Rohan Sara Dmitri Nadia Emeka Lucia Kenji Astrid Omar Greta Ravi Ana Felix Zainab Hugo Ingrid Tariq".split()
SYLLABLES = "ka lo mi ra ten sho vel dor an ish ber gu na tol fen ric mas ovi zel pur hart lin sto wen".split()


def people(rng: random.Random, n: int, *, first_names: int = len(FIRST_NAMES), last_names: int = 1500) -> list[str]:
    """n distinct synthetic "First Last" names: the first `first_names` of FIRST_NAMES, and
    `last_names` made-up last names of two or three syllables."""
    lasts: set[str] = set()
    while len(lasts) < last_names:
        lasts.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize())
    last_list = sorted(lasts)
    firsts = FIRST_NAMES[:first_names]
    names: set[str] = set()
    while len(names) < n:
        names.add(f"{rng.choice(firsts)} {rng.choice(last_list)}")
    return sorted(names)


def cache_dir() -> Path:
    from assistant.settings import eval_cache_dir

    return eval_cache_dir() or OUT / "embed-cache"


def cached_embedder():
    from assistant.embed import Embedder, default_backend

    return Embedder(default_backend(), cache_dir=cache_dir())


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """(p50, p95) of a list of milliseconds."""
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0, result


def rss_mb() -> float:
    """Current resident set size (MB), from /proc when available, else the peak."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss survives fork + exec (a measuring child started
    by a large builder would report the builder's peak), so VmHWM is read where it exists."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def disk_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total / (1024.0 * 1024.0)


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain fixed-width table (floats with 4 decimals)."""
    cells = [[f"{c:.4f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    out = [line, "-" * len(line)]
    for row in cells:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join(out)
