"""Crash safety and one-writer-at-a-time for the embedded store: an ingest killed with SIGKILL
leaves a store that opens consistent and finishes on the next ingest; a paper is whole or absent
even when its chunks need several upsert calls; `Library.check`/`repair`; a second writer waits."""
from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
import zlib

import numpy as np
import pytest

from test_server_mode import fast_cli, write_generated


class FastModel:
    """In-process stand-in for the embedding model (hashed bag of words; same as the subprocesses')."""

    def encode(self, texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, **_):
        from assistant.embed import DIMENSION

        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % DIMENSION] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return out


@pytest.fixture
def fast_embedder():
    from assistant.embed import DEFAULT_BACKEND, Embedder

    embedder = Embedder(DEFAULT_BACKEND)  # the name new stores record when nothing is configured
    embedder._model = FastModel()
    return embedder


def _env(**extra: str) -> dict:
    env = {**os.environ, **extra}
    for name in ("LITASSIST_EMBEDDER", "LITASSIST_CHROMA_URL", "LITASSIST_HOME"):
        env.pop(name, None)
    return env


def _wait_for(proc: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    """Read the process's stderr until `pattern` shows (tqdm redraws with \\r); returns what was read."""
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                break
            seen += data
            if re.search(pattern, seen.decode("utf-8", "replace")):
                return seen.decode("utf-8", "replace")
        elif proc.poll() is not None:
            break
    raise AssertionError(f"never saw {pattern!r}; stderr so far: {seen[-2000:]!r}")


def _stored_ids(store) -> list[str]:
    return [p.id for p in store.papers()]


def test_sigkilled_ingest_reopens_consistent_and_finishes(tmp_path):
    from assistant.library import Library

    papers = tmp_path / "papers.jsonl"
    expected = set(write_generated(papers, 400, series=6))
    store_dir = tmp_path / "store"
    # the stand-in model sleeps a little per text, so the second batch is still running at the kill
    proc = fast_cli("ingest", "--store", str(store_dir), str(papers),
                    env=_env(FAST_MODEL_DELAY="0.01"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # past 256/400: the first batch of 256 papers is written, the second is being embedded
        _wait_for(proc, r"\b(25[7-9]|2[6-9]\d|3\d\d)/400\b")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert (store_dir / "write.lock").read_text().startswith("litassist pid")  # the killed writer's mark

    store = Library(store_dir)  # opens; sees the interrupted write and repairs under the lock
    assert (store_dir / "write.lock").read_text() == ""
    assert store.check() == []
    partial = _stored_ids(store)
    assert 256 <= len(partial) < 400 and len(set(partial)) == len(partial)
    assert set(partial) <= expected
    assert set(store.lexical.chunk_ids()) == {f"{pid}#0" for pid in partial}
    del store

    again = fast_cli("ingest", "--store", str(store_dir), str(papers), "--json",
                     env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err
    report = json.loads(out)
    assert (report["added"], report["unchanged"], report["updated"]) == (400 - len(partial), len(partial), 0)
    store = Library(store_dir)
    final = _stored_ids(store)
    assert len(final) == len(set(final)) == 400 and set(final) == expected
    assert store.count_chunks() == 400
    assert store.check() == []


def _full_text_paper(n: int):
    from assistant.papers import Paper, finalise

    body = " ".join(f"Section {n}.{i} explains the zebra finch song model number {i} at length." for i in range(120))
    return finalise(Paper(title=f"Long paper number {n} about finch songs", abstract=f"Abstract {n}: " + "finch " * 30,
                          full_text=body, arxiv_id=f"2602.{n:05d}"))


def test_paper_bigger_than_an_upsert_is_whole_or_absent(tmp_path, fast_embedder):
    from assistant.chunks import paper_chunks
    from assistant.library import Library

    store = Library(tmp_path / "store", embedder=fast_embedder)
    papers = [_full_text_paper(n) for n in range(3)]
    n_chunks = len(paper_chunks(papers[0]))
    assert n_chunks > 6
    store.chroma.max_batch = 4  # every paper needs several upsert calls
    real_upsert = store.chroma.collection.upsert
    calls = []

    def failing_upsert(**kwargs):
        calls.append(kwargs["ids"])
        if len(calls) == 4:
            raise RuntimeError("killed mid-write")
        return real_upsert(**kwargs)

    store.chroma.collection.upsert = failing_upsert
    with pytest.raises(RuntimeError):
        store.write(papers)
    # each call holds one paper's chunks, chunk 0 (the record) in the last call of its paper
    first_paper = [cid for ids in calls[:-1] for cid in ids if cid.startswith(papers[0].id)]
    assert calls[0][0].startswith(papers[0].id) and not any(c.endswith("#0") for c in calls[0])
    assert first_paper[-1].endswith("#0") or len(first_paper) < n_chunks
    visible = {p.id for p in store.papers()}
    for paper in papers:  # a paper with a record has all its chunks
        stored = store.chroma.chunk_ids_of([paper.id])
        if paper.id in visible:
            assert len(stored) == n_chunks
    problems = store.check()
    assert any("without a record" in p for p in problems), problems
    store.chroma.collection.upsert = real_upsert
    store.repair()
    assert store.check() == []
    store.write(papers)
    assert {p.id for p in store.papers()} == {p.id for p in papers}
    assert store.count_chunks() == 3 * n_chunks
    assert store.check() == []


def test_upsert_slices_keep_papers_whole():
    from assistant.chunks import Chunk
    from assistant.library.chroma import upsert_slices

    def chunks(pid: str, n: int) -> list[Chunk]:
        return [Chunk(f"{pid}#{i}", pid, i, "t") for i in range(n)]

    by_paper = {"a": chunks("a", 3), "b": chunks("b", 2), "c": chunks("c", 9), "d": chunks("d", 1)}
    slices = upsert_slices(by_paper, 5)
    assert [[c.id for c in s] for s in slices] == [
        ["a#1", "a#2", "a#0", "b#1", "b#0"],
        ["c#1", "c#2", "c#3", "c#4", "c#5"],
        ["c#6", "c#7", "c#8", "c#0"],
        ["d#0"],
    ]


def test_check_finds_and_repair_fixes_damage(tmp_path, fast_embedder):
    from assistant.papers import Paper, finalise, merge
    from assistant.chunks import record_metadata
    from assistant.library import Library

    store_dir = tmp_path / "store"
    store = Library(store_dir, embedder=fast_embedder)
    papers = [finalise(Paper(title=f"Paper number {i} on estuary sediment", abstract=f"Sediment study {i}. " * 12,
                             arxiv_id=f"2603.{i:05d}")) for i in range(4)]
    store.write(papers)
    assert store.check() == []
    col = store.chroma.collection
    vec = [fast_embedder.embed_one("x")]
    # an orphan chunk (no record), a surplus chunk, a paper left beside its merged record
    col.add(ids=["ghost#3"], embeddings=vec, documents=["ghost"], metadatas=[{"paper_id": "ghost", "chunk": 3}])
    col.add(ids=[f"{papers[0].id}#5"], embeddings=vec, documents=["extra"], metadatas=[{"paper_id": papers[0].id, "chunk": 5}])
    old = finalise(Paper(title="An older record of paper 1", abstract="Old words. " * 12))
    merged = merge(old, papers[1])
    assert old.id in merged.aliases
    col.upsert(ids=[f"{merged.id}#0"], embeddings=vec, documents=["m"], metadatas=[record_metadata(merged, 1)])
    col.add(ids=[f"{old.id}#0"], embeddings=vec, documents=["o"], metadatas=[record_metadata(old, 1)])
    problems = store.check()
    text = "\n".join(problems)
    assert "ghost: 1 chunk(s) without a record" in text
    assert f"{papers[0].id}: 1 chunk(s) beyond" in text
    assert f"{old.id}: also stored merged into {merged.id}" in text
    assert "BM25 index out of step" in text

    # a writer "killed" with that damage: the next open repairs it under the lock
    (store_dir / "write.lock").write_text("litassist pid 999999 since then\n")
    del store
    reopened = Library(store_dir, embedder=fast_embedder)
    assert reopened.check() == []
    assert reopened.count() == 4 and old.id not in {p.id for p in reopened.papers()}


def test_writers_to_an_embedded_store_wait_their_turn(tmp_path):
    """While one process writes (here: the test holds the lock), two more ingests wait, saying
    so; released, they write one after the other and nothing is lost or duplicated."""
    import fcntl

    from assistant.library import Library

    from assistant.library.journal import LOCK_FILE

    store_dir = tmp_path / "store"
    store_dir.mkdir()
    files = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    expected = set(write_generated(files[0], 150, series=7)) | set(write_generated(files[1], 150, series=8))
    procs: list[subprocess.Popen] = []
    with open(store_dir / LOCK_FILE, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("litassist pid 12345 since now (the test)\n")
        lock.flush()
        try:
            for path in files:
                procs.append(fast_cli("ingest", "--store", str(store_dir), str(path), "--json", env=_env(),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
            for proc in procs:
                message = _wait_for(proc, r"waiting for .*--chroma-url", timeout=80)
                assert "litassist pid 12345" in message and str(store_dir) in message
                assert proc.poll() is None  # still waiting, not writing
            lock.truncate(0)  # a clean finish: nothing to repair
            lock.flush()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=80)
            assert proc.returncode == 0, err
            assert json.loads(out)["added"] == 150
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    store = Library(store_dir)
    ids = _stored_ids(store)
    assert len(ids) == len(set(ids)) == 300 and set(ids) == expected
    assert store.check() == []


def test_long_running_reader_sees_other_processes_writes(tmp_path, fast_embedder):
    """A process that keeps an embedded store open (the web UI) finds papers another process
    ingested afterwards, by vector and by BM25, without restarting."""
    from assistant.library import Library

    store_dir = tmp_path / "store"
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    write_generated(first, 30, series=1)
    later = write_generated(second, 30, series=2)
    done = fast_cli("ingest", "--store", str(store_dir), str(first), "--json", env=_env(),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert done.wait(timeout=90) == 0, done.stderr.read()
    done.stdout.close()
    done.stderr.close()
    reader = Library(store_dir, embedder=fast_embedder)
    assert reader.dense_query(fast_embedder.embed_one("anything at all"), 5)  # its vector index is loaded
    assert reader.lexical.search("generated study", 5)

    other = fast_cli("ingest", "--store", str(store_dir), str(second), "--json", env=_env(),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = other.communicate(timeout=90)
    assert other.returncode == 0, err

    target = reader.get(later[7])  # records come from Chroma's tables: visible at once
    text = f"{target.title}\n{target.abstract}"
    hits = reader.dense_query(fast_embedder.embed_one(text), 3)
    assert hits[0].paper_id == later[7]
    lexical = reader.lexical.search(f"Generated study 2-7 {target.title}", 3)
    assert lexical[0][0] == f"{later[7]}#0"
    assert reader.count() == 60 and reader.check() == []


def test_reingest_finds_records_by_key_id_and_alias(tmp_path, fast_embedder):
    """Duplicates are found by merge key (indexed key fields), by id, and by an id a merged record
    absorbed as an alias."""
    from assistant.papers import Paper, finalise, merge_keys
    from assistant.library import Library

    store = Library(tmp_path / "s", embedder=fast_embedder)
    short = "Mangrove roots trap sediment and raise the soil surface as the sea rises around them. " * 2
    bare = finalise(Paper(abstract=short))
    listing = finalise(Paper(title="Mangroves keep pace with the sea", abstract=short, arxiv_id="2605.00001"))
    longer = finalise(Paper(title="Mangroves keep pace with the sea", arxiv_id="2605.00001",
                            abstract=short + "We measured it at forty sites over nine years in three countries."))
    assert store.write([bare]).added == [bare.id]
    assert store.write([listing]).updated == ["2605.00001"]
    store.write([longer])
    (merged,) = store.papers()
    assert merged.id == "2605.00001" and bare.id in merged.aliases
    report = store.write([finalise(Paper(abstract=short))])  # the bare file again
    assert report.unchanged == ["2605.00001"] and not report.added, report
    assert store.count() == 1 and store.check() == []
    if not merged.abstract.startswith(short) or merged.abstract == short:
        return
    # the merged record kept the longer abstract, so only the alias can have found it
    assert not (merge_keys(bare) & merge_keys(merged))

