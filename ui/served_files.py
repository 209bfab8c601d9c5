"""The library's PDFs as the web app serves them: a copy under one directory that the app alone
allows (gradio's `allowed_paths`), so a link can open the stored file at a page while no other
path on the disk is ever reachable. Gradio checks the login (`--auth`) on its file route.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("litassist.ui")

FILE_ROUTE = "/gradio_api/file="  # gradio 6: serves allowed paths inline, behind its login check


def served_path(folder: Path, source: Path) -> Path:
    """Where the copy of `source` lives: a folder named by a hash of its path, size and mtime (a
    changed file gets a new copy), under its own name."""
    stat = source.stat()
    digest = hashlib.sha256(f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    return folder / digest / source.name


def serve_copy(folder: Path, source: Path) -> str | None:
    """The URL of a served copy of the PDF at `source` (made on first use), or None when the file
    is gone or is not a PDF."""
    try:
        if not source.is_file() or source.suffix.lower() != ".pdf":
            return None
        target = served_path(folder, source)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
    except OSError as exc:
        log.warning("cannot serve %s: %s", source, exc)
        return None
    return FILE_ROUTE + quote(str(target.resolve()))
