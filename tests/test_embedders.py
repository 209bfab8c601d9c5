"""Embedder backends (torch, ONNX fp32, ONNX int8), the export cache, and the rule that one
store's vectors come from one embedder (recorded in the Chroma collection)."""
from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest

from test_crash_safety import FastModel

TEXTS = [
    "Sparse mixtures of experts route tokens to a few feed-forward blocks.",
    "We measure how coral reefs recover after bleaching events in the Pacific.",
    "A transformer language model trained on code completes Python functions.",
    "Gene expression in yeast changes under osmotic stress.",
]


def _fake(backend: str):
    from assistant.embed import Embedder

    embedder = Embedder(backend)
    embedder._model = FastModel()
    return embedder


# ---- backends -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_onnx_backends_agree_with_torch():
    """Uses the per-user export cache (built on first use: about a minute, offline)."""
    from assistant.embed import Embedder

    vectors = {b: np.asarray(Embedder(b).embed(TEXTS)) for b in ("torch", "onnx", "onnx-int8")}
    for b, v in vectors.items():
        assert v.shape == (len(TEXTS), 384)
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4), b
    fp32 = (vectors["onnx"] * vectors["torch"]).sum(axis=1)
    int8 = (vectors["onnx-int8"] * vectors["torch"]).sum(axis=1)
    assert fp32.min() > 0.9999
    assert int8.min() > 0.97
    # int8 keeps the ranking: each text is nearest to itself across backends
    assert (np.argmax(vectors["onnx-int8"] @ vectors["torch"].T, axis=1) == np.arange(len(TEXTS))).all()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_onnx_runtime_matches_sentence_transformers_onnx_backend(backend):
    """Our tokenizers + onnxruntime pipeline gives the vectors sentence-transformers' own ONNX
    backend gives for the same export (batched, and one text at a time as a question is)."""
    from sentence_transformers import SentenceTransformer

    from assistant import embed_onnx
    from assistant.embed_export import ensure_exported, model_file

    directory = ensure_exported(backend)
    reference = SentenceTransformer(str(directory), device="cpu", backend="onnx",
                                    model_kwargs={"file_name": model_file(directory), "provider": "CPUExecutionProvider"})
    ours = embed_onnx.load(backend)
    texts = TEXTS + ["  Leading and trailing spaces, UPPER case, ümlauts and emoji 🧬  ", "x " * 400]
    for batch in (texts, texts[:1], texts[-1:]):
        mine = ours.encode(batch, batch_size=32, normalize_embeddings=True)
        theirs = reference.encode(batch, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        assert mine.shape == theirs.shape == (len(batch), 384)
        assert (mine * theirs).sum(axis=1).min() >= 0.9999


@pytest.mark.slow
def test_int8_export_keeps_the_attention_products_and_the_outlier_matmul_in_fp32():
    import onnx

    from assistant import embed_export

    fp32_file = embed_export.ensure_exported("onnx") / embed_export.FP32_FILE
    kept = embed_export.kept_in_fp32(fp32_file)
    assert len(kept) == 6 * 2 + 1 and set(embed_export.OUTLIER_MATMULS) <= set(kept)
    assert {name.rsplit("/", 1)[1] for name in kept} == {"MatMul", "MatMul_1"}
    int8_dir = embed_export.ensure_exported("onnx-int8")
    graph = onnx.load(str(int8_dir / embed_export.model_file(int8_dir))).graph
    assert sorted(n.name for n in graph.node if n.op_type == "MatMul") == sorted(kept)
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 6 * 6 - 1  # q, k, v, out, up, down per layer


def test_vector_cache_is_per_export_variant(tmp_path):
    """Vectors cached by an int8 model quantized another way are not reused."""
    from assistant import embed_export
    from assistant.embed import Embedder

    assert Embedder("torch", cache_dir=tmp_path).cache.directory.name == "all-MiniLM-L6-v2_torch"
    int8 = Embedder("onnx-int8", cache_dir=tmp_path).cache.directory.name
    assert int8 == f"all-MiniLM-L6-v2_onnx-int8-{embed_export.variant('onnx-int8')}"


def test_unknown_backend_is_a_clear_error(monkeypatch):
    from assistant.embed import get_embedder
    from assistant.errors import LitassistError

    with pytest.raises(LitassistError, match="onnx-int8"):
        get_embedder("onnx-int4")
    monkeypatch.setenv("LITASSIST_EMBEDDER", "bogus")
    with pytest.raises(LitassistError, match="LITASSIST_EMBEDDER"):
        get_embedder()


def test_default_backend_and_env(monkeypatch):
    from assistant import embed

    monkeypatch.delenv("LITASSIST_EMBEDDER", raising=False)
    assert embed.default_backend() == embed.DEFAULT_BACKEND and embed.configured_backend() is None
    monkeypatch.setenv("LITASSIST_EMBEDDER", "onnx")
    assert embed.default_backend() == "onnx" and embed.configured_backend() == "onnx"
    assert embed.vector_family("all-MiniLM-L6-v2/onnx") == embed.vector_family("all-MiniLM-L6-v2/torch")
    assert embed.vector_family("all-MiniLM-L6-v2/onnx-int8") != embed.vector_family("all-MiniLM-L6-v2/torch")
    assert embed.backend_of("all-MiniLM-L6-v2/onnx-int8") == "onnx-int8" and embed.backend_of("other/torch") is None


@pytest.mark.parametrize(
    "machine,flags,expected",
    [
        ("x86_64", {"avx2", "avx512f", "avx512bw", "avx512_vnni"}, "avx512_vnni"),
        ("x86_64", {"avx2", "avx512f", "avx512bw"}, "avx512"),
        ("x86_64", {"avx2"}, "avx2"),
        ("aarch64", set(), "arm64"),
    ],
)
def test_quantization_config_follows_the_cpu(monkeypatch, machine, flags, expected):
    from assistant import embed_export

    monkeypatch.setattr(embed_export.platform, "machine", lambda: machine)
    monkeypatch.setattr(embed_export, "cpu_flags", lambda: flags)
    assert embed_export.quantization_config() == expected
    assert embed_export.variant("onnx-int8") == f"int8v2-{expected}"


def test_export_cache_is_built_once_and_atomically(tmp_path, monkeypatch):
    """Three threads (separate lock-file handles, like processes) ask at once: one export runs;
    a half-built temp dir left by a killed build is swept; an incomplete entry is rebuilt."""
    from assistant import embed_export

    monkeypatch.setenv("LITASSIST_CACHE", str(tmp_path / "cache"))
    calls = []

    def fake_export(backend, target):
        calls.append(backend)
        time.sleep(0.3)
        (target / "onnx").mkdir()
        (target / "onnx" / "model.onnx").write_bytes(b"onnx")
        (target / "modules.json").write_text("[]")
        return "onnx/model.onnx"

    monkeypatch.setattr(embed_export, "_export", fake_export)
    final = embed_export.cache_dir("onnx")
    assert final == tmp_path / "cache" / "onnx" / "all-MiniLM-L6-v2-fp32"
    final.parent.mkdir(parents=True)
    leftover = final.parent / f".{final.name}.tmp-killed"
    leftover.mkdir()
    results = []
    threads = [threading.Thread(target=lambda: results.append(embed_export.ensure_exported("onnx"))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["onnx"] and results == [final] * 3
    assert embed_export.model_file(final) == "onnx/model.onnx"
    assert not leftover.exists()
    assert [p.name for p in final.parent.iterdir() if not p.name.endswith(".lock")] == [final.name]
    (final / embed_export.MANIFEST).unlink()  # damaged entry: rebuilt
    assert embed_export.ensure_exported("onnx") == final and calls == ["onnx", "onnx"]


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    from assistant import embed_export

    monkeypatch.setenv("LITASSIST_CACHE", str(tmp_path / "cache"))

    def broken_export(backend, target):
        (target / "partial").write_text("x")
        raise RuntimeError("out of disk")

    monkeypatch.setattr(embed_export, "_export", broken_export)
    from assistant.errors import LitassistError

    with pytest.raises(LitassistError, match="out of disk.*LITASSIST_EMBEDDER=torch"):
        embed_export.ensure_exported("onnx-int8")
    assert [p.name for p in (tmp_path / "cache" / "onnx").iterdir() if not p.name.endswith(".lock")] == []


# ---- one store, one embedder --------------------------------------------------------------------

def _papers(n: int):
    from assistant.papers import Paper, finalise

    return [finalise(Paper(title=f"Embedder test paper {i} on tidal flats", abstract=f"Tidal flat study {i}. " * 10,
                           arxiv_id=f"2604.{i:05d}")) for i in range(n)]


def test_store_records_and_adopts_its_embedder(tmp_path, monkeypatch):
    from assistant.library import Library
    from assistant.library.connection import EMBEDDER_KEY

    monkeypatch.delenv("LITASSIST_EMBEDDER", raising=False)
    int8 = _fake("onnx-int8")
    store = Library(tmp_path / "s", embedder=int8)
    assert store.chroma.collection.metadata[EMBEDDER_KEY] == "all-MiniLM-L6-v2/onnx-int8"
    store.write(_papers(3))
    reopened = Library(tmp_path / "s")  # nothing configured: the store's own embedder
    assert reopened.embedder.name == "all-MiniLM-L6-v2/onnx-int8" and reopened.embedder_mismatch is None
    assert reopened.stats()["embedder"] == "all-MiniLM-L6-v2/onnx-int8"
    # torch and onnx fp32 make the same vectors: either may write to the other's store
    fp32 = Library(tmp_path / "f", embedder=_fake("torch"))
    fp32.write(_papers(2))
    assert Library(tmp_path / "f", embedder=_fake("onnx")).embedder_mismatch is None


def test_a_different_embedder_warns_and_cannot_write(tmp_path, monkeypatch):
    from assistant.errors import StoreError
    from assistant.library import EmbedderMismatchWarning, Library

    monkeypatch.delenv("LITASSIST_EMBEDDER", raising=False)
    Library(tmp_path / "s", embedder=_fake("torch")).write(_papers(3))
    with pytest.warns(EmbedderMismatchWarning, match="onnx-int8"):
        other = Library(tmp_path / "s", embedder=_fake("onnx-int8"))
    with pytest.raises(StoreError, match="all-MiniLM-L6-v2/torch"):
        other.write(_papers(4))
    assert other.count() == 3  # reads still work
    monkeypatch.setenv("LITASSIST_EMBEDDER", "onnx-int8")  # the same, chosen by environment
    with pytest.warns(EmbedderMismatchWarning):
        assert Library(tmp_path / "s").embedder_mismatch


def test_an_empty_store_takes_the_new_embedder(tmp_path, monkeypatch):
    from assistant.library import Library
    from assistant.library.connection import EMBEDDER_KEY

    monkeypatch.delenv("LITASSIST_EMBEDDER", raising=False)
    Library(tmp_path / "s", embedder=_fake("torch"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = Library(tmp_path / "s", embedder=_fake("onnx-int8"))
    assert store.chroma.collection.metadata[EMBEDDER_KEY] == "all-MiniLM-L6-v2/onnx-int8"
    store.write(_papers(1))


def test_a_store_from_before_the_first_release_is_refused_by_name(tmp_path, monkeypatch):
    """A store made before the embedder and the record format were recorded (a development version
    before 0.1.0) is not read with fallbacks: opening it says what it is and what to do."""
    import chromadb
    from chromadb.config import Settings

    from assistant.errors import StoreError
    from assistant.library import Library
    from assistant.library.connection import COLLECTION

    monkeypatch.delenv("LITASSIST_EMBEDDER", raising=False)
    settings = Settings(anonymized_telemetry=False, allow_reset=False)  # as the store opens it
    client = chromadb.PersistentClient(path=str(tmp_path / "s" / "chroma"), settings=settings)
    col = client.create_collection(COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None)
    col.add(ids=["x#0"], embeddings=[[0.1] * 384], documents=["x"], metadatas=[{"paper_id": "x", "chunk": 0}])
    del col, client
    with pytest.raises(StoreError, match="before 0.1.0.*new store"):
        Library(tmp_path / "s")
