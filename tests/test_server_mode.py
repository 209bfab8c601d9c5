"""Server mode: a real `chroma run` on 127.0.0.1 (free port, killed after each test), the CLI with
--chroma-url, a clear error when the server is down, other processes' writes noticed by BM25, and
several processes ingesting and querying at once."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import SEEDS, SHARED

CHROMA = Path(sys.executable).parent / "chroma"
SCIQA = SHARED / "data" / "sciqa" / "corpus.jsonl"


# ---- generated papers (shared with test_crash_safety) ------------------------------------------

def _sentence_pool() -> list[str]:
    sentences: list[str] = []
    if SCIQA.exists():
        with SCIQA.open(encoding="utf-8") as handle:
            for line in handle:
                abstract = json.loads(line).get("abstract") or ""
                sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", abstract) if 40 <= len(s.strip()) <= 300]
    if len(sentences) < 200:  # no shared data: plain but distinct word salad
        rng = random.Random(0)
        words = "model data network learning protein cell signal method result effect study sample".split()
        sentences = [" ".join(rng.choice(words) for _ in range(14)).capitalize() + "." for _ in range(2000)]
    return sentences


def write_generated(path: Path, n: int, *, series: int, seed: int = 0) -> list[str]:
    """An arXiv-style JSONL file of `n` distinct papers (ids 2601.<series>NNNN); returns the ids."""
    assert 1 <= series <= 9 and n <= 9999
    rng = random.Random(seed * 100 + series)
    pool = _sentence_pool()
    ids = []
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            arxiv_id = f"2601.{series}{i:04d}"
            ids.append(arxiv_id)
            abstract = " ".join(rng.sample(pool, 4)) + f" (Generated study {series}-{i}.)"
            record = {
                "id": arxiv_id,
                "submitter": "Test Writer",
                "authors": f"Ada Writer{series}, Bo Tester{i % 17}",
                "title": f"Generated study {series}-{i}: " + " ".join(rng.sample(pool, 1)[0].split()[:8]),
                "abstract": abstract,
                "categories": "cs.LG",
                "update_date": "2026-01-15",
            }
            handle.write(json.dumps(record) + "\n")
    return ids


# ---- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_server(path: Path, port: int | None = None) -> Iterator[str]:
    """`chroma run` on 127.0.0.1; yields its URL once the heartbeat answers; killed afterwards."""
    import httpx

    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = (path.parent / f"chroma-{port}.log").open("wb")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited {proc.returncode}: {(path.parent / f'chroma-{port}.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma run did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@pytest.fixture
def chroma_url(tmp_path) -> Iterator[str]:
    with chroma_server(tmp_path / "chroma-data") as url:
        yield url


@pytest.fixture
def run(capsys):
    """The CLI's `main` in this process (the model stays loaded between calls)."""
    from assistant.cli import main

    def invoke(*args: str, check: bool = True):
        code = main(list(args))
        out = capsys.readouterr()
        if check and code != 0:
            raise AssertionError(f"exit {code}\nstdout:{out.out}\nstderr:{out.err}")
        return code, out.out, out.err

    return invoke


# ---- tests --------------------------------------------------------------------------------------

