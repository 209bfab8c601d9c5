"""The library's own copies of the files given to it, in `<store>/uploads/`: where a copy goes and
when an earlier copy is reused. The web chat's uploads and `litassist ingest --copy` share it.

- A file keeps its name unless another file of the same batch took it, or (without `replace`) a
  different file of that name is stored already: then it is kept beside it as `name-2`, `name-3`...,
  since two exports called `references.bib` may well be two libraries.
- With `replace`, a file named like a stored copy is its new version and takes its place, so the
  papers follow it when it is ingested (edited entries updated, dropped ones removed).
- A file identical to the stored copy it would replace is not copied again.
"""
from __future__ import annotations

import filecmp
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from assistant.errors import InputError

FOLDER = "uploads"


def uploads_folder(store_dir: str | Path) -> Path:
    """`<store>/uploads/`, created when missing."""
    folder = Path(store_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def same_bytes(a: Path, b: Path) -> bool:
    try:
        return filecmp.cmp(a, b, shallow=False)  # sizes first, then in blocks: a 50 MB upload is not read whole
    except OSError:
        return False


@dataclass
class UploadBatch:
    """Files copied into `folder` together: the names given out so far are remembered, so two files
    of one name in a batch never share a copy."""

    folder: Path
    replace: bool = False
    taken: set[str] = field(default_factory=set)

    def target(self, source: Path, name: str | None = None) -> Path:
        """Where `source` (known to the user as `name`, its own name by default) is kept."""
        name = name or source.name
        stem, suffix = Path(name).stem, Path(name).suffix
        candidate, i = name, 2
        while candidate in self.taken or (
            not self.replace and (self.folder / candidate).exists() and not same_bytes(self.folder / candidate, source)
        ):
            candidate, i = f"{stem}-{i}{suffix}", i + 1
        self.taken.add(candidate)
        return self.folder / candidate


def store_copy(source: Path, target: Path) -> None:
    """Copy `source` to `target` unless `target` already holds the same bytes."""
    if not (target.exists() and same_bytes(target, source)):
        shutil.copyfile(source, target)


def naming_the_upload(path: str, error: str, target: Path, name: str) -> str:
    """A problem reported for the stored copy `target`, told with the name the user knows (`name`)."""
    where = name if str(path) in (str(target), str(target.resolve())) else Path(path).name
    return f"{where}: {error}"


def copy_into_library(store_dir: str | Path, sources: Sequence[str | Path], *, replace: bool = False) -> list[Path]:
    """Copy files into the library's uploads folder under the policy above; the copies' paths, in order."""
    for source in map(Path, sources):
        if source.is_dir():
            raise InputError(str(source), "is a folder: copying into the library takes files")
        if not source.is_file():
            raise InputError(str(source), "no such file")
    batch = UploadBatch(uploads_folder(store_dir), replace=replace)
    copies = []
    for source in map(Path, sources):
        target = batch.target(source)
        try:
            store_copy(source, target)
        except OSError as exc:
            raise InputError(str(source), f"cannot be copied into {batch.folder} ({exc.strerror or exc})") from None
        copies.append(target)
    return copies
