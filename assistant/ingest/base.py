"""What every parser shares: the `Parser` protocol, the raw file, decoding, and the result of
parsing one file."""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

from assistant.errors import InputError
from assistant.papers import Paper

MAX_FILE_BYTES = 200 * 1024 * 1024  # larger files are refused with a clear message


@dataclass
class Problem:
    """One entry (or the whole file, line=None) that could not be read."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


@dataclass
class ParseResult:
    path: str
    format: str
    papers: list[Paper] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Reported, but every entry was still read whole (say, a Zotero attachment whose file is
    # missing): unlike `problems`, they do not stop a re-read from syncing deletions.
    notes: list[Problem] = field(default_factory=list)


@dataclass
class RawFile:
    path: Path
    data: bytes
    # field -> column name, overriding a table parser's automatic column mapping (`--columns`);
    # parsers of other formats have no columns and ignore it.
    columns: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, columns: dict[str, str] | None = None) -> "RawFile":
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError(str(path), f"file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB")
            return cls(path=path, data=path.read_bytes(), columns=dict(columns or {}))
        except OSError as exc:
            raise InputError(str(path), f"cannot read file ({exc.strerror or exc})") from exc

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()

    def looks_binary(self) -> bool:
        head = self.data[:8192]
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
            return False
        return b"\x00" in head

    @cached_property
    def text(self) -> str:
        """The file decoded as text: BOM-aware UTF-8/UTF-16, then UTF-8, then Latin-1 (cp1252)."""
        data = self.data
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8", errors="replace")
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            try:
                return data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise InputError(self.name, f"broken UTF-16 text ({exc.reason})") from exc
        if self.looks_binary():
            raise InputError(self.name, "binary file, not text (no known format)")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                return data.decode("latin-1")

    def head_text(self, limit: int = 4096) -> str:
        """The start of the file as text, for sniffing; empty for binary content."""
        try:
            return self.text[:limit]
        except InputError:
            return ""


class Parser(Protocol):
    """One file format (each module of `assistant.ingest` but `zotero` is one). Pure: a RawFile in,
    papers and problems out; never the store."""

    FORMAT: str

    def sniff(self, raw: RawFile) -> float:
        """How sure the parser is (0 to 1) that `raw` is in its format."""
        ...

    def parse(self, raw: RawFile) -> ParseResult:
        """Every entry of `raw`; raises InputError when the file as a whole is unusable."""
        ...
