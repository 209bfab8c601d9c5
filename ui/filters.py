"""The filter boxes' text as retrieval `Filters` (a year that is not a year is the user's to fix)."""
from __future__ import annotations

from typing import Any

from assistant.errors import LitassistError
from assistant.retrieve import Filters


def _year(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        number = int(float(text))
    except (TypeError, ValueError):
        raise LitassistError(f"year filter {text!r} is not a year") from None
    if not 0 < number < 10000:
        raise LitassistError(f"year filter {text!r} is not a year")
    return number


def make_filters(author: str | None, year_from: Any, year_to: Any, category: str | None = None,
                 collection: str | None = None, tag: str | None = None) -> Filters:
    return Filters(
        author=(author or "").strip() or None,
        year_from=_year(year_from),
        year_to=_year(year_to),
        category=(category or "").strip() or None,
        collection=(collection or "").strip() or None,
        tag=(tag or "").strip() or None,
    )
