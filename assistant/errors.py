"""Errors a user can fix. Each carries a message naming the file, line, setting or backend."""
from __future__ import annotations


class LitassistError(Exception):
    """Base class: the CLI prints the message and exits non-zero; the UI shows it."""


class InputError(LitassistError):
    """A file (or an entry in it) could not be read as papers."""

    def __init__(self, path: str, problem: str, line: int | None = None):
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


class StoreError(LitassistError):
    """The store cannot be opened or written."""


class ModelError(LitassistError):
    """A model backend is misconfigured or cannot be reached."""


class NotFoundError(LitassistError):
    """A paper, author or other named thing is not in the library."""
