"""The search modes, named once: what `retrieve.search` accepts and the CLI offers as `--mode`.
Apart from `retrieve` so that building the CLI's parser imports no store."""
from __future__ import annotations

from typing import Literal

SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
DEFAULT_SEARCH_MODE: SearchMode = "hybrid"