def test_cli_round_trip_against_server(chroma_url, tmp_path, run):
    store = tmp_path / "local"
    common = ["--store", str(store), "--chroma-url", chroma_url]
    _, out, _ = run("ingest", *common, str(SEEDS / "001_a072e7ae9e50c6f2.txt"), "--json")
    added = json.loads(out)["added"]
    assert added >= 5
    _, out, _ = run("search", *common, "Llama 3 herd of models", "--json", "-k", "3")
    top = json.loads(out)[0]
    assert "Llama 3 Herd" in top["title"]
    llama = top["id"]
    _, out, _ = run("search", *common, "Llama 3 herd of models", "--json", "-k", "3", "--mode", "bm25")
    assert json.loads(out)[0]["id"] == llama
    _, out, _ = run("show", *common, llama)
    assert "The Llama 3 Herd of Models" in out
    _, out, _ = run("remove", *common, llama, "--json")
    assert json.loads(out) == {"removed": [llama], "detached": []}
    code, _, err = run("show", *common, llama, check=False)
    assert code != 0 and llama in err
    _, out, _ = run("search", *common, "Llama 3 herd of models", "--json", "-k", "25")
    assert llama not in {h["id"] for h in json.loads(out)}
    _, out, _ = run("stats", *common, "--json")
    stats = json.loads(out)
    assert stats["papers"] == added - 1 and chroma_url in stats["store"]
    # nothing embedded locally: only the BM25 cache, keyed by the server URL
    assert not (store / "chroma").exists()
    (cache,) = (store / "servers").iterdir()  # named by the server's collection, not its address
    assert cache.name.startswith("collection-") and (cache / "bm25" / "index.npz").exists()
    # the environment variable works like the option
    os.environ["LITASSIST_CHROMA_URL"] = chroma_url
    try:
        _, out, _ = run("stats", "--store", str(store), "--json")
        assert json.loads(out)["papers"] == added - 1
    finally:
        del os.environ["LITASSIST_CHROMA_URL"]
    # the file forgotten: every paper read from it goes, from Chroma and the BM25 cache
    _, out, _ = run("remove", *common, "--file", str(SEEDS / "001_a072e7ae9e50c6f2.txt"), "--json")
    assert len(json.loads(out)["removed"]) == added - 1
    _, out, _ = run("search", *common, "federated learning", "--json", "--mode", "bm25")
    assert json.loads(out) == []


def test_server_down_is_a_clear_store_error(tmp_path, run, embedder):
    from assistant.errors import StoreError
    from assistant.library import Library

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError) as caught:
        Library(tmp_path / "local", chroma_url=url, embedder=embedder)
    assert url in str(caught.value) and "chroma run" in str(caught.value)
    code, out, err = run("search", "--store", str(tmp_path / "local"), "--chroma-url", url, "anything", check=False)
    assert code != 0 and url in err and "Traceback" not in err


def test_server_going_away_mid_session(tmp_path, embedder):
    from assistant.errors import StoreError
    from assistant.library import ingest_paths
    from assistant.library import Library

    port = free_port()
    with chroma_server(tmp_path / "data", port) as url:
        store = Library(tmp_path / "local", chroma_url=url, embedder=embedder)
    papers = tmp_path / "p.jsonl"
    write_generated(papers, 3, series=1)
    with pytest.raises(StoreError) as caught:
        ingest_paths(store, [papers])
    assert url in str(caught.value)


def test_bm25_notices_other_writers_even_at_equal_count(chroma_url, tmp_path, embedder):
    """Process A's cached BM25 must see B's changes; B removes one paper and adds another, so the
    chunk count is unchanged and only the change marker tells."""
    from assistant.library import ingest_paths
    from assistant.library import Library

    first = tmp_path / "first.jsonl"
    ids = write_generated(first, 5, series=2)
    a = Library(tmp_path / "a", chroma_url=chroma_url, embedder=embedder)
    ingest_paths(a, [first])
    assert a.lexical.search("generated study", 10)  # A's BM25 is loaded and cached
    b = Library(tmp_path / "b", chroma_url=chroma_url, embedder=embedder)
    b.remove([ids[0]])
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({
        "id": "2601.99999", "submitter": "X", "authors": "Zed Quux", "update_date": "2026-01-02",
        "title": "Xylophone acoustics of quokka burrows", "categories": "physics.pop-ph",
        "abstract": "We record xylophone tones inside quokka burrows and find the burrows resonate at "
                    "frequencies set by their length, which the animals appear to prefer.",
    }) + "\n")
    ingest_paths(b, [extra])
    assert a.count_chunks() == 5
    hits = a.lexical.search("xylophone quokka", 5)
    assert hits and hits[0][0].startswith("2601.99999")
    assert all(not cid.startswith(ids[0]) for cid, _ in a.lexical.search("generated study", 10))
    assert a.check() == [] and b.check() == []


