"""Author names: how a name typed by a user becomes a store filter."""
from __future__ import annotations

from assistant.papers import name_key


def author_where(name: str) -> dict:
    """Chroma clause matching papers by an author: a full name matches exactly (case/accents
    ignored); a single word matches a last name or a partial name (a collection owner like "Jack");
    initials ("K. Malik") match by last name."""
    key = name_key(name)
    if not key:
        return {"author_keys": {"$contains": "\u2400"}}
    tokens = key.split()
    if len(tokens) == 1:
        return {
            "$or": [
                {"author_keys": {"$contains": f"last:{tokens[0]}"}},
                {"author_keys": {"$contains": f"partial:{tokens[0]}"}},
            ]
        }
    if all(len(t) == 1 for t in tokens[:-1]):
        return {"author_keys": {"$contains": f"last:{tokens[-1]}"}}
    return {"author_keys": {"$contains": key}}
