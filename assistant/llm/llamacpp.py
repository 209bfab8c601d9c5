"""In-process backend: `llamacpp:PATH.gguf` through llama-cpp-python (optional extra).

Written against `llama_cpp.Llama` directly rather than llama-index's `LlamaCPP`: that integration
flattens chat messages into one prompt with a fixed (Llama-2 style) template, while
`Llama.create_chat_completion` applies the chat template stored in the GGUF file itself.
"""
from __future__ import annotations

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

    def __init__(self, path: str | Path, *, context_window: int = DEFAULT_CONTEXT_WINDOW) -> None:
        self._llama_cpp = import_llama_cpp()
        self.path = checked_model_path(path)
        self.context_window = context_window
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
                    stream=True,
                )
                for chunk in chunks:
                    text = chunk["choices"][0].get("delta", {}).get("content")
                    if text:
                        yield text
            except (ValueError, RuntimeError) as exc:  # e.g. the prompt exceeds the context window
                raise ModelError(f"llamacpp backend ({self.path.name}) failed: {exc}") from exc

    def describe(self) -> str:
        return f"llamacpp:{self.path.name} (in-process)"

    def __repr__(self) -> str:
        return f"LlamaCppModel(path={str(self.path)!r})"
