"""The upload policy (assistant/uploads.py): where a copy of a given file goes in the library."""
from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.uploads import UploadBatch, copy_into_library, naming_the_upload, store_copy, uploads_folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_name_clash_keeps_both_files_unless_it_is_a_new_version(tmp_path):
    folder = uploads_folder(tmp_path / "store")
    first = write(tmp_path / "a" / "refs.bib", "one")
    store_copy(first, UploadBatch(folder).target(first))
    assert UploadBatch(folder).target(first) == folder / "refs.bib"  # the same bytes: the copy is reused
    other = write(tmp_path / "b" / "refs.bib", "two")
    assert UploadBatch(folder).target(other) == folder / "refs-2.bib"
    assert UploadBatch(folder, replace=True).target(other) == folder / "refs.bib"
    batch = UploadBatch(folder, replace=True)  # two files of one name in one batch never share a copy
    assert [batch.target(first), batch.target(other)] == [folder / "refs.bib", folder / "refs-2.bib"]


def test_copy_into_library_copies_files_and_names_the_users_file_in_errors(tmp_path):
    source = write(tmp_path / "mine.jsonl", "{}\n")
    (copy,) = copy_into_library(tmp_path / "store", [source])
    assert copy == tmp_path / "store" / "uploads" / "mine.jsonl" and copy.read_text(encoding="utf-8") == "{}\n"
    assert naming_the_upload(str(copy), "line 1: no title", copy, "mine.jsonl") == "mine.jsonl: line 1: no title"
    with pytest.raises(InputError, match="is a folder"):
        copy_into_library(tmp_path / "store", [tmp_path])
    with pytest.raises(InputError, match="no such file"):
        copy_into_library(tmp_path / "store", [tmp_path / "gone.bib"])
