"""The ONNX embedders at run time: onnxruntime, the `tokenizers` library and numpy, nothing else.

The exported model (assistant/embed_export.py makes it once, with torch) is run as
sentence-transformers runs all-MiniLM-L6-v2: the fast tokenizer with truncation at the model's
max_seq_length (256) and padding to the longest text of the batch, the transformer's
last_hidden_state mean-pooled over the attention mask, then L2-normalised. The vectors match
sentence-transformers' ONNX backend (cosine >= 0.9999 on sciqa, `python bench/embedders.py`), and
a question is embedded without importing torch, transformers or sentence-transformers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import assistant  # noqa: F401  (offline environment first)
from assistant.embed_export import BACKENDS, ensure_exported, model_file, variant
from assistant.errors import LitassistError


def session_options(threads: int | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    # No busy-waiting between batches: the same speed alone, and it leaves the cores to Chroma,
    # BM25 and other processes when they share the machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LitassistError(f"cannot read {path}: {exc} (delete {path.parent} to export the embedder again)") from exc


def max_seq_length(directory: Path) -> int:
    """What sentence-transformers truncates at: sentence_bert_config's max_seq_length, else the
    tokenizer's model_max_length, never past the model's position embeddings."""
    configured = _read_json(directory / "sentence_bert_config.json").get("max_seq_length")
    configured = configured or _read_json(directory / "tokenizer_config.json").get("model_max_length")
    positions = _read_json(directory / "config.json").get("max_position_embeddings") or 512
    return min(int(configured or positions), int(positions))


def _pipeline(directory: Path) -> bool:
    """Checks the saved modules are Transformer -> mean Pooling (-> Normalize); returns whether
    the last step normalises."""
    modules = _read_json(directory / "modules.json")
    kinds: list[str] = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) else []
    pooling = _read_json(directory / "1_Pooling" / "config.json").get("pooling_mode", "mean")
    if kinds[:2] != ["Transformer", "Pooling"] or pooling != "mean" or kinds[2:] not in ([], ["Normalize"]):
        raise LitassistError(
            f"the embedder in {directory} is not Transformer -> mean pooling -> Normalize ({kinds}, {pooling}); "
            f"delete that directory to export it again"
        )
    return kinds[2:] == ["Normalize"]


class OnnxSentenceEncoder:
    """A sentence encoder over one exported ONNX model; `encode` mirrors SentenceTransformer's."""

    def __init__(self, directory: Path, onnx_file: str, *, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.directory = directory
        self.max_seq_length = max_seq_length(directory)
        self.normalises = _pipeline(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # tokenizer.json may carry a fixed padding/truncation of its own; use the model's instead
        self.tokenizer.enable_truncation(max_length=self.max_seq_length, strategy="longest_first", direction="right")
        pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_type_id=0, pad_token="[PAD]")
        self.session = ort.InferenceSession(
            str(directory / onnx_file), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
        )
        self.input_names = {i.name for i in self.session.get_inputs()}

    def _forward(self, texts: list[str]):
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.asarray([e.type_ids for e in encodings], dtype=np.int64)
        tokens = self.session.run(None, feeds)[0]  # last_hidden_state: (batch, length, 384)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled.astype(np.float32)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        show_progress_bar: bool = False,  # SentenceTransformer.encode's signature; nothing to show
        **_: Any,
    ):
        """An (n, dim) float32 array; batches hold texts of similar length (longest first), as
        sentence-transformers sorts them, so padding (which int8 activations see) is the same."""
        import numpy as np

        texts = [str(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            vectors = self._forward([texts[i] for i in batch])
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[batch] = vectors
        if normalize_embeddings or self.normalises:
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out


def load(backend: str, *, threads: int | None = None) -> OnnxSentenceEncoder:
    """The encoder for `backend` ("onnx" or "onnx-int8"), exported first if the cache lacks it."""
    if backend not in BACKENDS:
        variant(backend)  # raises the clear error
    directory = ensure_exported(backend)
    name = model_file(directory)
    if name is None:
        raise LitassistError(f"the {backend} embedder in {directory} is incomplete; delete that directory to export it again")
    return OnnxSentenceEncoder(directory, name, threads=threads)
