"""A Zotero library (`zotero.sqlite` and its `storage/` folder), read offline and read-only.

Zotero holds its database open (and locked) while it runs, and newer versions keep recent writes in
a `-wal` file beside it: the database and its WAL are copied to a temporary folder and the copy is
read, so the user's library is never opened for writing, nor blocked.

Only regular items count: not notes, attachments or annotations, nor items in the trash
(`deletedItems`) or in feeds. Field values go through Zotero's own tables (itemData, fields,
itemDataValues), with type-specific fields read under their base field (`bookTitle` as
`publicationTitle`, via baseFieldMappings), never through numeric ids, which differ between
databases. The schema is the one in zotero/zotero `resource/schema/userdata.sql`; item types, fields
and creator types come from zotero-schema's `schema.json`, loaded into those tables by Zotero.

PDF attachments (stored under `storage/KEY/`, or linked files elsewhere) give the parent item its
full text, from Zotero's full-text cache (`storage/KEY/.zotero-ft-cache`) when it has one, else
from the PDF. A linked file that no longer exists is noted; the item still goes in.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from assistant.errors import InputError
from assistant.ingest.base import ParseResult, Problem, RawFile
from assistant.ingest.fields import arxiv_id_mentioned, clean_name, clean_text, cut_title, doi_in, parse_date
from assistant.papers import Paper, Source, finalise

FORMAT = "zotero"
DATABASE_NAME = "zotero.sqlite"
SQLITE_HEADER = b"SQLite format 3\x00"
NOT_REGULAR = ("note", "attachment", "annotation")
FULLTEXT_CACHE = ".zotero-ft-cache"
LINKED_FILE = 2  # itemAttachments.linkMode: Zotero.Attachments.LINK_MODE_LINKED_FILE
_CITATION_KEY_LINE = re.compile(r"^\s*citation\s*key\s*:\s*(\S+)\s*$", re.I | re.M)
_MULTIPART_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:\s|$)")

# Zotero item type -> CSL type (zotero-schema schema.json, "csl" → "types", read the other way)
CSL_TYPES = {
    "journalArticle": "article-journal", "magazineArticle": "article-magazine",
    "newspaperArticle": "article-newspaper", "conferencePaper": "paper-conference", "book": "book",
    "bookSection": "chapter", "thesis": "thesis", "report": "report", "preprint": "article",
    "manuscript": "manuscript", "webpage": "webpage", "dataset": "dataset", "computerProgram": "software",
    "presentation": "speech", "patent": "patent", "document": "document", "blogPost": "post-weblog",
    "forumPost": "post", "encyclopediaArticle": "entry-encyclopedia", "dictionaryEntry": "entry-dictionary",
    "standard": "standard",
}


def is_database(path: Path) -> bool:
    """True for an SQLite file (by its header): the Zotero reader takes it, or says why not."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def database_in(folder: Path) -> Path | None:
    """`folder/zotero.sqlite` when `folder` is a Zotero data directory."""
    candidate = folder / DATABASE_NAME
    return candidate if candidate.is_file() else None


# ---- opening the database safely ----------------------------------------------------------------

