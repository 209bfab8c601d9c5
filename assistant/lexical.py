"""The BM25 index (bm25s, English stopwords, Snowball stemming), persisted beside the Chroma store.

Each chunk's stemmed tokens are kept, so an ingest or delete tokenizes only what changed and
re-indexes from cached tokens. Chroma is the source of truth: when the saved index does not match
the store's chunk count (a killed ingest, another process writing to a server), it is rebuilt.
"""
from __future__ import annotations

import json
import os
import pickle
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

if TYPE_CHECKING:
    from assistant.store import Store

STATE_FILE = "tokens.pkl"


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


class LexicalIndex:
    def __init__(self, directory: Path, store: "Store"):
        self.directory = Path(directory)
        self.store = store
        self._tokens: dict[str, list[str]] | None = None
        self._retriever = None
        self._doc_ids: list[str] = []
        self._paper_ids: list[str] = []
        self._dirty = False
        self._lock = threading.RLock()

    # ---- state ------------------------------------------------------------------------------
    def _load(self) -> dict[str, list[str]]:
        if self._tokens is not None:
            return self._tokens
        tokens: dict[str, list[str]] | None = None
        path = self.directory / STATE_FILE
        if path.exists():
            try:
                with path.open("rb") as handle:
                    tokens = pickle.load(handle)
            except Exception:  # a torn or foreign file: rebuild from Chroma below
                tokens = None
        if tokens is None or len(tokens) != self.store.count_chunks():
            tokens = self._rebuild_tokens()
            self._tokens = tokens
            self._dirty = True
            self.save()
        self._tokens = tokens
        return tokens

    def _rebuild_tokens(self) -> dict[str, list[str]]:
        tokens: dict[str, list[str]] = {}
        for ids, documents, _ in self.store.iter_chunks():
            for chunk_id, toks in zip(ids, tokenize([d or "" for d in documents])):
                tokens[chunk_id] = toks
        return tokens

    def save(self) -> None:
        """Persist atomically (write a temp file, then rename)."""
        with self._lock:
            if self._tokens is None or not self._dirty:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / (STATE_FILE + ".tmp")
            with tmp.open("wb") as handle:
                pickle.dump(self._tokens, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.directory / STATE_FILE)
            (self.directory / "meta.json").write_text(json.dumps({"chunks": len(self._tokens)}))
            self._dirty = False

    # ---- updates ----------------------------------------------------------------------------
    def upsert(self, items: Iterable[tuple[str, str]]) -> None:
        items = list(items)
        if not items:
            return
        with self._lock:
            tokens = self._load()
            for (chunk_id, _), toks in zip(items, tokenize([text for _, text in items])):
                tokens[chunk_id] = toks
            self._retriever = None
            self._dirty = True

    def remove(self, chunk_ids: Iterable[str]) -> None:
        with self._lock:
            tokens = self._load()
            for chunk_id in chunk_ids:
                tokens.pop(chunk_id, None)
            self._retriever = None
            self._dirty = True

    def refresh(self) -> None:
        """Drop in-memory state so the next search re-reads (and if needed rebuilds) the index."""
        with self._lock:
            self._tokens = None
            self._retriever = None

    # ---- search -----------------------------------------------------------------------------
    def _index(self):
        import bm25s

        with self._lock:
            tokens = self._load()
            if self._retriever is None or len(self._doc_ids) != len(tokens):
                self._doc_ids = list(tokens)
                self._paper_ids = [cid.rsplit("#", 1)[0] for cid in self._doc_ids]
                retriever = bm25s.BM25(k1=1.2, b=0.75)
                if self._doc_ids:
                    retriever.index([tokens[c] or ["\u2400"] for c in self._doc_ids], show_progress=False)
                self._retriever = retriever
            return self._retriever

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score); `allowed` (paper ids) restricts the corpus before ranking."""
        retriever = self._index()
        if not self._doc_ids:
            return []
        query_tokens = tokenize([query])[0]
        vocab = retriever.vocab_dict
        query_tokens = [t for t in query_tokens if t in vocab]
        if not query_tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self._doc_ids), dtype=np.float32)
            for position, paper_id in enumerate(self._paper_ids):
                if paper_id in allowed:
                    mask[position] = 1.0
            if not mask.any():
                return []
        scores = retriever.get_scores(query_tokens, weight_mask=mask)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self._doc_ids[i], float(scores[i])) for i in top if scores[i] > 0]
