"""An author summary's timeline and co-author network as chat images, drawn once per summary: a
reopened conversation reuses them while the server runs."""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Mapping

from assistant.plots import AuthorPlots, author_plots, file_stem

log = logging.getLogger("litassist.ui")


def author_images(plot_dir: Path, data: Mapping[str, Any]) -> list[dict[str, str]]:
    """The plots of an author summary's JSON as chat images ([] for a summary without papers)."""
    if not data["papers"]:
        return []
    digest = hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    folder = plot_dir / digest
    stem = file_stem(str(data["author"] or "author"))
    try:
        if (folder / f"{stem}-coauthors.png").is_file():
            plots = AuthorPlots(folder / f"{stem}-timeline.png", folder / f"{stem}-coauthors.png")
        else:
            plots = author_plots(data, folder, stem)
    except Exception:  # the summary is still shown without its pictures
        log.exception("could not draw the author plots")
        return []
    who = str(data["author"] or "the author")
    return [
        {"path": str(plots.timeline), "alt_text": f"Timeline of {who}'s papers by theme"},
        {"path": str(plots.network), "alt_text": f"{who}'s frequent co-authors"},
    ]
