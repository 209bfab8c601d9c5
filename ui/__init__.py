"""litassist's web app (Gradio): `ui.app.build_app(store)` and `ui.app.serve(settings)`.

The UI assembles components and wires events; it owns no retrieval, prompting or citation logic.
"""