@contextmanager
def snapshot(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to a private copy of the database (with its WAL, if any)."""
    with tempfile.TemporaryDirectory(prefix="litassist-zotero-") as folder:
        copy = Path(folder) / DATABASE_NAME
        try:
            shutil.copyfile(path, copy)
            wal = path.with_name(path.name + "-wal")
            if wal.exists():
                shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        except OSError as exc:
            raise InputError(str(path), f"cannot copy the database to read it ({exc.strerror or exc})") from exc
        connection = sqlite3.connect(copy)
        try:
            yield connection
        except sqlite3.DatabaseError as exc:
            raise InputError(str(path), f"cannot read the Zotero database ({exc})") from exc
        finally:
            connection.close()


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


def _check_layout(db: sqlite3.Connection, path: Path) -> dict[str, str]:
    """Table names to read (the `...Combined` tables of Zotero 6+, else the base ones)."""
    try:
        tables = _tables(db)
    except sqlite3.DatabaseError as exc:
        raise InputError(str(path), f"not a readable SQLite database ({exc})") from exc
    needed = {"items", "itemData", "itemDataValues", "itemTypes", "fields", "creators", "itemCreators"}
    missing = sorted(needed - tables)
    if missing:
        raise InputError(str(path), f"an SQLite database, but not a Zotero library (no table {', '.join(missing)})")
    combined = {"itemTypesCombined", "fieldsCombined", "baseFieldMappingsCombined"} <= tables
    if combined and db.execute("SELECT count(*) FROM fieldsCombined").fetchone()[0]:
        return {"types": "itemTypesCombined", "fields": "fieldsCombined", "base": "baseFieldMappingsCombined"}
    return {"types": "itemTypes", "fields": "fields", "base": "baseFieldMappings"}


# ---- reading items ------------------------------------------------------------------------------

@dataclass
class Item:
    item_id: int
    key: str
    item_type: str
    values: dict[str, str] = field(default_factory=dict)  # base field name -> value
    authors: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    full_texts: list[str] = field(default_factory=list)


def _regular_items(db: sqlite3.Connection, t: dict[str, str]) -> dict[int, Item]:
    rows = db.execute(
        f"""SELECT i.itemID, i.key, it.typeName FROM items i JOIN {t['types']} it ON it.itemTypeID = i.itemTypeID
            WHERE it.typeName NOT IN (?, ?, ?)
              AND i.itemID NOT IN (SELECT itemID FROM deletedItems)
              {'AND i.itemID NOT IN (SELECT itemID FROM feedItems)' if 'feedItems' in _tables(db) else ''}
            ORDER BY i.itemID""",
        NOT_REGULAR,
    )
    return {item_id: Item(item_id, key, type_name) for item_id, key, type_name in rows}


def _fill_values(db: sqlite3.Connection, t: dict[str, str], items: dict[int, Item]) -> None:
    rows = db.execute(
        f"""SELECT d.itemID, COALESCE(bf.fieldName, f.fieldName), v.value
            FROM itemData d
            JOIN itemDataValues v ON v.valueID = d.valueID
            JOIN {t['fields']} f ON f.fieldID = d.fieldID
            JOIN items i ON i.itemID = d.itemID
            LEFT JOIN {t['base']} b ON b.itemTypeID = i.itemTypeID AND b.fieldID = d.fieldID
            LEFT JOIN {t['fields']} bf ON bf.fieldID = b.baseFieldID"""
    )
    for item_id, name, value in rows:
        item = items.get(item_id)
        if item is not None and value is not None:
            item.values.setdefault(name, str(value))


def _fill_creators(db: sqlite3.Connection, items: dict[int, Item]) -> None:
    """Authors in order: the item type's primary creators (authors, programmers...), else all."""
    primary = {
        (type_id, creator_type)
        for type_id, creator_type in db.execute(
            "SELECT itemTypeID, creatorTypeID FROM itemTypeCreatorTypes WHERE primaryField = 1")
    } if "itemTypeCreatorTypes" in _tables(db) else set()
    rows = db.execute(
        """SELECT ic.itemID, i.itemTypeID, ic.creatorTypeID, c.firstName, c.lastName, c.fieldMode
           FROM itemCreators ic JOIN creators c ON c.creatorID = ic.creatorID JOIN items i ON i.itemID = ic.itemID
           ORDER BY ic.itemID, ic.orderIndex"""
    )
    by_item: dict[int, list[tuple[bool, str]]] = {}
    for item_id, type_id, creator_type, first, last, mode in rows:
        if item_id not in items:
            continue
        name = clean_text(last) if mode == 1 else clean_name(f"{clean_text(first)} {clean_text(last)}".strip())
        if name:
            by_item.setdefault(item_id, []).append(((type_id, creator_type) in primary, name))
    for item_id, names in by_item.items():
        main = [n for is_primary, n in names if is_primary]
        items[item_id].authors = main or [n for _, n in names]


def collection_paths(db: sqlite3.Connection) -> dict[int, str]:
    """collectionID -> "Parent/Child" path, for collections not in the trash (nor under one)."""
    rows = {cid: (name, parent) for cid, name, parent in
            db.execute("SELECT collectionID, collectionName, parentCollectionID FROM collections")}
    trashed = set()
    if "deletedCollections" in _tables(db):
        trashed = {cid for (cid,) in db.execute("SELECT collectionID FROM deletedCollections")}
    paths: dict[int, str] = {}
    for cid in rows:
        parts, current, seen = [], cid, set()
        while current is not None and current in rows and current not in seen and current not in trashed:
            seen.add(current)
            name, parent = rows[current]
            parts.append(clean_text(name).replace("/", "∕"))
            current = parent
        if current is None:
            paths[cid] = "/".join(reversed(parts))
    return paths


def _fill_groups(db: sqlite3.Connection, items: dict[int, Item]) -> None:
    paths = collection_paths(db)
    for collection_id, item_id in db.execute("SELECT collectionID, itemID FROM collectionItems ORDER BY orderIndex"):
        if item_id in items and collection_id in paths:
            items[item_id].collections.append(paths[collection_id])
    for item_id, name in db.execute(
            "SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID ORDER BY t.name"):
        if item_id in items and clean_text(name):
            items[item_id].tags.append(clean_text(name))
    for item in items.values():
        item.collections = sorted(set(item.collections))
        item.tags = list(dict.fromkeys(item.tags))


# ---- attachments --------------------------------------------------------------------------------

@dataclass
class Attachment:
    parent_id: int
    key: str
    link_mode: int
    content_type: str
    path: str


def _attachments(db: sqlite3.Connection, items: dict[int, Item]) -> list[Attachment]:
    rows = db.execute(
        """SELECT a.parentItemID, i.key, a.linkMode, COALESCE(a.contentType, ''), COALESCE(a.path, '')
           FROM itemAttachments a JOIN items i ON i.itemID = a.itemID
           WHERE a.parentItemID IS NOT NULL AND a.itemID NOT IN (SELECT itemID FROM deletedItems)
           ORDER BY a.parentItemID, a.itemID"""
    )
    return [Attachment(*row) for row in rows if row[0] in items]


def attachment_file(attachment: Attachment, storage: Path) -> Path | None:
    """Where the attachment's file is: `storage:NAME` under storage/KEY/, a linked file's own path
    (None for `attachments:` paths relative to a base folder set only in Zotero's preferences)."""
    if attachment.path.startswith("storage:"):
        return storage / attachment.key / attachment.path[len("storage:"):]
    if attachment.link_mode == LINKED_FILE and attachment.path and not attachment.path.startswith("attachments:"):
        return Path(attachment.path)
    return None


def _is_pdf(attachment: Attachment, file: Path | None) -> bool:
    return attachment.content_type == "application/pdf" or bool(file and file.suffix.lower() == ".pdf")


def attachment_text(attachment: Attachment, storage: Path, notes: list[str]) -> str:
    """The attachment's full text: Zotero's cache, else the PDF parsed; "" when there is none."""
    file = attachment_file(attachment, storage)
    if not _is_pdf(attachment, file):
        return ""
    missing = attachment.link_mode == LINKED_FILE and (file is None or not file.exists())
    if missing and file is None:
        notes.append(f"linked file {attachment.path!r} (attachment {attachment.key}) is relative to the base "
                     "directory set in Zotero's preferences, which is not known here; item kept without it")
    elif missing:
        notes.append(f"linked file {attachment.path!r} (attachment {attachment.key}) not found; item kept without it")
    cache = storage / attachment.key / FULLTEXT_CACHE
    if cache.is_file():
        return clean_text(cache.read_text(encoding="utf-8", errors="replace"))
    if file is None or not file.is_file():
        if not missing:
            notes.append(f"attachment {attachment.key}: file {attachment.path!r} not found in {storage}")
        return ""
    from assistant.ingest.pdf import parse as parse_pdf

    try:
        result = parse_pdf(RawFile.read(file))
    except InputError as exc:
        notes.append(f"attachment {attachment.key}: {exc}")
        return ""
    return result.papers[0].full_text if result.papers else ""


def _fill_full_texts(db: sqlite3.Connection, items: dict[int, Item], storage: Path, result: ParseResult) -> None:
    for attachment in _attachments(db, items):
        notes: list[str] = []
        text = attachment_text(attachment, storage, notes)
        parent = items[attachment.parent_id]
        result.notes.extend(Problem(result.path, f"item {parent.key}: {note}") for note in notes)
        if text:
            parent.full_texts.append(text)


# ---- items to papers ----------------------------------------------------------------------------

def zotero_date(value: str | None) -> str | None:
    """Zotero's multipart date ("2019-05-00 May 2019": 00 for an unknown part), or any date."""
    if not value:
        return None
    m = _MULTIPART_DATE.match(value)
    if not m:
        return parse_date(value)
    year, month, day = m.groups()
    if year == "0000":
        return parse_date(value[11:])
    parts = [year] + ([month] if month != "00" else []) + ([day] if month != "00" and day != "00" else [])
    return parse_date("-".join(parts)) if len(parts) > 1 else parse_date(year)


def citation_key(values: dict[str, str]) -> str | None:
    """Zotero 7's `citationKey` field, else a `Citation Key: ...` line in Extra (Better BibTeX)."""
    key = clean_text(values.get("citationKey"))
    if key:
        return key
    m = _CITATION_KEY_LINE.search(values.get("extra", ""))
    return m.group(1) if m else None


def item_paper(item: Item, source: Source) -> tuple[Paper, list[str]]:
    v = item.values
    title, notes = cut_title(clean_text(v.get("title")))
    key = citation_key(v)
    arxiv = next((found for text in (v.get("archiveID", ""), v.get("url", ""), v.get("extra", ""), v.get("DOI", ""))
                  if (found := arxiv_id_mentioned(text) or _arxiv_doi(text))), None)
    paper = Paper(
        title=title,
        abstract=clean_text(v.get("abstractNote")),
        authors=item.authors,
        date=zotero_date(v.get("date")),
        arxiv_id=arxiv,
        doi=doi_in(v.get("DOI", "")) or (doi_in(v.get("url", "")) if "doi.org/" in v.get("url", "") else None),
        venue=clean_text(v.get("publicationTitle") or v.get("conferenceName")),
        item_type=CSL_TYPES.get(item.item_type, item.item_type),
        full_text="\n\n".join(item.full_texts),
        collections=item.collections,
        tags=item.tags,
        citation_key=key,
        sources=[source],
        aliases=list(dict.fromkeys(a for a in (item.key, key) if a)),
    )
    return finalise(paper), notes


def _arxiv_doi(text: str) -> str | None:
    m = re.search(r"10\.48550/arxiv\.(\d{4}\.\d{4,5})", text, re.I)
    return m.group(1) if m else None


def parse_path(path: Path) -> ParseResult:
    """Every regular item of the library at `path` (a zotero.sqlite file)."""
    result = ParseResult(path=str(path), format=FORMAT)
    with snapshot(path) as db:
        tables = _check_layout(db, path)
        items = _regular_items(db, tables)
        _fill_values(db, tables, items)
        _fill_creators(db, items)
        _fill_groups(db, items)
        _fill_full_texts(db, items, path.parent / "storage", result)
    for item in items.values():
        paper, notes = item_paper(item, Source(path=str(path), entry=item.item_id, line=None, format=FORMAT))
        result.notes.extend(Problem(str(path), f"item {item.key}: {note}") for note in notes)
        if paper.title or paper.abstract:
            result.papers.append(paper)
        else:  # the database was still read whole: a note, so a re-read still syncs
            result.notes.append(Problem(str(path), f"item {item.key} ({item.item_type}) has no title or abstract; skipped"))
    if not result.papers:
        raise InputError(str(path), "the Zotero library has no regular items with a title")
    return result
