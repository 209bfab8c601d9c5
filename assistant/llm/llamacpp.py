"""In-process backend: `llamacpp:PATH.gguf` through llama-cpp-python (optional extra).

Written against `llama_cpp.Llama` directly rather than llama-index's `LlamaCPP`: that integration
flattens chat messages into one prompt with a fixed (Llama-2 style) template, while
`Llama.create_chat_completion` applies the chat template stored in the GGUF file itself.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from assistant.errors import ModelError
from assistant.llm._chat import to_role_dicts
from assistant.llm.base import Model, Request

INSTALL_HINT = "pip install 'litassist[llamacpp]'"
DEFAULT_CONTEXT_WINDOW = 8192
# llama-cpp-python's words when a prompt does not fit (its server matches the same text).
CONTEXT_OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")


def import_llama_cpp() -> ModuleType:
    """The llama_cpp module, or a ModelError saying how to install it."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(
            f"the llamacpp backend needs llama-cpp-python, which is not installed: {INSTALL_HINT}"
        ) from exc
    except OSError as exc:  # installed, but its native library cannot be loaded
        raise ModelError(f"llama-cpp-python is installed but cannot load its native library: {exc}") from exc
    return llama_cpp


def checked_model_path(path: str | Path) -> Path:
    """The GGUF file's path, or a ModelError naming the path that is not there."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise ModelError(f"llamacpp backend: model file not found: {resolved}")
    return resolved


class LlamaCppModel(Model):
    backend = "llamacpp"

    def __init__(self, path: str | Path, *, context_window: int | None = None) -> None:
        self._llama_cpp = import_llama_cpp()
        self.path = checked_model_path(path)
        self.context_window = context_window or DEFAULT_CONTEXT_WINDOW
        self.name = f"llamacpp:{self.path}"
        self._llm: Any = None
        # One llama.cpp context cannot serve two generations at once.
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        """The model, loaded on first use (loading takes seconds and much memory)."""
        if self._llm is None:
            try:
                self._llm = self._llama_cpp.Llama(
                    model_path=str(self.path), n_ctx=self.context_window, verbose=False
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ModelError(f"llamacpp backend could not load {self.path}: {exc}") from exc
        return self._llm

    def stream(self, request: Request) -> Iterator[str]:
        messages = to_role_dicts(request.messages)
        with self._lock:
            llm = self._loaded()
            try:
                chunks = llm.create_chat_completion(
                    messages=messages,
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    stop=list(request.stop) or None,
                    stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text:
                        yield text
            except (ValueError, RuntimeError) as exc:
                raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> ModelError:
        overflow = CONTEXT_OVERFLOW.search(str(exc))
        if overflow:
            needed, window = overflow.groups()
            return ModelError(
                f"llamacpp backend ({self.path.name}): the prompt needs {needed} tokens but the context window "
                f"is {window}; raise it with --context-window or LITASSIST_CONTEXT_WINDOW (the model's limit "
                "permitting), or ask with fewer sources (-k)"
            )
        return ModelError(f"llamacpp backend ({self.path.name}) failed: {exc}")

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes with the model's own tokenizer."""
        return len(self._loaded().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def describe(self) -> str:
        return f"llamacpp:{self.path.name} (in-process)"

    def __repr__(self) -> str:
        return f"LlamaCppModel(path={str(self.path)!r})"
