"""Saved conversations: every chat is kept in the library's store directory as it happens.

One JSON file per conversation, `<store>/conversations/<id>.json`, written atomically (a temporary
file in the same folder, fsynced, then renamed over the old one), so a crash or a restart leaves
either the previous or the new version, never half a file. A lock file serialises writers (the
web app's sessions and the CLI) so that two turns saved at once are both kept.

A turn records what the library returned (the result's JSON, as `--json` prints it) and the
BibTeX of the papers it cites, so a conversation can be shown and exported later without the
model, even after a cited paper has left the library. How a turn looks in the web chat is the
UI's business (`ui/`); how it reads as Markdown is `assistant.conversation_export`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import LitassistError, NotFoundError

if TYPE_CHECKING:
    from assistant.library import Library

FOLDER = "conversations"
LOCK_NAME = ".lock"
ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
TITLE_LENGTH = 80
FORMAT_VERSION = 1

# The kinds of turn the library knows how to export; other kinds are kept and exported generically.
ASK, AUTHOR, RELATED_WORK = "ask", "author", "related_work"
KIND_LABELS = {ASK: "Question", AUTHOR: "Author summary", RELATED_WORK: "Related work"}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Turn:
    """One request and what the library answered."""

    kind: str  # ask | author | related_work | (another mode's name)
    query: str
    result: dict[str, Any] = field(default_factory=dict)  # the result's to_json()
    bibtex: str = ""  # BibTeX of the papers this turn cites (or lists, for an author summary)
    filters: dict[str, Any] = field(default_factory=dict)  # the non-empty retrieval filters
    model: str = ""
    error: str = ""  # set when the request failed; `result` is then empty
    created: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Turn:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class Conversation:
    id: str
    title: str
    created: str
    updated: str
    turns: list[Turn] = field(default_factory=list)
    renamed: bool = False  # a title the user chose is kept; an automatic one follows the first turn

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "created": self.created,
            "updated": self.updated,
            "renamed": self.renamed,
            "turns": [t.to_json() for t in self.turns],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        return cls(
            id=str(data["id"]),
            title=str(data.get("title") or ""),
            created=str(data.get("created") or ""),
            updated=str(data.get("updated") or data.get("created") or ""),
            turns=[Turn.from_json(t) for t in data.get("turns") or [] if isinstance(t, dict)],
            renamed=bool(data.get("renamed")),
        )

    def summary(self) -> ConversationInfo:
        return ConversationInfo(self.id, self.title, self.created, self.updated, len(self.turns))


@dataclass
class ConversationInfo:
    """A line of the conversations list."""

    id: str
    title: str
    created: str
    updated: str
    turns: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_id() -> str:
    """`20261202-024653-a1b2c3`: sorts by creation time, safe as a file name."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def default_title(turn: Turn) -> str:
    prefix = {AUTHOR: "Author: ", RELATED_WORK: "Related work: "}.get(turn.kind, "")
    text = prefix + " ".join(turn.query.split())
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"


class Conversations:
    """The conversations of one library (its store directory)."""

    def __init__(self, store_dir: str | Path):
        self.folder = Path(store_dir).expanduser() / FOLDER

    # ---- reading --------------------------------------------------------------------------------
    def path_of(self, conversation_id: str) -> Path:
        if not isinstance(conversation_id, str) or not ID_PATTERN.match(conversation_id):
            raise NotFoundError(f"no conversation {conversation_id!r}: ids look like 20261202-024653-a1b2c3 (see `litassist conversations`)")
        return self.folder / f"{conversation_id}.json"

    def exists(self, conversation_id: str | None) -> bool:
        if not conversation_id:
            return False
        try:
            return self.path_of(conversation_id).is_file()
        except NotFoundError:
            return False

    def open(self, conversation_id: str) -> Conversation:
        path = self.path_of(conversation_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(f"no conversation {conversation_id} in {self.folder}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LitassistError(f"{path}: not a readable conversation ({exc})") from exc
        if not isinstance(data, dict) or "id" not in data:
            raise LitassistError(f"{path}: not a conversation (no id)")
        return Conversation.from_json(data)

    def list(self) -> list[ConversationInfo]:
        """Every conversation, most recently updated first (unreadable files are skipped)."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            if not ID_PATTERN.match(path.stem):
                continue
            try:
                found.append(self.open(path.stem).summary())
            except LitassistError:
                continue
        return sorted(found, key=lambda c: (c.updated, c.id), reverse=True)

    # ---- writing --------------------------------------------------------------------------------
    def create(self, title: str = "") -> Conversation:
        stamp = now_iso()
        conversation = Conversation(new_id(), title.strip(), stamp, stamp, renamed=bool(title.strip()))
        with self._locked():
            self._write(conversation)
        return conversation

    def append(self, conversation_id: str | None, turn: Turn) -> Conversation:
        """Add a turn (creating the conversation when `conversation_id` is None or unknown) and
        save at once. Returns the saved conversation."""
        with self._locked():
            if conversation_id and self.exists(conversation_id):
                conversation = self.open(conversation_id)
            else:
                stamp = now_iso()
                valid = bool(conversation_id) and ID_PATTERN.match(str(conversation_id))
                conversation = Conversation(str(conversation_id) if valid else new_id(), "", stamp, stamp)
            conversation.turns.append(turn)
            if not conversation.renamed and not conversation.title:
                conversation.title = default_title(turn)
            conversation.updated = now_iso()
            self._write(conversation)
        return conversation

    def rename(self, conversation_id: str, title: str) -> Conversation:
        title = " ".join((title or "").split())
        if not title:
            raise LitassistError("a conversation's new title cannot be empty")
        with self._locked():
            conversation = self.open(conversation_id)
            conversation.title, conversation.renamed = title, True
            self._write(conversation)
        return conversation

    def delete(self, conversation_id: str) -> None:
        path = self.path_of(conversation_id)
        with self._locked():
            try:
                path.unlink()
            except FileNotFoundError:
                raise NotFoundError(f"no conversation {conversation_id} in {self.folder}") from None

    def save(self, conversation: Conversation) -> None:
        """Write a whole conversation as given (replacing the stored one)."""
        self.path_of(conversation.id)
        with self._locked():
            self._write(conversation)

    def _write(self, conversation: Conversation) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path_of(conversation.id)
        text = json.dumps(conversation.to_json(), ensure_ascii=False, indent=1)
        handle, tmp = tempfile.mkstemp(prefix=f".{conversation.id}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _locked(self):
        from filelock import FileLock

        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / LOCK_NAME), timeout=30)


def bibtex_of(store: Library, paper_ids: Iterable[str]) -> str:
    """BibTeX of the given library papers, in the given order (papers no longer stored are left out)."""
    from assistant.bibtex import to_bibtex

    ids = [i for i in dict.fromkeys(str(p) for p in paper_ids) if i and i != "None"]
    if not ids:
        return ""
    found = store.get_many(ids)
    return to_bibtex([found[i] for i in ids if i in found])