# Subprocesses run the real CLI and store with a stand-in embedding model (hashed bag of words):
# these tests are about processes and Chroma, and five real models on two cores take minutes.
FAST_MODEL = r"""
import os, sys, time, zlib
import numpy as np
import assistant.embed as embed

class FastModel:
    def encode(self, texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, **_):
        out = np.zeros((len(texts), embed.DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % embed.DIMENSION] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        time.sleep(float(os.environ.get("FAST_MODEL_DELAY", "0")) * len(texts))
        return out

embed.load_model = lambda backend: FastModel()
"""

FAST_CLI = FAST_MODEL + "from assistant.cli import main\nsys.exit(main(sys.argv[1:]))\n"

QUERY_LOOP = FAST_MODEL + r"""
import json
from assistant.library import Library
from assistant.retrieve import search
store = Library(sys.argv[1], chroma_url=sys.argv[2])
done, deadline = 0, time.monotonic() + float(sys.argv[3])
queries = ["generated study", "protein folding", "neural network training", "cell signalling"]
while done < 60 and time.monotonic() < deadline:
    hits = search(store, queries[done % len(queries)], k=5, mode="hybrid")
    assert all(h.paper.id for h in hits)
    done += 1
print(json.dumps({"queries": done, "papers": store.count()}))
"""


def fast_cli(*args: str, env: dict, **kwargs) -> subprocess.Popen:
    """`litassist ARGS` in a new process, with the stand-in model."""
    return subprocess.Popen([sys.executable, "-c", FAST_CLI, *args], env=env, text=True, **kwargs)


def test_concurrent_ingest_and_queries(chroma_url, tmp_path, embedder):
    """3 processes ingest different files while 2 query in a loop: no errors, no lost papers."""
    from assistant.library import Library

    env = {**os.environ, "LITASSIST_CHROMA_URL": chroma_url, "FAST_MODEL_DELAY": "0.002"}
    env.pop("LITASSIST_EMBEDDER", None)
    local = tmp_path / "local"
    expected: set[str] = set()
    paths = []
    for series in (3, 4, 5):
        paths.append(tmp_path / f"batch{series}.jsonl")
        expected |= set(write_generated(paths[-1], 300, series=series))
    procs: list[subprocess.Popen] = []
    try:
        queries = [
            subprocess.Popen([sys.executable, "-c", QUERY_LOOP, str(local), chroma_url, "45"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for _ in range(2)
        ]
        procs += queries
        ingests = [
            fast_cli("ingest", "--store", str(local), str(path), "--json",
                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for path in paths
        ]
        procs += ingests
        for proc in ingests:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            assert json.loads(out)["added"] == 300, out
        seen = []
        for proc in queries:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            result = json.loads(out.strip().splitlines()[-1])
            assert result["queries"] >= 1
            seen.append(result["papers"])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    store = Library(local, chroma_url=chroma_url)
    stored = [p.id for p in store.papers()]
    assert len(stored) == len(set(stored)) == 900
    assert set(stored) == expected
    assert store.check() == []


def test_transient_chroma_errors_are_retried(tmp_path, embedder):
    """Chroma 1.5 answers a query that meets an index being flushed by a concurrent write with
    "Error creating hnsw segment reader"; the store retries it. Other errors pass through."""
    from chromadb.errors import InternalError

    from assistant.library import Library

    store = Library(tmp_path / "s", embedder=embedder)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise InternalError("Error executing plan: Internal error: Error creating hnsw segment reader: Nothing found on disk")
        return "answer"

    assert store.chroma.call(flaky) == "answer" and len(calls) == 3

    def broken():
        calls.append(1)
        raise InternalError("Error executing plan: Internal error: Error finding id")

    calls.clear()
    with pytest.raises(InternalError):
        store.chroma.call(broken)
    assert len(calls) == 1
