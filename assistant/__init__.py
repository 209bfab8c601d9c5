"""litassist: a grounded, cited research assistant over your own paper library.

The package sets the offline/telemetry environment before any heavy import, and exposes
its public API lazily so that `import assistant` (and the CLI) stays fast.
"""
from __future__ import annotations

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"

_LAZY = {
    "Paper": "assistant.papers",
    "Library": "assistant.library",
    "open_library": "assistant.library",
    "search": "assistant.retrieve",
    "ingest_paths": "assistant.library",
    "ask": "assistant.answer",
    "ask_stream": "assistant.answer",
    "summarize_author": "assistant.tasks.author",
    "draft_related_work": "assistant.tasks.related_work",
    "cite_draft": "assistant.tasks.cite_draft",
    "get_model": "assistant.llm.registry",
    "LitassistError": "assistant.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
