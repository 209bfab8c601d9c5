"""Build `zotero.sqlite` databases for tests from Zotero's own schema (tests/fixtures/zotero).

The DDL is Zotero's `userdata.sql`, `system.sql` and `triggers.sql`; item types, fields, creator
types and base-field mappings are loaded from zotero-schema's `schema.json` as
`Zotero.Schema._updateGlobalSchema` loads them (ids handed out in order, as `Zotero.ID.get` does),
and the `...Combined` tables are filled with the SQL of `Zotero.Schema.updateCustomTables`.
"""
from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

SCHEMA_DIR = Path(__file__).parent / "fixtures" / "zotero"
KEY_CHARS = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"  # Zotero.Utilities.generateObjectKey
LINK_MODES = {"imported_file": 0, "imported_url": 1, "linked_file": 2, "linked_url": 3}


class ZoteroLibrary:
    """A Zotero data directory under construction: `path/zotero.sqlite` and `path/storage/`."""

    def __init__(self, folder: Path, seed: int = 7):
        self.folder = folder
        self.storage = folder / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.db_path = folder / "zotero.sqlite"
        self.db = sqlite3.connect(self.db_path)
        self._random = random.Random(seed)
        for name in ("userdata.sql", "system.sql", "triggers.sql"):
            self.db.executescript((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        self._load_global_schema(json.loads((SCHEMA_DIR / "schema.json").read_text(encoding="utf-8")))
        self.db.execute("INSERT INTO libraries (libraryID, type, editable, filesEditable) VALUES (1, 'user', 1, 1)")
        self.type_id = dict(self.db.execute("SELECT typeName, itemTypeID FROM itemTypes"))
        self.field_id = dict(self.db.execute("SELECT fieldName, fieldID FROM fields"))
        self.creator_type_id = dict(self.db.execute("SELECT creatorType, creatorTypeID FROM creatorTypes"))
        self.db.commit()

    # ---- the global schema, as Zotero loads it ------------------------------------------------
    def _load_global_schema(self, data: dict) -> None:
        fields: dict[str, int] = {}
        creator_types: dict[str, int] = {}
        for item_type in data["itemTypes"]:
            for f in item_type["fields"]:
                for name in (f["field"], f.get("baseField")):
                    if name and name not in fields:
                        fields[name] = len(fields) + 1
            for c in item_type["creatorTypes"]:
                creator_types.setdefault(c["creatorType"], len(creator_types) + 1)
        self.db.executemany("INSERT INTO fields VALUES (?, ?, NULL)", [(i, n) for n, i in fields.items()])
        self.db.executemany("INSERT INTO creatorTypes VALUES (?, ?)", [(i, n) for n, i in creator_types.items()])
        for type_id, item_type in enumerate(data["itemTypes"], start=1):
            self.db.execute("INSERT INTO itemTypes VALUES (?, ?, NULL, 1)", (type_id, item_type["itemType"]))
            for index, f in enumerate(item_type["fields"]):
                self.db.execute("INSERT INTO itemTypeFields VALUES (?, ?, 0, ?)", (type_id, fields[f["field"]], index))
                if f.get("baseField"):
                    self.db.execute("INSERT INTO baseFieldMappings VALUES (?, ?, ?)",
                                    (type_id, fields[f["baseField"]], fields[f["field"]]))
            for c in item_type["creatorTypes"]:
                self.db.execute("INSERT INTO itemTypeCreatorTypes VALUES (?, ?, ?)",
                                (type_id, creator_types[c["creatorType"]], 1 if c.get("primary") else 0))
        self.db.execute("INSERT INTO version VALUES ('globalSchema', ?)", (data["version"],))
        offset = 10000  # Zotero.ItemTypes.customIDOffset
        self.db.executescript(f"""
            INSERT INTO itemTypesCombined SELECT itemTypeID, typeName, display, 0 AS custom FROM itemTypes UNION
                SELECT customItemTypeID + {offset} AS itemTypeID, typeName, display, 1 AS custom FROM customItemTypes;
            INSERT INTO fieldsCombined SELECT fieldID, fieldName, NULL AS label, fieldFormatID, 0 AS custom FROM fields UNION
                SELECT customFieldID + {offset} AS fieldID, fieldName, label, NULL, 1 AS custom FROM customFields;
            INSERT INTO itemTypeFieldsCombined SELECT itemTypeID, fieldID, hide, orderIndex FROM itemTypeFields UNION
                SELECT customItemTypeID + {offset} AS itemTypeID, COALESCE(fieldID, customFieldID + {offset}) AS fieldID,
                hide, orderIndex FROM customItemTypeFields;
            INSERT INTO baseFieldMappingsCombined SELECT itemTypeID, baseFieldID, fieldID FROM baseFieldMappings UNION
                SELECT customItemTypeID + {offset} AS itemTypeID, baseFieldID, customFieldID + {offset} AS fieldID
                FROM customBaseFieldMappings;
        """)

    # ---- objects ------------------------------------------------------------------------------
    def new_key(self) -> str:
        return "".join(self._random.choice(KEY_CHARS) for _ in range(8))

    def _value_id(self, value: str) -> int:
        row = self.db.execute("SELECT valueID FROM itemDataValues WHERE value = ?", (value,)).fetchone()
        if row:
            return row[0]
        return self.db.execute("INSERT INTO itemDataValues (value) VALUES (?)", (value,)).lastrowid

    def _creator_id(self, first: str, last: str, mode: int) -> int:
        row = self.db.execute("SELECT creatorID FROM creators WHERE firstName = ? AND lastName = ? AND fieldMode = ?",
                              (first, last, mode)).fetchone()
        if row:
            return row[0]
        return self.db.execute("INSERT INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, ?)",
                               (first, last, mode)).lastrowid

    def add_item(self, item_type: str, fields: dict[str, str] | None = None,
                 creators: list[tuple] = (), key: str | None = None) -> int:
        """An item; `fields` by Zotero field name (type-specific names such as `bookTitle` as they are);
        `creators`: (first, last) two-field names, (name,) single-field, optionally a creator type last."""
        item_id = self.db.execute("INSERT INTO items (itemTypeID, libraryID, key) VALUES (?, 1, ?)",
                                  (self.type_id[item_type], key or self.new_key())).lastrowid
        self.set_fields(item_id, fields or {})
        for index, creator in enumerate(creators):
            kind = "author"
            if creator[-1] in self.creator_type_id and len(creator) > 1:
                *creator, kind = creator
            first, last, mode = (("", creator[0], 1) if len(creator) == 1 else (creator[0], creator[1], 0))
            self.db.execute("INSERT INTO itemCreators VALUES (?, ?, ?, ?)",
                            (item_id, self._creator_id(first, last, mode), self.creator_type_id[kind], index))
        self.db.commit()
        return item_id

    def set_fields(self, item_id: int, fields: dict[str, str]) -> None:
        for name, value in fields.items():
            self.db.execute("INSERT OR REPLACE INTO itemData VALUES (?, ?, ?)",
                            (item_id, self.field_id[name], self._value_id(value)))
        self.db.commit()

    def key_of(self, item_id: int) -> str:
        return self.db.execute("SELECT key FROM items WHERE itemID = ?", (item_id,)).fetchone()[0]

    def add_note(self, text: str, parent: int | None = None) -> int:
        item_id = self.add_item("note")
        self.db.execute("INSERT INTO itemNotes VALUES (?, ?, ?, ?)", (item_id, parent, f"<p>{text}</p>", text[:80]))
        self.db.commit()
        return item_id

    def add_attachment(self, parent: int | None, link_mode: str, path: str, content_type: str = "application/pdf",
                       *, data: bytes | None = None, ft_cache: str | None = None, title: str = "Full Text PDF") -> int:
        """An attachment item. For a stored file (`imported_*`) `path` is the file name: the file
        (`data`) goes to storage/KEY/NAME and the path is recorded as `storage:NAME`."""
        item_id = self.add_item("attachment", {"title": title})
        key = self.key_of(item_id)
        folder = self.storage / key
        if link_mode.startswith("imported"):
            folder.mkdir(parents=True, exist_ok=True)
            if data is not None:
                (folder / path).write_bytes(data)
            path = f"storage:{path}"
        if ft_cache is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ".zotero-ft-cache").write_text(ft_cache, encoding="utf-8")
        self.db.execute("INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) VALUES (?, ?, ?, ?, ?)",
                        (item_id, parent, LINK_MODES[link_mode], content_type, path))
        self.db.commit()
        return item_id

    def trash(self, item_id: int) -> None:
        self.db.execute("INSERT INTO deletedItems (itemID) VALUES (?)", (item_id,))
        self.db.commit()

    def delete(self, item_id: int) -> None:
        self.db.execute("DELETE FROM items WHERE itemID = ?", (item_id,))
        self.db.commit()

    def add_collection(self, name: str, parent: int | None = None) -> int:
        cid = self.db.execute("INSERT INTO collections (collectionName, parentCollectionID, libraryID, key) VALUES (?, ?, 1, ?)",
                              (name, parent, self.new_key())).lastrowid
        self.db.commit()
        return cid

    def collect(self, collection_id: int, *item_ids: int) -> None:
        self.db.executemany("INSERT INTO collectionItems (collectionID, itemID) VALUES (?, ?)",
                            [(collection_id, i) for i in item_ids])
        self.db.commit()

    def tag(self, item_id: int, *names: str, automatic: bool = False) -> None:
        for name in names:
            row = self.db.execute("SELECT tagID FROM tags WHERE name = ?", (name,)).fetchone()
            tag_id = row[0] if row else self.db.execute("INSERT INTO tags (name) VALUES (?)", (name,)).lastrowid
            self.db.execute("INSERT INTO itemTags VALUES (?, ?, ?)", (item_id, tag_id, 1 if automatic else 0))
        self.db.commit()

    def close(self) -> None:
        self.db.close()
