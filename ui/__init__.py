"""litassist's web app (Gradio): `ui.app.build_app(store)` and `ui.app.serve(...)`.

The UI assembles components and wires events; it owns no retrieval, prompting or citation logic.
"""
from __future__ import annotations

__all__ = ["build_app", "serve"]


def __getattr__(name: str):
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
